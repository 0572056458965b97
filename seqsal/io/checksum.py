"""Checksums of files: the sha256 that model folders record and the report lists."""

from __future__ import annotations

import hashlib
import os

CHUNK = 1 << 20
"""Bytes read at a time (1 MiB): memory stays flat whatever the file's size."""


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks of :data:`CHUNK` bytes.

    Parameters
    ----------
    path : str or os.PathLike
        A readable file.

    Returns
    -------
    str
        64 lowercase hex digits, as ``sha256sum`` prints them.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


__all__ = ["sha256_file"]

"""Export an attribution store as the ``.npz`` pair that ``modisco motifs -s/-a`` reads.

modisco-lite loads ``np.load(path)["arr_0"]`` from each file, with shape (n, 4, L): the
one-hot sequences (``-s``) and the hypothetical contributions (``-a``).  The arrays are
streamed from the store into the zip archive chunk by chunk, so memory stays flat however
many windows the store holds.
"""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from seqsal.io.atomic import atomic_path

if TYPE_CHECKING:
    from seqsal.io.store import StoredAttributions

log = logging.getLogger(__name__)


class ModiscoFiles(NamedTuple):
    """Paths written by :func:`export_modisco_npz`."""

    sequences: Path
    attributions: Path


def _write_npz_streaming(path: Path, dataset: Any, *, chunk_size: int, compress: bool) -> None:
    """Write ``dataset`` (an (n, 4, L) h5py dataset) as ``arr_0`` of an npz, chunk by chunk."""
    from seqsal.io.npz import write_npy_member
    from seqsal.io.store import iter_chunks

    shape = tuple(int(s) for s in dataset.shape)
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with (
        atomic_path(path) as tmp,
        zipfile.ZipFile(tmp, "w", compression=method, allowZip64=True) as archive,
    ):
        chunks = (dataset[rows] for rows in iter_chunks(shape[0], chunk_size))
        write_npy_member(archive, "arr_0.npy", chunks, shape=shape, dtype=np.dtype(np.float32))


def export_modisco_npz(
    store: str | os.PathLike | StoredAttributions,
    out_prefix: str | os.PathLike,
    *,
    chunk_size: int = 1024,
    compress: bool = False,
) -> ModiscoFiles:
    """Write ``<out_prefix>_seq.npz`` and ``<out_prefix>_attr.npz`` for ``modisco motifs -s/-a``.

    Parameters
    ----------
    store : path or StoredAttributions
        The attribution store.
    out_prefix : str or path
        Prefix of the two files (its folder is created).
    chunk_size : int, default 1024
        Windows copied at a time (bounds memory).
    compress : bool, default False
        Deflate the archives: one-hot sequences shrink about 10x, at some CPU cost.

    Returns
    -------
    ModiscoFiles
        ``sequences`` (one-hot, float32 (n, 4, L)) and ``attributions`` (hypothetical
        contributions, float32 (n, 4, L); float16 stores are widened).
    """
    from seqsal.io.store import StoredAttributions, open_store

    owned = not isinstance(store, StoredAttributions)
    reader = store if isinstance(store, StoredAttributions) else open_store(store)
    try:
        prefix = str(out_prefix)
        files = ModiscoFiles(Path(prefix + "_seq.npz"), Path(prefix + "_attr.npz"))
        _write_npz_streaming(files.sequences, reader.raw, chunk_size=chunk_size, compress=compress)
        _write_npz_streaming(
            files.attributions, reader.hypothetical, chunk_size=chunk_size, compress=compress
        )
    finally:
        if owned:
            reader.close()
    log.debug("wrote %s and %s", files.sequences, files.attributions)
    return files

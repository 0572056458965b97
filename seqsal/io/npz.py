"""numpy ``.npz`` archives written an array chunk at a time, and the one-hot windows file.

An ``.npz`` is a zip archive of ``.npy`` members.  :func:`write_npy_member` writes one member
from an iterable of row chunks, so an array larger than memory (the one-hot windows of a
genome-wide region set, a store's contributions) goes to disk with one chunk in memory;
``np.load`` reads the result like any other ``.npz``.

:func:`write_windows_npz` is the file ``seqsal extract --out x.npz`` writes: ``X``, the
one-hot windows ``(n, 4, L)`` (rows A, C, G, T), and one array per coordinate column of the
windows (``chrom``, ``start``, ``end``, ``strand``, ``name``, ``pad_left``, ``pad_right``).
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from seqsal.errors import InputError
from seqsal.io.atomic import atomic_path

if TYPE_CHECKING:
    import pandas as pd

#: The one-hot types of a windows ``.npz`` (``seqsal extract --dtype``), by name, and the
#: little-endian type written whatever the machine's byte order.
ONEHOT_DTYPES = {"float32": "<f4", "float16": "<f2", "int8": "i1", "uint8": "u1"}

#: The coordinate arrays of a windows ``.npz`` and their types (strings are numpy unicode).
WINDOW_ARRAYS = {
    "chrom": str,
    "start": np.int64,
    "end": np.int64,
    "strand": str,
    "name": str,
    "pad_left": np.int64,
    "pad_right": np.int64,
}


def write_npy_member(
    archive: zipfile.ZipFile,
    name: str,
    chunks: Iterable[Any],
    *,
    shape: tuple[int, ...],
    dtype: np.dtype[Any],
) -> int:
    """Write one ``.npy`` member of ``shape`` and ``dtype`` from row chunks, in order.

    The ``.npy`` header (format 2.0) states ``shape`` before any data is written; each chunk
    is converted to ``dtype`` (C order) and appended.  The member is ZIP64, so it may exceed
    4 GiB.

    Parameters
    ----------
    archive : zipfile.ZipFile
        Open for writing; its compression applies to the member.
    name : str
        Member name (``"X.npy"``; ``np.load`` drops the ``.npy``).
    chunks : iterable of array-like
        Consecutive rows of the array, ``shape[1:]`` each.
    shape : tuple of int
        The whole array's shape.
    dtype : numpy.dtype
        The stored type (give an explicit byte order for a portable file).

    Returns
    -------
    int
        Rows written (the sum of the chunks' lengths); the caller checks it against
        ``shape[0]``, as a member with fewer rows than its header states is unreadable.
    """
    header = {
        "descr": np.lib.format.dtype_to_descr(dtype),
        "fortran_order": False,
        "shape": shape,
    }
    rows = 0
    with archive.open(name, "w", force_zip64=True) as member:
        np.lib.format.write_array_header_2_0(member, header)
        for chunk in chunks:
            member.write(np.ascontiguousarray(chunk, dtype=dtype).tobytes())
            rows += len(chunk)
    return rows


def write_windows_npz(
    windows: pd.DataFrame,
    batches: Iterable[Any],
    path: str | os.PathLike[str],
    *,
    width: int,
    dtype: str = "float32",
) -> Path:
    """Write one-hot windows and their coordinates as one ``.npz``, atomically.

    Parameters
    ----------
    windows : pandas.DataFrame
        The windows (:func:`seqsal.sequence.windows.make_windows`): ``chrom, start, end,
        strand, name, pad_left, pad_right``, one row per window.
    batches : iterable of array, shape (b, 4, width)
        Their one-hot encoding in window order, a batch at a time
        (:func:`seqsal.sequence.windows.iter_onehot`); memory holds one batch.
    path : str or path
        The ``.npz`` (uncompressed; appears only when complete).
    width : int
        Window length L.
    dtype : {"float32", "float16", "int8", "uint8"}, default "float32"
        Type of ``X`` (:data:`ONEHOT_DTYPES`): the same 0/1 values in a half or a quarter of
        the bytes for the smaller types.

    Returns
    -------
    pathlib.Path
        ``path``.  ``np.load(path)`` gives ``X`` ``(n, 4, width)`` and the coordinate arrays
        of :data:`WINDOW_ARRAYS`.

    Raises
    ------
    seqsal.errors.InputError
        An unknown ``dtype``, or batches that hold another number of windows than
        ``windows`` (nothing is written then).
    """
    if dtype not in ONEHOT_DTYPES:
        raise InputError(f"dtype={dtype!r}; expected one of {', '.join(ONEHOT_DTYPES)}")
    stored = np.dtype(ONEHOT_DTYPES[dtype])
    n = len(windows)
    with (
        atomic_path(path) as tmp,
        zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive,
    ):
        written = write_npy_member(archive, "X.npy", batches, shape=(n, 4, width), dtype=stored)
        if written != n:
            raise InputError(f"internal: wrote {written} windows, expected {n}")
        for key, kind in WINDOW_ARRAYS.items():
            with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(
                    member, windows[key].to_numpy(dtype=kind), allow_pickle=False
                )
    return Path(path)

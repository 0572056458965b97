"""Attributions computed elsewhere, written as a seqsal attribution store.

:func:`import_attributions` reads one-hot sequences and contributions that another tool wrote,
with the BED of the regions they were computed on, and writes the store that ``seqsal
attribute`` would have written (:class:`seqsal.io.store.AttributionStore`), so ``seqsal
seqlets``, ``motifs`` and ``report`` run on it unchanged.  Accepted files:

* a ChromBPNet contribution file (``.h5``/``.hdf5``): ``raw/seq`` (one-hot, often int8),
  ``shap/seq`` (hypothetical) and ``projected_shap/seq`` (projected), float16 or float32,
  ``(n, 4, L)``;
* the modisco-lite npz pair (``.npz``, member ``arr_0``) that bpnet-lite's ``bpnet attribute``
  and ``seqsal export modisco`` write: one file of one-hot sequences, one of hypothetical (or
  projected) contributions;
* numpy ``.npy`` / ``.npz`` and torch ``.pt`` arrays of the same two kinds.

Arrays may be ``(n, 4, L)`` or ``(n, L, 4)`` (``layout``).  Row i of the arrays is BED row i;
the BED regions become windows of the arrays' length L centred on each region's middle (or
summit) exactly as tangermeme's ``extract_loci`` (bpnet-lite) and ChromBPNet centre them, and
as ``seqsal attribute`` does (:func:`seqsal.sequence.windows.make_windows`).

ChromBPNet compresses its h5 files with the blosc HDF5 filter, which h5py reads through the
``hdf5plugin`` package (a dependency of seqsal; imported when an h5 file is opened).  ``.npy`` files and
``.npz`` members (stored or deflated) and HDF5 datasets are read
:data:`CHUNK_ROWS` windows at a time, so memory stays flat in n; a ``.pt`` file is loaded whole
(torch has no partial reads).
"""

from __future__ import annotations

import importlib
import logging
import os
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from seqsal.errors import InputError, first_line
from seqsal.io.store import HYPOTHETICAL_KEY, PROJECTED_KEY, RAW_KEY, AttributionStore

log = logging.getLogger(__name__)

#: File suffixes read, and the format each is recorded as.
FORMATS = {
    ".h5": "chrombpnet_h5",
    ".hdf5": "chrombpnet_h5",
    ".npz": "npz",
    ".npy": "npy",
    ".pt": "torch",
    ".pth": "torch",
}
#: Axis orders of an array: ``NCL`` = (n, 4, L), ``NLC`` = (n, L, 4), ``auto`` = the axis of
#: length 4 (an error when both are).
LAYOUTS = ("auto", "NCL", "NLC")
#: What a contributions array holds.
KINDS = ("hypothetical", "projected")
#: Windows read and written at a time.
CHUNK_ROWS = 1024


class _Array:
    """One array of a file: ``shape`` and ``dtype`` as stored, read ``chunks(rows)`` at a time."""

    def __init__(self, path: Path, key: str | None, shape: tuple[int, ...], dtype: Any):
        self.path = path
        self.key = key
        self.shape = shape
        self.dtype = np.dtype(dtype)

    @property
    def label(self) -> str:
        return f"{self.path.name}" + (f" {self.key}" if self.key else "")

    def chunks(self, rows: int) -> Iterator[np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        pass


class _NpyStream(_Array):
    """A ``.npy`` file or ``.npz`` member read front to back, ``rows`` rows at a time."""

    def __init__(self, path: Path, key: str | None, opener: Any):
        self._opener = opener
        with opener() as handle:
            shape, fortran, dtype = _npy_header(handle, path, key)
        super().__init__(path, key, shape, dtype)
        self._fortran = fortran

    def chunks(self, rows: int) -> Iterator[np.ndarray]:
        with self._opener() as handle:
            _npy_header(handle, self.path, self.key)
            if self._fortran:  # column-major: no row chunks; read it whole
                data = np.lib.format.read_array(handle, allow_pickle=False)
                for start in range(0, self.shape[0], rows):
                    yield data[start : start + rows]
                return
            row_shape = self.shape[1:]
            row_bytes = int(np.prod(row_shape)) * self.dtype.itemsize
            for start in range(0, self.shape[0], rows):
                count = min(rows, self.shape[0] - start)
                want = count * row_bytes
                buffer = handle.read(want)
                if len(buffer) != want:
                    raise InputError(
                        f"{self.label} ends after {start * row_bytes + len(buffer)} bytes of "
                        f"data; the header promises {self.shape[0] * row_bytes} (a truncated file)",
                        path=self.path,
                    )
                yield np.frombuffer(buffer, dtype=self.dtype).reshape((count, *row_shape))


def _npy_header(handle: IO[bytes], path: Path, key: str | None) -> tuple[tuple, bool, np.dtype]:
    what = f"{key} " if key else ""
    try:
        version = np.lib.format.read_magic(handle)
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = read_header(handle)
    except (ValueError, OSError, zipfile.BadZipFile) as err:
        raise InputError(f"{what}is not a numpy array ({err})", path=path) from None
    if dtype.hasobject:
        raise InputError(f"{what}holds Python objects; expected a numeric array", path=path)
    return tuple(int(s) for s in shape), bool(fortran), dtype


class _H5Array(_Array):
    def __init__(self, path: Path, dataset: Any, key: str):
        super().__init__(path, key, tuple(int(s) for s in dataset.shape), dataset.dtype)
        self._dataset = dataset

    def chunks(self, rows: int) -> Iterator[np.ndarray]:
        for start in range(0, self.shape[0], rows):
            try:
                chunk = np.asarray(self._dataset[start : start + rows])
            except (OSError, RuntimeError) as err:
                raise InputError(
                    f"cannot read {self.key} ({first_line(err)}); a file compressed with an "
                    "HDF5 filter h5py lacks (ChromBPNet writes blosc) needs "
                    "'pip install hdf5plugin'; otherwise the file is damaged",
                    path=self.path,
                ) from None
            yield chunk


class _MemoryArray(_Array):
    def __init__(self, path: Path, key: str | None, array: np.ndarray):
        super().__init__(path, key, tuple(int(s) for s in array.shape), array.dtype)
        self._array = array

    def chunks(self, rows: int) -> Iterator[np.ndarray]:
        for start in range(0, self.shape[0], rows):
            yield self._array[start : start + rows]


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(
            f"unknown format {suffix or '(no suffix)'!r}; expected one of "
            f"{', '.join(sorted(FORMATS))} (ChromBPNet h5, modisco-lite/numpy npz, npy, torch pt)",
            path=path,
        )
    return suffix


def _open_array(path: Path, key: str | None) -> _Array:
    """The array ``key`` of a ``.npz``/``.npy``/``.pt`` file (``key``: npz member or dict key)."""
    suffix = _suffix(path)
    if not path.is_file():
        raise InputError("no such file", path=path)
    if suffix == ".npy":
        return _NpyStream(path, None, lambda: open(path, "rb"))
    if suffix == ".npz":
        try:
            with zipfile.ZipFile(path) as archive:
                members = [n[:-4] for n in archive.namelist() if n.endswith(".npy")]
        except (zipfile.BadZipFile, OSError) as err:
            raise InputError(f"not an npz archive ({err})", path=path) from None
        member = _pick_key(path, key, members)

        def opener() -> Any:
            archive = zipfile.ZipFile(path)
            return _Closing(archive.open(member + ".npy"), archive)

        return _NpyStream(path, member, opener)
    if suffix in (".pt", ".pth"):
        import torch

        try:
            value = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # torch raises many types for a file it cannot read
            raise InputError(f"cannot read the torch file ({err})", path=path) from None
        if isinstance(value, Mapping):
            name = _pick_key(path, key, [str(k) for k in value])
            value = value[name]
            key = name
        elif key is not None:
            raise InputError(f"holds one tensor, not a dict; --key {key!r} has no use", path=path)
        if not hasattr(value, "detach"):
            raise InputError(f"holds a {type(value).__name__}; expected a tensor", path=path)
        return _MemoryArray(path, key, value.detach().cpu().numpy())
    raise InputError(f"{suffix} files hold a whole store; give it alone", path=path)


class _Closing:
    """A zip member handle that also closes its archive."""

    def __init__(self, handle: Any, archive: zipfile.ZipFile):
        self._handle = handle
        self._archive = archive

    def read(self, *args: Any) -> bytes:
        return self._handle.read(*args)

    def readline(self, *args: Any) -> bytes:
        return self._handle.readline(*args)

    def __enter__(self) -> _Closing:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()
        self._archive.close()


def _pick_key(path: Path, key: str | None, names: Sequence[str]) -> str:
    if key is not None:
        if key not in names:
            raise InputError(f"has no array {key!r}; it holds {', '.join(names)}", path=path)
        return key
    if "arr_0" in names:
        return "arr_0"
    if len(names) == 1:
        return names[0]
    raise InputError(
        f"holds {len(names)} arrays ({', '.join(names)}) and none is arr_0; name one with key",
        path=path,
    )


def _layout_of(array: _Array, layout: str) -> str:
    """``NCL`` or ``NLC`` for ``array``, checked against ``layout``."""
    shape = array.shape
    if len(shape) != 3 or 4 not in shape[1:]:
        raise InputError(f"{array.label} has shape {shape}; expected (n, 4, L) or (n, L, 4)")
    if layout == "auto":
        if shape[1] == 4 and shape[2] == 4:
            raise InputError(
                f"{array.label} has shape {shape}: windows of 4 bp, the layout is ambiguous; "
                "give layout NCL or NLC"
            )
        return "NCL" if shape[1] == 4 else "NLC"
    axis = 1 if layout == "NCL" else 2
    if shape[axis] != 4:
        want = "(n, 4, L)" if layout == "NCL" else "(n, L, 4)"
        raise InputError(f"{array.label} has shape {shape}; layout {layout} expects {want}")
    return layout


def _ncl_chunks(array: _Array, layout: str, rows: int) -> Iterator[np.ndarray]:
    for chunk in array.chunks(rows):
        yield chunk if layout == "NCL" else np.swapaxes(chunk, 1, 2)


def _check_onehot(chunk: np.ndarray, offset: int, label: str, path: Path) -> np.ndarray:
    """float32 of a one-hot chunk (n, 4, L); an InputError naming the first bad window."""
    values = np.asarray(chunk, dtype=np.float32)
    binary = (values == 0) | (values == 1)
    sums = values.sum(axis=1)
    bad = ~binary.all(axis=1) | (sums > 1)
    if bad.any():
        window, position = (int(i) for i in np.argwhere(bad)[0])
        column = ", ".join(f"{v:g}" for v in values[window, :, position])
        raise InputError(
            f"{label} is not one-hot: window {offset + window}, position {position} holds "
            f"[{column}]; expected 0 or 1 per base and at most one 1 per position "
            "(one-hot sequences, rows A C G T)"
        )
    return values


def _check_finite(chunk: np.ndarray, offset: int, array: _Array) -> None:
    """An InputError naming the first window of a contributions chunk with NaN or infinity."""
    finite = np.isfinite(chunk).all(axis=(1, 2))
    if not finite.all():
        window = int(np.flatnonzero(~finite)[0])
        raise InputError(
            f"{array.label} holds NaN or infinite contributions in window {offset + window}; "
            "expected finite values (leave such regions out of the arrays and the BED)"
        )


def _source_files(paths: Sequence[Path]) -> list[dict[str, str]]:
    from seqsal.io.checksum import sha256_file

    return [{"path": str(p), "sha256": sha256_file(p)} for p in dict.fromkeys(paths)]


def _select_rows(table: Any, rows: str | os.PathLike | np.ndarray, bed: str) -> Any:
    """The BED rows that ``rows`` (a boolean mask or row indices, or an ``.npy`` of them) keeps."""
    label = "rows"
    if isinstance(rows, (str, os.PathLike)):
        path = Path(rows)
        label = path.name
        if not path.is_file():
            raise InputError("no such file", path=path)
        try:
            rows = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as err:
            raise InputError(f"not a numpy .npy array ({err})", path=path) from None
    rows = np.asarray(rows).reshape(-1)
    if rows.dtype == bool:
        if rows.shape[0] != len(table):
            raise InputError(
                f"{label} is a mask of {rows.shape[0]} entries but {bed} has {len(table)} "
                "regions; expected one entry per BED row"
            )
        index = np.flatnonzero(rows)
    elif np.issubdtype(rows.dtype, np.integer):
        index = rows.astype(np.int64)
        bad = (index < 0) | (index >= len(table))
        if bad.any():
            raise InputError(
                f"{label} holds row {int(index[bad][0])}, outside the {len(table)} regions "
                f"of {bed}; expected 0-based row numbers"
            )
    else:
        raise InputError(f"{label} is {rows.dtype}; expected a boolean mask or integer row numbers")
    return table.iloc[index].reset_index(drop=True)


def _windows(
    regions: str | os.PathLike,
    n: int,
    length: int,
    what: str,
    *,
    summit_column: str | int | None,
    stranded: bool,
    rows: str | os.PathLike | np.ndarray | None = None,
) -> Any:
    from seqsal.io.bed import read_bed
    from seqsal.sequence.windows import make_windows

    table = read_bed(regions)
    total, note = len(table), ""
    if rows is not None:
        table = _select_rows(table, rows, Path(regions).name)
        label = Path(rows).name if isinstance(rows, (str, os.PathLike)) else "rows"
        note = f" ({len(table)} selected by {label})"
    if len(table) != n:
        raise InputError(
            f"{what} hold {n} windows but {Path(regions).name} has {total} regions{note}; "
            "expected one BED row per window, in the same order"
        )
    windows = make_windows(table, length, summit_column=summit_column, out_of_bounds="pad")
    if not stranded:
        minus = int((windows["strand"] == "-").sum())
        if minus:
            log.info(
                "%d '-' strand region(s) taken as read along the + strand (give stranded to "
                "take their arrays as reverse complements)",
                minus,
            )
        windows["strand"] = "."
    return windows


def import_attributions(
    out: str | os.PathLike,
    contributions: str | os.PathLike,
    regions: str | os.PathLike,
    *,
    sequences: str | os.PathLike | None = None,
    kind: str = "hypothetical",
    layout: str = "auto",
    key: str | None = None,
    sequences_key: str | None = None,
    width: int | None = None,
    summit_column: str | int | None = None,
    rows: str | os.PathLike | np.ndarray | None = None,
    stranded: bool = False,
    control: bool = False,
    method: str = "imported",
    target: str = "none",
    model_checksum: str = "unknown",
    float16: bool | None = None,
    chunk_size: int = CHUNK_ROWS,
) -> Path:
    """Write an attribution store from contributions computed by another tool.

    Parameters
    ----------
    out : str or os.PathLike
        The store (``.h5``) to write; it appears only when complete.
    contributions : str or os.PathLike
        A ChromBPNet contribution file (``.h5``/``.hdf5``: ``raw/seq``, and ``shap/seq`` and/or
        ``projected_shap/seq``), or an array ``(n, 4, L)``/``(n, L, 4)`` of contributions in
        a ``.npz`` (member ``arr_0``, or ``key``), ``.npy`` or ``.pt`` file.
    regions : str or os.PathLike
        BED file of the n regions the arrays were computed on, row i for window i.  Each
        becomes the window of length L centred on its middle, ``start + (end - start) // 2``,
        or on ``start + summit`` with ``summit_column`` (ChromBPNet's narrowPeak summits):
        ``[centre - L // 2, centre - L // 2 + L)``, as tangermeme, ChromBPNet and
        ``seqsal attribute`` cut them.
    sequences : str or os.PathLike, optional
        The one-hot sequences ``(n, 4, L)``/``(n, L, 4)``, rows A C G T (modisco-lite's
        ``-s`` file); required unless ``contributions`` is an h5 file (its ``raw/seq``).
    kind : {"hypothetical", "projected"}, default "hypothetical"
        What a contributions array holds (for an h5 file: decided by its keys).  Hypothetical
        contributions give both stored arrays (projected = hypothetical x one-hot).  Projected
        ones alone cannot give back the hypothetical ones: they are stored in both ``shap/seq``
        and ``projected_shap/seq``, and the store's ``hypothetical`` attribute says
        ``"projected"`` (seqlets and motifs are unaffected; the motifs' hypothetical CWMs are
        then the CWMs).
    layout : {"auto", "NCL", "NLC"}, default "auto"
        Axis order of the arrays: ``(n, 4, L)`` or ``(n, L, 4)``; ``auto`` takes the axis of
        length 4.  Every store is written ``(n, 4, L)``.
    key, sequences_key : str, optional
        Member of an ``.npz`` archive or key of a dict saved in a ``.pt`` file (default
        ``arr_0``, or the only array).
    width : int, optional
        The window length the arrays must have (a check against the wrong files).
    summit_column : str or int, optional
        BED column of the summit offset (narrowPeak: 10), to centre the windows on summits.
    rows : str, os.PathLike or np.ndarray, optional
        The BED rows the arrays hold, when the tool left some out: a boolean mask with one
        entry per BED row (True: row kept, as bpnet-lite's ``attributions.idx.npy``) or
        0-based row numbers, or an ``.npy`` file of either.
    stranded : bool, default False
        Take the arrays of ``-`` strand regions as reverse complements (as ``seqsal
        attribute`` extracts them).  By default every window is read along the + strand, as
        tangermeme and ChromBPNet extract them, and its strand is stored as ``.``.
    control : bool, default False
        The arrays are dinucleotide-shuffled controls: the store is a null for ``seqsal
        seqlets --null`` (``control`` attribute ``dinucleotide_shuffle``), accepted against a
        store imported with the same ``method``, ``target``, ``model_checksum`` and ``kind``.
    method, target, model_checksum : str
        Recorded as the store's provenance (the settings the null check compares): how, for
        which output and with which model the contributions were computed.
    float16 : bool, optional
        Store contributions as float16; default: as the contributions file holds them.
    chunk_size : int, default 1024
        Windows read and written at a time (bounds memory).

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    InputError
        One line, nothing written: an unknown format or layout, arrays of different shapes,
        a count that differs from the BED's, a sequence array that is not one-hot, a length
        other than ``width``, a file that cannot be read.
    """
    from seqsal._runtime import check_positive_int

    if kind not in KINDS:
        raise InputError(f"kind={kind!r}; expected one of {', '.join(KINDS)}")
    if layout not in LAYOUTS:
        raise InputError(f"layout={layout!r}; expected one of {', '.join(LAYOUTS)}")
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    contributions = Path(contributions)
    suffix = _suffix(contributions)
    opened: list[Any] = []
    try:
        if suffix in (".h5", ".hdf5"):
            fmt = "chrombpnet_h5"
            if sequences is not None:
                raise InputError(
                    f"{contributions.name} holds its sequences (raw/seq); sequences "
                    f"{Path(sequences).name} has no use"
                )
            seq, arrays, kind = _open_h5(contributions, opened)
        else:
            if sequences is None:
                raise InputError(
                    f"{contributions.name} holds contributions only; give the one-hot "
                    "sequences they were computed on (sequences=, --sequences)"
                )
            seq = _open_array(Path(sequences), sequences_key)
            contrib = _open_array(contributions, key)
            opened.extend([seq, contrib])
            arrays = {HYPOTHETICAL_KEY if kind == "hypothetical" else PROJECTED_KEY: contrib}
            fmt = "modisco_npz" if suffix == ".npz" and contrib.key == "arr_0" else FORMATS[suffix]
        layouts = {name: _layout_of(a, layout) for name, a in {RAW_KEY: seq, **arrays}.items()}
        n, length = _ncl_shape(seq, layouts[RAW_KEY])
        for name, array in arrays.items():
            if _ncl_shape(array, layouts[name]) != (n, length):
                raise InputError(
                    f"{array.label} has shape {array.shape} but {seq.label} {seq.shape}; "
                    "expected arrays of the same windows"
                )
        if width is not None and int(width) != length:
            raise InputError(
                f"width {width}; the arrays of {seq.label} hold windows of {length} bp"
            )
        windows = _windows(
            regions,
            n,
            length,
            f"the arrays of {seq.path.name}",
            summit_column=summit_column,
            stranded=stranded,
            rows=rows,
        )
        contrib_dtype = next(iter(arrays.values())).dtype
        if float16 is None:
            float16 = contrib_dtype == np.float16
        attrs = {
            "method": method,
            "target": str(target),
            "model_checksum": model_checksum,
            "hypothetical": "imported" if HYPOTHETICAL_KEY in arrays else "projected",
            "control": "dinucleotide_shuffle" if control else "none",
            "import_format": fmt,
            "import_layout": layouts[RAW_KEY],
            "import_sources": _source_files([seq.path, *(a.path for a in arrays.values())]),
            "regions": str(regions),
            "width": length,
            "stranded": bool(stranded),
        }
        if summit_column is not None:
            attrs["summit_column"] = str(summit_column)
        if isinstance(rows, (str, os.PathLike)):
            attrs["rows"] = str(rows)
        if HYPOTHETICAL_KEY not in arrays:
            log.warning(
                "%s holds projected contributions only: shap/seq stores them too (the "
                "hypothetical contributions cannot be recovered)",
                contributions.name,
            )
        _copy(out, windows, seq, layouts, arrays, length, attrs, float16, chunk_size)
    finally:
        for item in opened:
            item.close()
    log.debug("imported %d windows of %d bp from %s into %s", n, length, contributions, out)
    return Path(out)


def _ncl_shape(array: _Array, layout: str) -> tuple[int, int]:
    n, a, b = array.shape
    return n, (b if layout == "NCL" else a)


def _open_h5(path: Path, opened: list[Any]) -> tuple[_Array, dict[str, _Array], str]:
    import h5py

    if not path.is_file():
        raise InputError("no such file", path=path)
    try:  # registers the HDF5 compression filters (blosc, ...) that ChromBPNet's files use
        importlib.import_module("hdf5plugin")
    except ImportError:
        pass
    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise InputError(f"not an HDF5 file, or a damaged one ({err})", path=path) from None
    opened.append(handle)
    present = [k for k in (RAW_KEY, HYPOTHETICAL_KEY, PROJECTED_KEY) if k in handle]
    if RAW_KEY not in present or len(present) < 2:
        raise InputError(
            f"holds {present or 'none'} of raw/seq, shap/seq, projected_shap/seq; expected "
            "raw/seq and shap/seq or projected_shap/seq (a ChromBPNet contribution file)",
            path=path,
        )
    arrays: dict[str, _Array] = {k: _H5Array(path, handle[k], k) for k in present if k != RAW_KEY}
    kind = "hypothetical" if HYPOTHETICAL_KEY in arrays else "projected"
    return _H5Array(path, handle[RAW_KEY], RAW_KEY), arrays, kind


def _copy(
    out: str | os.PathLike,
    windows: Any,
    seq: _Array,
    layouts: Mapping[str, str],
    arrays: Mapping[str, _Array],
    length: int,
    attrs: Mapping[str, Any],
    float16: bool,
    chunk_size: int,
) -> None:
    columns = ["chrom", "start", "end", "strand", "name", "pad_left", "pad_right"]
    streams = {name: _ncl_chunks(a, layouts[name], chunk_size) for name, a in arrays.items()}
    offset = 0
    with AttributionStore(out, length=length, attrs=attrs, float16=float16) as store:
        for raw in _ncl_chunks(seq, layouts[RAW_KEY], chunk_size):
            X = _check_onehot(raw, offset, seq.label, seq.path)
            parts = {name: next(stream) for name, stream in streams.items()}
            for name, part in parts.items():
                _check_finite(part, offset, arrays[name])
            hyp = parts.get(HYPOTHETICAL_KEY)
            proj = parts.get(PROJECTED_KEY)
            if hyp is None:  # projected only: stored as both (see kind)
                hyp = proj
            rows = windows.iloc[offset : offset + len(X)]
            store.append(X, hyp, projected=proj, coords=rows[columns])
            offset += len(X)


__all__ = ["FORMATS", "KINDS", "LAYOUTS", "import_attributions"]

"""The HDF5 attribution store: one-hot sequences, hypothetical and projected contributions.

The layout is the one ChromBPNet writes and that TF-MoDISco (``modisco motifs -i``) and Fi-NeMo
read as it is, plus seqsal's own coordinates and provenance (see docs/formats.md):

========================  ===========  ============================================
key                       shape        content
========================  ===========  ============================================
``raw/seq``               (n, 4, L)    one-hot sequence, rows A C G T (float32)
``shap/seq``              (n, 4, L)    hypothetical contributions
``projected_shap/seq``    (n, 4, L)    projected contributions = hypothetical * one-hot
``coords/chrom``          (n,)         chromosome (variable-length string)
``coords/start``          (n,)         window start, 0-based (int64)
``coords/end``            (n,)         window end, exclusive (int64)
``coords/strand``         (n,)         "+", "-" or "." (variable-length string)
``coords/name``           (n,)         region name (variable-length string)
``coords/pad_left``       (n,)         N bases before ``start`` (+ strand order; int64)
``coords/pad_right``      (n,)         N bases after ``end`` (int64)
``delta``                 (n,)         completeness delta, IG and DeepSHAP (float32)
========================  ===========  ============================================

Every dataset is chunked along n and resizable, so an :class:`AttributionStore` appends shard
after shard without holding more than one shard in memory.  The file is written under a
temporary name and renamed when closed complete: a crash never leaves a finished-looking store.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from seqsal import __version__
from seqsal.errors import InputError, first_line
from seqsal.io.atomic import atomic_path

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

RAW_KEY = "raw/seq"
HYPOTHETICAL_KEY = "shap/seq"
PROJECTED_KEY = "projected_shap/seq"
DELTA_KEY = "delta"
COORD_COLUMNS = ("chrom", "start", "end", "strand", "name")
PAD_COLUMNS = ("pad_left", "pad_right")
"""Optional columns: N bases added before ``start`` / after ``end`` (+ strand order) for
windows that run past a chromosome end, so ``pad_left + end - start + pad_right == L``."""
_ALL_COORDS = COORD_COLUMNS + PAD_COLUMNS
_STRING_COORDS = ("chrom", "strand", "name")

# Attributes that describe one shard rather than the run; merge_stores does not compare them
# ("regions" is each shard's own part of the BED; pass the whole BED through attrs=) and
# adds up the counts among them.
_PER_SHARD_ATTRS = frozenset({"created", "regions", "n_skipped_nonfinite"})
_SUMMED_ATTRS = ("n_skipped_nonfinite",)

# Target size of one chunk in bytes: h5py's guidance is 10 KiB to 1 MiB.
_CHUNK_BYTES = 1 << 20


def _chunk_rows(length: int, itemsize: int, chunk_size: int) -> int:
    """Rows per chunk: at most ``chunk_size``, and about 1 MiB per chunk."""
    return max(1, min(chunk_size, _CHUNK_BYTES // (4 * length * itemsize)))


def _attr_value(value: Any) -> Any:
    """An HDF5-storable form of a provenance value (None -> "none", others JSON)."""
    if value is None:
        return "none"
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, str, np.integer, np.floating)):
        return value
    return json.dumps(value, default=str)


def _read_attr(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, np.generic):
        value = value.item()
    return value


def _coords_columns(coords: Any, n: int, length: int, offset: int) -> dict[str, np.ndarray]:
    """The five coordinate columns of ``coords`` (a DataFrame or mapping) as arrays of n rows."""
    if coords is None:
        return {
            "chrom": np.array([""] * n, dtype=object),
            "start": np.zeros(n, dtype=np.int64),
            "end": np.full(n, length, dtype=np.int64),
            "strand": np.array(["."] * n, dtype=object),
            "name": np.array([f"region{offset + i}" for i in range(n)], dtype=object),
            "pad_left": np.zeros(n, dtype=np.int64),
            "pad_right": np.zeros(n, dtype=np.int64),
        }
    out = {}
    for column in _ALL_COORDS:
        if column in PAD_COLUMNS and column not in getattr(coords, "keys", list)():
            out[column] = np.zeros(n, dtype=np.int64)
            continue
        try:
            values = coords[column]
        except (KeyError, IndexError) as err:
            raise InputError(
                f"coords has no column {column!r}; expected columns {list(COORD_COLUMNS)}"
            ) from err
        values = np.asarray(values)
        if values.shape != (n,):
            raise InputError(
                f"coords[{column!r}] has shape {values.shape}; expected ({n},), one row per sequence"
            )
        if column in _STRING_COORDS:
            out[column] = np.array([str(v) for v in values], dtype=object)
        else:
            out[column] = values.astype(np.int64)
    return out


def _check_array(name: str, array: Any, n: int | None, length: int) -> np.ndarray:
    array = np.asarray(array)
    if (
        array.ndim != 3
        or array.shape[1] != 4
        or array.shape[2] != length
        or (n is not None and array.shape[0] != n)
    ):
        want = f"({n if n is not None else 'n'}, 4, {length})"
        raise InputError(f"{name} has shape {array.shape}; expected {want}")
    return array


class AttributionStore:
    """Writer of an attribution store, appended to shard by shard.

    Parameters
    ----------
    path : str or os.PathLike
        Final path of the ``.h5`` file.  Nothing appears under this name until :meth:`close`
        succeeds.
    length : int
        Sequence length L of every window.
    attrs : mapping, optional
        Provenance written as HDF5 attributes of the root group (method, target, baseline,
        steps, rule, correction, rc_average, model_checksum, seed, ...).  ``seqsal_version``
        and ``created`` are added.  None values are stored as "none", lists and dicts as JSON.
    float16 : bool, default False
        Store ``shap/seq`` and ``projected_shap/seq`` as float16: half the disk, about 3
        significant digits, enough for motif discovery.  ``raw/seq`` stays float32.
    chunk_size : int, default 256
        Upper bound on the rows per HDF5 chunk (chunks are also capped at about 1 MiB).
    compression : {None, "gzip", "lzf"}, default None
        HDF5 filter for every dataset.  None keeps writes fastest and every reader able to
        read the file.
    with_delta : bool, default False
        Create the ``delta`` dataset (completeness delta per example, for IG and DeepSHAP).

    Examples
    --------
    >>> with AttributionStore("attr.h5", length=1000, attrs={"method": "ig"}) as store:
    ...     for X, hyp, coords in shards:
    ...         store.append(X, hyp, coords=coords)
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        length: int,
        attrs: Mapping | None = None,
        float16: bool = False,
        chunk_size: int = 256,
        compression: str | None = None,
        with_delta: bool = False,
    ):
        import h5py

        from seqsal._runtime import check_positive_int

        self.path = Path(path)
        self.length = check_positive_int(length, "length")
        chunk_size = check_positive_int(chunk_size, "chunk_size")
        if compression not in (None, "gzip", "lzf"):
            raise InputError(f"compression={compression!r}; expected None, 'gzip' or 'lzf'")
        self.float16 = bool(float16)
        self.n = 0
        self._atomic = atomic_path(self.path)
        tmp = self._atomic.__enter__()
        try:
            self._file = h5py.File(tmp, "w")
            attr_dtype = np.float16 if self.float16 else np.float32
            kw = {"compression": compression}
            rows = _chunk_rows(self.length, 4, chunk_size)
            f = self._file
            self._raw = f.create_dataset(
                RAW_KEY,
                shape=(0, 4, self.length),
                maxshape=(None, 4, self.length),
                dtype=np.float32,
                chunks=(rows, 4, self.length),
                **kw,
            )
            self._hyp = f.create_dataset(
                HYPOTHETICAL_KEY,
                shape=(0, 4, self.length),
                maxshape=(None, 4, self.length),
                dtype=attr_dtype,
                chunks=(rows, 4, self.length),
                **kw,
            )
            self._proj = f.create_dataset(
                PROJECTED_KEY,
                shape=(0, 4, self.length),
                maxshape=(None, 4, self.length),
                dtype=attr_dtype,
                chunks=(rows, 4, self.length),
                **kw,
            )
            coord_rows = max(rows, 1024)
            self._coords = {}
            for column in _ALL_COORDS:
                dtype = h5py.string_dtype() if column in _STRING_COORDS else np.int64
                self._coords[column] = f.create_dataset(
                    f"coords/{column}",
                    shape=(0,),
                    maxshape=(None,),
                    dtype=dtype,
                    chunks=(coord_rows,),
                    **kw,
                )
            self._delta = None
            if with_delta:
                self._delta = f.create_dataset(
                    DELTA_KEY,
                    shape=(0,),
                    maxshape=(None,),
                    dtype=np.float32,
                    chunks=(coord_rows,),
                    **kw,
                )
            for key, value in dict(attrs or {}).items():
                f.attrs[key] = _attr_value(value)
            f.attrs["seqsal_version"] = __version__
            f.attrs["created"] = datetime.now(UTC).isoformat(timespec="seconds")
            f.attrs["float16"] = self.float16
        except BaseException as err:
            self._abort(err)
            raise
        self._open = True

    def append(
        self,
        X: Any,
        hypothetical: Any,
        *,
        projected: Any = None,
        coords: Any = None,
        delta: Any = None,
    ) -> None:
        """Append one shard of n windows.

        Parameters
        ----------
        X : np.ndarray, shape (n, 4, L)
            One-hot sequences in the orientation the model saw.
        hypothetical : np.ndarray or torch.Tensor, shape (n, 4, L)
            Hypothetical contributions.
        projected : np.ndarray, shape (n, 4, L), optional
            Projected contributions; default ``hypothetical * X``.
        coords : pandas.DataFrame or mapping, optional
            Columns ``chrom, start, end, strand, name`` (n rows), and optionally
            ``pad_left, pad_right`` (as :func:`seqsal.sequence.windows.make_windows` gives;
            default 0).  Default: no chromosome, ``0..L``, strand ".", names ``region<i>``.
        delta : array of shape (n,), optional
            Completeness deltas; required when the store was made ``with_delta``.
        """
        if not self._open:
            raise InputError(f"{self.path}: the store is closed; cannot append")
        X = _check_array("X", _numpy(X), None, self.length)
        n = X.shape[0]
        hypothetical = _check_array("hypothetical", _numpy(hypothetical), n, self.length)
        projected = (
            hypothetical * X
            if projected is None
            else _check_array("projected", _numpy(projected), n, self.length)
        )
        columns = _coords_columns(coords, n, self.length, self.n)
        if (self._delta is None) != (delta is None):
            raise InputError(
                "delta was given but the store has no delta dataset (create it with with_delta=True)"
                if self._delta is None
                else "the store has a delta dataset; append(..., delta=) is required"
            )
        if delta is not None:
            delta = np.asarray(_numpy(delta), dtype=np.float32).reshape(-1)
            if delta.shape != (n,):
                raise InputError(f"delta has shape {delta.shape}; expected ({n},)")
        start, stop = self.n, self.n + n
        try:
            for dataset, values in (
                (self._raw, X),
                (self._hyp, hypothetical),
                (self._proj, projected),
            ):
                dataset.resize(stop, axis=0)
                dataset[start:stop] = values.astype(dataset.dtype, copy=False)
            for column, values in columns.items():
                self._coords[column].resize(stop, axis=0)
                self._coords[column][start:stop] = values
            if delta is not None:
                assert self._delta is not None  # checked above
                self._delta.resize(stop, axis=0)
                self._delta[start:stop] = delta
        except BaseException as err:
            self._abort(err)
            raise
        self.n = stop

    def set_attrs(self, attrs: Mapping) -> None:
        """Add or replace provenance attributes of the open store (stored as in ``attrs=``)."""
        if not self._open:
            raise InputError(f"{self.path}: the store is closed; cannot set attributes")
        for key, value in dict(attrs).items():
            self._file.attrs[key] = _attr_value(value)

    def close(self) -> Path:
        """Flush, close and rename the store to its final path; return that path."""
        if not self._open:
            return self.path
        self._open = False
        self._file.attrs["n_regions"] = self.n
        self._file.close()
        self._atomic.__exit__(None, None, None)
        log.debug("wrote %d windows to %s", self.n, self.path)
        return self.path

    def abort(self) -> None:
        """Close and delete the temporary file; nothing appears under the final path."""
        self._abort(RuntimeError("aborted"))

    def _abort(self, err: BaseException) -> None:
        self._open = False
        file = getattr(self, "_file", None)
        if file is not None and file.id.valid:
            file.close()
        # Throwing into atomic_path removes the temporary file; it returns False, raising nothing.
        self._atomic.__exit__(type(err), err, err.__traceback__)

    def __enter__(self) -> AttributionStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
        elif self._open:
            self._abort(exc)


def _numpy(array: Any) -> np.ndarray:
    if hasattr(array, "detach"):
        return array.detach().cpu().numpy()
    return np.asarray(array)


#: What h5py raises for a file whose HDF5 structures are damaged (a truncated file, a
#: corrupted B-tree, object header or heap): reading the object, its links or its data.
_DAMAGE = (OSError, RuntimeError, KeyError, ValueError, TypeError)


def _damaged(path: str | os.PathLike, what: str, err: BaseException) -> InputError:
    """The one-line error for an HDF5 file that cannot be read."""
    return InputError(
        f"cannot read {what}: the HDF5 file is damaged or incomplete ({first_line(err)}); "
        "write it again",
        path=path,
    )


class StoredArray:
    """One ``(n, 4, L)`` (or ``(n,)``) dataset of a store, sliced lazily like the h5py dataset
    it wraps (other h5py attributes, such as ``chunks``, pass through); a read that fails on a
    damaged file raises a one-line InputError naming the file and the key.

    Attributes
    ----------
    shape : tuple of int
    dtype : numpy.dtype
    key : str
        Its key in the file (``raw/seq``, ...).
    """

    def __init__(self, dataset: Any, path: Path, key: str) -> None:
        self._dataset = dataset
        self.path = path
        self.key = key
        self.shape = tuple(int(s) for s in dataset.shape)
        self.dtype = dataset.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: Any) -> np.ndarray:
        try:
            return self._dataset[index]
        except (OSError, RuntimeError) as err:
            raise _damaged(self.path, self.key, err) from None

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return np.asarray(self[()], dtype=dtype)

    def __getattr__(self, name: str) -> Any:
        # anything else (chunks, maxshape, compression, ...) is the h5py dataset's
        if name.startswith("__") or name == "_dataset":
            raise AttributeError(name)
        return getattr(self._dataset, name)

    def __repr__(self) -> str:
        return (
            f"StoredArray({str(self.path)!r}, {self.key!r}, shape={self.shape}, dtype={self.dtype})"
        )


class StoredAttributions:
    """Read access to a store; the (n, 4, L) arrays are sliced lazily.

    Opening checks the file's structure (the three arrays, their shapes, the coordinates'
    lengths, the attributes), so a damaged or foreign file fails at once with one line.

    Attributes
    ----------
    raw, hypothetical, projected : StoredArray, shape (n, 4, L)
        ``raw/seq``, ``shap/seq`` and ``projected_shap/seq``; index them (``store.projected[10:20]``)
        to read numpy arrays.
    delta : StoredArray of shape (n,) or None
    attrs : dict
        Provenance attributes.
    path : pathlib.Path
    """

    def __init__(self, path: str | os.PathLike):
        import h5py

        self.path = Path(path)
        if not self.path.exists():
            raise InputError("no such attribution store", path=self.path)
        if self.path.is_dir():
            raise InputError("expected an attribution store (.h5), got a folder", path=self.path)
        try:
            self._file = h5py.File(self.path, "r")
        except OSError as err:
            raise InputError(
                f"not an HDF5 file, or a damaged one ({first_line(err)})", path=self.path
            ) from None
        try:
            self._open_arrays()
        except BaseException:
            self._file.close()
            raise
        self._coords: pd.DataFrame | None = None

    def _open_arrays(self) -> None:
        f = self._file
        try:
            missing = [k for k in (RAW_KEY, HYPOTHETICAL_KEY, PROJECTED_KEY) if k not in f]
        except _DAMAGE as err:
            raise _damaged(self.path, "the file's index of keys", err) from None
        if missing:
            raise InputError(
                f"not an attribution store: missing {missing}; expected keys raw/seq, shap/seq, projected_shap/seq",
                path=self.path,
            )
        arrays = {}
        for key in (RAW_KEY, HYPOTHETICAL_KEY, PROJECTED_KEY, DELTA_KEY, "coords"):
            try:
                if key not in f:
                    continue
                if key == "coords":
                    arrays.update(
                        {f"coords/{c}": f[f"coords/{c}"] for c in _ALL_COORDS if c in f["coords"]}
                    )
                else:
                    arrays[key] = f[key]
            except _DAMAGE as err:
                raise _damaged(self.path, key, err) from None
        raw = arrays[RAW_KEY]
        if raw.ndim != 3 or raw.shape[1] != 4:
            raise InputError(
                f"raw/seq has shape {raw.shape}; expected (n, 4, L) one-hot", path=self.path
            )
        for key in (HYPOTHETICAL_KEY, PROJECTED_KEY):
            if arrays[key].shape != raw.shape:
                raise InputError(
                    f"{key} has shape {arrays[key].shape} but raw/seq {raw.shape}; expected "
                    "the same (n, 4, L)",
                    path=self.path,
                )
        n = raw.shape[0]
        for key, dataset in arrays.items():
            if (key == DELTA_KEY or key.startswith("coords/")) and dataset.shape != (n,):
                raise InputError(
                    f"{key} has shape {dataset.shape}; expected ({n},), one per window",
                    path=self.path,
                )
        self._coord_datasets = {k: v for k, v in arrays.items() if k.startswith("coords/")}
        self._has_coords = "coords" in f
        self.raw = StoredArray(raw, self.path, RAW_KEY)
        self.hypothetical = StoredArray(arrays[HYPOTHETICAL_KEY], self.path, HYPOTHETICAL_KEY)
        self.projected = StoredArray(arrays[PROJECTED_KEY], self.path, PROJECTED_KEY)
        self.delta = (
            StoredArray(arrays[DELTA_KEY], self.path, DELTA_KEY) if DELTA_KEY in arrays else None
        )
        try:
            self.attrs = {key: _read_attr(value) for key, value in f.attrs.items()}
        except _DAMAGE as err:
            raise _damaged(self.path, "the provenance attributes", err) from None

    @property
    def n(self) -> int:
        """Number of windows."""
        return int(self.raw.shape[0])

    @property
    def length(self) -> int:
        """Window length L."""
        return int(self.raw.shape[2])

    def __len__(self) -> int:
        return self.n

    @property
    def coords(self) -> pd.DataFrame:
        """Coordinates: a DataFrame with chrom, start, end, strand, name, pad_left, pad_right."""
        import pandas as pd

        if self._coords is None:
            if self._has_coords:
                data = {}
                for column in _ALL_COORDS:
                    values = self._coord_datasets.get(f"coords/{column}")
                    if values is None:
                        data[column] = np.zeros(self.n, dtype=np.int64)
                        continue
                    try:
                        data[column] = values.asstr()[:] if column in _STRING_COORDS else values[:]
                    except _DAMAGE as err:
                        raise _damaged(self.path, f"coords/{column}", err) from None
                self._coords = pd.DataFrame(data)
            else:  # a store written by another tool (ChromBPNet): no coordinates
                self._coords = pd.DataFrame(
                    {
                        "chrom": [""] * self.n,
                        "start": 0,
                        "end": self.length,
                        "strand": ".",
                        "name": [f"region{i}" for i in range(self.n)],
                        "pad_left": 0,
                        "pad_right": 0,
                    }
                )
        return self._coords

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> StoredAttributions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(path: str | os.PathLike) -> StoredAttributions:
    """Open an attribution store for reading (lazy: arrays are read when sliced).

    Raises
    ------
    InputError
        One line naming the file: it does not exist, is not HDF5, is damaged (truncated,
        corrupted metadata), lacks ``raw/seq``, ``shap/seq`` or ``projected_shap/seq``, or
        holds arrays of inconsistent shapes.  A damaged data block found later, when the
        arrays are read, raises the same kind of error naming the key.
    """
    return StoredAttributions(path)


def iter_chunks(n: int, chunk_size: int) -> Iterator[slice]:
    """Yield slices of ``range(n)``, ``chunk_size`` rows at a time (for streaming a store)."""
    from seqsal._runtime import batch_slices

    yield from batch_slices(n, chunk_size)


#: Windows read at a time by :func:`read_position_contributions` (bounds the (chunk, 4, L) reads).
POSITION_READ_CHUNK = 4096


def read_position_contributions(
    path: str | os.PathLike, *, progress: bool | None = None
) -> tuple[np.ndarray, pd.DataFrame]:
    """Per-position projected contributions of a store and its coordinates.

    The projected contributions summed over the four bases: at each position, the contribution
    of the base present (the signal seqlets are called on).  Read :data:`POSITION_READ_CHUNK`
    windows at a time, so memory holds the ``(n, L)`` result and one chunk.

    Parameters
    ----------
    path : str or os.PathLike
        The attribution store.
    progress : bool or None, default None
        A progress bar over the windows (None: only on a terminal).

    Returns
    -------
    (numpy.ndarray, pandas.DataFrame)
        float64 ``(n, L)``, and the coordinates table (:attr:`StoredAttributions.coords`).
    """
    from seqsal._runtime import batch_slices, progress_bar

    with open_store(path) as store:
        n, L = store.n, store.length
        out = np.empty((n, L), dtype=np.float64)
        with progress_bar(
            total=n, desc=f"reading {Path(path).name}", unit="region", progress=progress
        ) as bar:
            for sl in batch_slices(max(n, 1), POSITION_READ_CHUNK):
                if sl.start >= n:
                    break
                out[sl] = np.asarray(store.projected[sl], dtype=np.float64).sum(axis=1)
                bar.update(sl.stop - sl.start)
        coords = store.coords.copy()
    return out, coords


def merge_stores(
    paths: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    chunk_size: int = 1024,
    attrs: Mapping[str, Any] | None = None,
) -> Path:
    """Concatenate shard stores into one, in the order given, streaming chunk by chunk.

    Every shard must have the same window length, the same float16 setting and the same
    provenance attributes (apart from ``created``, ``regions``, the shard's own BED, and
    ``n_skipped_nonfinite``, which is added up); otherwise an InputError names the first shard
    and attribute that differ.

    Parameters
    ----------
    paths : sequence of paths
        Shard stores.
    out : path
        Merged store, written atomically.
    chunk_size : int, default 1024
        Windows copied at a time (bounds memory).
    attrs : mapping of str to scalar, optional
        Provenance attributes set on the merged store (e.g. ``{"regions": whole BED}``),
        over those shared by the shards.

    Returns
    -------
    pathlib.Path
        ``out``.
    """
    extra_attrs = dict(attrs or {})
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("merge_stores: paths is empty; expected at least one store")
    stores = [open_store(p) for p in paths]
    try:
        first = stores[0]
        reference = {
            k: v for k, v in first.attrs.items() if k not in _PER_SHARD_ATTRS and k != "n_regions"
        }
        for store in stores[1:]:
            if store.length != first.length:
                raise InputError(
                    f"window length {store.length} differs from {first.length} in {first.path}",
                    path=store.path,
                )
            attrs = {
                k: v
                for k, v in store.attrs.items()
                if k not in _PER_SHARD_ATTRS and k != "n_regions"
            }
            for key in sorted(set(reference) | set(attrs)):
                if reference.get(key) != attrs.get(key):
                    raise InputError(
                        f"attribute {key!r} is {attrs.get(key)!r} but {reference.get(key)!r} in {first.path}; "
                        "only shards of one run can be merged",
                        path=store.path,
                    )
            if (store.delta is None) != (first.delta is None):
                raise InputError(
                    f"has {'no ' if store.delta is None else ''}delta dataset, unlike {first.path}",
                    path=store.path,
                )
        summed = {
            key: sum(int(store.attrs.get(key, 0)) for store in stores)
            for key in _SUMMED_ATTRS
            if any(key in store.attrs for store in stores)
        }
        writer = AttributionStore(
            out,
            length=first.length,
            attrs={**reference, **summed, **extra_attrs},
            float16=bool(first.attrs.get("float16", first.hypothetical.dtype == np.float16)),
            with_delta=first.delta is not None,
        )
        with writer:
            for store in stores:
                coords = store.coords
                for rows in iter_chunks(store.n, chunk_size):
                    writer.append(
                        store.raw[rows],
                        store.hypothetical[rows],
                        projected=store.projected[rows],
                        coords=coords.iloc[rows],
                        delta=None if store.delta is None else store.delta[rows],
                    )
    finally:
        for store in stores:
            store.close()
    return Path(out)


__all__ = [
    "COORD_COLUMNS",
    "HYPOTHETICAL_KEY",
    "PAD_COLUMNS",
    "PROJECTED_KEY",
    "RAW_KEY",
    "AttributionStore",
    "StoredArray",
    "StoredAttributions",
    "merge_stores",
    "open_store",
]

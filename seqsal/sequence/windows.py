"""Fixed-width windows around regions, and their sequences or one-hot arrays.

:func:`make_windows` turns regions (BED rows) into windows of one width, centred on each
region's middle or on its summit, and decides what happens to windows that run past a
chromosome end: padded with N and flagged (``pad_left``/``pad_right``), dropped, or an error.
A window is never silently shifted to fit.

:func:`extract_onehot`, :func:`iter_onehot` and :func:`extract_sequences` read the windows from
a :class:`~seqsal.io.fasta.Genome`.  A ``-`` strand window is the reverse complement, so its
base 0 is the 3' end of the window on the ``+`` strand.

One-hot extractions of at least a million bases in all go through one numba kernel that
copies each window's bytes from a memory map of the FASTA (through the ``.fai`` line layout,
so no chromosome is read whole or stripped of newlines) and writes its one-hot straight into
the output, strand, N padding and the count of unknown bases included, on ``n_jobs`` Python
threads (the kernel releases the GIL), so that the first-touch page faults of the output are
spread over the threads too.  A bgzip FASTA is read a chromosome at a time instead.  Smaller
extractions cut code arrays out of cached chromosomes with numpy and never load numba.  Both
paths give the same arrays, byte for byte.
"""

from __future__ import annotations

import itertools
import logging
import mmap
import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from typing import NamedTuple

import numpy as np
import pandas as pd

from seqsal._runtime import batch_slices, check_positive_int, usable_cores
from seqsal.errors import InputError
from seqsal.sequence.geometry import window_geometry
from seqsal.sequence.onehot import (
    _FLOAT16_ONE,
    _NUMBA_MIN_BYTES,
    N_CODE,
    _kernels,
    check_dtype,
    codes,
    onehot_from_codes,
    reverse_complement_codes,
)

log = logging.getLogger(__name__)

OUT_OF_BOUNDS = ("pad", "drop", "error")
CENTERS = ("middle", "summit")

# Chromosome arrays kept at once.  A sorted windows table touches one chromosome at a time;
# the budget bounds memory for a large genome with unsorted windows (re-reads then happen).
CACHE_BYTES = 2 * 1024**3

# One-hot extractions of at least this many bases in all (windows x width) take the one-pass
# numba kernel; smaller ones the numpy path, which never loads numba.
_FUSED_MIN_BASES = _NUMBA_MIN_BYTES

# Windows per block handed to a thread: about 4 blocks per thread, 64 to 1024 windows each
# (1024 x 4 x 1 kb is 4 MB of int8 output), so that a thread slowed by other work on the
# machine leaves its share to the others.
_ROWS_PER_TASK = 64
_MAX_ROWS_PER_TASK = 1024

# Complement of every ASCII byte: IUPAC codes to their complements, case kept; others as is.
_COMPLEMENT_BYTES = bytes.maketrans(
    b"ACGTRYKMBDHVNacgtrykmbdhvn",
    b"TGCAYRMKVHDBNtgcayrmkvhdbn",
)


def _region_label(df: pd.DataFrame, i: int) -> str:
    row = df.iloc[i]
    return f"region {row['name']!r} ({row['chrom']}:{row['start']}-{row['end']}{'' if row['strand'] == '.' else ' ' + row['strand']})"


def _as_regions(regions: pd.DataFrame, what: str = "regions") -> pd.DataFrame:
    """A copy with BED6 columns present and checked (name/score/strand filled as read_bed does)."""
    if not isinstance(regions, pd.DataFrame):
        raise InputError(
            f"{what} is a {type(regions).__name__}; expected a pandas DataFrame (see seqsal.io.bed.read_bed)"
        )
    missing = [c for c in ("chrom", "start", "end") if c not in regions.columns]
    if missing:
        raise InputError(f"{what} lacks column(s) {missing}; expected chrom, start, end")
    # Shallow: pandas 3 copies on write, so the caller's table is never changed through it.
    df = regions.copy(deep=False)
    df.attrs = dict(regions.attrs)
    for col in ("start", "end"):
        if not pd.api.types.is_integer_dtype(df[col]):
            raise InputError(f"{what} column {col!r} has dtype {df[col].dtype}; expected integers")
        df[col] = df[col].astype(np.int64)
    if "name" not in df.columns:
        df["name"] = (
            df["chrom"].astype(str) + ":" + df["start"].astype(str) + "-" + df["end"].astype(str)
        )
    if "score" not in df.columns:
        df["score"] = 0.0
    if "strand" not in df.columns:
        df["strand"] = "."
    bad = ~df["strand"].isin(["+", "-", "."]).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{what}: {_region_label(df, i)} has strand {df['strand'].iloc[i]!r}; expected '+', '-' or '.'"
        )
    return df


def _resolve_column(df: pd.DataFrame, column) -> str:
    """A column name from a name or a 1-based file column number (narrowPeak summit is 10)."""
    if isinstance(column, str) and not column.isdigit():
        if column not in df.columns:
            raise InputError(
                f"summit_column={column!r} is not a column; the regions have {list(df.columns)}"
            )
        return column
    try:
        number = int(column)
    except (TypeError, ValueError):
        raise InputError(
            f"summit_column={column!r}; expected a column name or a 1-based column number"
        ) from None
    file_columns = df.attrs.get("columns") or list(df.columns)
    if not 1 <= number <= len(file_columns):
        raise InputError(
            f"summit_column={number} but the regions have {len(file_columns)} columns "
            f"({', '.join(map(str, file_columns))}); expected a 1-based column number"
        )
    name = file_columns[number - 1]
    if name not in df.columns:
        raise InputError(
            f"summit_column={number} names column {name!r}, which the regions table lacks"
        )
    return name


def _summit_offsets(df: pd.DataFrame, column: str) -> np.ndarray:
    values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=np.float64)
    lengths = (df["end"] - df["start"]).to_numpy()
    bad = np.isnan(values) | (values != np.round(values))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"summit column {column!r} of {_region_label(df, i)} is {df[column].iloc[i]!r}; "
            "expected an integer offset from the region start"
        )
    offsets = values.astype(np.int64)
    # narrowPeak writes -1 for "no summit called": centre those on the middle.
    none = offsets == -1
    if none.any():
        log.info(
            "%d region(s) have summit -1 (none called); centred on their middle", int(none.sum())
        )
        offsets[none] = lengths[none] // 2
    bad = (offsets < 0) | (offsets >= lengths)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"summit column {column!r} of {_region_label(df, i)} is {offsets[i]}; "
            f"expected an offset from the region start in [0, {lengths[i]}) (or -1 for none); "
            f"{int(bad.sum())} region(s) are affected"
        )
    return offsets


def make_windows(
    regions: pd.DataFrame,
    width: int,
    *,
    center: str = "middle",
    summit_column: str | int | None = None,
    chrom_sizes: Mapping[str, int] | None = None,
    out_of_bounds: str = "pad",
) -> pd.DataFrame:
    """Fixed-width windows centred on each region's middle or summit.

    The centre is ``start + (end - start) // 2`` (or ``start + summit``), and the window is
    ``[centre - width // 2, centre - width // 2 + width)``: an odd window reaches one base
    further right than left, as in tangermeme's ``extract_loci``.  Centring is done in genome
    coordinates whatever the strand, so a ``-`` region gives exactly the reverse complement of
    the same region on ``+``.

    Parameters
    ----------
    regions : pandas.DataFrame
        BED columns ``chrom, start, end`` (``name, score, strand`` filled if absent), as
        :func:`seqsal.io.bed.read_bed` returns.
    width : int
        Window length L in bases.
    center : {"middle", "summit"}, default "middle"
        Centre on the region's middle, or on ``start + summit_column``.
    summit_column : str or int, optional
        Column holding the summit offset from the region start (narrowPeak column 10,
        ``-1`` = none called, then the middle is used): a column name or a 1-based file
        column number.  Giving it implies ``center="summit"``.
    chrom_sizes : mapping of str to int, optional
        Chromosome lengths (``Genome.chrom_sizes``), to find windows past a chromosome end.
        Without it only the left end (position 0) is checked; extraction still pads with N.
    out_of_bounds : {"pad", "drop", "error"}, default "pad"
        Windows running past a chromosome end: padded with N (``pad_left``/``pad_right``
        count the N bases, and one warning gives the number of windows), dropped (counted in
        a warning), or an InputError naming the first such region.  Padding is the default
        because it keeps one window per region, so outputs line up with the input table.

    Returns
    -------
    pandas.DataFrame
        One row per kept region, with ``chrom, start, end`` of the genome span actually read
        (clipped to the chromosome), ``name, score, strand``, ``pad_left, pad_right`` (N bases
        added before ``start`` and after ``end`` in + strand orientation, so
        ``pad_left + end - start + pad_right == width``), then the regions' other columns.
        ``attrs`` are carried, plus ``attrs["width"]``.
    """
    width = check_positive_int(width, "width")
    if out_of_bounds not in OUT_OF_BOUNDS:
        raise InputError(
            f"out_of_bounds={out_of_bounds!r}; expected one of {', '.join(OUT_OF_BOUNDS)}"
        )
    if center not in CENTERS:
        raise InputError(f"center={center!r}; expected one of {', '.join(CENTERS)}")
    df = _as_regions(regions)
    starts = df["start"].to_numpy(dtype=np.int64)
    ends = df["end"].to_numpy(dtype=np.int64)
    if summit_column is not None:
        centre = starts + _summit_offsets(df, _resolve_column(df, summit_column))
    elif center == "summit":
        raise InputError(
            "center='summit' needs summit_column (the column holding the summit offset)"
        )
    else:
        centre = starts + (ends - starts) // 2
    win_start = centre - width // 2
    win_end = win_start + width

    if chrom_sizes is not None:
        chrom_codes, chrom_names = pd.factorize(df["chrom"])
        sizes = np.array([chrom_sizes.get(c, -1) for c in chrom_names], dtype=np.int64)[chrom_codes]
        unknown = sizes < 0
        if unknown.any():
            names = list(dict.fromkeys(df["chrom"][unknown]))
            raise InputError(
                f"{int(unknown.sum())} region(s) on chromosome(s) not in chrom_sizes: "
                f"{', '.join(map(repr, names[:5]))}{', ...' if len(names) > 5 else ''}"
            )
    else:
        sizes = np.full(len(df), np.iinfo(np.int64).max, dtype=np.int64)

    pad_left = np.maximum(0, -win_start)
    pad_right = np.maximum(0, win_end - sizes)
    outside = (pad_left > 0) | (pad_right > 0)
    beyond = starts >= sizes  # the region itself lies past the chromosome end
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        where = (
            f"{int(outside.sum())} window(s) of width {width} run past a chromosome end; "
            f"the first is {_region_label(df, first)}, window {df['chrom'].iloc[first]}:"
            f"{win_start[first]}-{win_end[first]}"
        )
        if chrom_sizes is not None:
            where += f" (chromosome length {sizes[first]})"
        if out_of_bounds == "error":
            raise InputError(
                f"{where}; use out_of_bounds (--out-of-bounds) 'pad' or 'drop' to keep going"
            )
        if out_of_bounds == "drop":
            log.warning("%s: dropped %d", where, int(outside.sum()))
            keep = ~outside
        else:
            if beyond.any():
                i = int(np.flatnonzero(beyond)[0])
                raise InputError(
                    f"{_region_label(df, i)} starts past the end of {df['chrom'].iloc[i]} "
                    f"(length {sizes[i]}); is this the right genome? ({int(beyond.sum())} such region(s))"
                )
            log.warning("%s: padded with N (pad_left/pad_right columns)", where)
            keep = np.ones(len(df), dtype=bool)
    else:
        keep = np.ones(len(df), dtype=bool)

    out = df.loc[keep].copy()
    out.attrs = dict(df.attrs)
    out["start"] = np.maximum(win_start, 0)[keep]
    out["end"] = np.minimum(win_end, sizes)[keep]
    out["pad_left"] = pad_left[keep]
    out["pad_right"] = pad_right[keep]
    first_cols = ["chrom", "start", "end", "name", "score", "strand", "pad_left", "pad_right"]
    out = out[first_cols + [c for c in out.columns if c not in first_cols]].reset_index(drop=True)
    out.attrs["width"] = width
    if len(out) == 0:
        raise InputError(
            f"no windows left: all {len(df)} window(s) of width {width} ran past a chromosome end and were dropped"
        )
    return out


class _Windows(NamedTuple):
    chrom: np.ndarray  # (n,) object
    chrom_code: np.ndarray  # (n,) int64, index into chrom_names
    chrom_names: list  # distinct chromosome names, in order of first appearance
    first: np.ndarray  # (n,) int64, genome position of window base 0 on + (may be < 0)
    minus: np.ndarray  # (n,) bool
    width: int


def _window_arrays(windows: pd.DataFrame) -> _Windows:
    df = _as_regions(windows, "windows")
    if len(df) == 0:
        raise InputError("windows is empty; nothing to extract")
    geometry = window_geometry(df, what="windows")
    chrom = df["chrom"].to_numpy(dtype=object)
    chrom_code, chrom_names = pd.factorize(chrom)
    return _Windows(
        chrom=chrom,
        chrom_code=chrom_code.astype(np.int64, copy=False),
        chrom_names=list(chrom_names),
        first=geometry.origin,
        minus=geometry.minus,
        width=geometry.length,
    )


class _ChromosomeCache:
    """Whole chromosomes as uint8 arrays (codes or ASCII bytes), least recently used out."""

    def __init__(self, genome, *, as_codes: bool, max_bytes: int = CACHE_BYTES):
        self.genome = genome
        self.as_codes = as_codes
        self.max_bytes = max_bytes
        self._arrays: OrderedDict[str, np.ndarray] = OrderedDict()

    def __getitem__(self, chrom: str) -> np.ndarray:
        array = self._arrays.get(chrom)
        if array is not None:
            self._arrays.move_to_end(chrom)
            return array
        if chrom not in self.genome.chrom_sizes:
            raise InputError(
                f"window on chromosome {chrom!r}, which is not in the FASTA", path=self.genome.path
            )
        raw = self.genome.chromosome_bytes(chrom)
        if self.as_codes:
            array = codes(raw)
        else:
            array = np.frombuffer(raw, dtype=np.uint8)
        while (
            self._arrays
            and sum(a.nbytes for a in self._arrays.values()) + array.nbytes > self.max_bytes
        ):
            self._arrays.popitem(last=False)
        self._arrays[chrom] = array
        return array


def _gather(
    cache: _ChromosomeCache, win: _Windows, rows: slice, fill: int
) -> tuple[np.ndarray, int]:
    """uint8 array (b, L) of the windows in ``rows`` (+ strand), ``fill`` past chromosome ends.

    Returns the array and the number of padded positions.
    """
    chroms = win.chrom[rows]
    first = win.first[rows]
    width = win.width
    same = chroms[0] == chroms[-1] and (chroms == chroms[0]).all()
    if same:
        seq = cache[chroms[0]]
        if first.min() >= 0 and first.max() + width <= seq.shape[0]:
            # The common case (a sorted table, nothing past an end): one copy per window.
            return np.lib.stride_tricks.sliding_window_view(seq, width)[first], 0
    out = np.empty((len(first), width), dtype=np.uint8)
    n_padded = 0
    groups = [(chroms[0], np.arange(len(first)))] if same else _group_rows(chroms)
    for chrom, idx in groups:
        seq = cache[chrom]
        size = seq.shape[0]
        f = first[idx]
        inside = (f >= 0) & (f + width <= size)
        if inside.all():
            # Each window is a row of the sliding-window view: a contiguous copy per window.
            out[idx] = np.lib.stride_tricks.sliding_window_view(seq, width)[f]
            continue
        ok = idx[inside]
        if ok.size:
            out[ok] = np.lib.stride_tricks.sliding_window_view(seq, width)[first[ok]]
        for row in idx[~inside]:
            lo = first[row]
            a, b = max(lo, 0), min(lo + width, size)
            out[row] = fill
            if b > a:
                out[row, a - lo : b - lo] = seq[a:b]
            n_padded += width - max(0, b - a)
    return out, n_padded


def _group_rows(chroms: np.ndarray) -> list[tuple[str, np.ndarray]]:
    names, inverse = np.unique(chroms.astype(str), return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(names) + 1))
    return [(str(names[k]), order[bounds[k] : bounds[k + 1]]) for k in range(len(names))]


class _Opened:
    """Use a Genome as given, or open (and later close) one from a path."""

    def __init__(self, genome):
        self.owned = isinstance(genome, (str, os.PathLike))
        if self.owned:
            from seqsal.io.fasta import open_genome

            genome = open_genome(genome)
        if not hasattr(genome, "chromosome_bytes") or not hasattr(genome, "chrom_sizes"):
            raise InputError(
                f"genome is a {type(genome).__name__}; expected a seqsal.io.fasta.Genome or a FASTA path"
            )
        self.genome = genome

    def __enter__(self):
        return self.genome

    def __exit__(self, *exc):
        if self.owned:
            self.genome.close()


def _onehot_batches(
    genome, win: _Windows, batch_size: int
) -> Iterator[tuple[slice, np.ndarray, int, int]]:
    """Yield (rows, codes (b, L), n_not_acgt, n_padded) batch by batch, strand applied."""
    cache = _ChromosomeCache(genome, as_codes=True)
    for rows in batch_slices(len(win.first), batch_size):
        code_array, n_padded = _gather(cache, win, rows, N_CODE)
        minus = win.minus[rows]
        if minus.any():
            code_array[minus] = reverse_complement_codes(code_array[minus])
        n_unknown = int(np.count_nonzero(code_array == N_CODE))
        yield rows, code_array, n_unknown, n_padded


def _check_jobs(n_jobs) -> int:
    """``n_jobs`` as a thread count: -1 is every core this process may run on."""
    if (
        isinstance(n_jobs, bool)
        or not isinstance(n_jobs, (int, np.integer))
        or (n_jobs < 1 and n_jobs != -1)
    ):
        raise InputError(f"n_jobs={n_jobs!r}; expected a positive integer or -1 (all cores)")
    if n_jobs == -1:
        return usable_cores()
    return int(n_jobs)


def _chrom_groups(win: _Windows, rows: slice) -> list[tuple[object, np.ndarray]]:
    """(chromosome, row indices within ``rows``) for each chromosome of those windows."""
    code = win.chrom_code[rows]
    if code.size and code[0] == code[-1] and (code == code[0]).all():
        return [(win.chrom[rows.start], np.arange(code.size, dtype=np.int64))]
    order = np.argsort(code, kind="stable")
    starts = np.flatnonzero(np.r_[True, code[order][1:] != code[order][:-1]])
    return [
        (win.chrom[rows.start + order[a]], order[a:b].astype(np.int64, copy=False))
        for a, b in itertools.pairwise(np.r_[starts, code.size])
    ]


class _RecordBytes:
    """Where each chromosome's bytes are read from by the one-pass kernel.

    A plain FASTA is memory-mapped and read through its ``.fai`` line layout, so that only
    the windows' own bytes are touched (no chromosome is copied or stripped of newlines); a
    bgzip-compressed one, or any genome object without :meth:`Genome.record_layout`, through
    whole chromosomes as ASCII bytes (``_ChromosomeCache``).  A context manager: the map is
    closed on exit.
    """

    def __init__(self, genome):
        self.genome = genome
        self.cache = _ChromosomeCache(genome, as_codes=False)
        self._map = None
        self.data = None
        layout = getattr(genome, "record_layout", None)
        if layout is None or layout(next(iter(genome.chrom_sizes))) is None:
            return
        try:
            with open(genome.path, "rb") as handle:
                self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # a file that cannot be mapped: read chromosomes
            return
        self.data = np.frombuffer(self._map, dtype=np.uint8)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.data = None
        if self._map is not None:
            try:
                self._map.close()
            except BufferError:  # a view still held somewhere: the map closes when collected
                pass

    def layout(self, chrom, *, whole: bool = False) -> tuple[np.ndarray, int, int, int, int]:
        """(bytes, offset, line_bases, line_bytes, size) of ``chrom``, as the kernel takes them.

        ``whole``: from the chromosome read whole (newlines removed), even for a mapped file.
        """
        if chrom not in self.genome.chrom_sizes:
            raise InputError(
                f"window on chromosome {chrom!r}, which is not in the FASTA", path=self.genome.path
            )
        size = int(self.genome.chrom_sizes[chrom])
        if self.data is not None and not whole:
            offset, line_bases, line_bytes = self.genome.record_layout(chrom)
            if line_bases >= 1 and line_bytes >= line_bases:
                return self.data, offset, line_bases, line_bytes, size
        seq = self.cache[chrom]
        return seq, 0, max(size, 1), max(size, 1), size


def _encode_windows(
    source: _RecordBytes,
    win: _Windows,
    rows: slice,
    out: np.ndarray,
    n_jobs: int,
    pool: ThreadPoolExecutor | None = None,
) -> tuple[int, int]:
    """One-hot of the windows ``rows`` into ``out`` (b, 4, L) by the one-pass numba kernel.

    Every element of ``out`` is written.  With a ``pool`` (``n_jobs`` threads), blocks of
    windows are encoded on its threads (the kernel releases the GIL), one chromosome's while
    the next one's are handed out.  A chromosome whose mapped bytes do not fit its ``.fai``
    layout is read whole instead (which raises if the index is stale).  Returns
    (n_not_acgt, n_padded), as :func:`_onehot_batches` counts them.
    """
    kernel = _kernels().onehot_fasta_windows
    half = out.dtype == np.float16
    target = out.view(np.uint16) if half else out
    one = np.uint16(_FLOAT16_ONE) if half else out.dtype.type(1)
    width = win.width
    n_rows = rows.stop - rows.start
    step = min(_MAX_ROWS_PER_TASK, max(_ROWS_PER_TASK, -(-n_rows // (4 * n_jobs))))
    first_all = win.first[rows]
    minus_all = win.minus[rows]
    n_padded = 0

    def run(chrom, idx, first, minus, whole=False):
        layout = source.layout(chrom, whole=whole)
        args = (*layout, idx, first, minus, one, target)
        blocks = [(lo, min(lo + step, len(idx))) for lo in range(0, len(idx), step)]
        if pool is None:
            return [kernel(*args, lo, hi) for lo, hi in blocks]
        return [pool.submit(kernel, *args, lo, hi) for lo, hi in blocks]

    def finish(job) -> int:
        chrom, idx, first, minus, results = job
        results = [r if isinstance(r, tuple) else r.result() for r in results]
        if any(status >= 0 for _, status in results):
            log.debug("%s: bytes do not fit the index's line layout; reading it whole", chrom)
            results = [
                r if isinstance(r, tuple) else r.result()
                for r in run(chrom, idx, first, minus, whole=True)
            ]
        return sum(int(known) for known, _ in results)

    n_known = 0
    waiting = None  # the previous chromosome's job, still being encoded
    for chrom, idx in _chrom_groups(win, rows):
        first = first_all[idx]
        minus = minus_all[idx]
        job = (chrom, idx, first, minus, run(chrom, idx, first, minus))
        size = int(source.genome.chrom_sizes[chrom])
        inside = np.minimum(first + width, size) - np.maximum(first, 0)
        n_padded += int(width * len(idx) - np.maximum(inside, 0).sum())
        if waiting is not None:
            n_known += finish(waiting)
        waiting = job
    if waiting is not None:
        n_known += finish(waiting)
    return n_rows * width - n_known, n_padded


def _pool(n_jobs: int):
    """A thread pool of ``n_jobs`` threads, or a context holding None for one."""
    return ThreadPoolExecutor(n_jobs, "seqsal-onehot") if n_jobs > 1 else nullcontext()


def _use_kernel(win: _Windows) -> bool:
    return len(win.first) * win.width >= _FUSED_MIN_BASES


def _warn_counts(n_unknown: int, n_padded: int, n_total: int) -> None:
    if n_unknown:
        log.warning(
            "%d of %d bases are not A/C/G/T (%d of them N padding past chromosome ends); encoded as all-zero columns",
            n_unknown,
            n_total,
            n_padded,
        )


def iter_onehot(
    genome,
    windows: pd.DataFrame,
    *,
    batch_size: int = 1024,
    dtype=np.float32,
    n_jobs: int = -1,
) -> Iterator[np.ndarray]:
    """Yield one-hot batches of the windows, in order; memory does not grow with their number.

    Parameters
    ----------
    genome : Genome or str or os.PathLike
        An open :class:`~seqsal.io.fasta.Genome` (left open) or a FASTA path (opened and
        closed here).
    windows : pandas.DataFrame
        As :func:`make_windows` returns (``chrom, start, end, strand``, optional
        ``pad_left, pad_right``); every window the same width L.
    batch_size : int, default 1024
        Windows per yielded array: 1024 x 1 kb is 16 MB of float32, small next to a model.
    dtype : numpy dtype, default np.float32
        float32 (what models take), or float16, int8, uint8 for less memory
        (:data:`seqsal.sequence.onehot.DTYPES`).
    n_jobs : int, default -1
        Threads that encode the windows of large extractions (-1: all of numba's threads,
        ``numba.get_num_threads()``, the cores available; as tangermeme's ``extract_loci``).
        1 never starts numba's thread pool.  The arrays are the same for any value.

    Yields
    ------
    np.ndarray, shape (b, 4, L), dtype ``dtype``
        Rows A, C, G, T; ``-`` strand windows reverse-complemented; N (and padding) are
        all-zero columns, counted in one warning at the end.
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    dtype = check_dtype(dtype)
    n_jobs = _check_jobs(n_jobs)
    win = _window_arrays(windows)
    n_unknown = n_padded = 0
    with _Opened(genome) as g:
        if _use_kernel(win):
            with _RecordBytes(g) as source, _pool(n_jobs) as pool:
                for rows in batch_slices(len(win.first), batch_size):
                    X = np.empty((rows.stop - rows.start, 4, win.width), dtype=dtype)
                    unknown, padded = _encode_windows(source, win, rows, X, n_jobs, pool)
                    n_unknown += unknown
                    n_padded += padded
                    yield X
            _warn_counts(n_unknown, n_padded, len(win.first) * win.width)
            return
        for _rows, code_array, unknown, padded in _onehot_batches(g, win, batch_size):
            n_unknown += unknown
            n_padded += padded
            yield onehot_from_codes(code_array, dtype=dtype)
    _warn_counts(n_unknown, n_padded, len(win.first) * win.width)


def extract_onehot(
    genome,
    windows: pd.DataFrame,
    *,
    batch_size: int | None = None,
    dtype=np.float32,
    n_jobs: int = -1,
) -> np.ndarray:
    """One-hot array of all windows.

    Parameters
    ----------
    genome : Genome or str or os.PathLike
        An open Genome (left open) or a FASTA path.
    windows : pandas.DataFrame
        As :func:`make_windows` returns; every window the same width L.
    batch_size : int, optional
        Windows converted at a time (default 4096); the result is the same for any value.
        For more windows than fit in memory, use :func:`iter_onehot`.
    dtype : numpy dtype, default np.float32
        float32 (what models take), or float16, int8, uint8 for a half or a quarter of the
        memory (:data:`seqsal.sequence.onehot.DTYPES`).
    n_jobs : int, default -1
        Threads that encode the windows of large extractions (-1: all of numba's threads,
        ``numba.get_num_threads()``, the cores available; as tangermeme's ``extract_loci``).
        1 never starts numba's thread pool.  The result is the same for any value.

    Returns
    -------
    np.ndarray, shape (n, 4, L), dtype ``dtype``
        Rows A, C, G, T, in the order of ``windows``.
    """
    batch_size = 4096 if batch_size is None else check_positive_int(batch_size, "batch_size")
    dtype = check_dtype(dtype)
    n_jobs = _check_jobs(n_jobs)
    win = _window_arrays(windows)
    out = np.empty((len(win.first), 4, win.width), dtype=dtype)
    n_unknown = n_padded = 0
    with _Opened(genome) as g:
        if _use_kernel(win):
            # No intermediate arrays here, so all windows go at once: each chromosome is read
            # once, and its windows are encoded while the next one is read.
            with _RecordBytes(g) as source, _pool(n_jobs) as pool:
                n_unknown, n_padded = _encode_windows(
                    source, win, slice(0, len(win.first)), out, n_jobs, pool
                )
        else:
            for rows, code_array, unknown, padded in _onehot_batches(g, win, batch_size):
                n_unknown += unknown
                n_padded += padded
                onehot_from_codes(code_array, dtype=dtype, out=out[rows])
    _warn_counts(n_unknown, n_padded, out.shape[0] * out.shape[2])
    return out


def iter_sequences(genome, windows: pd.DataFrame, *, batch_size: int = 4096) -> Iterator[list[str]]:
    """Yield the window sequences in batches (lists of str), as :func:`extract_sequences`.

    Memory does not grow with the number of windows: for writing FASTA of many windows.
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    win = _window_arrays(windows)
    with _Opened(genome) as g:
        cache = _ChromosomeCache(g, as_codes=False)
        for rows in batch_slices(len(win.first), batch_size):
            raw, _ = _gather(cache, win, rows, ord("N"))
            batch = []
            for seq, minus in zip(raw, win.minus[rows], strict=True):
                text = seq.tobytes()
                if minus:
                    text = text.translate(_COMPLEMENT_BYTES)[::-1]
                batch.append(text.decode("ascii", errors="replace"))
            yield batch


def extract_sequences(genome, windows: pd.DataFrame) -> list[str]:
    """Sequences of the windows as strings: case kept, ``-`` strand reverse-complemented.

    Parameters
    ----------
    genome : Genome or str or os.PathLike
        An open Genome (left open) or a FASTA path.
    windows : pandas.DataFrame
        As :func:`make_windows` returns.

    Returns
    -------
    list of str
        One string of length L per window; padding past chromosome ends is ``N``.  IUPAC
        codes are complemented on ``-`` (R <-> Y, ...); soft-masked bases stay lowercase.
    """
    out: list[str] = []
    for batch in iter_sequences(genome, windows):
        out.extend(batch)
    return out

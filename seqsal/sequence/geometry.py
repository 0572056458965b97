"""Window geometry: where each position of a fixed-width window lies in the genome.

Every window of length L is described by one row of a coordinates table, as
:func:`seqsal.sequence.windows.make_windows` writes it and :mod:`seqsal.io.store` stores it:
``chrom, start, end`` (the genome span actually read, BED 0-based half-open), ``strand``,
``name`` and optionally ``pad_left, pad_right`` (N bases added before ``start`` and after
``end``, in + strand order, where the window runs past a chromosome end), so that
``pad_left + end - start + pad_right == L``.

In + strand order the window covers genome positions ``[origin, last)`` with
``origin = start - pad_left`` and ``last = end + pad_right``.  A ``+`` (or ``.``) window's
offset ``i`` is genome position ``origin + i``; a ``-`` window is read as the reverse
complement, so its offset ``i`` is genome position ``last - 1 - i``.  The offsets whose genome
position lies outside ``[start, end)`` are padding: N bases that were never read.

:func:`window_geometry` checks a coordinates table once and returns a :class:`WindowGeometry`
whose vectorised methods map offsets to genome coordinates and back.  Every stage that places
window positions on the genome (seqlets, motif discovery and instances, the report, bigWig
export, extraction) goes through it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cached_property

import numpy as np
import pandas as pd

from seqsal._runtime import check_positive_int
from seqsal.errors import InputError

#: Columns a coordinates table must have; ``strand``, ``name``, ``pad_left`` and
#: ``pad_right`` are optional (strand "+", name ``chrom:start-end``, no padding).
REQUIRED_COLUMNS = ("chrom", "start", "end")
PAD_COLUMNS = ("pad_left", "pad_right")
STRANDS = ("+", "-", ".")


def _describe(coords: pd.DataFrame, row: int) -> str:
    """``region 'name' (chrom:start-end strand)`` of row ``row`` of a coordinates table."""
    c = coords.iloc[row]
    name = c["name"] if "name" in coords.columns else f"{c['chrom']}:{c['start']}-{c['end']}"
    strand = str(c["strand"]) if "strand" in coords.columns else "+"
    return (
        f"region {str(name)!r} ({c['chrom']}:{c['start']}-{c['end']}"
        f"{'' if strand == '.' else ' ' + strand})"
    )


def _int_column(coords: pd.DataFrame, column: str, what: str) -> np.ndarray:
    if column not in coords.columns:
        if column in PAD_COLUMNS:
            return np.zeros(len(coords), dtype=np.int64)
    values = coords[column]
    if len(values) and not pd.api.types.is_integer_dtype(values):
        raise InputError(f"{what} column {column!r} has dtype {values.dtype}; expected integers")
    return values.to_numpy(dtype=np.int64)


class WindowGeometry:
    """Genome placement of n windows of length L, both strands, padding included.

    Made by :func:`window_geometry`, which validates the table.  Row arguments (``rows``) are
    integer indices into the n windows, one per value mapped (a scalar or an array that
    broadcasts with the offsets); ``None`` means every window in order.

    Attributes
    ----------
    length : int
        Window length L.
    chrom, strand, name : np.ndarray of object, shape (n,)
        Chromosome, strand ("+", "-" or ".") and name of each window.
    start, end : np.ndarray of int64, shape (n,)
        Genome span read from the FASTA (BED, 0-based half-open).
    pad_left, pad_right : np.ndarray of int64, shape (n,)
        N bases before ``start`` and after ``end`` (+ strand order).
    origin, last : np.ndarray of int64, shape (n,)
        ``start - pad_left`` and ``end + pad_right``: the genome span ``[origin, last)`` the
        window covers in + strand order, padding included.
    minus : np.ndarray of bool, shape (n,)
        ``strand == "-"``: the window was read as the reverse complement.
    """

    def __init__(
        self,
        coords: pd.DataFrame,
        *,
        length: int,
        start: np.ndarray,
        end: np.ndarray,
        pad_left: np.ndarray,
        pad_right: np.ndarray,
        strand: np.ndarray,
    ):
        self._coords = coords
        self.length = int(length)
        self.start, self.end = start, end
        self.pad_left, self.pad_right = pad_left, pad_right
        self.strand = strand
        self.minus = strand == "-"
        self.origin = start - pad_left
        self.last = end + pad_right

    def __len__(self) -> int:
        return int(self.start.size)

    @cached_property
    def chrom(self) -> np.ndarray:
        return self._coords["chrom"].astype(str).to_numpy(dtype=object)

    @cached_property
    def name(self) -> np.ndarray:
        if "name" in self._coords.columns:
            return self._coords["name"].astype(str).to_numpy(dtype=object)
        return np.array(
            [f"{c}:{s}-{e}" for c, s, e in zip(self.chrom, self.start, self.end, strict=True)],
            dtype=object,
        )

    def _rows(self, rows) -> np.ndarray | slice:
        if rows is None:
            return slice(None)
        rows = np.asarray(rows)
        if rows.dtype.kind not in "iu":
            raise InputError(f"rows has dtype {rows.dtype}; expected integer window indices")
        if rows.size and (rows.min() < 0 or rows.max() >= len(self)):
            raise InputError(f"rows lie outside 0..{len(self) - 1} (the windows)")
        return rows.astype(np.int64, copy=False)

    def describe(self, row: int) -> str:
        """``region 'name' (chrom:start-end strand)`` of one window, for messages."""
        return _describe(self._coords, row)

    def to_genome(self, rows, start, end) -> tuple[np.ndarray, np.ndarray]:
        """Genome BED spans of the window offset spans ``[start, end)``, both strands.

        On a ``+`` window ``[a, b)`` is ``[origin + a, origin + b)``; on a ``-`` window, read as
        the reverse complement, it is ``[last - b, last - a)``.  The mapping is exact: a span
        reaching into padding (or past the window) maps past ``[start, end)`` of the window;
        :meth:`clip` first to keep to the bases read.

        Parameters
        ----------
        rows : int or array-like of int
            Window of each span.
        start, end : int or array-like of int
            Window offsets, in the orientation the model read the window.

        Returns
        -------
        (np.ndarray, np.ndarray)
            Genome start and end (int64), ``end - start`` equal to the span's length.
        """
        rows = self._rows(rows)
        a = np.asarray(start, dtype=np.int64)
        b = np.asarray(end, dtype=np.int64)
        minus = self.minus[rows]
        return (
            np.where(minus, self.last[rows] - b, self.origin[rows] + a),
            np.where(minus, self.last[rows] - a, self.origin[rows] + b),
        )

    def to_window(self, rows, genome_start, genome_end) -> tuple[np.ndarray, np.ndarray]:
        """Window offset spans of genome BED spans: the inverse of :meth:`to_genome`.

        Returns
        -------
        (np.ndarray, np.ndarray)
            Window start and end offsets (int64) in the orientation the model read the window;
            on a ``-`` window the genome span's end gives the window start.
        """
        rows = self._rows(rows)
        gs = np.asarray(genome_start, dtype=np.int64)
        ge = np.asarray(genome_end, dtype=np.int64)
        minus = self.minus[rows]
        return (
            np.where(minus, self.last[rows] - ge, gs - self.origin[rows]),
            np.where(minus, self.last[rows] - gs, ge - self.origin[rows]),
        )

    def read_span(self, rows=None) -> tuple[np.ndarray, np.ndarray]:
        """Window offsets ``[lo, hi)`` of the bases read from the genome (not padding).

        On a ``+`` window ``lo = pad_left``, ``hi = L - pad_right``; a ``-`` window is reversed,
        so ``lo = pad_right``, ``hi = L - pad_left``.
        """
        rows = self._rows(rows)
        minus = self.minus[rows]
        left, right = self.pad_left[rows], self.pad_right[rows]
        return np.where(minus, right, left), self.length - np.where(minus, left, right)

    def clip(self, rows, start, end) -> tuple[np.ndarray, np.ndarray]:
        """Window offset spans clipped to the bases read (:meth:`read_span`).

        A span wholly inside padding comes back empty (``end <= start``).
        """
        lo, hi = self.read_span(rows)
        a = np.asarray(start, dtype=np.int64)
        b = np.asarray(end, dtype=np.int64)
        return np.clip(a, lo, hi), np.clip(b, lo, hi)

    def padding(self, rows=None) -> np.ndarray:
        """Boolean mask (r, L), True at the window offsets that are N padding."""
        lo, hi = self.read_span(rows)
        offsets = np.arange(self.length)
        return (offsets < np.atleast_1d(lo)[:, None]) | (offsets >= np.atleast_1d(hi)[:, None])

    def on_genome(self, values, rows=None) -> Iterator[tuple[int, np.ndarray]]:
        """Per-position values of windows, placed on the + strand of the genome.

        Parameters
        ----------
        values : array-like, shape (r, L)
            One row per window of ``rows``, in the orientation the model read the window.
        rows : array-like of int, optional
            Windows of the rows of ``values`` (default: all, in order).

        Yields
        ------
        (int, np.ndarray)
            For each row: the genome position of the first base read (``start``) and the
            values of the bases ``[start, end)`` in + strand order (``-`` windows reversed,
            padding dropped).
        """
        values = np.asarray(values)
        index = np.arange(len(self)) if rows is None else np.asarray(self._rows(rows))
        if values.ndim != 2 or values.shape != (index.size, self.length):
            raise InputError(
                f"values has shape {values.shape}; expected ({index.size}, {self.length}), one "
                "row per window"
            )
        for k, row in enumerate(index.tolist()):
            plus = values[k, ::-1] if self.minus[row] else values[k]
            left = int(self.pad_left[row])
            yield int(self.start[row]), plus[left : left + int(self.end[row] - self.start[row])]


def window_geometry(
    coords: pd.DataFrame,
    length: int | None = None,
    *,
    n: int | None = None,
    what: str = "coords",
) -> WindowGeometry:
    """Check a windows' coordinates table and return its :class:`WindowGeometry`.

    Parameters
    ----------
    coords : pandas.DataFrame
        ``chrom, start, end`` (integers), optional ``strand`` ("+", "-" or "."; default "+"),
        ``name`` (default ``chrom:start-end``) and ``pad_left, pad_right`` (default 0).
    length : int, optional
        Window length L every row must span, padding included.  Default: the first row's
        span, which every other row must share.
    n : int, optional
        Number of windows the table must describe (the rows of the attributions).
    what : str, default "coords"
        How the table is named in error messages (the argument the caller took it as).

    Returns
    -------
    WindowGeometry

    Raises
    ------
    InputError
        A missing column, non-integer coordinates, a wrong row count, negative padding, a
        strand other than "+", "-" or ".", or a row whose ``pad_left + end - start +
        pad_right`` is not L (the message names the first such row).
    """
    if not isinstance(coords, pd.DataFrame):
        raise InputError(
            f"{what} is a {type(coords).__name__}; expected a pandas DataFrame with columns "
            "chrom, start, end, strand, name"
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in coords.columns]
    if missing:
        raise InputError(
            f"{what} lacks column(s) {missing}; expected chrom, start, end (strand, name, "
            "pad_left, pad_right optional)"
        )
    if length is not None:
        length = check_positive_int(length, "length")
    if n is not None and len(coords) != n:
        raise InputError(f"{what} has {len(coords)} rows; expected {n}, one per window")
    if len(coords) == 0:
        raise InputError(f"{what} holds no windows")
    coords = coords.reset_index(drop=True)
    start, end, pad_left, pad_right = (
        _int_column(coords, c, what) for c in ("start", "end", *PAD_COLUMNS)
    )
    if "strand" in coords.columns:
        strand = coords["strand"].astype(str).to_numpy(dtype=object)
    else:
        strand = np.full(len(coords), "+", dtype=object)
    bad = np.flatnonzero(~np.isin(strand, STRANDS))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"{what} row {i} ({_describe(coords, i)}) has strand {strand[i]!r}; "
            "expected '+', '-' or '.'"
        )
    bad = np.flatnonzero((pad_left < 0) | (pad_right < 0))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"{what} row {i} ({_describe(coords, i)}) has pad_left={pad_left[i]}, "
            f"pad_right={pad_right[i]}; expected non-negative counts of N bases"
        )
    width = pad_left + (end - start) + pad_right
    if length is None:
        length = int(width[0])
        wrong = np.flatnonzero(width != length)
        if wrong.size or length < 1:
            i = int(wrong[0]) if wrong.size else 0
            raise InputError(
                f"{what} have different widths ({length} bp for row 0, {int(width[i])} bp for "
                f"row {i}, {_describe(coords, i)}; pad_left + end - start + pad_right); make "
                "them with make_windows(regions, width)"
            )
    else:
        wrong = np.flatnonzero(width != length)
        if wrong.size:
            i = int(wrong[0])
            raise InputError(
                f"{what} row {i} ({_describe(coords, i)}) spans {int(width[i])} bp "
                f"(pad_left {pad_left[i]} + end - start {end[i] - start[i]} + pad_right "
                f"{pad_right[i]}) but the windows are {length} bp long; {what} must be the "
                f"windows the attributions were computed on ({wrong.size} row(s) differ)"
            )
    return WindowGeometry(
        coords,
        length=length,
        start=start,
        end=end,
        pad_left=pad_left,
        pad_right=pad_right,
        strand=strand,
    )


def infer_padding(coords: pd.DataFrame, length: int, chrom_sizes: Mapping[str, int]):
    """Padding of windows from a store that did not record it, from the chromosome ends.

    A window whose span ``end - start`` is shorter than L and whose ``pad_left`` and
    ``pad_right`` are both 0 (or absent) is taken to be padded on the side of the chromosome
    end it touches: on the left when it starts at 0, on the right when it ends at the
    chromosome's length, and evenly (extra base on the right) when it touches both or neither.
    Rows that record padding, or span L, are returned as they are.

    Parameters
    ----------
    coords : pandas.DataFrame
        ``chrom, start, end`` (optional ``pad_left, pad_right``).
    length : int
        Window length L.
    chrom_sizes : mapping of str to int
        Chromosome lengths.

    Returns
    -------
    pandas.DataFrame
        A copy of ``coords`` with ``pad_left`` and ``pad_right`` filled.
    """
    out = coords.copy()
    start = _int_column(out, "start", "coords")
    end = _int_column(out, "end", "coords")
    pad_left = _int_column(out, "pad_left", "coords").copy()
    pad_right = _int_column(out, "pad_right", "coords").copy()
    span = end - start
    guess = (pad_left == 0) & (pad_right == 0) & (span < length) & (span > 0)
    if guess.any():
        size = np.array([chrom_sizes.get(str(c), -1) for c in out["chrom"]], dtype=np.int64)
        missing = length - span
        left = np.where(
            (start == 0) & (end != size),
            missing,
            np.where((end == size) & (start != 0), 0, missing // 2),
        )
        pad_left = np.where(guess, left, pad_left)
        pad_right = np.where(guess, missing - left, pad_right)
    out["pad_left"] = pad_left
    out["pad_right"] = pad_right
    return out

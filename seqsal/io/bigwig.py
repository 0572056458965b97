"""Export an attribution store as a bigWig track of per-base projected contributions.

The value at genome position p (0-based, + strand) is the sum over the four bases of the
projected contributions at p, i.e. the contribution of the base actually there.  Windows on the
``-`` strand were attributed as the reverse complement, so their values are reversed back to +
strand order before they are placed, and the N padding of windows past a chromosome end is
left out (:mod:`seqsal.sequence.geometry` places every window).  Where windows overlap, the
value at p is the mean over the windows that cover p; positions no window covers have no value.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from seqsal.errors import InputError
from seqsal.io.atomic import atomic_path

if TYPE_CHECKING:
    import pandas as pd

    from seqsal.io.store import StoredAttributions

log = logging.getLogger(__name__)


class _Sweep:
    """Sum and count of values over one chromosome, flushed left to right as windows arrive."""

    def __init__(self, writer: Any, chrom: str) -> None:
        self.writer = writer
        self.chrom = chrom
        self.start = 0
        self.total = np.zeros(0, dtype=np.float64)
        self.count = np.zeros(0, dtype=np.int64)

    def flush(self, until: int) -> None:
        """Write every position before ``until`` (no later window can reach it)."""
        cut = min(max(until - self.start, 0), self.total.size)
        if cut == 0:
            if until > self.start + self.total.size:
                self.start = until
            return
        total, count = self.total[:cut], self.count[:cut]
        covered = count > 0
        # contiguous runs of covered positions
        edges = np.flatnonzero(np.diff(np.concatenate(([0], covered.view(np.int8), [0]))))
        for run_start, run_end in zip(edges[::2], edges[1::2], strict=True):
            values = total[run_start:run_end] / count[run_start:run_end]
            self.writer.addEntries(
                self.chrom, int(self.start + run_start), values=values, span=1, step=1
            )
        self.total = self.total[cut:]
        self.count = self.count[cut:]
        self.start += cut
        if until > self.start + self.total.size:
            self.start = until

    def add(self, start: int, values: np.ndarray) -> None:
        """Add ``values`` at positions ``start, start + 1, ...`` (start >= self.start)."""
        self.flush(start)
        end = start + values.size
        need = end - self.start
        if need > self.total.size:
            self.total = np.concatenate([self.total, np.zeros(need - self.total.size)])
            self.count = np.concatenate(
                [self.count, np.zeros(need - self.count.size, dtype=np.int64)]
            )
        offset = start - self.start
        self.total[offset : offset + values.size] += values
        self.count[offset : offset + values.size] += 1


def export_bigwig(
    store: str | os.PathLike | StoredAttributions,
    out: str | os.PathLike,
    chrom_sizes: Mapping[str, int],
    *,
    chunk_size: int = 256,
) -> Path:
    """Write the per-base projected contribution of every stored window to a bigWig file.

    Parameters
    ----------
    store : path or StoredAttributions
        The attribution store (its ``coords/`` give each window's place in the genome).  A
        store that recorded no padding but holds windows shorter than L past a chromosome end
        is taken to be padded on the side of the end it touches
        (:func:`seqsal.sequence.geometry.infer_padding`).
    out : path
        The ``.bw`` file, written atomically.
    chrom_sizes : mapping of str to int
        Chromosome sizes in genome order (``Genome.chrom_sizes``); the bigWig header.
    chunk_size : int, default 256
        Windows read from the store at a time (bounds memory).

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    InputError
        If a window lies on a chromosome missing from ``chrom_sizes``, the store has no
        genome coordinates, or a window's coordinates do not span L bases.
    """
    import pyBigWig

    from seqsal.io.store import StoredAttributions, open_store
    from seqsal.sequence.geometry import infer_padding, window_geometry

    owned = not isinstance(store, StoredAttributions)
    reader = store if isinstance(store, StoredAttributions) else open_store(store)
    try:
        coords = reader.coords.copy()
        sizes = {str(k): int(v) for k, v in chrom_sizes.items()}
        unknown = sorted(set(coords["chrom"]) - set(sizes))
        if unknown:
            if unknown == [""]:
                raise InputError(
                    "the store has no genome coordinates (coords/chrom is empty)", path=reader.path
                )
            raise InputError(
                f"chromosome(s) {unknown[:5]} of the store are not in chrom_sizes (e.g. the FASTA)",
                path=reader.path,
            )
        windows = window_geometry(
            infer_padding(coords, reader.length, sizes),
            reader.length,
            what=f"{reader.path} coords",
        )
        order = {chrom: i for i, chrom in enumerate(sizes)}
        coords["row"] = np.arange(len(coords))
        coords["chrom_order"] = coords["chrom"].map(order)
        coords = coords.sort_values(["chrom_order", "start", "end"], kind="stable")
        with atomic_path(out) as tmp:
            writer = pyBigWig.open(str(tmp), "w")
            try:
                writer.addHeader(list(sizes.items()))
                for _, block_rows in coords.groupby("chrom_order", sort=True):
                    chrom_name = block_rows["chrom"].iloc[0]
                    sweep = _Sweep(writer, chrom_name)
                    size = sizes[chrom_name]
                    for first in range(0, len(block_rows), chunk_size):
                        rows = block_rows["row"].to_numpy()[first : first + chunk_size]
                        sorted_rows = np.unique(rows)
                        data = reader.projected[sorted_rows].astype(np.float64).sum(axis=1)
                        data = data[np.searchsorted(sorted_rows, rows)]
                        for start, values in windows.on_genome(data, rows):
                            # clipped to the chromosome, for a store made on another genome
                            lo, hi = max(start, 0), min(start + values.size, size)
                            if hi > lo:
                                sweep.add(lo, values[lo - start : hi - start])
                    sweep.flush(size + 1)
            finally:
                writer.close()
    finally:
        if owned:
            reader.close()
    log.debug("wrote %s", out)
    return Path(out)


def write_interval_bigwig(
    intervals: pd.DataFrame,
    out: str | os.PathLike,
    chrom_sizes: Mapping[str, int],
    *,
    block: int = 100_000,
) -> Path:
    """Write one value per interval (a bedGraph-like table) to a bigWig file, atomically.

    Parameters
    ----------
    intervals : pandas.DataFrame
        ``chrom, start, end, value``: 0-based half-open, non-overlapping within a chromosome,
        sorted by start within each chromosome (chromosomes may come in any order).
        Intervals are clipped to the chromosome; empty ones are dropped.
    out : path
        The ``.bw`` file; appears only when complete.
    chrom_sizes : mapping of str to int
        Chromosome sizes in genome order (``Genome.chrom_sizes``); the bigWig header.
    block : int, default 100000
        Intervals handed to pyBigWig per call.

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    InputError
        For an interval on a chromosome missing from ``chrom_sizes``, or intervals that
        overlap or are out of order.
    """
    import pyBigWig

    missing = [c for c in ("chrom", "start", "end", "value") if c not in intervals.columns]
    if missing:
        raise InputError(f"intervals lack column(s) {missing}; expected chrom, start, end, value")
    sizes = {str(c): int(s) for c, s in chrom_sizes.items()}
    unknown = sorted(set(map(str, intervals["chrom"])) - set(sizes))
    if unknown:
        raise InputError(f"intervals on chromosome(s) not in the genome: {unknown[:5]}")
    chrom = intervals["chrom"].astype(str).to_numpy()
    starts = intervals["start"].to_numpy(np.int64)
    ends = intervals["end"].to_numpy(np.int64)
    values = intervals["value"].to_numpy(np.float64)
    with atomic_path(out) as tmp:
        writer = pyBigWig.open(str(tmp), "w")
        try:
            writer.addHeader(list(sizes.items()))
            for name in sizes:
                rows = np.flatnonzero(chrom == name)
                if rows.size == 0:
                    continue
                start = np.clip(starts[rows], 0, sizes[name])
                end = np.clip(ends[rows], 0, sizes[name])
                value = values[rows]
                keep = end > start
                start, end, value = start[keep], end[keep], value[keep]
                if start.size > 1 and np.any(start[1:] < end[:-1]):
                    raise InputError(
                        f"intervals on {name} overlap or are not sorted by start; "
                        "expected non-overlapping intervals in order"
                    )
                for lo in range(0, start.size, block):
                    sl = slice(lo, lo + block)
                    writer.addEntries(
                        [name] * len(start[sl]),
                        start[sl].tolist(),
                        ends=end[sl].tolist(),
                        values=value[sl].tolist(),
                    )
        finally:
            writer.close()
    log.debug("wrote %s", out)
    return Path(out)

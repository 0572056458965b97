"""Seqlet calling: the salient stretches of per-position attributions, both signs, with an FDR.

A *seqlet* is a short span (``min_length`` to ``max_length`` positions) whose summed projected
attribution is unusually large (positive seqlet: an activator's site) or unusually small
(negative seqlet: a repressor's site).  The algorithm:

1. Every candidate span of every allowed length is scored by its attribution sum (prefix sums).
2. Each span gets a p-value against the null's distribution of span sums *of the same length*
   (:mod:`seqsal.seqlets.null`: the shuffled control, or the Gaussian fallback).
3. In each example, spans are accepted greedily from the best p-value down (ties broken by the
   standardised sum, then by position), skipping any span that overlaps one already accepted.
   The two signs are called independently, each on its own tail.
4. The same calling runs on the control; the q-value of a call is the estimated false discovery
   rate at its p-value (target-decoy, see :func:`seqsal.seqlets.null.empirical_qvalues`), per
   sign.  Seqlets with ``q <= fdr`` are returned.
5. Flanks widen the reported span afterwards (clipped to the window); they change no call.
"""

from __future__ import annotations

import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

import numba
import numpy as np
import pandas as pd

from seqsal._runtime import (
    batch_slices,
    check_non_negative_int,
    check_positive_int,
    check_seed,
    progress_bar,
    usable_cores,
)
from seqsal.errors import InputError
from seqsal.seqlets import null as nullmod
from seqsal.sequence.geometry import window_geometry
from seqsal.stats import benjamini_hochberg

if TYPE_CHECKING:
    import torch

    from seqsal.sequence.geometry import WindowGeometry

#: Attributions given to :func:`call_seqlets`: a numpy array or a torch tensor (any device).
Attributions: TypeAlias = "np.ndarray | torch.Tensor"
#: The two signs' null arrays as the kernel takes them (:func:`_stack`).
_Stacked: TypeAlias = tuple[
    int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray
]

log = logging.getLogger(__name__)

#: Examples per kernel call (chunks run on a thread per core; results do not depend on it).
CHUNK = 1024

COLUMNS = [
    "example_idx",
    "start",
    "end",
    "core_start",
    "core_end",
    "sign",
    "attribution",
    "p_value",
    "q_value",
]
COORD_COLUMNS = ["chrom", "genome_start", "genome_end", "strand", "region"]


@dataclass(frozen=True)
class Seqlets:
    """Called seqlets and how they were thresholded.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per seqlet, sorted by example then start: ``example_idx``; ``start``, ``end``
        (window offsets of the reported span, flanks included, clipped to the window);
        ``core_start``, ``core_end`` (the call itself); ``sign`` (+1 / -1); ``attribution``
        (sum over the core); ``p_value`` (the core span's sum against null spans of the same
        length; a ranking, not an error rate); ``q_value`` (estimated FDR at that p-value).
        With ``coords``: ``chrom``, ``genome_start``, ``genome_end`` (reported span, BED),
        ``strand`` (the window's), ``region`` (the window's name); spans of a window padded
        past a chromosome end are clipped to the bases read, so no seqlet covers padding.
    fdr : float
        Target false discovery rate.
    null : str
        ``"control"`` (shuffled attributions given) or ``"gaussian"`` (fallback).
    p_threshold : dict
        Per sign (+1, -1): the largest p-value called, or NaN when none was.
    n_called : dict
        Per sign: number of seqlets returned.
    n_regions, length : int
        Examples and window length of the input.
    seconds : float
        Wall time of the call.
    """

    table: pd.DataFrame
    fdr: float
    null: str
    p_threshold: dict = field(default_factory=dict)
    n_called: dict = field(default_factory=dict)
    n_regions: int = 0
    length: int = 0
    seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.table)


# --------------------------------------------------------------------------------------------
# kernel
# --------------------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _greedy(
    c_start: np.ndarray,
    c_len: np.ndarray,
    c_sum: np.ndarray,
    c_p: np.ndarray,
    c_rank: np.ndarray,
    c_z: np.ndarray,
    nc: int,
    occupied: np.ndarray,
    e: int,
    sign: float,
    out: np.ndarray,
    n_out: int,
) -> int:
    """Accept candidates by (rank, -z, enumeration order), skipping overlaps; append to out."""
    # Stable sort by -z, then stable sort by rank: lexicographic order.
    by_z = np.argsort(-c_z[:nc], kind="mergesort")
    by_rank = np.argsort(c_rank[:nc][by_z], kind="mergesort")
    order = by_z[by_rank]
    occupied[:] = False
    for r in range(nc):
        c = order[r]
        a = c_start[c]
        k = c_len[c]
        free = True
        for t in range(a, a + k):
            if occupied[t]:
                free = False
                break
        if not free:
            continue
        for t in range(a, a + k):
            occupied[t] = True
        out[0, n_out] = e
        out[1, n_out] = a
        out[2, n_out] = k
        out[3, n_out] = sign * c_sum[c]
        out[4, n_out] = c_p[c]
        out[5, n_out] = sign
        n_out += 1
    return n_out


@numba.njit(cache=True, nogil=True)
def _grow(
    X: np.ndarray,
    example: np.ndarray,
    start: np.ndarray,
    length: np.ndarray,
    sign: np.ndarray,
    order: np.ndarray,
    penalty: float,
    max_length: int,
    alive: np.ndarray,
    absorbed_by: np.ndarray,
) -> None:
    """Widen calls in place, in the given order (best first).

    Call ``c`` lies in row ``example[c]`` of ``X`` at ``start[c] : start[c] + length[c]``.
    It gains the positions on its left and right (at most ``max_length`` in all) that
    maximise ``sum(sign * x - penalty)`` over the added positions: a neighbour joins when it
    carries more than ``penalty`` on balance.  Another call of the same sign is either left
    whole or absorbed whole (a site split into two calls becomes one); an absorbed call gets
    ``alive = False`` and ``absorbed_by`` = the call that took it.
    """
    L = X.shape[1]
    owner = np.full((2, X.shape[0], L), -1, dtype=np.int32)
    for c in range(example.shape[0]):
        g = 0 if sign[c] > 0 else 1
        owner[g, example[c], start[c] : start[c] + length[c]] = c
    gains = np.empty(max_length + 1)
    ok_left = np.empty(max_length + 1, dtype=np.bool_)
    gains_r = np.empty(max_length + 1)
    ok_right = np.empty(max_length + 1, dtype=np.bool_)
    for r in range(order.shape[0]):
        c = order[r]
        if not alive[c]:
            continue
        g = 0 if sign[c] > 0 else 1
        e = example[c]
        a = start[c]
        b = a + length[c]
        room = max_length - (b - a)
        # Extending by t positions is allowed when it does not cut another call in two.
        n_left = 0
        gains[0] = 0.0
        ok_left[0] = True
        while n_left < room and a - n_left - 1 >= 0:
            pos = a - n_left - 1
            n_left += 1
            gains[n_left] = gains[n_left - 1] + sign[c] * X[e, pos] - penalty
            o = owner[g, e, pos]
            ok_left[n_left] = o < 0 or start[o] == pos
        n_right = 0
        gains_r[0] = 0.0
        ok_right[0] = True
        while n_right < room and b + n_right < L:
            pos = b + n_right
            n_right += 1
            gains_r[n_right] = gains_r[n_right - 1] + sign[c] * X[e, pos] - penalty
            o = owner[g, e, pos]
            ok_right[n_right] = o < 0 or start[o] + length[o] - 1 == pos
        best, best_l, best_r = 0.0, 0, 0
        for left in range(n_left + 1):
            if not ok_left[left]:
                continue
            for right in range(min(n_right, room - left) + 1):
                if ok_right[right] and gains[left] + gains_r[right] > best + 1e-12:
                    best, best_l, best_r = gains[left] + gains_r[right], left, right
        if best_l == 0 and best_r == 0:
            continue
        for t in range(a - best_l, b + best_r):
            o = owner[g, e, t]
            if o >= 0 and o != c and alive[o]:
                alive[o] = False
                absorbed_by[o] = c
            owner[g, e, t] = c
        start[c] = a - best_l
        length[c] = b - a + best_l + best_r


@numba.njit(cache=True, nogil=True)
def _call_spans(
    X: np.ndarray,
    min_length: int,
    max_length: int,
    active: np.ndarray,
    kind: int,
    lo: np.ndarray,
    inv_width: np.ndarray,
    upper: np.ndarray,
    n_spans: np.ndarray,
    center: np.ndarray,
    scale: np.ndarray,
    s_cap: np.ndarray,
    p_cap: float,
) -> np.ndarray:
    """Greedy non-overlapping calls of both signs in every row of ``X`` (n, L).

    Row ``g`` of the null arrays is sign ``+1`` (g = 0) or ``-1`` (g = 1), describing the
    upper tail of ``sign * X``; ``active[g]`` says whether to call that sign.  Returns an
    array (6, c): example, start, length, signed sum, p-value, sign of every accepted span
    with p <= p_cap.
    """
    n, L = X.shape
    K = max_length - min_length + 1
    n_bins = upper.shape[2]
    per_example = 2 * (L // min_length + 1)
    out = np.empty((6, n * per_example))
    n_out = 0
    prefix = np.empty(L + 1)
    c_start = np.empty((2, L * K), dtype=np.int64)
    c_len = np.empty((2, L * K), dtype=np.int64)
    c_sum = np.empty((2, L * K))
    c_p = np.empty((2, L * K))
    c_rank = np.empty((2, L * K))
    c_z = np.empty((2, L * K))
    nc = np.zeros(2, dtype=np.int64)
    occupied = np.zeros(L, dtype=np.bool_)
    for e in range(n):
        prefix[0] = 0.0
        for i in range(L):
            prefix[i + 1] = prefix[i] + X[e, i]
        nc[:] = 0
        for j in range(K):
            k = min_length + j
            cap_pos = s_cap[0, j] if active[0] else np.inf
            cap_neg = s_cap[1, j] if active[1] else np.inf
            for i in range(L - k + 1):
                d = prefix[i + k] - prefix[i]
                if d < cap_pos and -d < cap_neg:
                    continue
                for g in range(2):
                    s = d if g == 0 else -d
                    if s < s_cap[g, j] or not active[g]:
                        continue
                    z = (s - center[g, j]) / scale[g, j]
                    if kind == 0:
                        b = int((s - lo[g, j]) * inv_width[g, j])
                        if b >= n_bins:
                            above = 0.0
                        elif b < 0:
                            above = n_spans[j]
                        else:
                            above = upper[g, j, b]
                        p = (1.0 + above) / (1.0 + n_spans[j])
                        # Beyond every control span the p-value only reflects how many control
                        # spans of that length exist; rank such spans by z alone.
                        rank = p if above > 0.0 else 0.0
                    else:
                        p = 0.5 * math.erfc(z / math.sqrt(2.0))
                        rank = p
                    if p > p_cap:
                        continue
                    m = nc[g]
                    c_start[g, m] = i
                    c_len[g, m] = k
                    c_sum[g, m] = s
                    c_p[g, m] = p
                    c_rank[g, m] = rank
                    c_z[g, m] = z
                    nc[g] = m + 1
        for g in range(2):
            if nc[g] > 0:
                n_out = _greedy(
                    c_start[g],
                    c_len[g],
                    c_sum[g],
                    c_p[g],
                    c_rank[g],
                    c_z[g],
                    nc[g],
                    occupied,
                    e,
                    1.0 if g == 0 else -1.0,
                    out,
                    n_out,
                )
    return out[:, :n_out]


# --------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------


def _as_positions(values: Attributions, name: str) -> np.ndarray:
    """(n, L) float64 C-contiguous from (n, L) or (n, 4, L) (summed over bases)."""
    if hasattr(values, "detach"):  # a torch tensor; torch itself is not imported here
        values = values.detach().cpu().numpy()
    arr = np.asarray(values)
    if arr.ndim == 3 and arr.shape[1] == 4:
        arr = arr.sum(axis=1, dtype=np.float64)
    if arr.ndim != 2:
        raise InputError(
            f"{name} has shape {arr.shape}; expected (n, L) per-position attributions or "
            "(n, 4, L) projected attributions"
        )
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise InputError(f"{name} has dtype {arr.dtype}; expected real numbers")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise InputError(
            f"{name} contains {bad} NaN or infinite values; expected finite attributions"
        )
    return arr


# --------------------------------------------------------------------------------------------
# API
# --------------------------------------------------------------------------------------------


def _stack(nulls: dict) -> _Stacked:
    """The two signs' null arrays stacked as rows 0 (+1) and 1 (-1) for the kernel."""
    pos, neg = nulls[1], nulls[-1]
    return (
        pos.kind,
        np.stack([pos.lo, neg.lo]),
        np.stack([pos.inv_width, neg.inv_width]),
        np.ascontiguousarray(np.stack([pos.upper, neg.upper])),
        pos.n_spans,
        np.stack([pos.center, neg.center]),
        np.stack([pos.scale, neg.scale]),
        np.stack([pos.s_cap, neg.s_cap]),
    )


def _position_sd(values: np.ndarray, *, robust: bool) -> float:
    """Spread of single-position attributions: the standard deviation of a control, or for
    observed attributions (Gaussian fallback, ``robust``) IQR / 1.349, which the signal itself
    barely moves."""
    if robust:
        q1, q3 = np.quantile(values, [0.25, 0.75])
        if q3 > q1:
            return float((q3 - q1) / nullmod.IQR_PER_SD)
    return float(values.std())


def _grow_calls(
    calls: np.ndarray, X: np.ndarray, nulls: dict, penalty: float, max_length: int
) -> np.ndarray:
    """Widen the calls (6, c) of one input (see :func:`_grow`), best p-value first, and give
    each widened span its own p-value; absorbed calls are dropped."""
    e = calls[0].astype(np.int64)
    start = calls[1].astype(np.int64)
    length = calls[2].astype(np.int64)
    sign = calls[5].copy()
    order = np.lexsort((-np.abs(calls[3]), calls[4])).astype(np.int64)
    alive = np.ones(calls.shape[1], dtype=np.bool_)
    absorbed_by = np.full(calls.shape[1], -1, dtype=np.int64)
    _grow(X, e, start, length, sign, order, penalty, max_length, alive, absorbed_by)
    prefix = np.concatenate([np.zeros((X.shape[0], 1)), np.cumsum(X, axis=1)], axis=1)
    total = prefix[e, start + length] - prefix[e, start]
    p = np.empty(calls.shape[1])
    for s in (1, -1):
        rows = sign == s
        if rows.any():
            p[rows] = nullmod.span_pvalues(nulls[s], s * total[rows], length[rows])
    out = np.stack([e, start, length, total, p, sign]).astype(np.float64)
    return out[:, alive]


def _place(table: pd.DataFrame, geometry: WindowGeometry) -> pd.DataFrame:
    """Clip the seqlets of padded windows to the bases read and add genome coordinates.

    Positions past a chromosome end are N padding, never part of the genome: the reported
    span and the core are clipped to the bases read (:meth:`WindowGeometry.clip`), and a
    seqlet lying wholly in padding (possible only with attributions that are not zero there)
    is dropped with a warning.  Windows without padding are left as they are.
    """
    rows = table["example_idx"].to_numpy()
    start, end = geometry.clip(rows, table["start"].to_numpy(), table["end"].to_numpy())
    core_start, core_end = geometry.clip(
        rows, table["core_start"].to_numpy(), table["core_end"].to_numpy()
    )
    keep = core_end > core_start
    if not keep.all():
        log.warning(
            "%d seqlet(s) lie wholly in the N padding past a chromosome end; dropped",
            int((~keep).sum()),
        )
    table = table.assign(start=start, end=end, core_start=core_start, core_end=core_end)
    table = table[keep].reset_index(drop=True)
    rows = rows[keep]
    genome_start, genome_end = geometry.to_genome(rows, table["start"], table["end"])
    table["chrom"] = geometry.chrom[rows]
    table["genome_start"] = genome_start
    table["genome_end"] = genome_end
    table["strand"] = geometry.strand[rows]
    table["region"] = geometry.name[rows]
    return table


def _call_all(
    X: np.ndarray,
    stacked: _Stacked,
    active: np.ndarray,
    min_length: int,
    max_length: int,
    progress: bool | None,
    desc: str,
) -> np.ndarray:
    """Run the kernel over ``X`` in chunks; (6, c) array of calls (see ``_call_spans``).

    The kernel releases the GIL, so chunks run on one thread per available core; the calls
    are put together in chunk order, so the result does not depend on the thread count.
    """
    slices = list(batch_slices(X.shape[0], CHUNK))

    def run(sl: slice) -> np.ndarray:
        calls = _call_spans(X[sl], min_length, max_length, active, *stacked, nullmod.P_CAP)
        calls[0] += sl.start
        return calls

    parts = []
    with progress_bar(total=X.shape[0], desc=desc, unit="region", progress=progress) as bar:
        workers = min(len(slices), usable_cores())
        if workers <= 1:
            for sl in slices:
                parts.append(run(sl))
                bar.update(sl.stop - sl.start)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for sl, calls in zip(slices, pool.map(run, slices), strict=True):
                    parts.append(calls)
                    bar.update(sl.stop - sl.start)
    return np.concatenate(parts, axis=1) if parts else np.empty((6, 0))


def call_seqlets(
    projected: Attributions,
    *,
    null: Attributions | None = None,
    coords: pd.DataFrame | None = None,
    min_length: int = 4,
    max_length: int = 20,
    flank: int = 0,
    fdr: float = 0.05,
    sign: str = "both",
    grow: float | None = 1.0,
    seed: int | None = None,
    progress: bool | None = None,
) -> Seqlets:
    """Call positive and negative seqlets at a target false discovery rate.

    Parameters
    ----------
    projected : np.ndarray or torch.Tensor, shape (n, L) or (n, 4, L)
        Per-position attributions of the observed bases (projected contributions); a
        ``(n, 4, L)`` array is summed over bases.
    null : array-like, shape (m, L) or (m, 4, L), optional
        The same attributions for dinucleotide-shuffled copies of the sequences, through the
        same model, target and method (several shuffles per sequence give a steadier FDR).
        Default None uses the weaker Gaussian fallback (see :mod:`seqsal.seqlets.null`) and
        logs a warning.
    coords : pandas.DataFrame, optional
        ``chrom, start, end, strand, name`` (+ ``pad_left, pad_right``) of the ``n`` windows,
        as :func:`seqsal.sequence.windows.make_windows` gives them and the attribution store
        keeps them; adds genome coordinates (:mod:`seqsal.sequence.geometry`).  On a window
        padded with N past a chromosome end, spans are clipped to the bases read.
    min_length, max_length : int
        Shortest and longest core span.  Defaults 4 and 20: a transcription factor site is
        about 6-20 bp; shorter spans are mostly noise.
    flank : int
        Positions added to each side of a reported seqlet (clipped to the window), for
        downstream motif building.  Default 0: the reported span is the call.
    fdr : float
        Target false discovery rate, per sign, in (0, 1].  Default 0.05.
    sign : {"both", "positive", "negative"}
        Which seqlets to call.  Default "both": a repressor shows up as a negative seqlet.
    grow : float or None, default 1.0
        Widen each called span over neighbouring positions that carry, on balance, more
        than ``grow`` null standard deviations of per-position attribution (the extension
        maximising ``sum(sign * x - grow * sd)``), up to ``max_length``; another call of the
        same sign is left whole or absorbed whole (a site tested as two halves becomes one
        seqlet).  The most significant span of a site is often only its high-information
        half, and growing recovers the rest of the site (docs/seqlets.md has the measured
        effect).  Growth runs on every candidate of the data and of the control before the
        FDR step, and p-values are those of the widened spans, so the error estimate is of
        the seqlets reported.  None (or ``inf``) reports the tested spans.
    seed : int, optional
        Accepted so the keyword means the same everywhere; calling has no random step, and
        the same inputs always give the same seqlets.
    progress : bool, optional
        Progress bar on stderr; None (default) shows it only on a terminal.

    Returns
    -------
    Seqlets
        The table and the thresholds used.

    Raises
    ------
    InputError
        On a bad shape, non-finite values, bad lengths, fdr or sign, or coords that do not
        match.
    """
    began = time.perf_counter()
    X = _as_positions(projected, "projected")
    n, L = X.shape
    if n == 0:
        raise InputError("projected holds no examples; expected shape (n, L) with n >= 1")
    check_seed(seed)  # validated for a uniform interface; calling has no random step
    min_length = check_positive_int(min_length, "min_length")
    max_length = check_positive_int(max_length, "max_length")
    if max_length < min_length:
        raise InputError(f"max_length={max_length} is below min_length={min_length}")
    if min_length > L:
        raise InputError(f"min_length={min_length} exceeds the attribution length {L}")
    max_length = min(max_length, L)
    flank = check_non_negative_int(flank, "flank")
    if not isinstance(fdr, (int, float, np.floating)) or not 0 < float(fdr) <= 1:
        raise InputError(f"fdr={fdr!r}; must be a number in (0, 1]")
    signs = {"both": (1, -1), "positive": (1,), "negative": (-1,)}
    if sign not in signs:
        raise InputError(f"sign={sign!r}; must be 'both', 'positive' or 'negative'")
    geometry = None if coords is None else window_geometry(coords, L, n=n, what="coords")
    if grow is not None and (
        isinstance(grow, bool)
        or not isinstance(grow, (int, float, np.integer, np.floating))
        or not grow >= 0
    ):
        raise InputError(f"grow={grow!r}; must be a non-negative number or None")

    if null is not None:
        control = _as_positions(null, "null")
        if control.shape[1] < max_length:
            raise InputError(
                f"null has length {control.shape[1]}, shorter than max_length={max_length}"
            )
        if control.shape[0] == 0:
            raise InputError("null holds no examples; expected shape (m, L) with m >= 1")
        smallest = control.shape[0] * (control.shape[1] - max_length + 1)
        if smallest * nullmod.P_CAP < 10:
            log.warning(
                "the null has only %d spans of length %d: too few for small p-values; "
                "use more (or longer) shuffled controls",
                smallest,
                max_length,
            )
        nulls = nullmod.control_nulls(control, min_length, max_length)
        kind = "control"
    else:
        log.warning(
            "no null given: seqlets are called against a Gaussian null fitted to the observed "
            "span sums (weaker than a shuffled control; see docs/seqlets.md)"
        )
        control = None
        nulls = nullmod.gaussian_nulls(X, min_length, max_length)
        kind = "gaussian"

    K = max_length - min_length + 1
    stacked = _stack(nulls)
    active = np.array([1 in signs[sign], -1 in signs[sign]])
    calls = _call_all(X, stacked, active, min_length, max_length, progress, "seqlets")
    if control is not None:
        control_calls = _call_all(
            control, stacked, active, min_length, max_length, progress, "control"
        )
    if grow is not None and np.isfinite(grow):
        # Growth runs on every candidate of the data and of the control alike, before the
        # FDR step, so the target-decoy estimate sees the spans that are reported.
        if control is None:
            penalty = float(grow) * _position_sd(X, robust=True)
            calls = _grow_calls(calls, X, nulls, penalty, max_length)
        else:
            penalty = float(grow) * _position_sd(control, robust=False)
            # The two growths are independent and their kernel releases the GIL.
            with ThreadPoolExecutor(max_workers=min(2, usable_cores())) as pool:
                pending = pool.submit(
                    _grow_calls, control_calls, control, nulls, penalty, max_length
                )
                calls = _grow_calls(calls, X, nulls, penalty, max_length)
                control_calls = pending.result()
    frames = []
    thresholds = {}
    counts = {}
    for s in signs[sign]:
        mine = calls[:, calls[5] == s]
        e, a, k = (mine[i].astype(np.int64) for i in range(3))
        total, p = mine[3], mine[4]
        if control is not None:
            p_ctl = control_calls[4, control_calls[5] == s]
            q = nullmod.empirical_qvalues(p, p_ctl, X.size / control.size)
        else:
            q = benjamini_hochberg(np.minimum(1.0, p * K), n * (L - min_length + 1))
        keep = q <= fdr
        thresholds[s] = float(p[keep].max()) if keep.any() else float("nan")
        counts[s] = int(keep.sum())
        frames.append(
            pd.DataFrame(
                {
                    "example_idx": e[keep],
                    "core_start": a[keep],
                    "core_end": a[keep] + k[keep],
                    "sign": np.full(int(keep.sum()), s, dtype=np.int64),
                    "attribution": total[keep],
                    "p_value": p[keep],
                    "q_value": q[keep],
                }
            )
        )
    table = pd.concat(frames, ignore_index=True)
    table["start"] = np.maximum(table["core_start"].to_numpy() - flank, 0)
    table["end"] = np.minimum(table["core_end"].to_numpy() + flank, L)
    table = table.sort_values(["example_idx", "core_start", "sign"], kind="stable")
    table = table[COLUMNS].reset_index(drop=True)
    table = table.astype({c: np.int64 for c in COLUMNS[:6]})

    if geometry is not None:
        table = _place(table, geometry)
        counts = {s: int((table["sign"] == s).sum()) for s in signs[sign]}

    seconds = time.perf_counter() - began
    log.debug(
        "seqlets: %d regions, %d positive, %d negative at FDR %.3g (%s null) in %.2f s",
        n,
        counts.get(1, 0),
        counts.get(-1, 0),
        fdr,
        kind,
        seconds,
    )
    return Seqlets(
        table=table,
        fdr=float(fdr),
        null=kind,
        p_threshold=thresholds,
        n_called=counts,
        n_regions=n,
        length=L,
        seconds=seconds,
    )

"""Motif discovery: cluster seqlets into motifs, aligned in both orientations, per sign.

The algorithm (docs/motifs.md, "Discovery") works on each sign's seqlets separately:

1. **Seed.** Every k-mer (default k = 8) inside the remaining seqlets' cores is weighted by
   the sign-adjusted attribution it carries; counts of a k-mer and its reverse complement
   are merged.  The heaviest k-mer is the seed.
2. **Gather.** Seqlets holding the seed with at most one mismatch, on either strand, are
   aligned on it (strand recorded).
3. **Refine (EM-like).** From the aligned members: the PPM, the CWM (mean projected
   attribution) over the seed plus ``flank`` bases each side, trimmed by contribution to its
   core (which can grow past the seed).  Every unassigned seqlet is rescanned with the core's
   log-odds PWM at each position and strand where the core overlaps at least half of the
   seqlet; it joins when the best score's p-value (exact, by dynamic programming over the
   background composition) is at most ``p_threshold``.  Repeat ``rounds`` times or until the
   membership is stable.
4. Members leave the pool; repeat from 1 until fewer than ``min_seqlets`` seqlets remain or
   seeds keep failing.
5. **Merge and reassign.** Motifs of one sign whose core CWMs correlate above
   ``merge_similarity`` at some offset, in either orientation, are redundant: the smaller is
   dropped.  Finally every seqlet of the sign is assigned to the motif whose PWM matches it
   with the smallest p-value (if any passes), matrices are rebuilt, and motifs with fewer
   than ``min_seqlets`` members are dropped.

Everything is vectorised numpy plus one numba kernel (the alignment scan, cached on disk).
Results depend only on the inputs and ``seed`` (which only matters when a sign has more than
``max_seqlets`` seqlets and a subsample is taken).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd

from seqsal._runtime import check_non_negative_int, check_positive_int, progress_bar, rng
from seqsal.errors import InputError
from seqsal.motifs.types import TRIM_THRESHOLD, Motif, span_above
from seqsal.sequence.geometry import WindowGeometry, window_geometry
from seqsal.sequence.onehot import reverse_complement, reverse_complement_codes
from seqsal.sequence.pwm import log_odds

log = logging.getLogger(__name__)

#: Code of an N / padding position in the integer sequence arrays.
PAD = 4

#: Bits given to a padding / N position in a log-odds PWM: never part of a good match.
PAD_LOG_ODDS = -10.0

#: Resolution of the exact score distribution (log-odds bits per integer step).
SCORE_RESOLUTION = 100.0

#: Source string of discovered motifs.
SOURCE = "seqsal.discover"


# --------------------------------------------------------------------------------------------
# kernels


@numba.njit(cache=True, nogil=True)
def _best_alignment(codes, example, q_lo, q_hi, lo_fwd, lo_rev):
    """Best PWM score of each seqlet over core starts q_lo..q_hi (inclusive), both strands.

    ``codes`` (n, Lp) int8 with PAD = 4; ``lo_fwd`` / ``lo_rev`` (5, c) log-odds of the core
    and of its reverse complement (row 4: padding).  Returns score, start, orientation
    (0 = +, 1 = -) per seqlet.
    """
    m = example.shape[0]
    c = lo_fwd.shape[1]
    best = np.full(m, -np.inf)
    best_q = np.zeros(m, dtype=np.int64)
    best_o = np.zeros(m, dtype=np.int64)
    for s in range(m):
        e = example[s]
        for q in range(q_lo[s], q_hi[s] + 1):
            f = 0.0
            r = 0.0
            for j in range(c):
                b = codes[e, q + j]
                f += lo_fwd[b, j]
                r += lo_rev[b, j]
            if f > best[s]:
                best[s] = f
                best_q[s] = q
                best_o[s] = 0
            if r > best[s]:
                best[s] = r
                best_q[s] = q
                best_o[s] = 1
    return best, best_q, best_o


# --------------------------------------------------------------------------------------------
# data held while discovering


@dataclass
class _Data:
    """Padded per-region arrays shared by both signs (positions shifted by ``pad``)."""

    codes: np.ndarray  # (n, Lp) int8, PAD outside the region and at N
    onehot: np.ndarray  # (n, Lp, 4) float32
    hypothetical: np.ndarray  # (n, Lp, 4) float32
    projected: np.ndarray  # (n, Lp, 4) float32
    per_base: np.ndarray  # (n, Lp) float64, projected summed over bases
    background: np.ndarray  # (4,) base composition of the regions
    pad: int
    length: int


@dataclass
class _Candidate:
    """A motif while it is being built: member alignments in padded region coordinates."""

    example: np.ndarray  # (m,) region row
    start: np.ndarray  # (m,) padded start of the core (leftmost base, either strand)
    orient: np.ndarray  # (m,) 0 = +, 1 = -
    seqlet: np.ndarray  # (m,) row of the seqlet table
    width: int  # core width
    score: np.ndarray  # (m,) PWM score (NaN for seed-gathered members)


def _as_float_array(value, name: str) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.number):
        raise InputError(f"{name} has dtype {array.dtype}; expected numbers")
    return array


def _prepare(X, hypothetical, projected, pad: int) -> _Data:
    X = _as_float_array(X, "X")
    if X.ndim != 3 or X.shape[1] != 4:
        raise InputError(f"X has shape {X.shape}; expected one-hot (n, 4, L)")
    n, _, L = X.shape
    arrays = {}
    for name, value in (("hypothetical", hypothetical), ("projected", projected)):
        a = _as_float_array(value, name)
        if a.shape != X.shape:
            raise InputError(f"{name} has shape {a.shape}; expected X's shape {X.shape}")
        if not np.all(np.isfinite(a)):
            raise InputError(f"{name} contains NaN or infinite values")
        arrays[name] = a
    Lp = L + 2 * pad

    def padded(a):
        out = np.zeros((n, Lp, 4), dtype=np.float32)
        out[:, pad : pad + L] = np.transpose(a, (0, 2, 1))
        return out

    onehot = padded(X)
    present = onehot.sum(axis=2) > 0.5
    codes = np.where(present, onehot.argmax(axis=2), PAD).astype(np.int8)
    projected_t = padded(arrays["projected"])
    counts = onehot.reshape(-1, 4).sum(axis=0).astype(np.float64)
    background = (counts + 1.0) / (counts.sum() + 4.0)
    return _Data(
        codes=codes,
        onehot=onehot,
        hypothetical=padded(arrays["hypothetical"]),
        projected=projected_t,
        per_base=projected_t.sum(axis=2, dtype=np.float64),
        background=background,
        pad=pad,
        length=L,
    )


def _seqlet_spans(seqlets, n: int, L: int) -> pd.DataFrame:
    """The seqlet table with ``example_idx``, ``core_start``, ``core_end``, ``sign`` checked."""
    table = getattr(seqlets, "table", seqlets)
    if not isinstance(table, pd.DataFrame):
        raise InputError(
            f"seqlets is a {type(seqlets).__name__}; expected a DataFrame or seqsal.seqlets.Seqlets"
        )
    table = table.reset_index(drop=True)
    if "core_start" not in table.columns:
        if not {"start", "end"} <= set(table.columns):
            raise InputError(
                "seqlets lack start/end (or core_start/core_end) window offsets; expected the "
                "table of seqsal.seqlets.call_seqlets"
            )
        table = table.assign(core_start=table["start"], core_end=table["end"])
    for column in ("example_idx", "sign"):
        if column not in table.columns:
            raise InputError(
                f"seqlets lack the column {column!r}; expected the table of "
                "seqsal.seqlets.call_seqlets (map a seqlet BED to store rows first)"
            )
    ex = table["example_idx"].to_numpy()
    a = table["core_start"].to_numpy()
    b = table["core_end"].to_numpy()
    sign = table["sign"].to_numpy()
    if len(table) and (ex.min() < 0 or ex.max() >= n):
        raise InputError(f"seqlets example_idx lies outside 0..{n - 1} (the rows of X)")
    if len(table) and (a.min() < 0 or b.max() > L or np.any(b <= a)):
        raise InputError(f"seqlet spans must satisfy 0 <= start < end <= {L} (the window length)")
    if not np.isin(sign, (1, -1)).all():
        raise InputError("seqlets sign must be +1 or -1")
    return table


# --------------------------------------------------------------------------------------------
# matrices and PWMs


def _windows(data: _Data, example, start, orient, width: int, left: int, right: int):
    """One-hot, hypothetical and projected windows (m, W, 4) in motif orientation.

    The window covers ``left`` bases before and ``right`` after the core ``[start, start +
    width)`` in motif orientation (for a - alignment, "before" lies to the right in the region).
    """
    W = left + width + right
    first = np.where(orient == 0, start - left, start - right)
    index = first[:, None] + np.arange(W)[None, :]
    index = np.clip(index, 0, data.codes.shape[1] - 1)
    rows = example[:, None]
    out = []
    for array in (data.onehot, data.hypothetical, data.projected):
        w = array[rows, index]  # (m, W, 4)
        minus = orient == 1
        if minus.any():
            w[minus] = w[minus][:, ::-1, ::-1]
        out.append(w)
    return out


def _distinct(cand: _Candidate) -> np.ndarray:
    """Index of the first member of each distinct site (several seqlets can align to one)."""
    key = np.stack([cand.example, cand.start, cand.orient])
    _, first = np.unique(key, axis=1, return_index=True)
    return np.sort(first)


def _matrices(data: _Data, cand: _Candidate, flank: int):
    """Counts (4, W), CWM, hypothetical CWM over the core plus ``flank`` each side.

    Each distinct aligned site counts once, however many seqlets aligned to it.
    """
    keep = _distinct(cand)
    onehot, hyp, proj = _windows(
        data, cand.example[keep], cand.start[keep], cand.orient[keep], cand.width, flank, flank
    )
    m = max(len(keep), 1)
    counts = onehot.sum(axis=0).T.astype(np.float64)
    cwm = proj.sum(axis=0).T.astype(np.float64) / m
    hcwm = (hyp * (onehot.sum(axis=2, keepdims=True) > 0)).sum(axis=0).T.astype(np.float64) / m
    return counts, cwm, hcwm


def _log_odds(counts: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Log-odds (bits) of counts with one background-distributed pseudo-site; (5, c) with PAD row."""
    lo = log_odds(counts, background, pseudocount=1.0)
    return np.vstack([lo, np.full((1, lo.shape[1]), PAD_LOG_ODDS)])


def _score_tail(lo: np.ndarray, background: np.ndarray) -> tuple[np.ndarray, int]:
    """Exact upper tail of the log-odds score under the background, by dynamic programming.

    Returns ``tail`` with ``tail[i] = P(score >= (i + offset) / SCORE_RESOLUTION)`` and the
    integer ``offset`` (the lowest reachable score, in SCORE_RESOLUTION units).
    """
    ints = np.round(lo[:4] * SCORE_RESOLUTION).astype(np.int64)
    lo_min = ints.min(axis=0)
    shifted = ints - lo_min
    dist = np.ones(1)
    for j in range(ints.shape[1]):
        new = np.zeros(dist.size + shifted[:, j].max())
        for b in range(4):
            new[shifted[b, j] : shifted[b, j] + dist.size] += background[b] * dist
        dist = new
    return np.cumsum(dist[::-1])[::-1], int(lo_min.sum())


def _score_threshold(lo: np.ndarray, background: np.ndarray, p: float) -> float:
    """Smallest log-odds score whose upper-tail probability under the background is <= p."""
    tail, offset = _score_tail(lo, background)
    ok = np.flatnonzero(tail <= p)
    index = ok[0] if ok.size else tail.size
    return (index + offset) / SCORE_RESOLUTION


def _score_pvalues(lo: np.ndarray, background: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Upper-tail p-values of log-odds scores under the background."""
    tail, offset = _score_tail(lo, background)
    tail = np.append(tail, 0.0)
    index = np.ceil(scores * SCORE_RESOLUTION - 1e-9).astype(np.int64) - offset
    index = np.clip(index, 0, tail.size - 1)
    return np.where(np.isfinite(scores), np.maximum(tail[index], 1e-300), 1.0)


def _retrim(cand: _Candidate, cwm: np.ndarray, flank: int, trim_threshold: float, max_width: int):
    """Move the core to the contribution span of a CWM computed with ``flank`` each side."""
    contribution = np.abs(cwm).sum(axis=0)
    s, e = span_above(contribution, trim_threshold)
    if e - s > max_width:  # keep the heaviest max_width window of the span
        sums = np.convolve(contribution[s:e], np.ones(max_width), mode="valid")
        s = s + int(np.argmax(sums))
        e = s + max_width
    # Column j of the window is core column j - flank; on a - alignment column j lies at region
    # position start + width + flank - 1 - j.
    new_start = np.where(
        cand.orient == 0, cand.start - flank + s, cand.start + cand.width + flank - e
    )
    return _Candidate(cand.example, new_start, cand.orient, cand.seqlet, e - s, cand.score)


def _scan_seqlets(
    data: _Data, example, core_start, core_end, width: int, lo: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best alignment of a width-``width`` PWM overlapping at least half of each seqlet."""
    seq_len = core_end - core_start
    overlap = np.ceil(0.5 * np.minimum(width, seq_len)).astype(np.int64)
    q_lo = core_start - width + overlap
    q_hi = core_end - overlap
    q_lo = np.maximum(q_lo, 0)
    q_hi = np.minimum(q_hi, data.codes.shape[1] - width)
    lo_rev = np.ascontiguousarray(np.vstack([reverse_complement(lo[:4]), lo[4:, ::-1]]))
    return _best_alignment(
        data.codes,
        example.astype(np.int64),
        q_lo.astype(np.int64),
        q_hi.astype(np.int64),
        np.ascontiguousarray(lo),
        lo_rev,
    )


# --------------------------------------------------------------------------------------------
# seeding


def _kmer_codes(codes: np.ndarray, k: int) -> np.ndarray:
    """Integer code of the k-mer starting at each position (-1 where it holds PAD)."""
    n, Lp = codes.shape
    out = np.zeros((n, Lp - k + 1), dtype=np.int64)
    bad = np.zeros((n, Lp - k + 1), dtype=bool)
    for j in range(k):
        part = codes[:, j : j + Lp - k + 1].astype(np.int64)
        bad |= part == PAD
        out = out * 4 + np.where(part == PAD, 0, part)
    out[bad] = -1
    return out


def _revcomp_code(code: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros_like(code)
    c = code.copy()
    for _ in range(k):
        out = out * 4 + (3 - c % 4)
        c //= 4
    return out


def _decode(code: int, k: int) -> np.ndarray:
    digits = np.zeros(k, dtype=np.int8)
    for j in range(k - 1, -1, -1):
        digits[j] = code % 4
        code //= 4
    return digits


def _ragged_positions(lo: np.ndarray, hi: np.ndarray):
    """Row ids and positions of every integer in [lo, hi) per row."""
    lengths = np.maximum(hi - lo, 0)
    rows = np.repeat(np.arange(lo.size), lengths)
    starts = np.repeat(lo - np.cumsum(np.concatenate([[0], lengths[:-1]])), lengths)
    return rows, starts + np.arange(lengths.sum())


# --------------------------------------------------------------------------------------------
# merging


def _similarity(a: np.ndarray, b: np.ndarray, min_overlap: float = 0.5) -> float:
    """Largest normalised cross-correlation of two CWMs over offsets and both orientations."""
    best = -1.0
    na = np.sqrt((a**2).sum())
    nb = np.sqrt((b**2).sum())
    if na == 0 or nb == 0:
        return 0.0
    shortest = min(a.shape[1], b.shape[1])
    for other in (b, b[::-1, ::-1]):  # the reverse complement as a view (no copy)
        for shift in range(-other.shape[1] + 1, a.shape[1]):
            a0, a1 = max(0, shift), min(a.shape[1], shift + other.shape[1])
            if a1 - a0 < min_overlap * shortest:
                continue
            value = (a[:, a0:a1] * other[:, a0 - shift : a1 - shift]).sum() / (na * nb)
            best = max(best, float(value))
    return best


# --------------------------------------------------------------------------------------------
# API


def discover(
    seqlets,
    X,
    hypothetical,
    projected,
    *,
    coords: pd.DataFrame | None = None,
    min_seqlets: int = 20,
    k: int = 8,
    flank: int = 10,
    output_flank: int = 5,
    max_width: int = 30,
    p_threshold: float = 1e-3,
    rounds: int = 4,
    merge_similarity: float = 0.8,
    trim_threshold: float = TRIM_THRESHOLD,
    max_seqlets: int = 20000,
    max_failures: int = 10,
    seed=None,
    progress=None,
) -> list[Motif]:
    """Cluster seqlets into motifs (both orientations), positive and negative sets apart.

    Parameters
    ----------
    seqlets : pandas.DataFrame or seqsal.seqlets.Seqlets
        One row per seqlet with ``example_idx`` (row of ``X``), ``core_start``/``core_end``
        (or ``start``/``end``: window offsets) and ``sign`` (+1 / -1), as
        :func:`seqsal.seqlets.call_seqlets` returns.  Other columns are carried into each
        motif's member table.
    X : np.ndarray, shape (n, 4, L)
        One-hot sequences as the model saw them.
    hypothetical, projected : np.ndarray, shape (n, 4, L)
        Hypothetical and projected contributions (as in the attribution store).
    coords : pandas.DataFrame, optional
        ``chrom, start, end, strand, name`` (+ ``pad_left, pad_right``) of the n windows;
        adds genome coordinates to the member tables.
    min_seqlets : int, default 20
        A motif needs at least this many member seqlets; discovery stops when fewer remain.
    k : int, default 8
        Seed k-mer length: long enough to be specific (a random 8-mer with one mismatch hits
        about 4e-4 of positions), short enough to fit a 10-bp site.
    flank : int, default 10
        Bases added each side of the core when the CWM is rebuilt, so the core can grow.
    output_flank : int, default 5
        Bases kept each side of the final core in the returned (untrimmed) matrices.
    max_width : int, default 30
        Widest core.
    p_threshold : float, default 1e-3
        A seqlet joins a motif when the core PWM's best score over the alignments that cover
        half of the seqlet has this p-value or less (background = the regions' composition).
    rounds : int, default 4
        Rescan / rebuild rounds per motif.
    merge_similarity : float, default 0.8
        Motifs of one sign whose core CWMs correlate at least this much (normalised, any
        offset covering half the shorter, either orientation) are merged.
    trim_threshold : float, default 0.3
        Core = positions with at least this fraction of the peak absolute contribution.
    max_seqlets : int, default 20000
        Per sign, a random subsample (``seed``) of this many seeds the motifs; every seqlet is
        still assigned in the final pass.
    max_failures : int, default 10
        Consecutive seeds yielding fewer than ``min_seqlets`` members before a sign stops.
    seed : int, optional
        Seeds the subsample above; results are otherwise deterministic.
    progress : bool, optional
        Progress bar over seqlets (None: only on a terminal).

    Returns
    -------
    list of Motif
        Positive motifs (``pos_pattern_0``, ...) then negative ones, each by decreasing
        support.  Each has ``ppm``, ``cwm``, ``hypothetical_cwm`` (``(4, w)``), ``sign``,
        ``n_seqlets``, ``trim`` (the core) and ``seqlets``: a DataFrame of members with
        ``seqlet`` (row of the input table), ``example_idx``, ``offset`` (window offset of the
        motif's first column), ``orientation`` (``+``: the window reads the motif as shown,
        ``-``: its reverse complement), ``core_start``/``core_end`` of the seqlet,
        ``pwm_score``, ``duplicate`` (True when an earlier member aligned to the same site:
        a site split into several seqlets counts once in the matrices and in ``n_seqlets``),
        and with ``coords``: ``chrom``, ``start``, ``end`` (genome span of the
        motif's matrices), ``strand`` (the motif's genome strand) and ``region``.
    """
    began = time.perf_counter()
    min_seqlets = check_positive_int(min_seqlets, "min_seqlets")
    k = check_positive_int(k, "k")
    if k > 12:
        raise InputError(f"k={k}; expected at most 12 (4^k k-mer counts are tabulated)")
    max_width = check_positive_int(max_width, "max_width")
    rounds = check_positive_int(rounds, "rounds")
    max_seqlets = check_positive_int(max_seqlets, "max_seqlets")
    max_failures = check_positive_int(max_failures, "max_failures")
    flank = check_non_negative_int(flank, "flank")
    output_flank = check_non_negative_int(output_flank, "output_flank")
    if not 0 < p_threshold < 1:
        raise InputError(f"p_threshold={p_threshold!r}; expected a p-value in (0, 1)")
    if not 0 < merge_similarity <= 1:
        raise InputError(f"merge_similarity={merge_similarity!r}; expected a value in (0, 1]")
    generator = rng(seed)

    pad = max_width + flank + output_flank + k + 2
    data = _prepare(X, hypothetical, projected, pad)
    n, L = data.codes.shape[0], data.length
    table = _seqlet_spans(seqlets, n, L)
    geometry = None if coords is None else window_geometry(coords, L, n=n, what="coords")
    kmers = _kmer_codes(data.codes, k)
    canonical = np.where(kmers >= 0, np.minimum(kmers, _revcomp_code(np.maximum(kmers, 0), k)), -1)

    motifs: list[Motif] = []
    with progress_bar(total=len(table), desc="motifs", unit="seqlet", progress=progress) as bar:
        for sign in (1, -1):
            rows = np.flatnonzero(table["sign"].to_numpy() == sign)
            if rows.size < min_seqlets:
                bar.update(rows.size)
                continue
            found = _discover_sign(
                data,
                table,
                rows,
                sign,
                kmers=kmers,
                canonical=canonical,
                k=k,
                min_seqlets=min_seqlets,
                flank=flank,
                max_width=max_width,
                p_threshold=p_threshold,
                rounds=rounds,
                merge_similarity=merge_similarity,
                trim_threshold=trim_threshold,
                max_seqlets=max_seqlets,
                max_failures=max_failures,
                generator=generator,
                bar=bar,
            )
            prefix = "pos" if sign > 0 else "neg"
            for i, cand in enumerate(found):
                motifs.append(
                    _to_motif(
                        f"{prefix}_pattern_{i}",
                        data,
                        cand,
                        table,
                        sign,
                        geometry,
                        output_flank,
                        trim_threshold,
                    )
                )
    log.info(
        "discovered %d positive and %d negative motifs from %d seqlets in %.2f s",
        sum(m.sign > 0 for m in motifs),
        sum(m.sign < 0 for m in motifs),
        len(table),
        time.perf_counter() - began,
    )
    return motifs


def _discover_sign(
    data: _Data,
    table: pd.DataFrame,
    rows: np.ndarray,
    sign: int,
    *,
    kmers,
    canonical,
    k,
    min_seqlets,
    flank,
    max_width,
    p_threshold,
    rounds,
    merge_similarity,
    trim_threshold,
    max_seqlets,
    max_failures,
    generator,
    bar,
) -> list[_Candidate]:
    pad = data.pad
    example = table["example_idx"].to_numpy(np.int64)[rows]
    core_start = table["core_start"].to_numpy(np.int64)[rows] + pad
    core_end = table["core_end"].to_numpy(np.int64)[rows] + pad
    # k-mer weights: sign-adjusted attribution carried by each k-mer, clipped at zero.
    signed = np.maximum(sign * data.per_base, 0.0)
    cumulative = np.concatenate([np.zeros((signed.shape[0], 1)), np.cumsum(signed, axis=1)], 1)
    kmer_weight = cumulative[:, k:] - cumulative[:, :-k]

    pool = np.arange(rows.size)
    if pool.size > max_seqlets:
        pool = np.sort(generator.choice(pool, size=max_seqlets, replace=False))
    available = np.zeros(rows.size, dtype=bool)
    available[pool] = True
    banned = np.zeros(4**k, dtype=bool)
    found: list[_Candidate] = []
    failures = 0
    while available.sum() >= min_seqlets and failures < max_failures:
        idx = np.flatnonzero(available)
        # 1. seed: the heaviest canonical k-mer over the remaining seqlets' cores (+-2 bases)
        r, pos = _ragged_positions(
            np.maximum(core_start[idx] - 2, 0),
            np.minimum(core_end[idx] + 2 - k + 1, kmers.shape[1]),
        )
        ex = example[idx][r]
        codes_here = canonical[ex, pos]
        ok = codes_here >= 0
        weights = np.bincount(codes_here[ok], weights=kmer_weight[ex, pos][ok], minlength=4**k)
        weights[banned] = 0.0
        if weights.max() <= 0:
            break
        seed_code = int(np.argmax(weights))
        banned[seed_code] = True
        seed_fwd = _decode(seed_code, k)
        seed_rev = reverse_complement_codes(seed_fwd).astype(np.int8)
        # 2. gather seqlets holding the seed (<= 1 mismatch) on either strand
        windows = data.codes[ex[:, None], pos[:, None] + np.arange(k)[None, :]]
        mismatch_f = (windows != seed_fwd[None, :]).sum(axis=1)
        mismatch_r = (windows != seed_rev[None, :]).sum(axis=1)
        mismatch = np.minimum(mismatch_f, mismatch_r)
        orient = (mismatch_r < mismatch_f).astype(np.int64)
        hit = mismatch <= 1
        if not hit.any():
            failures += 1
            continue
        order = np.lexsort((-kmer_weight[ex, pos][hit], mismatch[hit], r[hit]))
        hr, hpos, horient = r[hit][order], pos[hit][order], orient[hit][order]
        first = np.concatenate([[True], hr[1:] != hr[:-1]])
        members = idx[hr[first]]
        cand = _Candidate(
            example=example[members],
            start=hpos[first],
            orient=horient[first],
            seqlet=members,
            width=k,
            score=np.full(members.size, np.nan),
        )
        # 3. refine
        for _ in range(rounds):
            counts, cwm, _h = _matrices(data, cand, flank)
            cand = _retrim(cand, cwm, flank, trim_threshold, max_width)
            counts, _c, _h = _matrices(data, cand, 0)
            lo = _log_odds(counts, data.background)
            threshold = _score_threshold(lo, data.background, p_threshold)
            score, q, o = _scan_seqlets(
                data, example[idx], core_start[idx], core_end[idx], cand.width, lo
            )
            keep = score >= threshold
            new_members = idx[keep]
            same = np.array_equal(new_members, np.sort(cand.seqlet)) and np.array_equal(
                q[keep], cand.start[np.argsort(cand.seqlet)]
            )
            cand = _Candidate(
                example=example[new_members],
                start=q[keep],
                orient=o[keep],
                seqlet=new_members,
                width=cand.width,
                score=score[keep],
            )
            if same or new_members.size < min_seqlets:
                break
        if cand.seqlet.size < min_seqlets:
            failures += 1
            continue
        failures = 0
        available[cand.seqlet] = False
        bar.update(int(cand.seqlet.size))
        found.append(cand)
        log.debug(
            "sign %+d: motif %d from seed %s, width %d, %d seqlets",
            sign,
            len(found),
            "".join("ACGT"[b] for b in seed_fwd),
            cand.width,
            cand.seqlet.size,
        )
    bar.update(int(available.sum()))

    # 5. merge redundant motifs (keep the larger), then reassign every seqlet of the sign
    found.sort(key=lambda c: -c.seqlet.size)
    cwms = []
    for cand in found:
        _counts, cwm, _h = _matrices(data, cand, 0)
        cwms.append(cwm)
    kept: list[int] = []
    for i in range(len(found)):
        if all(_similarity(cwms[j], cwms[i]) < merge_similarity for j in kept):
            kept.append(i)
    found = [found[i] for i in kept]
    if not found:
        return []
    everyone = np.arange(rows.size)
    best_p = np.ones((len(found), rows.size))
    alignments = []
    for mi, cand in enumerate(found):
        counts, _c, _h = _matrices(data, cand, 0)
        lo = _log_odds(counts, data.background)
        score, q, o = _scan_seqlets(data, example, core_start, core_end, cand.width, lo)
        p = _score_pvalues(lo, data.background, score)
        best_p[mi] = np.where(p <= p_threshold, p, 1.0)
        alignments.append((q, o, score))
    winner = np.argmin(best_p, axis=0)
    assigned = best_p[winner, everyone] <= p_threshold
    result = []
    for mi, cand in enumerate(found):
        members = np.flatnonzero(assigned & (winner == mi))
        q, o, score = alignments[mi]
        final = _Candidate(
            example=example[members],
            start=q[members],
            orient=o[members],
            seqlet=members,
            width=cand.width,
            score=score[members],
        )
        if _distinct(final).size >= min_seqlets:
            result.append(final)
    result.sort(key=lambda c: -_distinct(c).size)
    # map seqlet ids back to rows of the full table
    return [
        _Candidate(c.example, c.start, c.orient, rows[c.seqlet], c.width, c.score) for c in result
    ]


def _to_motif(
    name: str,
    data: _Data,
    cand: _Candidate,
    table: pd.DataFrame,
    sign: int,
    geometry: WindowGeometry | None,
    output_flank: int,
    trim_threshold: float,
) -> Motif:
    counts, cwm, hcwm = _matrices(data, cand, output_flank)
    motif = Motif(
        name=name,
        ppm=counts,
        cwm=cwm,
        hypothetical_cwm=hcwm,
        sign=sign,
        n_seqlets=int(_distinct(cand).size),
        trim=(output_flank, output_flank + cand.width),
        source=SOURCE,
    )
    motif.seqlets = _member_table(data, cand, table, geometry, output_flank)
    return motif


def _member_table(
    data: _Data,
    cand: _Candidate,
    table: pd.DataFrame,
    geometry: WindowGeometry | None,
    output_flank: int,
) -> pd.DataFrame:
    width = cand.width + 2 * output_flank
    first = np.where(cand.orient == 0, cand.start - output_flank, cand.start - output_flank)
    offset = first - data.pad
    members = pd.DataFrame(
        {
            "seqlet": cand.seqlet,
            "example_idx": cand.example,
            "offset": offset,
            "orientation": np.where(cand.orient == 0, "+", "-"),
            "core_start": table["core_start"].to_numpy(np.int64)[cand.seqlet],
            "core_end": table["core_end"].to_numpy(np.int64)[cand.seqlet],
            "sign": table["sign"].to_numpy(np.int64)[cand.seqlet],
            "pwm_score": cand.score,
        }
    )
    duplicate = np.ones(cand.seqlet.size, dtype=bool)
    duplicate[_distinct(cand)] = False
    members["duplicate"] = duplicate
    if geometry is not None:
        # The aligned span (core and output flanks) may run past the window: mapped as it is.
        g_start, g_end = geometry.to_genome(cand.example, offset, offset + width)
        members["chrom"] = geometry.chrom[cand.example]
        members["start"] = g_start
        members["end"] = g_end
        members["strand"] = np.where(
            (members["orientation"].to_numpy() == "+") != geometry.minus[cand.example], "+", "-"
        )
        members["region"] = geometry.name[cand.example]
    extra = [c for c in table.columns if c not in members.columns and c not in ("start", "end")]
    for column in extra:
        members[column] = table[column].to_numpy()[cand.seqlet]
    return members.sort_values(["example_idx", "offset"], kind="stable").reset_index(drop=True)

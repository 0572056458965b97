"""Null models for seqlet calling: how unusual is a span's attribution sum, and how many calls are false.

Two nulls are offered.

* **Control** (preferred): attributions of dinucleotide-shuffled copies of the sequences, made
  through the same model, target and method.  For every span length ``k`` the distribution of
  span sums over all control positions is tabulated (a fine histogram), and a span of the real
  data gets the empirical upper-tail p-value ``(1 + #control spans >= s) / (1 + #control spans)``.
  The same calling procedure is then run on the control, and the false discovery rate at a
  p-value threshold ``t`` is estimated as ``scale * (D(t) + 1) / T(t)``, where ``T(t)`` and
  ``D(t)`` are the numbers of seqlets called at ``t`` on the data and on the control and
  ``scale`` is the ratio of their numbers of positions (target-decoy estimate; the ``+ 1`` keeps
  a few lucky calls from passing as zero error).  Because the control goes through the very
  same selection (best length, greedy non-overlap), the estimate accounts for it.

* **Gaussian fallback** (no control given): for every span length a Gaussian is fitted to the
  central mass of the observed span sums (median and inter-quartile range, so a minority of
  real signal barely moves it).  Fitting span sums of each length, not single positions,
  keeps the autocorrelation of attributions in the null.  Significance is then Bonferroni
  over the candidate lengths and Benjamini-Hochberg over every start position.  This is
  weaker: it assumes the signal is sparse and the background tail no heavier than Gaussian
  (heavier tails give extra false calls), and it cannot see model-specific background
  structure that a shuffled control carries.  Prefer a control whenever the model can be run.

The kernels are numba functions compiled once and cached on disk (``cache=True``): numba puts
the cache in ``$NUMBA_CACHE_DIR`` when that is set, else in ``__pycache__`` beside this file,
else, when that folder is read-only (a system or container install), in its user-wide cache
folder (``~/.cache/numba``).  Nothing here sets environment variables.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import cast

import numba
import numpy as np

from seqsal._runtime import usable_cores

log = logging.getLogger(__name__)

#: Bins of the per-length histograms of control span sums.  Fine enough that the conservative
#: rounding (a whole bin counts as ">= s") moves tail p-values by little.
N_BINS = 1 << 14

#: Spans with a p-value above this are never candidates.  Far above the thresholds an FDR target
#: of a few percent selects (typically 1e-5 to 1e-4), so it bounds the work; it can only make
#: calling more conservative.
P_CAP = 0.002

EMPIRICAL = 0
GAUSSIAN = 1

#: Inter-quartile range of a standard normal, and its upper P_CAP quantile.
IQR_PER_SD = 1.3489795003921634
Z_CAP = 1.6448536269514722


@dataclass(frozen=True)
class SpanNull:
    """Per-length null of span sums for one sign (spans of the sign's attributions, upper tail).

    Attributes
    ----------
    kind : int
        ``EMPIRICAL`` (tabulated control) or ``GAUSSIAN`` (fitted fallback).
    min_length, max_length : int
        Span lengths covered; row ``j`` of every array is length ``min_length + j``.
    lo, inv_width : np.ndarray, shape (K,)
        Histogram origin and reciprocal bin width (EMPIRICAL only).
    upper : np.ndarray, shape (K, N_BINS)
        Number of control spans in bins ``>= b`` (EMPIRICAL only).
    n_spans : np.ndarray, shape (K,)
        Control spans per length (EMPIRICAL only).
    center, scale : np.ndarray, shape (K,)
        Mean and standard deviation of control span sums (EMPIRICAL), or the fitted Gaussian's
        location and scale (GAUSSIAN).  ``(s - center) / scale`` breaks ties between spans whose
        p-values are equal (all beyond the control's range).
    s_cap : np.ndarray, shape (K,)
        Smallest span sum whose p-value can be ``<= P_CAP``; a fast pre-filter.
    """

    kind: int
    min_length: int
    max_length: int
    lo: np.ndarray
    inv_width: np.ndarray
    upper: np.ndarray
    n_spans: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    s_cap: np.ndarray


# --------------------------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _span_histogram(
    X: np.ndarray,
    min_length: int,
    max_length: int,
    lo: np.ndarray,
    inv_width: np.ndarray,
    n_bins: int,
) -> np.ndarray:
    """Histogram (K, n_bins) of all span sums of each length over the rows of ``X`` (n, L)."""
    n, L = X.shape
    K = max_length - min_length + 1
    hist = np.zeros((K, n_bins), dtype=np.int64)
    prefix = np.empty(L + 1)
    for e in range(n):
        prefix[0] = 0.0
        for i in range(L):
            prefix[i + 1] = prefix[i] + X[e, i]
        for j in range(K):
            k = min_length + j
            lo_j = lo[j]
            w_j = inv_width[j]
            for i in range(L - k + 1):
                b = int((prefix[i + k] - prefix[i] - lo_j) * w_j)
                if b < 0:
                    b = 0
                elif b >= n_bins:
                    b = n_bins - 1
                hist[j, b] += 1
    return hist


# --------------------------------------------------------------------------------------------
# building nulls
# --------------------------------------------------------------------------------------------


def _bins(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Histogram origin and reciprocal bin width; a degenerate range gets a tiny width."""
    span = hi - lo
    tiny = 1e-12 * np.maximum(1.0, np.abs(lo))
    span = np.where(span > tiny, span, tiny)
    return lo.copy(), N_BINS / span


def _tabulate(
    X: np.ndarray, min_length: int, max_length: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One pass over ``X``: per-length histograms of span sums, and their moments.

    The histogram range of length ``k`` is ``[k * min(X), k * max(X)]``, which holds every
    span sum; with 16,384 bins it stays fine where the span sums actually lie, and it costs no
    extra pass over ``X``.
    """
    lengths = np.arange(min_length, max_length + 1, dtype=np.float64)
    x_min, x_max = float(X.min()), float(X.max())
    lo, inv_width = _bins(lengths * x_min, lengths * x_max)
    # Rows in one block per core; the kernel releases the GIL, and integer counts add up
    # exactly, so the histogram does not depend on the split.
    bounds = np.unique(np.linspace(0, X.shape[0], usable_cores() + 1).astype(np.int64))
    with ThreadPoolExecutor(max_workers=len(bounds) - 1) as pool:
        blocks = pool.map(
            lambda a, b: _span_histogram(X[a:b], min_length, max_length, lo, inv_width, N_BINS),
            bounds[:-1],
            bounds[1:],
        )
        hist = cast(np.ndarray, sum(blocks))
    # Moments from the histogram (bin centres): they only standardise sums to break ties.
    count = hist.sum(axis=1).astype(np.float64)
    centers = lo[:, None] + (np.arange(N_BINS) + 0.5)[None, :] / inv_width[:, None]
    safe = np.maximum(count, 1.0)
    mean = (hist * centers).sum(axis=1) / safe
    sd = np.sqrt(np.maximum((hist * (centers - mean[:, None]) ** 2).sum(axis=1) / safe, 0.0))
    hi = lo + N_BINS / inv_width
    return lo, hi, inv_width, hist, mean, sd, count


def _empirical(
    lo: np.ndarray,
    inv_width: np.ndarray,
    hist: np.ndarray,
    mean: np.ndarray,
    sd: np.ndarray,
    count: np.ndarray,
    min_length: int,
    max_length: int,
) -> SpanNull:
    upper = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1].astype(np.float64)
    # p(bin b) = (1 + upper[b]) / (1 + n); the first bin whose p is <= P_CAP bounds candidates.
    p_bins = (1.0 + upper) / (1.0 + count[:, None])
    first = np.argmax(p_bins <= P_CAP, axis=1)
    s_cap = lo + first / inv_width
    scale = np.where(sd > 0, sd, 1.0)
    return SpanNull(
        kind=EMPIRICAL,
        min_length=min_length,
        max_length=max_length,
        lo=lo,
        inv_width=inv_width,
        upper=np.ascontiguousarray(upper),
        n_spans=count.astype(np.float64),
        center=mean,
        scale=scale,
        s_cap=s_cap,
    )


def control_nulls(control: np.ndarray, min_length: int, max_length: int) -> dict[int, SpanNull]:
    """Tabulate the control's span sums once and return the null for each sign.

    Parameters
    ----------
    control : np.ndarray, shape (m, L), float64, C-contiguous
        Per-position attributions of the control (shuffled) sequences.
    min_length, max_length : int
        Span lengths to tabulate (``max_length <= L``).

    Returns
    -------
    dict
        ``{+1: SpanNull, -1: SpanNull}``; the ``-1`` null describes the negated attributions
        (its upper tail is the control's lower tail), derived from the same histogram.
    """
    lo, hi, inv_width, hist, mean, sd, count = _tabulate(control, min_length, max_length)
    positive = _empirical(lo, inv_width, hist, mean, sd, count, min_length, max_length)
    # Negated sums: origin -hi, same width, bins mirrored.
    negative = _empirical(
        -hi,
        inv_width,
        np.ascontiguousarray(hist[:, ::-1]),
        -mean,
        sd,
        count,
        min_length,
        max_length,
    )
    return {1: positive, -1: negative}


def gaussian_nulls(observed: np.ndarray, min_length: int, max_length: int) -> dict[int, SpanNull]:
    """Fit the fallback Gaussian null to the central mass of the observed span sums, per length.

    Location is the median and scale ``IQR / 1.349`` (the standard deviation for a Gaussian),
    both read from a fine histogram of the span sums, so up to a quarter of the spans can
    carry signal without moving the fit much.

    Parameters
    ----------
    observed : np.ndarray, shape (n, L), float64, C-contiguous
        The attributions to be called.

    Returns
    -------
    dict
        ``{+1: SpanNull, -1: SpanNull}`` of kind ``GAUSSIAN``.
    """
    lo, _hi, inv_width, hist, _mean, _sd, count = _tabulate(observed, min_length, max_length)
    K = max_length - min_length + 1
    cdf = np.cumsum(hist, axis=1) / np.maximum(count, 1)[:, None]
    q = np.empty((K, 3))
    for j in range(K):
        b = np.minimum(np.searchsorted(cdf[j], [0.25, 0.5, 0.75]), N_BINS - 1)
        q[j] = lo[j] + (b + 0.5) / inv_width[j]
    median = q[:, 1]
    scale = (q[:, 2] - q[:, 0]) / IQR_PER_SD
    scale = np.where(scale > 0, scale, 1.0 / inv_width)
    # Upper tail p = Phi(-(s - median) / scale) <= P_CAP  <=>  s >= median + scale * Z_CAP
    empty = np.zeros((K, 1))
    nulls = {}
    for sign in (1, -1):
        center = sign * median
        nulls[sign] = SpanNull(
            kind=GAUSSIAN,
            min_length=min_length,
            max_length=max_length,
            lo=np.zeros(K),
            inv_width=np.ones(K),
            upper=empty,
            n_spans=count.astype(np.float64),
            center=center,
            scale=scale,
            s_cap=center + scale * Z_CAP,
        )
    return nulls


# --------------------------------------------------------------------------------------------
# error rates
# --------------------------------------------------------------------------------------------


def span_pvalues(null: SpanNull, sums: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Upper-tail p-values of spans with the given sums (already multiplied by the sign) and
    lengths, exactly as the calling kernel computes them."""
    j = np.asarray(lengths, dtype=np.int64) - null.min_length
    sums = np.asarray(sums, dtype=np.float64)
    if null.kind == GAUSSIAN:
        from scipy.special import erfc

        z = (sums - null.center[j]) / null.scale[j]
        return 0.5 * erfc(z / np.sqrt(2.0))
    n_bins = null.upper.shape[1]
    b = np.trunc((sums - null.lo[j]) * null.inv_width[j])
    above = null.upper[j, np.clip(b, 0, n_bins - 1).astype(np.int64)]
    above = np.where(b >= n_bins, 0.0, np.where(b < 0, null.n_spans[j], above))
    return (1.0 + above) / (1.0 + null.n_spans[j])


def empirical_qvalues(p_observed: np.ndarray, p_control: np.ndarray, scale: float) -> np.ndarray:
    """Target-decoy q-values of the observed calls from the calls made on the control.

    Parameters
    ----------
    p_observed : np.ndarray, shape (c,)
        p-values of the seqlets called on the data (one sign).
    p_control : np.ndarray, shape (d,)
        p-values of the seqlets called, the same way, on the control.
    scale : float
        Positions in the data divided by positions in the control.

    Returns
    -------
    np.ndarray, shape (c,)
        ``q_i = min_{t >= p_i} min(1, scale * (D(t) + 1) / T(t))``.
    """
    if p_observed.size == 0:
        return np.empty(0)
    order = np.argsort(p_observed, kind="stable")
    p_sorted = p_observed[order]
    # Evaluate at each distinct threshold: T and D count calls with p <= t.
    n_obs = np.searchsorted(p_sorted, p_sorted, side="right").astype(np.float64)
    n_ctl = np.searchsorted(np.sort(p_control), p_sorted, side="right").astype(np.float64)
    fdr = np.minimum(1.0, scale * (n_ctl + 1.0) / n_obs)
    q_sorted = np.minimum.accumulate(fdr[::-1])[::-1]
    q = np.empty_like(q_sorted)
    q[order] = q_sorted
    return q

"""Statistics shared by several stages: Benjamini-Hochberg q-values and Spearman correlation.

Seqlet calling, motif annotation and the genome scan's candidates all correct a family of
p-values by Benjamini-Hochberg; the randomisation sanity check and the model metrics both
rank-correlate two sets of values.  Each lives here once, with SciPy as the reference the
tests compare against (``scipy.stats.false_discovery_control``, ``scipy.stats.spearmanr``).
"""

from __future__ import annotations

import math

import numpy as np

from seqsal.errors import InputError


def benjamini_hochberg(p_values, n_tests: int | None = None) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values) of one family of tests.

    ``q_(i) = min_{j >= i} min(1, p_(j) * m / j)`` over the p-values sorted ascending, mapped
    back to the input order; tied p-values share the q-value of the last of them.  With
    ``n_tests`` larger than the number of p-values given, the tests not given count as
    untested with p-values above every given one (``m = n_tests``): seqlet calling passes only
    the spans it kept, out of every start position it tested.

    The products are formed as ``p * m / j`` (SciPy's ``false_discovery_control`` forms
    ``p * (m / j)``, which can differ in the last bit), so q-values, and the calls made by
    thresholding them, stay exactly as they were.

    Parameters
    ----------
    p_values : array-like, shape (k,)
        Values in [0, 1].
    n_tests : int, optional
        The size ``m`` of the family, at least ``k``; default ``k``.

    Returns
    -------
    np.ndarray, shape (k,), float64 in [0, 1]

    Raises
    ------
    InputError
        For more than one dimension, a value outside [0, 1] (NaN included) or ``n_tests``
        below ``k``.
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise InputError(f"p_values has shape {p.shape}; expected one dimension")
    if n_tests is None:
        n_tests = p.size
    elif isinstance(n_tests, bool) or not isinstance(n_tests, (int, np.integer)):
        raise InputError(f"n_tests={n_tests!r}; expected an integer >= len(p_values)")
    if n_tests < p.size:
        raise InputError(f"n_tests={n_tests} is below the {p.size} p-values given")
    if p.size == 0:
        return p.copy()
    if not np.all((p >= 0) & (p <= 1)):
        bad = float(p[~((p >= 0) & (p <= 1))][0])
        raise InputError(f"p_values holds {bad!r}; expected values in [0, 1]")
    order = np.argsort(p, kind="stable")
    p_sorted = p[order]
    rank = np.searchsorted(p_sorted, p_sorted, side="right").astype(np.float64)
    q_sorted = np.minimum(1.0, p_sorted * n_tests / rank)
    q_sorted = np.minimum.accumulate(q_sorted[::-1])[::-1]
    q = np.empty_like(q_sorted)
    q[order] = q_sorted
    return q


def spearman(a, b) -> float:
    """Spearman rank correlation of two arrays of the same size (flattened, float64).

    Ties get average ranks (``scipy.stats.rankdata``); the correlation of the ranks is
    computed in float64 and clipped to [-1, 1].  NaN, without a warning, where it is
    undefined: fewer than two values, either array constant (an all-zero map of a randomised
    model is routine), or a NaN in either.  ``scipy.stats.spearmanr`` gives the same value to
    rounding (the tests check it); it is not called because it also computes a p-value and
    warns on constant input, per call.

    Parameters
    ----------
    a, b : array-like
        Any shapes with the same number of elements.

    Returns
    -------
    float
    """
    from scipy.stats import rankdata

    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    if a.size != b.size:
        raise InputError(f"a has {a.size} values and b has {b.size}; expected the same number")
    if a.size < 2:
        return math.nan
    ra = rankdata(a)
    rb = rankdata(b)
    ra -= ra.mean()
    rb -= rb.mean()
    denominator = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    if denominator == 0:
        return math.nan
    return float(np.clip((ra * rb).sum() / denominator, -1.0, 1.0))


__all__ = ["benjamini_hochberg", "spearman"]

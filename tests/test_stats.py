"""seqsal.stats: Benjamini-Hochberg and Spearman against SciPy, on ties, bounds and NaN."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import false_discovery_control, spearmanr

from seqsal.errors import InputError
from seqsal.stats import benjamini_hochberg, spearman

#: SciPy forms p * (m / j), seqsal p * m / j: equal up to a few units in the last place.
RTOL = 1e-14


def _p_value_sets():
    g = np.random.default_rng(4)
    return {
        "uniform": g.random(300),
        "small": g.random(200) ** 6,
        "ties": np.round(g.random(150), 2),
        "zeros_ones_ties": np.r_[np.zeros(4), np.ones(6), np.full(9, 0.01), g.random(40)],
        "all_equal": np.full(12, 0.2),
        "one": np.array([0.03]),
    }


@pytest.mark.parametrize("name", list(_p_value_sets()))
def test_benjamini_hochberg_equals_scipy(name):
    p = _p_value_sets()[name]
    q = benjamini_hochberg(p)
    np.testing.assert_allclose(q, false_discovery_control(p), rtol=RTOL, atol=0)
    # q >= p (to rounding: p * m / m), at most 1, and monotone in p
    assert np.all(q >= p * (1 - 1e-15)) and np.all(q <= 1)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(q[order]) >= 0)
    # tied p-values share one q-value
    for value in np.unique(p):
        assert np.unique(q[p == value]).size == 1


def test_benjamini_hochberg_by_hand():
    p = np.array([0.01, 0.04, 0.03, 0.5, 0.04])
    # sorted: 0.01, 0.03, 0.04, 0.04, 0.5 -> p m / rank: 0.05, 0.075, 0.05, 0.05, 0.5
    assert benjamini_hochberg(p).tolist() == pytest.approx([0.05, 0.05, 0.05, 0.5, 0.05])


@pytest.mark.parametrize("extra", [1, 10, 1000])
def test_n_tests_counts_untested_as_large(extra):
    """Passing m > k equals SciPy on the family padded with p = 1 for the untested rest."""
    p = _p_value_sets()["ties"][:60] ** 3
    q = benjamini_hochberg(p, p.size + extra)
    padded = false_discovery_control(np.r_[p, np.ones(extra)])[: p.size]
    np.testing.assert_allclose(q, padded, rtol=RTOL, atol=0)
    assert np.all(q >= benjamini_hochberg(p))


def test_benjamini_hochberg_rejects_bad_input():
    assert benjamini_hochberg([]).shape == (0,)
    with pytest.raises(InputError, match=r"p_values holds nan; expected values in \[0, 1\]"):
        benjamini_hochberg([0.1, np.nan])
    with pytest.raises(InputError, match=r"holds 1\.5"):
        benjamini_hochberg([0.1, 1.5])
    with pytest.raises(InputError, match="one dimension"):
        benjamini_hochberg(np.zeros((2, 2)))
    with pytest.raises(InputError, match="n_tests=2 is below the 3 p-values"):
        benjamini_hochberg([0.1, 0.2, 0.3], 2)
    with pytest.raises(InputError, match=r"n_tests=2\.5"):
        benjamini_hochberg([0.1], 2.5)


def test_spearman_equals_scipy_with_and_without_ties():
    g = np.random.default_rng(2)
    a = g.normal(size=(4, 60))
    b = a + g.normal(size=(4, 60))
    for x, y in [(a, b), (np.round(a, 0), np.round(b, 1)), (a, -a), (a, np.exp(a))]:
        expected = spearmanr(x.ravel(), y.ravel()).statistic
        assert spearman(x, y) == pytest.approx(expected, abs=1e-12)
    assert spearman(a, 3 * a + 1) == 1.0
    assert spearman(a, -a) == -1.0


def test_spearman_is_nan_where_undefined():
    b = np.arange(5.0)
    assert math.isnan(spearman(np.ones(5), b))
    assert math.isnan(spearman(b, np.zeros(5)))
    assert math.isnan(spearman([1.0], [2.0]))
    assert math.isnan(spearman([], []))
    assert math.isnan(spearman(np.r_[b[:4], np.nan], b))
    with pytest.raises(InputError, match="a has 5 values and b has 4"):
        spearman(b, b[:4])

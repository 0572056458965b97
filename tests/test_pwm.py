"""seqsal.sequence.pwm: log-odds under both pseudocount conventions, and information content."""

from __future__ import annotations

import numpy as np
import pytest

from seqsal.errors import InputError
from seqsal.sequence.pwm import information_content, log_odds

UNIFORM = np.full(4, 0.25)
SKEWED = np.array([0.3, 0.2, 0.2, 0.3])


def test_log_odds_of_counts_by_hand():
    counts = np.array([[3.0, 0.0], [1.0, 4.0], [0.0, 0.0], [0.0, 0.0]])
    lo = log_odds(counts, UNIFORM, pseudocount=1.0)
    # column 0: (3 + 0.25) / 5 = 0.65 -> log2(0.65 / 0.25); an unseen base: 0.05 / 0.25
    assert lo[:, 0] == pytest.approx(np.log2(np.array([3.25, 1.25, 0.25, 0.25]) / 5 / 0.25))
    assert lo[:, 1] == pytest.approx(np.log2(np.array([0.25, 4.25, 0.25, 0.25]) / 5 / 0.25))
    # the pseudocount follows the background: an unseen A costs less than an unseen C
    lo = log_odds(counts, SKEWED, pseudocount=1.0)
    assert lo[0, 1] == pytest.approx(np.log2((0.3 / 5) / 0.3))
    assert lo[2, 0] == pytest.approx(np.log2((0.2 / 5) / 0.2))


def test_probability_convention_equals_counts_scaled():
    """A PPM with column_total=1 and pseudocount c/n scores as n sites with pseudocount c."""
    g = np.random.default_rng(0)
    counts = g.integers(0, 20, size=(4, 9)).astype(float) + np.eye(4, 9) * 5
    n = counts.sum(axis=0)
    for column in range(counts.shape[1]):
        one = counts[:, [column]]
        by_counts = log_odds(one, SKEWED, pseudocount=1.0)
        by_ppm = log_odds(one / n[column], SKEWED, pseudocount=1.0 / n[column], column_total=1.0)
        np.testing.assert_allclose(by_ppm, by_counts, rtol=1e-12)


def test_log_odds_without_pseudocount_is_the_probability_ratio():
    ppm = np.array([[0.7, 0.1], [0.1, 0.1], [0.1, 0.1], [0.1, 0.7]])
    lo = log_odds(ppm, SKEWED, pseudocount=0.0, column_total=1.0)
    np.testing.assert_allclose(lo, np.log2(ppm / SKEWED[:, None]), rtol=1e-15)
    # expected score of a site drawn from the matrix = information content against the background
    np.testing.assert_allclose((ppm * lo).sum(axis=0), information_content(ppm, SKEWED))


def test_information_content():
    ppm = np.array([[1.0, 0.25, 0.5], [0.0, 0.25, 0.5], [0.0, 0.25, 0.0], [0.0, 0.25, 0.0]])
    assert information_content(ppm).tolist() == pytest.approx([2.0, 0.0, 1.0])
    # against the background itself a column holds nothing
    assert information_content(SKEWED[:, None], SKEWED) == pytest.approx([0.0])


@pytest.mark.parametrize(
    ("matrix", "background", "message"),
    [
        (np.ones((3, 5)), UNIFORM, r"matrix has shape \(3, 5\); expected \(4, w\)"),
        (np.ones(4), UNIFORM, r"matrix has shape \(4,\)"),
        (np.ones((4, 2)), np.ones(3) / 3, r"background has shape \(3,\); expected \(4,\)"),
    ],
)
def test_bad_shapes_are_named(matrix, background, message):
    with pytest.raises(InputError, match=message):
        log_odds(matrix, background, pseudocount=1.0)
    with pytest.raises(InputError, match=message):
        information_content(matrix, background)

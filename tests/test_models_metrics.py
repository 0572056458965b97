"""models.metrics: against scikit-learn and scipy, ties, constant input, the per-target table."""

import math
import warnings

import numpy as np
import pytest

from seqsal.models.metrics import auprc, auroc, evaluate_predictions, pearson, spearman


def _rank_pearson(a, b) -> float:
    """Spearman's r written out: Pearson's r of average ranks (the textbook definition)."""
    from scipy.stats import rankdata

    ra, rb = rankdata(a), rankdata(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return float(ra @ rb / math.sqrt((ra @ ra) * (rb @ rb)))


def test_metrics_agree_with_scikit_learn_and_scipy():
    from scipy import stats
    from sklearn.metrics import average_precision_score, roc_auc_score

    g = np.random.default_rng(3)
    y = g.integers(0, 2, size=200)
    score = np.round(y + g.normal(size=200), 1)  # rounded: ties included
    assert auroc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert auprc(y, score) == pytest.approx(average_precision_score(y, score), abs=1e-12)
    a, b = g.normal(size=50), g.normal(size=50)
    assert pearson(a, b) == pytest.approx(stats.pearsonr(a, b)[0], abs=1e-12)
    assert spearman(a, np.round(b, 1)) == pytest.approx(
        stats.spearmanr(a, np.round(b, 1))[0], abs=1e-12
    )
    assert np.isnan(auroc(np.ones(5), np.arange(5)))


@pytest.mark.parametrize("seed", range(5))
def test_spearman_with_ties_is_pearson_of_average_ranks(seed):
    """Heavily tied integer data: the library's value is the textbook one, to 1e-12."""
    g = np.random.default_rng(seed)
    a = g.integers(0, 3, size=40).astype(float)
    b = (a + g.integers(0, 2, size=40)).astype(np.float32)
    assert spearman(a, b) == pytest.approx(_rank_pearson(a, b), abs=1e-12)
    assert spearman(a, 2 * a + 1) == pytest.approx(1.0, abs=1e-12)
    assert spearman(a, -a) == pytest.approx(-1.0, abs=1e-12)


def test_undefined_correlations_are_nan_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scipy warns on constant input; we must not
        for metric in (pearson, spearman):
            assert math.isnan(metric(np.ones(6), np.arange(6.0)))  # constant truth
            assert math.isnan(metric(np.arange(6.0), np.full(6, 2.5)))  # constant prediction
            assert math.isnan(metric([1.0], [2.0]))  # n < 2
            assert math.isnan(metric([1.0, np.nan, 3.0], [1.0, 2.0, 3.0]))
        assert pearson([1.0, 2.0], [2.0, 1.0]) == -1.0


def test_evaluate_predictions_table_rounds_and_marks_undefined():
    y = np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 1.0], [4.0, 1.0]])
    pred = np.array([[0.1, 0.0], [0.9, 1.0], [2.5, 2.0], [3.0, 3.0]])
    table = evaluate_predictions(y, pred, ["a", "b"], "regression")
    assert table["n"] == 4 and set(table) == {"n", "pearson", "spearman"}
    assert table["pearson"]["a"] == round(np.corrcoef(y[:, 0], pred[:, 0])[0, 1], 6)
    assert table["spearman"] == {"a": 1.0, "b": None}  # b: constant truth
    labels = np.array([[0.0], [1.0], [1.0], [0.0]])
    logits = np.array([[-1.0], [2.0], [0.5], [0.5]])
    classes = evaluate_predictions(labels, logits, ["c"], "classification")
    assert classes == {"n": 4, "auroc": {"c": 0.875}, "auprc": {"c": round(5 / 6, 6)}}

"""Prediction metrics: Pearson and Spearman r for regression, AUROC and AUPRC for classes.

Each metric takes two vectors and returns a float, NaN where it is undefined (fewer than two
values, a constant vector, one class only) rather than raising or warning, so a per-target
table can mark it as missing.  :func:`evaluate_predictions` makes that table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from seqsal.stats import spearman as _spearman


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray] | None:
    """The two vectors as float64, or None where a correlation is undefined."""
    a = np.asarray(y_true, dtype=np.float64).reshape(-1)
    b = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if a.size < 2:
        return None
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return None
    if a.min() == a.max() or b.min() == b.max():
        return None
    return a, b


def pearson(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Pearson correlation of two vectors (``scipy.stats.pearsonr``).

    NaN when either is constant, holds a non-finite value, or n < 2.
    """
    from scipy.stats import pearsonr

    pair = _pair(y_true, y_pred)
    return math.nan if pair is None else float(pearsonr(*pair).statistic)


def spearman(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Spearman rank correlation, ties ranked by their average (:func:`seqsal.stats.spearman`).

    NaN when either is constant, holds a non-finite value, or n < 2.
    """
    pair = _pair(y_true, y_pred)
    return math.nan if pair is None else _spearman(*pair)


def auroc(y_true: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U / (n_pos n_neg), ties count 1/2).

    NaN when only one class is present.
    """
    from scipy.stats import rankdata

    y = np.asarray(y_true).astype(bool)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = rankdata(score)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auprc(y_true: np.ndarray, score: np.ndarray) -> float:
    """Area under the precision-recall curve as average precision.

    ``sum_k (R_k - R_{k-1}) P_k`` over the distinct score thresholds, highest first (the
    step-wise definition scikit-learn's ``average_precision_score`` uses; no interpolation).
    NaN when there is no positive.
    """
    y = np.asarray(y_true).astype(np.float64)
    s = np.asarray(score, dtype=np.float64)
    n_pos = y.sum()
    if n_pos == 0:
        return math.nan
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), y.size - 1]  # last index of each distinct score
    tps = np.cumsum(y)[last]
    precision = tps / (last + 1)
    recall = tps / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


METRICS = {"pearson": pearson, "spearman": spearman, "auroc": auroc, "auprc": auprc}
"""Metric name -> function."""

TASK_METRICS = {"regression": ("pearson", "spearman"), "classification": ("auroc", "auprc")}
"""The metrics :func:`evaluate_predictions` reports for each task."""


def evaluate_predictions(
    y_true: np.ndarray, y_pred: np.ndarray, targets: Sequence[str], task: str
) -> dict:
    """Per-target metrics: Pearson and Spearman (regression) or AUROC and AUPRC (classification).

    Parameters
    ----------
    y_true, y_pred : np.ndarray, shape (n, T)
        For classification ``y_pred`` may be logits or probabilities (only the order counts).
    targets : sequence of str
        T names; the result maps each metric to ``{target: value}``.
    task : {"regression", "classification"}

    Returns
    -------
    dict
        ``{"n": n, metric: {target: value}}``, values rounded to 6 decimals; a metric that is
        undefined (constant values, one class) is None.
    """
    result: dict = {"n": int(y_true.shape[0])}
    for name in TASK_METRICS["regression" if task == "regression" else "classification"]:
        values = {}
        for j, target in enumerate(targets):
            value = METRICS[name](y_true[:, j], y_pred[:, j])
            values[str(target)] = None if math.isnan(value) else round(value, 6)
        result[name] = values
    return result


__all__ = [
    "METRICS",
    "TASK_METRICS",
    "auprc",
    "auroc",
    "evaluate_predictions",
    "pearson",
    "spearman",
]

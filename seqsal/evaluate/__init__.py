"""seqsal.evaluate: is an attribution map faithful to the model, and does it depend on it?

* :mod:`~seqsal.evaluate.faithfulness`: deletion and insertion curves and their areas (RISE,
  Petsiuk et al. 2018), against random orderings, for DNA ``(n, 4, L)`` and images
  ``(n, C, H, W)``.
* :mod:`~seqsal.evaluate.sanity`: the model parameter randomisation test (Adebayo et al.
  2018), cascading and independent, compared by Spearman correlation and SSIM.

``spearman`` is :func:`seqsal.stats.spearman`, the rank correlation the sanity tables use.
See ``docs/evaluate.md``.
"""

from seqsal.evaluate.faithfulness import (
    CurveResult,
    Faithfulness,
    auc,
    deletion_curves,
    faithfulness,
    feature_index,
    feature_scores,
    insertion_curves,
    reference_inputs,
)
from seqsal.evaluate.sanity import (
    METHOD_NAMES,
    compare_maps,
    parameter_randomization,
    randomizable_layers,
    randomize_layer,
    ssim,
    summarize,
)
from seqsal.stats import spearman

__all__ = [
    "METHOD_NAMES",
    "CurveResult",
    "Faithfulness",
    "auc",
    "compare_maps",
    "deletion_curves",
    "faithfulness",
    "feature_index",
    "feature_scores",
    "insertion_curves",
    "parameter_randomization",
    "randomizable_layers",
    "randomize_layer",
    "reference_inputs",
    "spearman",
    "ssim",
    "summarize",
]

"""Plots: sequence logos (:mod:`seqsal.plot.logo`) and the HTML motif report (:mod:`seqsal.plot.report`).

Submodules load matplotlib, logomaker and jinja2 only when used.
"""

__all__ = ["logo", "report"]

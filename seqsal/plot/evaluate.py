"""Figures of the evaluation results: deletion/insertion curves and the randomisation test.

Both draw results computed by :mod:`seqsal.evaluate` (this module computes no attribution)
on a :class:`matplotlib.figure.Figure` with its own Agg canvas (no pyplot), and
:func:`save_figure` writes PNG or SVG atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from seqsal.errors import InputError

#: Colours: the map's ordering, the random orderings, and the two randomisation modes.
MAP_COLOUR = "#c0392b"
RANDOM_COLOUR = "#7f8c8d"
MODE_COLOURS = {"cascading": "#2c7fb8", "independent": "#e6550d", "original": "#333333"}
METRIC_LABELS = {
    "spearman_abs": "Spearman |map|",
    "spearman_signed": "Spearman (signed)",
    "ssim": "SSIM",
}


def curves_figure(result, *, title: str | None = None, width: float = 7.0, height: float = 3.0):
    """Mean deletion and insertion curves of the map against the random orderings.

    One panel per kind computed: the mean curve over examples in the map's order, and the
    mean over examples and random orderings with a band of one standard deviation; the
    legend gives the mean areas under the curves.

    Parameters
    ----------
    result : seqsal.evaluate.Faithfulness or seqsal.evaluate.CurveResult
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from seqsal.plot.logo import new_figure

    results = getattr(result, "results", None)
    if results is None:
        results = [result]
    if not results or not all(hasattr(r, "curves") and hasattr(r, "x") for r in results):
        raise InputError(
            f"result has type {type(result).__name__}; expected a Faithfulness or CurveResult"
        )
    fig = new_figure(width * len(results) / 2, height)
    axes = fig.subplots(1, len(results), squeeze=False)[0]
    for ax, r in zip(axes, results, strict=True):
        mean = r.curves.mean(axis=0)
        random = (
            r.random_curves.reshape(-1, r.random_curves.shape[-1]) if r.random_curves.size else None
        )
        ax.plot(r.x, mean, color=MAP_COLOUR, lw=1.8, label=f"map (AUC {r.auc.mean():.3g})")
        if random is not None and len(random):
            rmean, rsd = random.mean(axis=0), random.std(axis=0)
            ax.plot(
                r.x,
                rmean,
                color=RANDOM_COLOUR,
                lw=1.2,
                ls="--",
                label=f"random (AUC {r.random_auc.mean():.3g})",
            )
            ax.fill_between(r.x, rmean - rsd, rmean + rsd, color=RANDOM_COLOUR, alpha=0.2, lw=0)
        ax.set_xlim(0, 1)
        ax.set_xlabel(
            "fraction of features removed" if r.kind == "deletion" else "fraction inserted",
            fontsize=8,
        )
        ax.set_ylabel("score", fontsize=8)
        ax.set_title(f"{r.kind} (n = {r.n})", fontsize=9)
        ax.tick_params(labelsize=7)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.legend(fontsize=7, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def sanity_figure(
    table, *, metrics=("spearman_abs", "spearman_signed", "ssim"), title: str | None = None
):
    """The randomisation test: similarity to the original maps as layers are randomised.

    One panel per metric; x runs from the original model through the layers randomised from
    the top down; one line per mode (cascading, independent) with error bars of one standard
    deviation over examples.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`seqsal.evaluate.parameter_randomization`'s table, summarised (``*_sd``
        columns) or per example (``example`` column; summarised here).
    metrics : sequence of str
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from seqsal.plot.logo import new_figure

    needed = {"mode", "step", "layer", *metrics}
    missing = sorted(needed - set(getattr(table, "columns", [])))
    if missing:
        raise InputError(f"table lacks columns {missing}; expected parameter_randomization's table")
    if "example" in table.columns:
        grouped = table.groupby(["mode", "step", "layer"], sort=False)[list(metrics)]
        table = grouped.mean().join(grouped.std(ddof=0).add_suffix("_sd")).reset_index()
    original = table[table["mode"] == "original"]
    modes = [m for m in ("cascading", "independent") if (table["mode"] == m).any()]
    layers = []
    for mode in modes:
        for layer in table.loc[table["mode"] == mode].sort_values("step")["layer"]:
            if layer not in layers:
                layers.append(layer)
    labels = ["original", *layers]
    fig = new_figure(max(3.0, 0.45 * len(labels)) * len(metrics), 3.2)
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics, strict=True):
        for mode in modes:
            rows = table[table["mode"] == mode].sort_values("step")
            if len(original):
                rows = _prepend(original, rows)
            x = np.arange(len(rows))
            y = rows[metric].to_numpy(dtype=float)
            sd = rows[f"{metric}_sd"].to_numpy(dtype=float) if f"{metric}_sd" in rows else None
            ax.errorbar(
                x,
                y,
                yerr=sd,
                color=MODE_COLOURS[mode],
                marker="o",
                ms=3,
                lw=1.4,
                capsize=2,
                label=mode,
            )
        ax.axhline(0, color="#999999", lw=0.6)
        ax.set_xticks(np.arange(len(labels)))
        ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
        ax.set_ylim(min(-0.2, float(np.nanmin(table[metric])) - 0.05), 1.05)
        ax.set_title(METRIC_LABELS.get(metric, metric), fontsize=9)
        ax.set_xlabel("layers randomised, from the top", fontsize=8)
        ax.tick_params(labelsize=7)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    axes[0].set_ylabel("similarity to the original maps", fontsize=8)
    axes[-1].legend(fontsize=7, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def _prepend(original, rows):
    import pandas as pd

    return pd.concat([original.iloc[:1], rows], ignore_index=True)


def save_figure(fig, path: str | os.PathLike, *, dpi: int = 100) -> Path:
    """Write ``fig`` to ``path`` atomically (PNG or SVG from the suffix)."""
    from seqsal.plot.logo import save_figure as _save

    return _save(fig, path, dpi=dpi)


def write_evaluation_figures(
    folder: str | os.PathLike, faithfulness, sanity=None, *, title: str | None = None
) -> list[Path]:
    """The figures of an evaluation folder: ``curves.png``, and ``sanity.png`` with a table.

    Parameters
    ----------
    folder : path
        An existing folder (the caller makes the whole folder atomic).
    faithfulness : seqsal.evaluate.Faithfulness
        Drawn by :func:`curves_figure`, titled ``title``.
    sanity : pandas.DataFrame, optional
        The randomisation table, drawn by :func:`sanity_figure`, titled
        ``"randomisation test: <title>"``.
    title : str, optional
        What the maps are (``"ig on activity"``: :attr:`seqsal.store_evaluation.
        StoreEvaluation.label`).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    folder = Path(folder)
    written = [save_figure(curves_figure(faithfulness, title=title), folder / "curves.png")]
    if sanity is not None:
        written.append(
            save_figure(
                sanity_figure(sanity, title=f"randomisation test: {title}"), folder / "sanity.png"
            )
        )
    return written

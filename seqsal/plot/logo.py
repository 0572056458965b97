"""Sequence logos: attributions of a region, motif CWMs and PPMs, a motif beside its match.

Every matrix comes in seqsal's layout, ``(4, w)`` with rows A, C, G, T; logomaker wants an
``(w, 4)`` DataFrame, and the transpose happens here and nowhere else.  Figures are built on
:class:`matplotlib.figure.Figure` with an Agg canvas attached directly, never through
``pyplot``: drawing a logo selects no backend, opens no window and changes no rcParams of the
caller.  matplotlib and logomaker are imported on first use.

Kinds of logo:

* :func:`cwm_logo`: a contribution weight matrix, signed (letters below the axis push the
  prediction down);
* :func:`ppm_logo`: a position probability matrix scaled by information content (bits);
* :func:`aligned_logos`: a discovered motif above its database match, the match reverse
  complemented when TOMTOM's orientation is ``-`` and shifted by its offset;
* :func:`attribution_logo`: the projected attributions of one region on a genome coordinate
  axis with seqlet and motif-hit marks under it; a long region becomes a track of the whole
  window plus a logo zoomed on its most salient stretch.

:func:`render` turns a figure into PNG or SVG bytes, :func:`save_figure` writes it atomically.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from seqsal._runtime import check_positive_int
from seqsal.errors import InputError

log = logging.getLogger(__name__)

BASES = "ACGT"

#: logomaker's "classic" DNA colours (A green, C blue, G orange, T red).
BASE_COLORS = {"A": "#109648", "C": "#255C99", "G": "#F7B32B", "T": "#D62839"}

#: Colours of the marks under an attribution logo.
MARK_COLORS = {"seqlet+": "#1f77b4", "seqlet-": "#9467bd", "hit+": "#2ca02c", "hit-": "#d62728"}

#: Widest stretch drawn letter by letter; a longer region gets a track plus a zoomed logo
#: (a 1,000-letter logo is unreadable at any page width, and slow to draw).
MAX_LOGO_COLUMNS = 60

FORMATS = ("png", "svg")

#: Inches per logo column and default logo height: letters stay legible at 100 dpi.
COLUMN_INCHES = 0.16
LOGO_INCHES = 1.3


class Mark(NamedTuple):
    """A span drawn under an attribution logo, in the logo's x coordinates (genome, + strand).

    ``kind`` is ``"seqlet"`` or ``"hit"``; ``sign`` +1 / -1 picks the colour; ``label`` is
    drawn as text (a motif id, or empty).
    """

    start: int
    end: int
    kind: str = "seqlet"
    sign: int = 1
    label: str = ""


class RegionView(NamedTuple):
    """What :func:`attribution_logo` drew: the genome span of the window and of the zoom."""

    first: int
    last: int
    zoom_first: int
    zoom_last: int


def _matrix(matrix, name: str) -> np.ndarray:
    array = np.asarray(matrix, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] != 4 or array.shape[1] == 0:
        raise InputError(
            f"{name} has shape {array.shape}; expected (4, w) with rows A, C, G, T and w >= 1"
        )
    if not np.all(np.isfinite(array)):
        raise InputError(f"{name} contains NaN or infinite values")
    return array


def _frame(matrix: np.ndarray, first: int = 0):
    """(4, w) -> logomaker's (w, 4) DataFrame, positions ``first .. first + w - 1``."""
    import pandas as pd

    return pd.DataFrame(
        matrix.T, columns=list(BASES), index=np.arange(first, first + matrix.shape[1])
    )


def new_figure(width: float, height: float):
    """A matplotlib Figure with its own Agg canvas (no pyplot, no global backend change)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(width, 1.0), max(height, 0.5)), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def render(fig, format: str = "png", *, dpi: int = 100) -> bytes:
    """The figure as PNG or SVG bytes.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    format : {"png", "svg"}, default "png"
        PNG is several times smaller than SVG for logos (every letter is a path in SVG); SVG
        scales.
    dpi : int, default 100
        Resolution of PNG output.
    """
    if format not in FORMATS:
        raise InputError(f"format={format!r}; expected one of {list(FORMATS)}")
    buffer = io.BytesIO()
    # metadata without dates: the same figure gives the same bytes (cacheable, reproducible).
    metadata = {"Software": None} if format == "png" else {"Date": None, "Creator": None}
    fig.savefig(buffer, format=format, dpi=dpi, metadata=metadata)
    return buffer.getvalue()


def save_figure(fig, path: str | os.PathLike, *, format: str | None = None, dpi: int = 100) -> Path:
    """Write the figure to ``path`` atomically; the format comes from the suffix by default."""
    from seqsal.io.atomic import atomic_open

    path = Path(path)
    format = format or path.suffix.lstrip(".").lower()
    data = render(fig, format, dpi=dpi)
    with atomic_open(path, "wb") as handle:
        handle.write(data)
    return path


def _style_axis(ax, *, ylabel: str | None = None, xticks: bool = True) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # columns are whole positions
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7, length=2)
    if not xticks:
        ax.set_xticks([])


#: Letters shorter than this fraction of the logo's height are not drawn: below a pixel at
#: any usual size, and drawing letters is most of what a logo costs (docs/benchmarks.md).
MIN_LETTER_FRACTION = 0.005


def _limits(matrix: np.ndarray) -> tuple[float, float]:
    low = min(float(np.minimum(matrix, 0).sum(axis=0).min()), 0.0)
    high = max(float(np.maximum(matrix, 0).sum(axis=0).max()), 0.0)
    if high - low <= 0:
        high = 1.0
    return low, high


def draw_matrix(ax, matrix, *, first: int = 0, ylabel: str | None = None) -> None:
    """Draw a ``(4, w)`` matrix as a logo on ``ax``, letter by letter with logomaker's Glyph.

    Positive values stack above zero, the largest on top; negative values below it, the
    largest magnitude at the bottom (letters not flipped, so they read the same).  Letters
    shorter than ``MIN_LETTER_FRACTION`` of the height range are skipped: invisible, and a
    projected attribution (one non-zero base per column) then costs a quarter of a full logo.
    ``first`` is the x position of column 0.
    """
    import logomaker

    matrix = _matrix(matrix, "matrix")
    low, high = _limits(matrix)
    smallest = MIN_LETTER_FRACTION * (high - low)
    for column in range(matrix.shape[1]):
        values = matrix[:, column]
        floor = float(values[values < 0].sum())
        for row in np.argsort(values, kind="stable"):
            value = float(values[row])
            if value >= 0 and floor < 0:
                floor = 0.0
            if abs(value) >= smallest and value != 0:
                logomaker.Glyph(  # adds its patch to ax
                    first + column,
                    BASES[row],
                    floor=floor,
                    ceiling=floor + abs(value),
                    ax=ax,
                    color=BASE_COLORS[BASES[row]],
                    font_name="DejaVu Sans",
                )
            floor += abs(value)
    ax.axhline(0, color="#666666", linewidth=0.5)
    ax.set_ylim(low - 0.02 * (high - low), high + 0.02 * (high - low))
    ax.set_xlim(first - 0.5, first + matrix.shape[1] - 0.5)
    _style_axis(ax, ylabel=ylabel)


def information_scaled(ppm, background=None) -> np.ndarray:
    """The PPM scaled column by column by its information content (bits): letter heights.

    Parameters
    ----------
    ppm : array-like, shape (4, w)
    background : array-like, shape (4,), optional
        Background frequencies; uniform by default (at most 2 bits per column).

    Returns
    -------
    np.ndarray, shape (4, w)
    """
    from seqsal.sequence.pwm import information_content

    ppm = _matrix(ppm, "ppm")
    totals = ppm.sum(axis=0)
    ppm = np.where(totals > 0, ppm / np.where(totals > 0, totals, 1.0), 0.25)
    return ppm * information_content(ppm, background)[None, :]


def _logo_figure(width_columns: int, rows: int = 1, height: float = LOGO_INCHES):
    return new_figure(max(2.0, 0.6 + COLUMN_INCHES * width_columns), height * rows)


def cwm_logo(cwm, *, title: str | None = None, ylabel: str = "contribution"):
    """A signed logo of a contribution weight matrix.

    Parameters
    ----------
    cwm : array-like, shape (4, w)
        Rows A, C, G, T.  Negative entries are drawn below the axis.
    title : str, optional
    ylabel : str, default "contribution"

    Returns
    -------
    matplotlib.figure.Figure
    """
    cwm = _matrix(cwm, "cwm")
    fig = _logo_figure(cwm.shape[1])
    ax = fig.add_subplot()
    draw_matrix(ax, cwm, ylabel=ylabel)
    if title:
        ax.set_title(title, fontsize=8, loc="left")
    return fig


def ppm_logo(ppm, *, background=None, title: str | None = None):
    """An information-content logo of a position probability matrix (y axis in bits).

    Parameters
    ----------
    ppm : array-like, shape (4, w)
        Rows A, C, G, T; columns are normalised to sum to 1.
    background : array-like, shape (4,), optional
        Uniform by default.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    heights = information_scaled(ppm, background)
    fig = _logo_figure(heights.shape[1])
    ax = fig.add_subplot()
    draw_matrix(ax, heights, ylabel="bits")
    ax.set_ylim(0, 2.0 if background is None else max(2.0, float(heights.sum(axis=0).max())))
    if title:
        ax.set_title(title, fontsize=8, loc="left")
    return fig


def motif_logo(motif, kind: str = "cwm", *, trim: bool = False, title: str | None = None):
    """The logo of a :class:`~seqsal.motifs.Motif`: its CWM (signed) or its PPM (bits).

    Parameters
    ----------
    motif : seqsal.motifs.Motif
    kind : {"cwm", "ppm"}, default "cwm"
        ``"cwm"`` falls back to the PPM for a motif without a CWM (a database motif).
    trim : bool, default False
        Cut the matrices to ``motif.trim`` first.
    title : str, optional
    """
    if kind not in ("cwm", "ppm"):
        raise InputError(f"kind={kind!r}; expected 'cwm' or 'ppm'")
    if trim:
        motif = motif.trimmed()
    if kind == "cwm" and motif.cwm is not None:
        return cwm_logo(motif.cwm, title=title)
    return ppm_logo(motif.ppm, title=title)


def _query_heights(motif, kind: str) -> tuple[np.ndarray, str]:
    if kind == "cwm" and motif.cwm is not None:
        return motif.cwm, "contribution"
    return information_scaled(motif.ppm), "bits"


def aligned_logos(
    query,
    target,
    *,
    orientation: str = "+",
    offset: int = 0,
    trim_start: int = 0,
    query_kind: str = "cwm",
    query_title: str | None = None,
    target_title: str | None = None,
):
    """A discovered motif above its database match, aligned as TOMTOM aligned them.

    The convention is the annotation table's (docs/motifs.md): ``orientation`` ``-`` means the
    query matches the reverse complement of the database motif, so that is what is drawn;
    ``offset`` is the column of the (oriented) database motif aligned with query column
    ``trim_start`` (the first column of the matched query span), negative when the query
    starts before it.  Database column ``j`` is therefore drawn under query column
    ``trim_start - offset + j``.

    Parameters
    ----------
    query : seqsal.motifs.Motif
        The discovered motif, untrimmed (``trim_start`` refers to its columns).
    target : seqsal.motifs.Motif
        The database motif as stored (its PPM is drawn in bits).
    orientation : {"+", "-"}, default "+"
    offset : int, default 0
    trim_start : int, default 0
    query_kind : {"cwm", "ppm"}, default "cwm"
    query_title, target_title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Two rows sharing the x axis (query column numbers).
    """
    if orientation not in ("+", "-"):
        raise InputError(f"orientation={orientation!r}; expected '+' or '-'")
    oriented = target.reverse_complement() if orientation == "-" else target
    query_matrix, query_label = _query_heights(query, query_kind)
    target_heights = information_scaled(oriented.ppm)
    shift = int(trim_start) - int(offset)
    first = min(0, shift)
    last = max(query.width, shift + oriented.width)
    fig = new_figure(max(3.0, 0.6 + COLUMN_INCHES * (last - first)), 2 * LOGO_INCHES * 0.9)
    top, bottom = fig.subplots(2, 1, sharex=True)
    draw_matrix(top, query_matrix, first=0, ylabel=query_label)
    draw_matrix(bottom, target_heights, first=shift, ylabel="bits")
    bottom.set_ylim(0, 2.0)
    for ax in (top, bottom):
        ax.set_xlim(first - 0.5, last - 0.5)
    if query_title:
        top.set_title(query_title, fontsize=8, loc="left")
    if target_title:
        bottom.set_title(
            f"{target_title} ({'rev. comp.' if orientation == '-' else 'as stored'})",
            fontsize=8,
            loc="left",
        )
    return fig


def salient_window(per_position, width: int) -> int:
    """Start of the ``width``-long window with the largest summed absolute attribution.

    Parameters
    ----------
    per_position : array-like, shape (L,)
    width : int

    Returns
    -------
    int
        Offset in ``[0, L - width]`` (0 when ``width >= L``); ties go to the leftmost.
    """
    values = np.abs(np.asarray(per_position, dtype=np.float64))
    if width >= len(values):
        return 0
    csum = np.concatenate([[0.0], np.cumsum(values)])
    sums = csum[width:] - csum[:-width]
    return int(np.argmax(sums))


def _draw_marks(ax, marks: Sequence[Mark], first: int, last: int) -> None:
    from matplotlib.patches import Rectangle

    lanes: list[int] = []  # end of the last mark in each lane
    for mark in sorted(marks, key=lambda m: (m.start, m.end)):
        if mark.end <= first or mark.start > last:
            continue
        lane = next((i for i, end in enumerate(lanes) if end <= mark.start), len(lanes))
        if lane == len(lanes):
            lanes.append(mark.end)
        else:
            lanes[lane] = mark.end
        color = MARK_COLORS.get(f"{mark.kind}{'+' if mark.sign >= 0 else '-'}", "#777777")
        ax.add_patch(
            Rectangle(
                (mark.start - 0.5, -lane - 0.9),
                mark.end - mark.start,
                0.8,
                facecolor=color,
                alpha=0.85 if mark.kind == "hit" else 0.45,
                linewidth=0,
            )
        )
        if mark.label:
            ax.text(
                max(mark.start, first) - 0.3,
                -lane - 0.5,
                mark.label,
                fontsize=6,
                va="center",
                ha="left",
                color="black",
                clip_on=True,
            )
    ax.set_ylim(-max(len(lanes), 1) - 0.1, 0)
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=7, length=2)


def attribution_logo(
    projected,
    *,
    chrom: str = "",
    origin: int = 0,
    strand: str = "+",
    marks: Sequence[Mark] = (),
    max_columns: int = MAX_LOGO_COLUMNS,
    zoom: tuple[int, int] | None = None,
    title: str | None = None,
):
    """Projected attributions of one region as a signed logo on a genome coordinate axis.

    A ``-`` strand window (stored as the model read it, reverse complemented) is flipped back
    so letters are + strand bases and the axis runs along the genome: column ``j`` of the
    drawn logo lies at genome position ``origin + j`` on both strands.

    Parameters
    ----------
    projected : array-like, shape (4, L)
        Projected attributions (hypothetical x one-hot), rows A, C, G, T, in window order.
    chrom : str, default ""
        Chromosome, for the axis label.
    origin : int, default 0
        Genome position (0-based) of the window's first base in + strand order, N padding
        included: :attr:`seqsal.sequence.geometry.WindowGeometry.origin`, which is ``start``
        for a window that is not padded.
    strand : {"+", "-", "."}, default "+"
    marks : sequence of Mark
        Seqlets and hits in genome coordinates (0-based half-open), drawn under the logo.
    max_columns : int, default 60
        Longest stretch drawn as letters.  A longer region gets a track (per-position sum of
        the whole window) above a logo of the ``max_columns`` stretch with the largest absolute
        attribution (or ``zoom``).
    zoom : (int, int), optional
        Genome span ``[first, last)`` to draw as letters instead of the salient stretch.
    title : str, optional

    Returns
    -------
    (matplotlib.figure.Figure, RegionView)
    """
    from seqsal.sequence.onehot import reverse_complement

    matrix = _matrix(projected, "projected")
    if strand == "-":
        matrix = np.ascontiguousarray(reverse_complement(matrix))
    max_columns = check_positive_int(max_columns, "max_columns")
    length = matrix.shape[1]
    origin = int(origin)
    per_position = matrix.sum(axis=0)
    if zoom is not None:
        z0 = max(0, int(zoom[0]) - origin)
        z1 = min(length, int(zoom[1]) - origin)
        if z1 <= z0:
            raise InputError(
                f"zoom={zoom!r} does not overlap the window [{origin}, {origin + length})"
            )
    elif length > max_columns:
        # centre the zoom on the most salient stretch a third as wide, so flanks show
        core = min(length, max(8, max_columns // 3))
        centre = salient_window(per_position, core) + core // 2
        z0 = int(np.clip(centre - max_columns // 2, 0, length - max_columns))
        z1 = z0 + max_columns
    else:
        z0, z1 = 0, length
    long_view = (z1 - z0) < length
    marks = [m if isinstance(m, Mark) else Mark(*m) for m in marks]
    lane_count = _lane_count(marks, origin + z0, origin + z1)
    heights = ([0.7] if long_view else []) + [LOGO_INCHES, 0.22 * max(lane_count, 1) + 0.35]
    fig = new_figure(max(4.0, 0.6 + COLUMN_INCHES * (z1 - z0)), sum(heights))
    axes = fig.subplots(len(heights), 1, gridspec_kw={"height_ratios": heights})
    if long_view:
        track = axes[0]
        x = np.arange(origin, origin + length)
        track.fill_between(x, np.maximum(per_position, 0), 0, color="#1f77b4", step="mid", lw=0)
        track.fill_between(x, np.minimum(per_position, 0), 0, color="#d62728", step="mid", lw=0)
        track.axvspan(origin + z0 - 0.5, origin + z1 - 0.5, color="#ffcc00", alpha=0.3, lw=0)
        track.set_xlim(origin - 0.5, origin + length - 0.5)
        _style_axis(track, ylabel="sum")
        track.ticklabel_format(axis="x", useOffset=False, style="plain")
        logo_ax, mark_ax = axes[1], axes[2]
    else:
        logo_ax, mark_ax = axes[0], axes[1]
    draw_matrix(logo_ax, matrix[:, z0:z1], first=origin + z0, ylabel="attribution")
    logo_ax.ticklabel_format(axis="x", useOffset=False, style="plain")
    logo_ax.tick_params(labelbottom=False)
    _draw_marks(mark_ax, marks, origin + z0, origin + z1 - 1)
    mark_ax.set_xlim(origin + z0 - 0.5, origin + z1 - 0.5)
    mark_ax.ticklabel_format(axis="x", useOffset=False, style="plain")
    mark_ax.set_xlabel(f"{chrom} (+ strand)" if chrom else "position", fontsize=7)
    if title:
        axes[0].set_title(title, fontsize=8, loc="left")
    view = RegionView(origin, origin + length, origin + z0, origin + z1)
    return fig, view


def _lane_count(marks: Sequence[Mark], first: int, last: int) -> int:
    lanes: list[int] = []
    for mark in sorted(marks, key=lambda m: (m.start, m.end)):
        if mark.end <= first or mark.start >= last:
            continue
        lane = next((i for i, end in enumerate(lanes) if end <= mark.start), len(lanes))
        if lane == len(lanes):
            lanes.append(mark.end)
        else:
            lanes[lane] = mark.end
    return len(lanes)

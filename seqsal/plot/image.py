"""Attribution maps over images: heatmap overlays, method comparison grids, an HTML gallery.

Everything here draws maps that were computed elsewhere (``seqsal.attribution``); nothing
computes an attribution.  The layout is channels first, as everywhere in seqsal: an image is
``(C, H, W)`` (C = 1 grey or 3 colour) with values in [0, 1], a map has the image's shape.

Reading a map takes three choices, all explicit:

* **Channel reduction** (:func:`reduce_channels`): a map ``(C, H, W)`` becomes one value per
  pixel ``(H, W)``.  ``"sum"`` (the default) adds the channels, keeping the sign: for
  contributions (grad x input, Integrated Gradients, occlusion) the sum over channels is the
  pixel's contribution.  ``"abs_max"`` takes the largest absolute value over channels, as
  Simonyan et al. (2014) draw saliency: a gradient's sign says which way to move a value, not
  whether it helped, so saliency and SmoothGrad are drawn as non-negative magnitudes.
  ``"mean"`` averages (Grad-CAM repeats one map over the channels: mean gives it back).
  :data:`REDUCTIONS` lists the default per method.
* **Colour scale** (:func:`heat_limits`): a map with negative values is signed and drawn with
  a diverging colormap (:data:`SIGNED_CMAP`, blue - white - red) centred at 0 with symmetric
  limits ``(-v, v)``, so equal colour means equal magnitude on both sides; a non-negative map
  (saliency magnitudes, Grad-CAM) is drawn with a sequential colormap (:data:`POSITIVE_CMAP`)
  from 0 to ``v``.  ``v`` is a high percentile of ``|map|`` (99.5 by default), so that one
  extreme pixel does not wash out the rest; larger values saturate.
* **Blending** (:func:`overlay`): ``out = (1 - a) * image + a * colour`` with
  ``a = opacity * min(|value| / v, 1)`` per pixel by default, so a pixel with zero attribution
  shows the image unchanged and only where the map has mass is coloured; ``scale_opacity=False``
  blends every pixel with the same ``opacity`` (the classic Grad-CAM look).

matplotlib is imported on first use and never through pyplot (figures get their own Agg
canvas), so importing this module changes no global state and output bytes are reproducible:
the same inputs give the same PNG.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

import numpy as np

from seqsal._runtime import check_positive_int
from seqsal.errors import InputError

#: Colormap of signed maps: diverging, white at 0 (matplotlib name).
SIGNED_CMAP = "RdBu_r"
#: Colormap of non-negative maps: sequential, perceptually uniform (matplotlib name).
POSITIVE_CMAP = "inferno"
#: Channel reductions :func:`reduce_channels` knows.
REDUCTION_NAMES = ("sum", "abs_max", "mean")
#: Default channel reduction per attribution method; methods not listed use "sum".
REDUCTIONS = {"saliency": "abs_max", "smoothgrad": "abs_max", "gradcam": "mean"}
#: Default percentile of |map| that sets the colour limit.
PERCENTILE = 99.5


def reduction_for(method: str) -> str:
    """The default channel reduction for an attribution method name (see :data:`REDUCTIONS`)."""
    return REDUCTIONS.get(method, "sum")


# ------------------------------------------------------------------------------- arrays


def _array(value, name: str) -> np.ndarray:
    if hasattr(value, "detach"):  # torch.Tensor, without importing torch
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} has type {type(value).__name__}; expected an array") from err
    if not np.isfinite(array).all():
        raise InputError(f"{name} holds NaN or infinite values")
    return array


def reduce_channels(attributions, reduce: str = "sum") -> np.ndarray:
    """One value per pixel from a channels-first map.

    Parameters
    ----------
    attributions : array, shape (C, H, W) or (n, C, H, W)
    reduce : {"sum", "abs_max", "mean"}, default "sum"
        ``"sum"``: signed sum over channels (a pixel's total contribution); ``"abs_max"``:
        largest absolute value over channels (saliency magnitude, non-negative); ``"mean"``:
        average (gives back a map repeated over channels, such as Grad-CAM).

    Returns
    -------
    numpy.ndarray, float64, shape (H, W) or (n, H, W)
    """
    a = _array(attributions, "attributions")
    if a.ndim not in (3, 4):
        raise InputError(
            f"attributions has shape {a.shape}; expected (C, H, W) or (n, C, H, W), channels first"
        )
    axis = a.ndim - 3
    if reduce == "sum":
        return a.sum(axis=axis)
    if reduce == "abs_max":
        return np.abs(a).max(axis=axis)
    if reduce == "mean":
        return a.mean(axis=axis)
    raise InputError(f"reduce={reduce!r}; expected one of {list(REDUCTION_NAMES)}")


def heat_limits(heat, *, signed: bool | None = None, percentile: float = PERCENTILE):
    """Colour limits ``(vmin, vmax)`` of a per-pixel map.

    Parameters
    ----------
    heat : array, shape (H, W)
    signed : bool, optional
        True: symmetric limits ``(-v, v)`` for a diverging colormap; False: ``(0, v)``.  None
        decides from the data: signed when any value is negative.
    percentile : float, default 99.5
        ``v`` is this percentile of ``|heat|`` (100 = the maximum); when that is 0 (a sparse
        map) the maximum is used, and an all-zero map gets ``v = 1``.

    Returns
    -------
    (float, float)
    """
    h = _array(heat, "heat")
    if not 0 < percentile <= 100:
        raise InputError(f"percentile={percentile!r}; expected a number in (0, 100]")
    magnitude = np.abs(h)
    v = float(np.percentile(magnitude, percentile)) if magnitude.size else 0.0
    if v <= 0:
        v = float(magnitude.max()) if magnitude.size else 0.0
    if v <= 0:
        v = 1.0
    if signed is None:
        signed = bool((h < 0).any())
    return (-v, v) if signed else (0.0, v)


def heat_norm(heat, *, signed: bool | None = None, percentile: float = PERCENTILE):
    """A :class:`matplotlib.colors.Normalize` with :func:`heat_limits`' limits (clipping)."""
    from matplotlib.colors import Normalize

    vmin, vmax = heat_limits(heat, signed=signed, percentile=percentile)
    return Normalize(vmin=vmin, vmax=vmax, clip=True)


def _cmap(name: str | None, signed: bool):
    import matplotlib

    name = name or (SIGNED_CMAP if signed else POSITIVE_CMAP)
    try:
        return matplotlib.colormaps[name]
    except KeyError as err:
        raise InputError(f"cmap={name!r} is not a matplotlib colormap") from err


def image_rgb(image) -> np.ndarray:
    """An image ``(C, H, W)`` (C = 1 or 3) as display RGB ``(H, W, 3)`` in [0, 1].

    Values already in [0, 1] are kept; anything else (a normalised image) is rescaled by its
    own minimum and maximum.  Grey images are repeated over the three colour channels.
    """
    x = _array(image, "image")
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[0] not in (1, 3):
        raise InputError(
            f"image has shape {x.shape}; expected (C, H, W) with C = 1 (grey) or 3 (colour)"
        )
    low, high = float(x.min()), float(x.max())
    if low < 0 or high > 1:
        x = (x - low) / (high - low) if high > low else np.zeros_like(x)
    rgb = np.repeat(x, 3, axis=0) if x.shape[0] == 1 else x
    return np.ascontiguousarray(rgb.transpose(1, 2, 0))


def overlay(
    image,
    attributions,
    *,
    opacity: float = 0.7,
    reduce: str = "sum",
    signed: bool | None = None,
    cmap: str | None = None,
    percentile: float = PERCENTILE,
    scale_opacity: bool = True,
) -> np.ndarray:
    """The map drawn over the image, as an RGB array.

    Parameters
    ----------
    image : array, shape (C, H, W)
        C = 1 or 3, values in [0, 1] (see :func:`image_rgb`).
    attributions : array, shape (C', H, W) or (H, W)
        The map; a 3-D map is reduced over channels with ``reduce`` first.
    opacity : float, default 0.7
        Opacity of the heatmap, in [0, 1]; 0 gives back the image.
    reduce : {"sum", "abs_max", "mean"}, default "sum"
        See :func:`reduce_channels`.
    signed : bool, optional
        Diverging (True) or sequential (False) colours; None: signed when the map has
        negative values (see :func:`heat_limits`).
    cmap : str, optional
        A matplotlib colormap name; default :data:`SIGNED_CMAP` or :data:`POSITIVE_CMAP`.
    percentile : float, default 99.5
        Colour limit (see :func:`heat_limits`).
    scale_opacity : bool, default True
        Opacity proportional to ``|value| / limit`` (zero attribution leaves the pixel as it
        is); False blends every pixel with ``opacity``.

    Returns
    -------
    numpy.ndarray, uint8, shape (H, W, 3)
    """
    rgb = image_rgb(image)
    a = _array(attributions, "attributions")
    heat = a if a.ndim == 2 else reduce_channels(a, reduce)
    if heat.shape != rgb.shape[:2]:
        raise InputError(
            f"attributions cover {heat.shape[0]} x {heat.shape[1]} pixels but the image is "
            f"{rgb.shape[0]} x {rgb.shape[1]}; expected the image's height and width"
        )
    if not 0 <= opacity <= 1:
        raise InputError(f"opacity={opacity!r}; expected a number in [0, 1]")
    vmin, vmax = heat_limits(heat, signed=signed, percentile=percentile)
    is_signed = vmin < 0
    colours = _cmap(cmap, is_signed)(np.clip((heat - vmin) / (vmax - vmin), 0, 1))[..., :3]
    if scale_opacity:
        weight = opacity * np.clip(np.abs(heat) / vmax, 0, 1)
    else:
        weight = np.full(heat.shape, float(opacity))
    out = (1 - weight[..., None]) * rgb + weight[..., None] * colours
    return np.round(np.clip(out, 0, 1) * 255).astype(np.uint8)


# ------------------------------------------------------------------------------- PNG files


def png_bytes(rgb, *, scale: int = 1) -> bytes:
    """An RGB (or grey) uint8 array ``(H, W, 3)`` as PNG bytes, enlarged ``scale`` times.

    Enlargement repeats pixels (nearest neighbour), so small images stay sharp.  Pillow
    writes no time stamp: the same array gives the same bytes.
    """
    from PIL import Image

    array = np.asarray(rgb)
    if array.dtype != np.uint8 or array.ndim not in (2, 3):
        raise InputError(
            f"rgb has dtype {array.dtype} and shape {array.shape}; expected uint8 (H, W, 3)"
        )
    scale = check_positive_int(scale, "scale")
    if scale > 1:
        array = np.repeat(np.repeat(array, scale, axis=0), scale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def save_png(rgb, path: str | os.PathLike, *, scale: int = 1) -> Path:
    """Write :func:`png_bytes` to ``path`` atomically (complete or absent)."""
    from seqsal.io.atomic import atomic_open

    data = png_bytes(rgb, scale=scale)
    with atomic_open(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def display_scale(height: int, width: int, *, target: int = 256) -> int:
    """Integer enlargement that brings the longer side of an image near ``target`` pixels."""
    return max(1, round(target / max(height, width, 1)))


def data_uri(png: bytes) -> str:
    """PNG bytes as a ``data:image/png;base64,...`` URI (for inline HTML images)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# ------------------------------------------------------------------------------- grids


def comparison_grid(
    images,
    maps: Mapping[str, object],
    *,
    row_labels: Sequence[str] | None = None,
    opacity: float = 0.7,
    reductions: Mapping[str, str] | None = None,
    percentile: float = PERCENTILE,
    cell_inches: float = 1.6,
):
    """A figure comparing methods: one row per image, columns = original + one per method.

    Each cell is :func:`overlay` of that method's map, with the method's name as the column
    title and the colour limit under the cell (``±v`` for a signed map, ``0..v`` otherwise):
    each map is scaled to its own limit, so compare patterns across cells, not colours.

    Parameters
    ----------
    images : array, shape (n, C, H, W)
        Display images in [0, 1].
    maps : mapping of str to array, shape (n, C, H, W)
        Method name -> attributions, in column order.
    row_labels : sequence of str, optional
        One label per image (e.g. file name and predicted class), left of each row.
    opacity, percentile
        As in :func:`overlay`.
    reductions : mapping of str to str, optional
        Channel reduction per method; default :func:`reduction_for` of the name.
    cell_inches : float, default 1.6
        Width of one cell; a cell's height follows the image's aspect ratio.

    Returns
    -------
    matplotlib.figure.Figure
        Its size is exactly ``(1 + n_methods) * cell_inches`` by ``n * cell_height`` inches
        (plus title space); render it with :func:`seqsal.plot.logo.render` or
        :func:`save_grid`.
    """
    from seqsal.plot.logo import new_figure

    X = _array(images, "images")
    if X.ndim != 4:
        raise InputError(f"images has shape {X.shape}; expected (n, C, H, W)")
    n, _, height, width = X.shape
    if n == 0:
        raise InputError("images is empty; expected at least one image")
    names = list(maps)
    arrays = {}
    for name in names:
        a = _array(maps[name], f"maps[{name!r}]")
        if a.ndim != 4 or a.shape[0] != n or a.shape[2:] != (height, width):
            raise InputError(
                f"maps[{name!r}] has shape {a.shape}; expected (n, C, H, W) with n = {n}, "
                f"H x W = {height} x {width}"
            )
        arrays[name] = a
    if row_labels is not None and len(row_labels) != n:
        raise InputError(f"row_labels has {len(row_labels)} entries; expected {n}, one per image")
    reductions = dict(reductions or {})
    cell_h = cell_inches * height / width
    fig = new_figure((1 + len(names)) * cell_inches, n * (cell_h + 0.25) + 0.3)
    axes = fig.subplots(n, 1 + len(names), squeeze=False)
    for i in range(n):
        columns = [("original", None, image_rgb(X[i]))]
        for name in names:
            reduce = reductions.get(name, reduction_for(name))
            heat = reduce_channels(arrays[name][i], reduce)
            vmin, vmax = heat_limits(heat, percentile=percentile)
            limit = f"±{vmax:.2g}" if vmin < 0 else f"0..{vmax:.2g}"
            columns.append(
                (name, limit, overlay(X[i], heat, opacity=opacity, percentile=percentile))
            )
        for j, (name, limit, picture) in enumerate(columns):
            ax = axes[i, j]
            ax.imshow(picture, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(name, fontsize=9)
            if limit is not None:
                ax.set_xlabel(limit, fontsize=7)
            if j == 0 and row_labels is not None:
                ax.set_ylabel(str(row_labels[i]), fontsize=7)
    return fig


def save_grid(fig, path: str | os.PathLike, *, dpi: int = 100) -> Path:
    """Write a figure as PNG atomically (:func:`seqsal.plot.logo.save_figure`)."""
    from seqsal.plot.logo import save_figure

    return save_figure(fig, path, format="png", dpi=dpi)


# ------------------------------------------------------------------------------- gallery


@dataclasses.dataclass
class GalleryImage:
    """One image of the gallery.

    Attributes
    ----------
    name : str
        File name shown as the row title.
    original : bytes
        PNG of the image as read.
    prediction : str
        Predicted class (name or index).
    probability : float or None
        Softmax probability of the predicted class (None for a non-classifier).
    target : str
        The output the maps explain.
    maps : dict of str to bytes
        Method -> PNG of the overlay, in column order.
    limits : dict of str to str
        Method -> colour limit text (``±v`` or ``0..v``).
    """

    name: str
    original: bytes
    prediction: str
    probability: float | None
    target: str
    maps: dict
    limits: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class GallerySection:
    """An extra section of the gallery: a title, a note, an optional table and figure.

    Attributes
    ----------
    title : str
    note : str
        A sentence saying how to read the section.
    columns : list of str
        Table header.
    rows : list of list
        Table cells (numbers are formatted with 4 significant digits).
    figures : list of (str, bytes)
        Captions and PNGs shown under the table.
    """

    title: str
    note: str = ""
    columns: list = dataclasses.field(default_factory=list)
    rows: list = dataclasses.field(default_factory=list)
    figures: list = dataclasses.field(default_factory=list)


def _cell(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return str(value)


def render_gallery(
    images: Sequence[GalleryImage],
    *,
    title: str = "seqsal image attributions",
    methods: Mapping[str, Mapping] | None = None,
    grid: bytes | None = None,
    sections: Sequence[GallerySection] = (),
    provenance: Mapping[str, object] | None = None,
    files: Sequence[tuple[str, str]] = (),
    total: int | None = None,
    skipped: Mapping[str, str] | None = None,
) -> str:
    """The gallery page as one self-contained HTML string (images inline, no script).

    Parameters
    ----------
    images : sequence of GalleryImage
        Rows of the gallery: original, prediction and one overlay per method.
    title : str
    methods : mapping of str to mapping, optional
        Method name -> its settings, listed in the methods table.
    grid : bytes, optional
        PNG of :func:`comparison_grid`.
    sections : sequence of GallerySection
        Evaluation or sanity results.
    provenance : mapping, optional
        Model checksum, seqsal version, command ... (shown as a table).
    files : sequence of (relative path, description)
        Output files beside the page, linked relatively.
    total : int, optional
        Number of images of the run when ``images`` shows only the first of them.
    skipped : mapping of str to str, optional
        Methods that were not run on this model, and why (named under the summary).

    Every string from an input (file names, labels) is escaped by jinja2's autoescaping.
    """
    from jinja2 import Environment, PackageLoader

    env = Environment(
        loader=PackageLoader("seqsal.plot", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cell"] = _cell
    template = env.get_template("gallery.html.j2")
    method_names = list(methods or {})
    if not method_names and images:
        method_names = list(images[0].maps)
    return template.render(
        title=title,
        total=len(images) if total is None else int(total),
        images=[
            {
                "name": im.name,
                "original": data_uri(im.original),
                "prediction": im.prediction,
                "probability": im.probability,
                "target": im.target,
                "maps": [(m, data_uri(im.maps[m]), im.limits.get(m, "")) for m in method_names],
            }
            for im in images
        ],
        methods=[
            (m, ", ".join(f"{k}={v}" for k, v in (methods or {}).get(m, {}).items()))
            for m in method_names
        ],
        grid=data_uri(grid) if grid is not None else None,
        sections=[
            {
                "title": s.title,
                "note": s.note,
                "columns": list(s.columns),
                "rows": [list(r) for r in s.rows],
                "figures": [(str(caption), data_uri(png)) for caption, png in s.figures],
            }
            for s in sections
        ],
        provenance=[(str(k), _cell(v)) for k, v in (provenance or {}).items()],
        files=[(quote(str(p)), str(p), str(d)) for p, d in files],
        skipped=[(str(m), str(why)) for m, why in (skipped or {}).items()],
    )


def write_gallery(path: str | os.PathLike, images: Sequence[GalleryImage], **kwargs) -> Path:
    """Write :func:`render_gallery` to ``path`` atomically; keywords as there."""
    from seqsal.io.atomic import atomic_open

    html = render_gallery(images, **kwargs)
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(html)
    return Path(path)


# ------------------------------------------------------------------------------- a run's folder

#: Images drawn in the comparison grid of :func:`write_image_outputs` (the gallery shows all).
GRID_ROWS = 12

FAITHFULNESS_NOTE = (
    "Pixels removed (deletion, towards black) or put back into a blurred copy (insertion) "
    "in the order of each map, highest first; the score is the softmax probability of the "
    "explained class. A faithful map has a deletion AUC below and an insertion AUC above "
    "those of a random ordering. Means over images; see docs/evaluate.md."
)
SANITY_NOTE = (
    "Each layer's parameters re-initialised from the top down, together (cascading) or "
    "one at a time (independent); maps of the randomised model compared with the trained "
    "model's (mean over images). A map that depends on what the model learned drops "
    "towards 0 as layers are randomised; see docs/evaluate.md."
)
#: Columns of the sanity table shown in the gallery.
SANITY_COLUMNS = ["method", "mode", "step", "layer", "spearman_abs", "spearman_signed", "ssim"]


def write_faithfulness_outputs(folder: str | os.PathLike, faithfulness):
    """``faithfulness.tsv`` and one ``curves.<method>.png`` per method into ``folder``.

    Parameters
    ----------
    folder : path
        An existing folder (the caller makes the whole folder atomic).
    faithfulness : seqsal.image.ImageFaithfulness
        Its ``table`` is written as TSV, each of its ``results`` drawn with
        :func:`seqsal.plot.evaluate.curves_figure`, its ``summary`` shown in the gallery.

    Returns
    -------
    (GallerySection, list of (file name, description))
        The gallery section and the files for the gallery's file list.
    """
    from seqsal.plot.evaluate import curves_figure
    from seqsal.plot.logo import render

    folder = Path(folder)
    faithfulness.table.to_csv(
        folder / "faithfulness.tsv", sep="\t", index=False, float_format="%.8g"
    )
    figures = []
    for method, result in faithfulness.results.items():
        png = render(curves_figure(result, title=method), "png", dpi=100)
        (folder / f"curves.{method}.png").write_bytes(png)
        figures.append((method, png))
    section = GallerySection(
        title="Faithfulness: deletion and insertion",
        note=FAITHFULNESS_NOTE,
        columns=list(faithfulness.summary.columns),
        rows=faithfulness.summary.values.tolist(),
        figures=figures,
    )
    files = [
        ("faithfulness.tsv", "deletion/insertion AUC per (method, image) and of random orderings"),
        *[(f"curves.{m}.png", "mean deletion and insertion curves") for m, _ in figures],
    ]
    return section, files


def write_sanity_outputs(folder: str | os.PathLike, table):
    """``sanity.tsv`` and one ``sanity.<method>.png`` per method into ``folder``.

    Parameters
    ----------
    folder : path
        An existing folder.
    table : pandas.DataFrame
        The randomisation table with a ``method`` column (:attr:`seqsal.image.ImageSanity.table`).

    Returns
    -------
    (GallerySection, list of (file name, description))
    """
    from seqsal.plot.evaluate import sanity_figure
    from seqsal.plot.logo import render

    folder = Path(folder)
    table.to_csv(folder / "sanity.tsv", sep="\t", index=False, float_format="%.8g")
    figures = []
    for method in dict.fromkeys(table["method"]):
        png = render(sanity_figure(table[table["method"] == method], title=method), "png", dpi=100)
        (folder / f"sanity.{method}.png").write_bytes(png)
        figures.append((method, png))
    section = GallerySection(
        title="Sanity: model parameter randomisation",
        note=SANITY_NOTE,
        columns=SANITY_COLUMNS,
        rows=table[SANITY_COLUMNS].values.tolist(),
        figures=figures,
    )
    files = [
        ("sanity.tsv", "Spearman (abs, signed) and SSIM per method, mode and layer"),
        *[
            (f"sanity.{m}.png", "similarity to the original maps as layers are randomised")
            for m, _ in figures
        ],
    ]
    return section, files


def write_image_outputs(
    folder: str | os.PathLike,
    *,
    images,
    paths: Sequence,
    names: Sequence[str],
    maps: Mapping[str, object],
    target,
    predicted,
    probability,
    class_names: Sequence[str],
    settings: Mapping[str, Mapping],
    provenance: Mapping[str, object],
    title: str,
    opacity: float = 0.7,
    gallery_rows: int = 100,
    sections: Sequence[GallerySection] = (),
    extra_files: Sequence[tuple[str, str]] = (),
    extra_run: Mapping[str, object] | None = None,
    skipped: Mapping[str, str] | None = None,
    progress=None,
) -> Path:
    """Write a run's overlays, grid, maps, predictions, settings and gallery into ``folder``.

    Draws and writes what it is given; computes no attribution.  ``folder`` exists and is
    the caller's (built under a temporary name and renamed when complete, so files are
    written plainly).  It receives:

    * ``overlays/<name>.<method>.png``: :func:`overlay` of every (image, method), enlarged by
      :func:`display_scale`;
    * ``grid.png``: :func:`comparison_grid` of the first :data:`GRID_ROWS` images;
    * ``maps.npz``: one array per method, ``images``, ``target``, ``predicted``, ``files``;
    * ``predictions.tsv``: file, predicted class, probability, explained target;
    * ``run.json``: provenance, each method's settings, the files (and ``extra_run``, and
      ``skipped`` when a method was skipped);
    * ``gallery.html``: :func:`write_gallery` of the first ``gallery_rows`` images.

    Parameters
    ----------
    folder : path
    images : array, shape (n, C, H, W)
        The images for display, values in [0, 1].
    paths : sequence of path
        The image files (shown and listed as given).
    names : sequence of str
        Unique names for the overlay files (e.g. :func:`seqsal.image.image_names`).
    maps : mapping of str to array, shape (n, C, H, W)
        Method -> maps, in column order.
    target, predicted : array of int, shape (n,)
        The class each image's maps explain, and the class the model predicts.
    probability : array, shape (n,), or None
        Softmax probability of the predicted class.
    class_names : sequence of str
        Names of the model's outputs (labels of ``target`` and ``predicted``).
    settings : mapping of str to mapping
        Method -> its settings as run.
    provenance : mapping
        Model, checksum, versions, command ... (``run.json`` and the gallery).
    title : str
        The gallery's title.
    opacity : float, default 0.7
        Heatmap opacity of the overlays (:func:`overlay`).
    gallery_rows : int, default 100
        Images shown in the gallery (every overlay is written).
    sections, extra_files, extra_run
        Evaluation sections for the gallery (e.g. from :func:`write_faithfulness_outputs`),
        more files for its list, more entries for ``run.json``.
    skipped : mapping of str to str, optional
        Methods that were not run and why; named in the gallery and ``run.json``.
    progress : bool, optional
        Progress bar over the images.

    Returns
    -------
    pathlib.Path
        The gallery page.
    """
    import json

    from seqsal._runtime import progress_bar

    folder = Path(folder)
    images = np.asarray(images)
    n, _, height, width = images.shape
    scale = display_scale(height, width)
    overlays = folder / "overlays"
    overlays.mkdir()
    gallery_images = []
    for i in progress_bar(range(n), desc="overlays", unit="image", progress=progress):
        pngs, limits = {}, {}
        for method, array in maps.items():
            heat = reduce_channels(array[i], reduction_for(method))
            vmin, vmax = heat_limits(heat)
            limits[method] = f"±{vmax:.2g}" if vmin < 0 else f"0..{vmax:.2g}"
            pngs[method] = png_bytes(overlay(images[i], heat, opacity=opacity), scale=scale)
            (overlays / f"{names[i]}.{method}.png").write_bytes(pngs[method])
        if i >= gallery_rows:
            continue
        original = png_bytes(np.round(image_rgb(images[i]) * 255).astype(np.uint8), scale=scale)
        gallery_images.append(
            GalleryImage(
                name=Path(paths[i]).name,
                original=original,
                prediction=class_names[predicted[i]],
                probability=None if probability is None else float(probability[i]),
                target=class_names[target[i]],
                maps=pngs,
                limits=limits,
            )
        )
    rows = min(n, GRID_ROWS)
    labels = [f"{names[i]}: {class_names[predicted[i]]}" for i in range(rows)]
    fig = comparison_grid(
        images[:rows], {m: a[:rows] for m, a in maps.items()}, row_labels=labels, opacity=opacity
    )
    save_grid(fig, folder / "grid.png")
    np.savez_compressed(
        folder / "maps.npz",
        **maps,
        images=images,
        target=target,
        predicted=predicted,
        files=np.array([str(p) for p in paths]),
    )
    with open(folder / "predictions.tsv", "w", encoding="utf-8") as handle:
        handle.write("file\tpredicted\tprobability\ttarget\n")
        for i in range(n):
            p = "" if probability is None else f"{probability[i]:.6g}"
            handle.write(
                f"{paths[i]}\t{class_names[predicted[i]]}\t{p}\t{class_names[target[i]]}\n"
            )
    run = {
        "provenance": dict(provenance),
        "methods": dict(settings),
        "files": [str(p) for p in paths],
    }
    run.update(extra_run or {})
    if skipped:
        run["skipped"] = dict(skipped)
    (folder / "run.json").write_text(json.dumps(run, indent=2, default=str) + "\n")
    files = [
        ("grid.png", f"comparison grid (first {rows} images)"),
        ("maps.npz", "raw maps (n, C, H, W) per method, images, targets"),
        ("predictions.tsv", "predicted class and probability per image"),
        ("run.json", "settings and provenance"),
        ("overlays/", "one overlay PNG per (image, method)"),
        *extra_files,
    ]
    return write_gallery(
        folder / "gallery.html",
        gallery_images,
        title=title,
        methods=settings,
        grid=(folder / "grid.png").read_bytes(),
        total=n,
        sections=sections,
        provenance=provenance,
        files=files,
        skipped=skipped,
    )

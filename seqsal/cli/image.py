"""``seqsal image``: explain image classifiers with the shared attribution core.

Actions:

* ``attribute``: maps of every method for every image -> per-image overlay PNGs, a comparison
  grid, the raw maps (npz), predictions and a self-contained HTML gallery;
* ``evaluate``: the same, plus deletion / insertion curves against a random ordering
  (:mod:`seqsal.evaluate.faithfulness`), their plot and AUC table in the gallery;
* ``sanity``: the model parameter randomisation test (:mod:`seqsal.evaluate.sanity`), its table
  and plot in the gallery;
* ``demo-images``: a few PNGs from scikit-learn's bundled digits, to try the commands on.

Every output folder is built under a temporary name and renamed when complete; a bad input
stops with one line on stderr (exit 2) before anything is written.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqsal.cli._options import add_progress_option
from seqsal.errors import InputError

log = logging.getLogger(__name__)

HELP = "image models: attribution overlays and an HTML gallery, faithfulness and sanity checks"
DESCRIPTION = (
    "Explain an image classifier with the shared attribution core. 'attribute' writes overlays, "
    "a comparison grid, the raw maps (npz) and a self-contained gallery.html; 'evaluate' adds "
    "deletion/insertion curves (docs/evaluate.md); 'sanity' runs the model parameter "
    "randomisation test; 'demo-images' writes digits PNGs to try them on. --model digits-demo "
    "trains (once, then cached) seqsal's demo digits classifier. See docs/images.md."
)

#: Attribution methods, in the gallery's column order.
METHODS = ("saliency", "grad_x_input", "ig", "smoothgrad", "gradcam", "occlusion")
#: References for IG and occlusion, in the image's pixel space.
BASELINES = ("black", "blur", "noise")
#: The name that stands for seqsal's demo digits model.
DEMO_MODEL = "digits-demo"
#: Images drawn in the comparison grid (the gallery table shows all).
GRID_ROWS = 12


# ----------------------------------------------------------------------------- arguments


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(
        dest="action", metavar="ACTION", help="attribute, evaluate, sanity or demo-images"
    )
    sub.required = True
    formatter = argparse.ArgumentDefaultsHelpFormatter
    p = sub.add_parser(
        "attribute",
        help="maps, overlays, grid, npz and gallery.html",
        description="Compute every method's map for every image; write overlays/, grid.png, "
        "maps.npz, predictions.tsv, run.json and gallery.html into --out (atomically).",
        formatter_class=formatter,
    )
    _add_common(p)
    p = sub.add_parser(
        "evaluate",
        help="attribute, then deletion/insertion curves and AUCs against a random ordering",
        description="Everything 'attribute' writes, plus faithfulness.tsv (deletion and "
        "insertion AUC per method and of a random ordering) and curves.png, shown in the "
        "gallery. See docs/evaluate.md for the definitions.",
        formatter_class=formatter,
    )
    _add_common(p)
    _add_evaluate(p)
    p = sub.add_parser(
        "sanity",
        help="model parameter randomisation test (Spearman / SSIM table and plot)",
        description="Randomise the model's layers (cascading from the top, and one at a time), "
        "recompute each method's maps and compare them with the trained model's: sanity.tsv, "
        "sanity.png and the gallery. See docs/evaluate.md.",
        formatter_class=formatter,
    )
    _add_common(p)
    p = sub.add_parser(
        "demo-images",
        help="write PNGs of scikit-learn's bundled digits to try the other actions on",
        description="Write --n digits (grey, --size x --size, one per class in turn) as PNG "
        "files into --out, with labels.tsv; --colour also writes colour, non-square copies.",
        formatter_class=formatter,
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--n", type=int, default=10, help="number of digits")
    p.add_argument("--size", type=int, default=32, help="height and width in pixels")
    p.add_argument(
        "--colour",
        action="store_true",
        help="also write colour (RGB) copies of a non-square size (size x 1.5 size)",
    )
    p.add_argument("--seed", type=int, default=0, help="which digits are drawn")
    parser.set_defaults(_image_parser=parser)


def _add_common(p) -> None:
    p.add_argument(
        "--model",
        required=True,
        metavar="M",
        help=f"seqsal image model folder, TorchScript file, or {DEMO_MODEL!r} (trained once by "
        "seqsal on the bundled digits and cached; see --cache)",
    )
    p.add_argument(
        "--images",
        required=True,
        nargs="+",
        metavar="FILE",
        help="image files and/or folders (folders: every image file inside, sorted by name; "
        "PNG, JPEG, TIFF, ...); read as the model's input shape and normalisation",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument(
        "--methods",
        default=",".join(METHODS),
        help=f"comma-separated, from {', '.join(METHODS)}",
    )
    p.add_argument(
        "--target",
        default="predicted",
        metavar="T",
        help="output to explain: 'predicted' (each image's predicted class), an index or a name",
    )
    p.add_argument(
        "--layer",
        default=None,
        metavar="NAME",
        help="gradcam: dotted module name (default: the last convolution)",
    )
    p.add_argument(
        "--baseline",
        choices=BASELINES,
        default="black",
        help="ig and occlusion reference: black image, Gaussian-blurred image (sigma 5 px), or "
        "the image plus Gaussian noise (0.15 of its range)",
    )
    p.add_argument("--steps", type=int, default=32, help="ig: integration steps")
    p.add_argument("--n-samples", type=int, default=25, help="smoothgrad: noisy copies per image")
    p.add_argument(
        "--noise", type=float, default=0.15, help="smoothgrad: noise sd as a fraction of the range"
    )
    p.add_argument(
        "--window",
        type=int,
        default=None,
        help="occlusion: square window in pixels (default: an eighth of the shorter side)",
    )
    p.add_argument(
        "--stride", type=int, default=None, help="occlusion: step (default: half the window)"
    )
    p.add_argument(
        "--alpha", type=float, default=0.7, help="heatmap opacity over the image (0 to 1)"
    )
    p.add_argument(
        "--gallery-rows",
        type=int,
        default=100,
        metavar="N",
        help="images shown in gallery.html (the first N; every overlay is in overlays/)",
    )
    p.add_argument(
        "--input-shape",
        default=None,
        metavar="C,H,W",
        help="the model's input shape, for a TorchScript file that does not record it",
    )
    p.add_argument(
        "--mean", default=None, metavar="M", help="per-channel normalisation mean (comma-separated)"
    )
    p.add_argument(
        "--std", default=None, metavar="S", help="per-channel normalisation sd (comma-separated)"
    )
    p.add_argument(
        "--cache",
        default=None,
        metavar="DIR",
        help=f"where {DEMO_MODEL!r} is kept (default: $SEQSAL_CACHE or ~/.cache/seqsal)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        metavar="B",
        help="rows per model call (default: chosen from a memory budget); does not change results",
    )
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cpu)")
    p.add_argument("--seed", type=int, default=0, help="seeds smoothgrad and noise references")
    add_progress_option(p)


def _add_evaluate(p) -> None:
    p.add_argument(
        "--eval-steps",
        type=int,
        default=50,
        help="points on each deletion/insertion curve (features removed in equal steps)",
    )
    p.add_argument(
        "--patch",
        type=int,
        default=1,
        help="remove/insert square patches of this many pixels per side, not single pixels",
    )
    p.add_argument(
        "--n-random", type=int, default=3, help="random orderings averaged for the comparison"
    )


# ----------------------------------------------------------------------------- inputs


@dataclass
class Prepared:
    """What every action needs: the model, the images and what the model says about them."""

    model: object  # LoadedModel
    paths: list
    names: list
    raw: np.ndarray  # (n, C, H, W) in [0, 1], for display
    X: np.ndarray  # (n, C, H, W), normalised: the model's input
    mean: list
    std: list
    logits: np.ndarray  # (n, T)
    predicted: np.ndarray  # (n,)
    probability: np.ndarray | None  # (n,) softmax of the predicted class
    target: np.ndarray  # (n,) the output each image's maps explain
    methods: list


def _positive(args, *names) -> None:
    for name in names:
        value = getattr(args, name, None)
        if value is not None and value < 1:
            raise InputError(f"--{name.replace('_', '-')} {value}; must be a positive integer")


def _floats(text, name) -> list | None:
    if text is None:
        return None
    try:
        return [float(v) for v in str(text).split(",")]
    except ValueError as err:
        raise InputError(f"--{name} {text!r}; expected numbers separated by commas") from err


def parse_methods(text: str) -> list[str]:
    """The method names of ``--methods``, checked, in the order given, without repeats."""
    names = [m.strip() for m in str(text).split(",") if m.strip()]
    unknown = [m for m in names if m not in METHODS]
    if unknown or not names:
        raise InputError(
            f"--methods {text!r}: unknown method {', '.join(unknown) or '(none given)'}; "
            f"expected a comma-separated list from {', '.join(METHODS)}"
        )
    return list(dict.fromkeys(names))


def check_output(path) -> Path:
    """Refuse an --out that exists and is not an empty folder or an earlier seqsal image output."""
    out = Path(path)
    if out.exists():
        if not out.is_dir():
            raise InputError(f"--out {str(out)!r} exists and is not a folder")
        if any(out.iterdir()) and not (out / "run.json").is_file():
            raise InputError(
                f"--out {str(out)!r} exists and is not a seqsal image output folder; choose another path"
            )
    return out


def cache_dir(args) -> Path:
    if getattr(args, "cache", None):
        return Path(args.cache)
    if os.environ.get("SEQSAL_CACHE"):
        return Path(os.environ["SEQSAL_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "seqsal"


def load_model_for_images(args, paths=None):
    """The model of ``--model`` (``digits-demo``: trained into the cache on first use)."""
    from seqsal.models.images import load_image_model, train_digits_demo

    spec = args.model
    if spec == DEMO_MODEL:
        folder = cache_dir(args) / "models" / DEMO_MODEL
        if not (folder / "model.json").is_file():
            if paths is not None:  # a bad image file should stop us before 20 s of training
                from seqsal.io.images import read_images

                read_images(paths, size=1, mode="L")
            log.warning("training the demo digits model once into %s (about 20 s)", folder)
            train_digits_demo(folder, seed=0, progress=args.progress)
        spec = folder
    elif not Path(spec).exists():
        raise InputError(
            f"--model {spec!r}: no such file or folder; expected a seqsal image model folder, a "
            f"TorchScript file or {DEMO_MODEL!r}"
        )
    shape = None
    if args.input_shape is not None:
        shape = [int(v) for v in _floats(args.input_shape, "input-shape")]
    return load_image_model(
        spec, input_shape=shape, mean=_floats(args.mean, "mean"), std=_floats(args.std, "std")
    )


def prepare(args) -> Prepared:
    """Check the arguments, load the model and images, predict."""
    import torch

    from seqsal.io.images import denormalise, image_paths, read_images
    from seqsal.models.predict import predict

    _positive(args, "steps", "n_samples", "window", "stride", "batch_size", "eval_steps")
    _positive(args, "patch", "n_random", "gallery_rows")
    if args.seed < 0:
        raise InputError(f"--seed {args.seed}; must be a non-negative integer")
    if not 0 <= args.alpha <= 1:
        raise InputError(f"--alpha {args.alpha}; expected a number from 0 to 1")
    methods = parse_methods(args.methods)
    paths = image_paths(args.images)
    for path in paths:
        if not path.is_file():
            raise InputError(f"--images {str(path)!r}: no such file")
    check_output(args.out)
    model = load_model_for_images(args, paths)
    norm = model.metadata["normalisation"]
    mean, std = list(norm["mean"]), list(norm["std"])
    X = read_images(paths, metadata=model.metadata)
    # pixel values for drawing; clipped, as float rounding may step just outside [0, 1]
    raw = np.clip(denormalise(X, mean, std), 0.0, 1.0)
    logits = predict(
        model.module, X, batch_size=args.batch_size or 256, device=args.device, progress=False
    )
    predicted = logits.argmax(axis=1)
    probability = None
    if model.task == "classification" and logits.shape[1] > 1:
        probs = torch.softmax(torch.from_numpy(logits).double(), dim=1).numpy()
        probability = probs[np.arange(len(paths)), predicted]
    if args.target == "predicted":
        target = predicted.copy()
    else:
        t = args.target
        index = model.target_index(int(t) if t.lstrip("-").isdigit() else t)
        target = np.full(len(paths), index)
    return Prepared(
        model=model,
        paths=paths,
        names=unique_names(paths),
        raw=np.asarray(raw, dtype=np.float32),
        X=np.asarray(X, dtype=np.float32),
        mean=mean,
        std=std,
        logits=logits,
        predicted=predicted,
        probability=probability,
        target=target.astype(np.int64),
        methods=methods,
    )


def unique_names(paths) -> list[str]:
    """File stems, made unique with -2, -3 ... (two folders may hold the same file name)."""
    seen: dict[str, int] = {}
    names = []
    for path in paths:
        stem = Path(path).stem
        seen[stem] = seen.get(stem, 0) + 1
        names.append(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}")
    return names


# ----------------------------------------------------------------------------- maps


def method_settings(args, prepared: Prepared, method: str) -> dict:
    """The settings of ``method`` as run (for the gallery and run.json)."""
    height, width = prepared.X.shape[2:]
    if method == "ig":
        return {"baseline": args.baseline, "steps": args.steps, "rule": "riemann_middle"}
    if method == "smoothgrad":
        return {"n_samples": args.n_samples, "noise": args.noise, "seed": args.seed}
    if method == "gradcam":
        from seqsal.attribution import conv_layer_names

        layer = args.layer or (conv_layer_names(prepared.model.module) or [None])[-1]
        return {"layer": layer}
    if method == "occlusion":
        window = args.window or max(1, min(height, width) // 8)
        stride = args.stride or max(1, window // 2)
        return {"window": window, "stride": stride, "baseline": args.baseline}
    return {}


def _black(prepared: Prepared) -> np.ndarray:
    """The black image in the model's input space, (1, C, 1, 1): ``-mean / std`` per channel."""
    from seqsal.io.images import normalise

    return normalise(np.zeros((1, prepared.X.shape[1], 1, 1)), prepared.mean, prepared.std)


def references(args, prepared: Prepared, X):
    """IG / occlusion references for the normalised input ``X`` (n, C, H, W).

    ``black`` is the black image normalised like the input (``-mean / std`` per channel), not
    zeros of the normalised input (the mean colour); ``blur`` and ``noise`` are computed on the
    normalised input (a Gaussian blur commutes with the per-channel affine normalisation).
    """
    from seqsal.attribution.baselines import gaussian_blur, noise_baseline

    if args.baseline == "black":
        return _black(prepared)
    if args.baseline == "blur":
        return gaussian_blur(X).numpy()
    return noise_baseline(X, seed=args.seed)[:, 0].numpy()


def compute_map(args, prepared: Prepared, method: str, X, target: int, module=None):
    """One method's attributions of the rows ``X`` for output ``target``: (m, C, H, W).

    ``module`` defaults to the loaded model (the sanity check passes randomised copies).
    """
    from seqsal.attribution import attribute

    module = prepared.model.module if module is None else module
    settings = method_settings(args, prepared, method)
    options = {}
    if method in ("ig", "occlusion"):
        options["baseline"] = references(args, prepared, X)
    if method == "ig":
        options["steps"] = args.steps
    elif method == "smoothgrad":
        options.update(n_samples=args.n_samples, noise=args.noise)
    elif method == "gradcam":
        options["layer"] = args.layer
    elif method == "occlusion":
        options.update(
            window=(settings["window"], settings["window"]),
            stride=(settings["stride"], settings["stride"]),
        )
    result = attribute(
        module,
        X,
        method,
        target=int(target),
        batch_size=args.batch_size,
        device=args.device,
        progress=args.progress if module is prepared.model.module else False,
        seed=args.seed,
        **options,
    )
    return np.asarray(result.numpy(), dtype=np.float32)


def compute_maps(args, prepared: Prepared) -> dict[str, np.ndarray]:
    """Every method's maps for every image, each image explained for its own target.

    Images are grouped by target and each group goes through the library once per method.
    """
    from seqsal._runtime import progress_bar

    maps = {}
    groups = [(t, np.flatnonzero(prepared.target == t)) for t in np.unique(prepared.target)]
    for method in progress_bar(prepared.methods, desc="methods", progress=args.progress):
        out = np.zeros(prepared.X.shape, dtype=np.float32)
        for target, rows in groups:
            out[rows] = compute_map(args, prepared, method, prepared.X[rows], int(target))
        maps[method] = out
    return maps


# ----------------------------------------------------------------------------- outputs


def provenance(args, prepared: Prepared) -> dict:
    import torch

    from seqsal import __version__

    model = prepared.model
    return {
        "command": f"seqsal image {args.action}",
        "model": model.source,
        "model sha256": model.checksum,
        "model arch": model.arch,
        "input shape (C, H, W)": list(prepared.X.shape[1:]),
        "normalisation": {"mean": prepared.mean, "std": prepared.std},
        "target": args.target,
        "seqsal": __version__,
        "torch": torch.__version__,
        "created (UTC)": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }


def write_outputs(
    folder: Path,
    args,
    prepared: Prepared,
    maps: dict[str, np.ndarray],
    *,
    sections=(),
    extra_files=(),
    extra_run=None,
) -> None:
    """Overlays, grid, maps.npz, predictions.tsv, run.json and gallery.html into ``folder``."""
    from seqsal._runtime import progress_bar
    from seqsal.plot import image as plot

    names = prepared.names
    targets = prepared.model.targets
    n, _, height, width = prepared.X.shape
    scale = plot.display_scale(height, width)
    overlays = folder / "overlays"
    overlays.mkdir()
    gallery_images = []
    for i in progress_bar(range(n), desc="overlays", unit="image", progress=args.progress):
        pngs, limits = {}, {}
        for method, array in maps.items():
            heat = plot.reduce_channels(array[i], plot.reduction_for(method))
            vmin, vmax = plot.heat_limits(heat)
            limits[method] = f"±{vmax:.2g}" if vmin < 0 else f"0..{vmax:.2g}"
            rgb = plot.overlay(prepared.raw[i], heat, alpha=args.alpha)
            pngs[method] = plot.png_bytes(rgb, scale=scale)
            # the folder itself is atomic (built under a temporary name), so a plain write
            (overlays / f"{names[i]}.{method}.png").write_bytes(pngs[method])
        if i >= args.gallery_rows:
            continue
        original = plot.png_bytes(
            np.round(plot.image_rgb(prepared.raw[i]) * 255).astype(np.uint8), scale=scale
        )
        gallery_images.append(
            plot.GalleryImage(
                name=prepared.paths[i].name,
                original=original,
                prediction=targets[prepared.predicted[i]],
                probability=None
                if prepared.probability is None
                else float(prepared.probability[i]),
                target=targets[prepared.target[i]],
                maps=pngs,
                limits=limits,
            )
        )
    rows = min(n, GRID_ROWS)
    labels = [f"{names[i]}: {targets[prepared.predicted[i]]}" for i in range(rows)]
    fig = plot.comparison_grid(
        prepared.raw[:rows],
        {m: a[:rows] for m, a in maps.items()},
        row_labels=labels,
        alpha=args.alpha,
    )
    plot.save_grid(fig, folder / "grid.png")
    np.savez_compressed(
        folder / "maps.npz",
        **maps,
        images=prepared.raw,
        target=prepared.target,
        predicted=prepared.predicted,
        files=np.array([str(p) for p in prepared.paths]),
    )
    with open(folder / "predictions.tsv", "w", encoding="utf-8") as handle:
        handle.write("file\tpredicted\tprobability\ttarget\n")
        for i in range(n):
            p = "" if prepared.probability is None else f"{prepared.probability[i]:.6g}"
            handle.write(
                f"{prepared.paths[i]}\t{targets[prepared.predicted[i]]}\t{p}\t"
                f"{targets[prepared.target[i]]}\n"
            )
    settings = {m: method_settings(args, prepared, m) for m in maps}
    info = provenance(args, prepared)
    run = {"provenance": info, "methods": settings, "files": [str(p) for p in prepared.paths]}
    run.update(extra_run or {})
    (folder / "run.json").write_text(json.dumps(run, indent=2, default=str) + "\n")
    files = [
        ("grid.png", f"comparison grid (first {rows} images)"),
        ("maps.npz", "raw maps (n, C, H, W) per method, images, targets"),
        ("predictions.tsv", "predicted class and probability per image"),
        ("run.json", "settings and provenance"),
        ("overlays/", "one overlay PNG per (image, method)"),
        *extra_files,
    ]
    plot.write_gallery(
        folder / "gallery.html",
        gallery_images,
        title=f"seqsal image {args.action}",
        methods=settings,
        grid=(folder / "grid.png").read_bytes(),
        total=n,
        sections=sections,
        provenance=info,
        files=files,
    )


# ----------------------------------------------------------------------------- actions


@dataclass
class Extra:
    """What evaluate / sanity add to the attribute outputs."""

    sections: list = field(default_factory=list)
    tables: dict = field(default_factory=dict)  # file name -> pandas.DataFrame (TSV)
    figures: dict = field(default_factory=dict)  # file name -> PNG bytes
    files: list = field(default_factory=list)  # (file name, description) for the gallery
    run: dict = field(default_factory=dict)  # added to run.json
    summary: str = ""  # added to the summary line


def run(args) -> int:
    if args.action == "demo-images":
        return run_demo_images(args)
    from seqsal.io.atomic import atomic_directory

    start = time.perf_counter()
    prepared = prepare(args)
    maps = compute_maps(args, prepared)
    extra = Extra()
    if args.action == "evaluate":
        extra = evaluate_maps(args, prepared, maps)
    elif args.action == "sanity":
        extra = sanity_check(args, prepared)
    with atomic_directory(args.out) as folder:
        for name, table in extra.tables.items():
            table.to_csv(folder / name, sep="\t", index=False, float_format="%.8g")
        for name, png in extra.figures.items():
            (folder / name).write_bytes(png)
        write_outputs(
            folder,
            args,
            prepared,
            maps,
            sections=extra.sections,
            extra_files=extra.files,
            extra_run=extra.run,
        )
    print(
        f"seqsal image {args.action}: {len(prepared.paths)} images, "
        f"{len(prepared.methods)} methods{extra.summary}, {time.perf_counter() - start:.1f} s "
        f"-> {Path(args.out) / 'gallery.html'}",
        file=sys.stderr,
    )
    return 0


def faithfulness_reduce(method: str) -> str:
    """How :func:`seqsal.evaluate.faithfulness` ranks pixels for ``method``: by |map| for the
    gradient magnitudes (saliency, SmoothGrad: their sign is a direction, not a contribution),
    by the signed sum over channels for the rest."""
    return "abs" if method in ("saliency", "smoothgrad") else "sum"


def evaluate_maps(args, prepared: Prepared, maps) -> Extra:
    """Deletion / insertion curves of every method's maps (seqsal.evaluate.faithfulness)."""
    import pandas as pd

    from seqsal.evaluate.faithfulness import faithfulness
    from seqsal.plot import evaluate as plot_evaluate
    from seqsal.plot.logo import render

    black = _black(prepared)
    results, per_image, rows = {}, [], []
    for method in prepared.methods:
        result = faithfulness(
            prepared.model.module,
            prepared.X,
            maps[method],
            target=prepared.target,
            baseline=black,
            start="blur",
            patch=args.patch,
            reduce=faithfulness_reduce(method),
            steps=args.eval_steps,
            n_random=args.n_random,
            batch_size=args.batch_size,
            device=args.device,
            progress=args.progress,
            seed=args.seed,
        )
        results[method] = result
        table = result.table(prepared.names)
        table.insert(0, "method", method)
        per_image.append(table)
        d, i = result.deletion.summary(), result.insertion.summary()
        rows.append(
            [
                method,
                d["auc"],
                d["random_auc"],
                d["fraction_better"],
                i["auc"],
                i["random_auc"],
                i["fraction_better"],
            ]
        )
    columns = [
        "method",
        "deletion AUC",
        "random deletion AUC",
        "images better (deletion)",
        "insertion AUC",
        "random insertion AUC",
        "images better (insertion)",
    ]
    figures = {
        f"curves.{m}.png": render(plot_evaluate.curves_figure(r, title=m), "png", dpi=100)
        for m, r in results.items()
    }
    note = (
        "Pixels removed (deletion, towards black) or put back into a blurred copy (insertion) "
        "in the order of each map, highest first; the score is the softmax probability of the "
        "explained class. A faithful map has a deletion AUC below and an insertion AUC above "
        "those of a random ordering. Means over images; see docs/evaluate.md."
    )
    best = min(rows, key=lambda r: r[1])
    return Extra(
        sections=[
            section(
                "Faithfulness: deletion and insertion",
                note,
                columns,
                rows,
                [(name.split(".")[1], png) for name, png in figures.items()],
            )
        ],
        tables={"faithfulness.tsv": pd.concat(per_image, ignore_index=True)},
        figures=figures,
        files=[
            (
                "faithfulness.tsv",
                "deletion/insertion AUC per (method, image) and of random orderings",
            ),
            *[(name, "mean deletion and insertion curves") for name in figures],
        ],
        run={
            "evaluate": {
                "patch": args.patch,
                "steps": args.eval_steps,
                "n_random": args.n_random,
                "deletion_reference": "black",
                "insertion_start": "blur",
                "summary": [dict(zip(columns, r, strict=True)) for r in rows],
            }
        },
        summary=f", lowest deletion AUC {best[1]:.3g} ({best[0]})",
    )


def sanity_check(args, prepared: Prepared) -> Extra:
    """Model parameter randomisation test of every method (seqsal.evaluate.sanity)."""
    import pandas as pd

    from seqsal.evaluate.sanity import parameter_randomization
    from seqsal.plot import evaluate as plot_evaluate
    from seqsal.plot.logo import render

    tables = []
    for method in prepared.methods:

        def function(module, X, target, method=method):
            return compute_map(args, prepared, method, X, target, module=module)

        table = parameter_randomization(
            prepared.model.module,
            prepared.X,
            function,
            target=prepared.target,
            batch_size=args.batch_size,
            device=args.device,
            progress=args.progress,
            seed=args.seed,
        )
        table.insert(0, "method", method)
        tables.append(table)
    table = pd.concat(tables, ignore_index=True)
    figures = {
        f"sanity.{m}.png": render(
            plot_evaluate.sanity_figure(table[table["method"] == m], title=m), "png", dpi=100
        )
        for m in prepared.methods
    }
    columns = ["method", "mode", "step", "layer", "spearman_abs", "spearman_signed", "ssim"]
    rows = table[columns].values.tolist()
    note = (
        "Each layer's parameters re-initialised from the top down, together (cascading) or "
        "one at a time (independent); maps of the randomised model compared with the trained "
        "model's (mean over images). A map that depends on what the model learned drops "
        "towards 0 as layers are randomised; see docs/evaluate.md."
    )
    last = table[table["mode"] == "cascading"].groupby("method", sort=False).tail(1)
    worst = last["spearman_abs"].max() if len(last) else float("nan")
    return Extra(
        sections=[
            section(
                "Sanity: model parameter randomisation",
                note,
                columns,
                rows,
                [(name.split(".")[1], png) for name, png in figures.items()],
            )
        ],
        tables={"sanity.tsv": table},
        figures=figures,
        files=[
            ("sanity.tsv", "Spearman (abs, signed) and SSIM per method, mode and layer"),
            *[
                (name, "similarity to the original maps as layers are randomised")
                for name in figures
            ],
        ],
        run={"sanity": {"modes": ["cascading", "independent"], "seed": args.seed}},
        summary=f", fully randomised |Spearman| at most {worst:.3g}",
    )


def section(title, note, columns, rows, figures):
    from seqsal.plot.image import GallerySection

    return GallerySection(title=title, note=note, columns=columns, rows=rows, figures=figures)


def run_demo_images(args) -> int:
    """Write digits from the bundled data set as PNG files (grey; optionally colour copies)."""
    from PIL import Image

    from seqsal.io.atomic import atomic_directory
    from seqsal.io.images import write_image
    from seqsal.models.images import digits_dataset

    _positive(args, "n", "size")
    if args.seed < 0:
        raise InputError(f"--seed {args.seed}; must be a non-negative integer")
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not (out / "labels.tsv").is_file():
            raise InputError(
                f"--out {str(out)!r} exists and is not a demo-images folder; choose another path"
            )
    data = digits_dataset(args.size, seed=args.seed)
    chosen = []
    for k in range(args.n):  # one digit of each class in turn
        rows = np.flatnonzero(data.y == k % 10)
        chosen.append(int(rows[(k // 10) % len(rows)]))
    rng = np.random.default_rng(args.seed)
    with atomic_directory(out) as folder:
        lines = ["file\tlabel"]
        for k, row in enumerate(chosen):
            label = data.class_names[data.y[row]]
            name = f"digit{k:02d}_{label}.png"
            write_image(folder / name, data.X[row])
            lines.append(f"{name}\t{label}")
            if args.colour:  # stretched to 1.5 x the width and tinted: colour, not square
                grey = Image.fromarray(data.X[row, 0].astype(np.float32), mode="F")
                wide = grey.resize((args.size * 3 // 2, args.size), Image.Resampling.BILINEAR)
                tint = rng.uniform(0.5, 1.0, size=3).reshape(3, 1, 1)
                name = f"colour{k:02d}_{label}.png"
                write_image(folder / name, np.asarray(wide)[None] * tint)
                lines.append(f"{name}\t{label}")
        (folder / "labels.tsv").write_text("\n".join(lines) + "\n")
    print(
        f"seqsal image demo-images: {len(lines) - 1} PNG files -> {out}",
        file=sys.stderr,
    )
    return 0

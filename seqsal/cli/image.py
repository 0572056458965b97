"""``seqsal image``: explain image classifiers with the shared attribution core.

Actions:

* ``attribute``: maps of every method for every image -> per-image overlay PNGs, a comparison
  grid, the raw maps (npz), predictions and a self-contained HTML gallery;
* ``evaluate``: the same, plus deletion / insertion curves against a random ordering
  (:mod:`seqsal.evaluate.faithfulness`), their plot and AUC table in the gallery;
* ``sanity``: the model parameter randomisation test (:mod:`seqsal.evaluate.sanity`), its table
  and plot in the gallery;
* ``demo-images``: a few PNGs from scikit-learn's bundled digits, to try the commands on.

The command parses its options and calls the library: :mod:`seqsal.image` computes the maps,
the curves and the randomisation test, :mod:`seqsal.plot.image` writes the folder.  Without
``--methods`` every method runs except those the model cannot run (Grad-CAM without a
convolution), which are skipped with a one-line warning and named in the gallery; a method
named in ``--methods`` that cannot run is an error.

Every output folder is built under a temporary name and renamed when complete; a bad input
stops with one line on stderr (exit 2) before anything is written.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

from seqsal.cli._options import (
    add_batch_size_option,
    add_device_option,
    add_faithfulness_options,
    add_gradient_method_options,
    add_head_options,
    add_out_option,
    add_progress_option,
    add_seed_option,
    one_line_errors,
    parse_target,
    positive_int,
)
from seqsal.errors import InputError
from seqsal.image import BASELINES, METHODS, NAMED_METHODS

log = logging.getLogger(__name__)

HELP = "image models: attribution overlays and an HTML gallery, faithfulness and sanity checks"
DESCRIPTION = (
    "Explain an image classifier with the shared attribution core. 'attribute' writes overlays, "
    "a comparison grid, the raw maps (npz) and a self-contained gallery.html; 'evaluate' adds "
    "deletion/insertion curves (docs/evaluate.md); 'sanity' runs the model parameter "
    "randomisation test; 'demo-images' writes digits PNGs to try them on. --model digits-demo "
    "trains (once, then cached) seqsal's demo digits classifier. See docs/images.md."
)

#: The name that stands for seqsal's demo digits model.
DEMO_MODEL = "digits-demo"


# ----------------------------------------------------------------------------- arguments


def add_arguments(parser) -> None:
    one_line_errors(parser)
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
    add_faithfulness_options(p)
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
    one_line_errors(p)
    add_out_option(p, metavar="DIR", help="output folder (replaced as a whole when complete)")
    p.add_argument("--n", type=positive_int, default=10, help="number of digits")
    p.add_argument("--size", type=positive_int, default=32, help="height and width in pixels")
    p.add_argument(
        "--colour",
        action="store_true",
        help="also write colour (RGB) copies of a non-square size (size x 1.5 size)",
    )
    add_seed_option(p)
    parser.set_defaults(_image_parser=parser)


def _add_common(p) -> None:
    one_line_errors(p)
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
    add_out_option(p, metavar="DIR", help="output folder (replaced as a whole when complete)")
    p.add_argument(
        "--methods",
        default=None,
        metavar="LIST",
        help=f"comma-separated, from {', '.join(METHODS + NAMED_METHODS)} (default: "
        f"{', '.join(METHODS)}, skipping with a warning those the model cannot run, such as "
        "gradcam without a convolution; a method named here that cannot run is an error)",
    )
    p.add_argument(
        "--target",
        default="predicted",
        metavar="T",
        help="output to explain: 'predicted' (each image's predicted class), an index or a "
        "name; with --output, a channel of that head",
    )
    add_head_options(p)
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
        help="ig, deepshap and occlusion reference: black image, Gaussian-blurred image (sigma 5 px), or "
        "the image plus Gaussian noise (0.15 of its range)",
    )
    add_gradient_method_options(p)
    p.add_argument(
        "--window",
        type=positive_int,
        default=None,
        help="occlusion: square window in pixels (default: an eighth of the shorter side)",
    )
    p.add_argument(
        "--stride",
        type=positive_int,
        default=None,
        help="occlusion: pixels between window starts (default: half the window)",
    )
    p.add_argument(
        "--opacity", type=float, default=0.7, help="heatmap opacity over the image (0 to 1)"
    )
    p.add_argument(
        "--gallery-rows",
        type=positive_int,
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
    add_batch_size_option(p)
    add_device_option(p)
    add_seed_option(p)
    add_progress_option(p)


# ----------------------------------------------------------------------------- inputs


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


def check_output(path) -> Path:
    """Refuse an --out that cannot be written (:func:`seqsal.io.atomic.check_writable`), or that
    exists and is not an empty folder or an earlier seqsal image output."""
    from seqsal.io.atomic import check_writable

    out = check_writable(path, kind="folder")
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


def narrow_to_head(args, model):
    """``model`` narrowed to the head chosen by --output / --reduce / --positions (and
    --target as the head's channel), as a model with that one output; ``model`` itself when
    none of them is given.  Sets ``args.narrowed`` (and prefixes ``--layer`` with ``inner.``,
    where the narrowed model keeps the model's layers)."""
    import dataclasses

    from seqsal.attribution import Target, resolve_targets
    from seqsal.image import narrow_to_target

    args.narrowed = any(getattr(args, k) is not None for k in ("output", "reduce", "positions"))
    if not args.narrowed:
        return model
    channel = None if args.target == "predicted" else parse_target(args.target)
    names = model.targets if model.single_head else None
    if isinstance(channel, str) and names is not None:
        channel = model.target_index(channel)
    head = None if args.output is None else parse_target(args.output)
    target = Target(output=head, channel=channel, reduce=args.reduce, positions=args.positions)
    label = resolve_targets(target, target_names=names).labels[0]
    module, _, args.layer = narrow_to_target(model.module, target, getattr(args, "layer", None))
    return dataclasses.replace(
        model,
        module=module,
        targets=[label],
        task="regression",
        heads=(),
        metadata={**model.metadata, "class_names": [label]},
    )


def _method_options(args) -> dict:
    """The method settings of the command line, as keywords of seqsal.image."""
    return {
        "baseline": args.baseline,
        "steps": args.steps,
        "n_samples": args.n_samples,
        "noise": args.noise,
        "window": args.window,
        "stride": args.stride,
        "layer": args.layer,
        "batch_size": args.batch_size,
        "device": args.device,
        "progress": args.progress,
        "seed": args.seed,
    }


def provenance(args, model, shape, mean, std) -> dict:
    import torch

    from seqsal import __version__

    return {
        "command": f"seqsal image {args.action}",
        "model": model.source,
        "model sha256": model.checksum,
        "model arch": model.arch,
        "input shape (C, H, W)": list(shape[1:]),
        "normalisation": {"mean": mean, "std": std},
        "target": args.target,
        "seqsal": __version__,
        "torch": torch.__version__,
        "created (UTC)": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }


# ----------------------------------------------------------------------------- actions


def run(args) -> int:
    if args.action == "demo-images":
        return run_demo_images(args)
    from seqsal import image as library
    from seqsal.io.atomic import atomic_directory
    from seqsal.io.images import denormalise, image_paths, read_images
    from seqsal.plot import image as plot

    start = time.perf_counter()
    check_output(args.out)
    _positive(args, "eval_steps", "patch", "n_random")
    if not 0 <= args.opacity <= 1:
        raise InputError(f"--opacity {args.opacity}; expected a number from 0 to 1")
    methods = (
        None if args.methods is None else library.check_methods(args.methods, option="--methods")
    )
    paths = image_paths(args.images)
    for path in paths:
        if not path.is_file():
            raise InputError(f"--images {str(path)!r}: no such file")
    model = narrow_to_head(args, load_model_for_images(args, paths))
    norm = model.metadata["normalisation"]
    mean, std = list(norm["mean"]), list(norm["std"])
    X = np.asarray(read_images(paths, metadata=model.metadata), dtype=np.float32)
    # pixel values for drawing; clipped, as float rounding may step just outside [0, 1]
    raw = np.asarray(np.clip(denormalise(X, mean, std), 0.0, 1.0), dtype=np.float32)
    names = library.image_names(paths)
    predictions = library.predict_images(
        model.module, X, task=model.task, batch_size=args.batch_size, device=args.device
    )
    if getattr(args, "narrowed", False):
        target = np.zeros(len(paths), dtype=np.int64)
    elif args.target == "predicted":
        target = predictions.predicted.astype(np.int64)
    else:
        t = args.target
        target = np.full(len(paths), model.target_index(parse_target(t)))
    options = _method_options(args)
    explained = library.explain_images(
        model.module, X, methods, target=target, mean=mean, std=std, **options
    )
    sections, files, extra_run, summary = [], [], {}, ""
    faithfulness = sanity = None
    if args.action == "evaluate":
        faithfulness = library.image_faithfulness(
            model.module,
            X,
            explained.maps,
            target=explained.target,
            names=names,
            mean=mean,
            std=std,
            patch=args.patch,
            eval_steps=args.eval_steps,
            n_random=args.n_random,
            batch_size=args.batch_size,
            device=args.device,
            progress=args.progress,
            seed=args.seed,
        )
        table = faithfulness.summary
        best = table.loc[table["deletion AUC"].idxmin()]
        extra_run["evaluate"] = {
            **faithfulness.settings,
            "summary": [dict(zip(table.columns, r, strict=True)) for r in table.values.tolist()],
        }
        summary = f", lowest deletion AUC {best['deletion AUC']:.3g} ({best['method']})"
    elif args.action == "sanity":
        sanity = library.image_sanity(
            model.module,
            X,
            list(explained.maps),
            target=explained.target,
            mean=mean,
            std=std,
            **options,
        )
        extra_run["sanity"] = sanity.settings
        summary = f", fully randomised |Spearman| at most {sanity.fully_randomised:.3g}"
    with atomic_directory(args.out) as folder:
        if faithfulness is not None:
            section, written = plot.write_faithfulness_outputs(folder, faithfulness)
            sections.append(section)
            files += written
        if sanity is not None:
            section, written = plot.write_sanity_outputs(folder, sanity.table)
            sections.append(section)
            files += written
        plot.write_image_outputs(
            folder,
            images=raw,
            paths=paths,
            names=names,
            maps=explained.maps,
            target=explained.target,
            predicted=predictions.predicted,
            probability=predictions.probability,
            class_names=model.targets,
            settings=explained.settings,
            provenance=provenance(args, model, X.shape, mean, std),
            title=f"seqsal image {args.action}",
            opacity=args.opacity,
            gallery_rows=args.gallery_rows,
            sections=sections,
            extra_files=files,
            extra_run=extra_run,
            skipped=explained.skipped,
            progress=args.progress,
        )
    skipped = f" ({', '.join(explained.skipped)} skipped)" if explained.skipped else ""
    print(
        f"seqsal image {args.action}: {len(paths)} images, "
        f"{len(explained.maps)} methods{skipped}{summary}, {time.perf_counter() - start:.1f} s "
        f"-> {Path(args.out) / 'gallery.html'}",
        file=sys.stderr,
    )
    return 0


def run_demo_images(args) -> int:
    """Write digits from the bundled data set as PNG files (grey; optionally colour copies)."""
    from seqsal.image import demo_images
    from seqsal.io.atomic import atomic_directory, check_writable
    from seqsal.io.images import write_image

    out = check_writable(args.out, kind="folder")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not (out / "labels.tsv").is_file():
            raise InputError(
                f"--out {str(out)!r} exists and is not a demo-images folder; choose another path"
            )
    demo = demo_images(args.n, size=args.size, colour=args.colour, seed=args.seed)
    with atomic_directory(out) as folder:
        for name, pixels in zip(demo.names, demo.images, strict=True):
            write_image(folder / name, pixels)
        lines = [
            "file\tlabel",
            *(f"{n}\t{label}" for n, label in zip(demo.names, demo.labels, strict=True)),
        ]
        (folder / "labels.tsv").write_text("\n".join(lines) + "\n")
    print(
        f"seqsal image demo-images: {len(demo.names)} PNG files -> {out}",
        file=sys.stderr,
    )
    return 0

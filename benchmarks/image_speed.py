"""Image attribution speed: every shared method against captum, same model, data and settings.

One process, one JSON line on stdout.  Both sides run with ``torch.set_num_threads(2)`` (or
``--threads``) on the zoo image CNN (``seqsal.models.zoo.build("imagecnn", n_targets=10,
task="classification", in_channels=1)``, default channels (16, 32, 64, 64), seed 0: speed
does not depend on the weights) with the first n scikit-learn digits upsampled to 32 x 32
(``seqsal.models.images.digits_dataset``), target class 0.  For every method the figure is
images per second (best of at least ``--repeats`` wall-clock runs, default 9, and of as many
more as fit in ``--budget`` seconds per side, default 3, so that the fast methods get dozens;
process CPU time beside it) and
``ratio = seqsal images/s / captum images/s`` (>= 1.0 wanted), with ``ratio_median`` beside
it, the same ratio of the two sides' median wall times (how a typical call compares on a
shared machine, where the best run is the least disturbed one).

Settings, identical on both sides.  Rows per model call: seqsal's ``rows_per_call`` choice
(64 MiB budget), given to captum wherever captum has a batch knob (IG, SmoothGrad,
occlusion); where captum has none (saliency, grad x input, Grad-CAM: all n images in one
call) seqsal gets ``batch_size=n`` too.

- ``saliency``: captum ``Saliency(abs=False)``.
- ``grad_x_input``: captum ``InputXGradient``.
- ``ig_black`` / ``ig_blur`` / ``ig_noise``: 32 Gauss-Legendre steps (captum's default rule),
  completeness delta returned by both; baseline zeros, ``gaussian_blur(X, 5)`` and
  ``noise_baseline(X, scale=0.15, seed=0)`` (computed inside the timed call on both sides).
  Both sides get the same rows per call, ``ig_rows``: a multiple of the steps (seqsal packs
  whole (image, reference) paths: 61 rows would run 32-row calls) and of the images with at
  least 2 steps each (captum runs ``n * max(2, internal_batch_size // n)`` rows per call):
  128 rows for 64 images, 64 for 32 or 8.
- ``smoothgrad``: 25 noisy copies, standard deviation 0.15 x each image's range; captum
  ``NoiseTunnel(Saliency)`` with ``nt_type="smoothgrad"``, ``stdevs`` = 0.15 x the mean range,
  ``nt_samples_batch_size`` = rows // n (at least 1), i.e. n x that many rows per call, which
  seqsal gets as ``batch_size``.
- ``gradcam``: layer ``features.conv4``, ReLU, bilinear upsampling to the input and repeated
  over channels; captum ``LayerGradCam`` + ``LayerAttribution.interpolate`` (+ expand).
- ``occlusion``: 4 x 4 windows, stride 2, baseline 0; captum ``Occlusion`` with
  ``perturbations_per_eval`` = rows // n (at least 1), i.e. n x that many rows per call, which
  seqsal gets as ``batch_size``.

Calls are timed alternately, each ``--pause`` seconds (default 0.05) after the previous one
ended.  Back to back, a call shares the cores with the other side's leftover threads: after
a parallel region, PyTorch's OpenMP threads (libgomp) spin for several milliseconds before
they sleep, and a core-sharded seqsal call started in that time runs slower
(``benchmarks/spin_crosstalk.py`` measures it; figures in ``docs/benchmarks.md``).  So back to
back, each side is timed partly under the other's load.  ``--pause 0`` restores back-to-back
timing.

The figures are only meaningful on a quiet machine: with 2 threads on an oversubscribed
2-core machine both sides slow down by an order of magnitude and the ratios swing widely;
``--threads 1`` is steadier there.

Run: ``nice .venv/bin/python benchmarks/image_speed.py [--quick] [--threads N]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
import warnings

import numpy as np
import torch

from seqsal.attribution import (
    grad_x_input,
    gradcam,
    integrated_gradients,
    occlusion,
    saliency,
    smoothgrad,
)
from seqsal.attribution._batching import rows_per_call
from seqsal.attribution.baselines import gaussian_blur, noise_baseline
from seqsal.models import zoo
from seqsal.models.images import digits_dataset

THREADS = 2
SIZE = 32
STEPS = 32
SAMPLES = 25
NOISE = 0.15
LAYER = "features.conv4"
WINDOW, STRIDE = 4, 2
PAUSE = 0.05


def race(first, second, repeats, budget=0.0, pause=0.0):
    """Best (wall s, CPU s) of each of two callables, their last results, the number of timed
    runs per side and each side's median wall time.

    One untimed warm-up call each, then timed calls alternating between the two, so that a
    change of load on the shared machine hits both sides alike: at least ``repeats`` each, and
    more until each side has run ``budget`` seconds (the best of many short calls is far
    steadier than the best of a few).  Each timed call starts ``pause`` seconds after the
    previous one ended (not counted), so that it does not share the cores with the threads
    the other side left spinning (see the module docstring).
    """
    results = [first(), second()]
    best = [None, None]
    walls = [[], []]
    spent = [0.0, 0.0]
    done = 0
    while done < repeats or min(spent) < budget:
        for i, fn in enumerate((first, second)):
            if pause:
                time.sleep(pause)
            wall, cpu = time.perf_counter(), time.process_time()
            results[i] = fn()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            spent[i] += wall
            walls[i].append(wall)
            if best[i] is None or wall < best[i][0]:
                best[i] = (wall, cpu)
        done += 1
    return best, results, done, [float(np.median(w)) for w in walls]


def ig_rows_per_call(n, rows):
    """Rows per IG call that both sides fill exactly (see the module docstring)."""
    rows = max(rows, 2 * n)
    per = STEPS * max(1, round(rows / STEPS))
    while per % n or per // n < 2:
        per += STEPS
    return per


def methods(model, X, rows):
    """name -> (seqsal callable, captum callable), each returning the attributions."""
    from captum.attr import (
        InputXGradient,
        IntegratedGradients,
        LayerAttribution,
        LayerGradCam,
        NoiseTunnel,
        Occlusion,
        Saliency,
    )

    n = X.shape[0]
    per_call = max(1, rows // n)
    ig_rows = ig_rows_per_call(n, rows)
    flat = X.flatten(1)
    mean_range = float((flat.max(1).values - flat.min(1).values).mean())
    references = {
        "black": lambda: torch.zeros_like(X),
        "blur": lambda: gaussian_blur(X, 5.0),
        "noise": lambda: noise_baseline(X, scale=NOISE, seed=0)[:, 0],
    }

    def captum_ig(name):
        def run():
            attr, _delta = IntegratedGradients(model).attribute(
                X, baselines=references[name](), target=0, n_steps=STEPS, method="gausslegendre",
                internal_batch_size=ig_rows, return_convergence_delta=True,
            )  # fmt: skip
            return attr

        return run

    def seqsal_ig(name):
        return lambda: (
            integrated_gradients(
                model,
                X,
                target=0,
                baseline=name,
                steps=STEPS,
                rule="gausslegendre",
                batch_size=ig_rows,
            ).attributions
        )

    def captum_gradcam():
        cam = LayerGradCam(model, model.get_submodule(LAYER)).attribute(
            X, target=0, relu_attributions=True
        )
        up = LayerAttribution.interpolate(cam, tuple(X.shape[2:]), "bilinear")
        return up.expand(-1, X.shape[1], -1, -1)

    table = {
        "saliency": (
            lambda: saliency(model, X, target=0, batch_size=n),
            lambda: Saliency(model).attribute(X, target=0, abs=False),
        ),
        "grad_x_input": (
            lambda: grad_x_input(model, X, target=0, batch_size=n),
            lambda: InputXGradient(model).attribute(X.clone().requires_grad_(), target=0),
        ),
    }
    for name in references:
        table[f"ig_{name}"] = (seqsal_ig(name), captum_ig(name))
    table["smoothgrad"] = (
        lambda: smoothgrad(
            model, X, target=0, n_samples=SAMPLES, noise=NOISE, seed=0, batch_size=n * per_call
        ),
        lambda: NoiseTunnel(Saliency(model)).attribute(
            X,
            nt_type="smoothgrad",
            nt_samples=SAMPLES,
            nt_samples_batch_size=per_call,
            stdevs=NOISE * mean_range,
            target=0,
            abs=False,
        ),
    )
    table["gradcam"] = (
        lambda: gradcam(model, X, layer=LAYER, target=0, batch_size=n),
        captum_gradcam,
    )
    table["occlusion"] = (
        lambda: occlusion(
            model,
            X,
            window=(WINDOW, WINDOW),
            stride=(STRIDE, STRIDE),
            target=0,
            batch_size=n * per_call,
        ),
        lambda: Occlusion(model).attribute(
            X,
            sliding_window_shapes=(X.shape[1], WINDOW, WINDOW),
            strides=(X.shape[1], STRIDE, STRIDE),
            baselines=0.0,
            target=0,
            perturbations_per_eval=per_call,
        ),
    )
    return table


def _ratio(fast, slow):
    return round(fast / slow, 3) if slow > 0 else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few images for a smoke run")
    parser.add_argument("--threads", type=int, default=THREADS, help="torch threads (default 2)")
    parser.add_argument("--only", nargs="*", help="run only these methods")
    parser.add_argument("--repeats", type=int, default=9, help="least timed runs per side")
    parser.add_argument(
        "--pause",
        type=float,
        default=PAUSE,
        help=f"seconds between timed calls, not counted (default {PAUSE}; 0: back to back)",
    )
    parser.add_argument(
        "--budget", type=float, default=3.0, help="least seconds of timed runs per side"
    )
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", module="captum")  # captum's requires_grad notices
    warnings.filterwarnings("ignore", message=".*upsampl.*")
    logging.disable(logging.WARNING)
    torch.set_num_threads(args.threads)
    model = zoo.build("imagecnn", n_targets=10, task="classification", in_channels=1, seed=0)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    n = 8 if args.quick else 128
    X = torch.from_numpy(digits_dataset(SIZE, seed=None).X[:n])
    rows = rows_per_call(model, X[:1])
    repeats = 2 if args.quick else args.repeats
    report = {
        "benchmark": "image_speed", "quick": args.quick, "threads": args.threads,
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "model": "seqsal.models.zoo imagecnn (16, 32, 64, 64), 1 x 32 x 32 digits",
        "pause_s": args.pause, "n_images": n, "rows_per_call": rows, "ig_rows_per_call": ig_rows_per_call(n, rows), "steps": STEPS, "smoothgrad_samples": SAMPLES,
        "clock": "wall (perf_counter); *_cpu = process CPU time", "methods": {},
    }  # fmt: skip
    for name, (ours_fn, theirs_fn) in methods(model, X, rows).items():
        if args.only and name not in args.only:
            continue
        (ours, theirs), (A, B), runs, (ours_median, theirs_median) = race(
            ours_fn, theirs_fn, repeats, 0.0 if args.quick else args.budget, args.pause
        )
        report["methods"][name] = {
            "seqsal_images_per_s": round(n / ours[0], 2),
            "captum_images_per_s": round(n / theirs[0], 2),
            "ratio": _ratio(theirs[0], ours[0]),
            "ratio_cpu": _ratio(theirs[1], ours[1]),
            "ratio_median": _ratio(theirs_median, ours_median),
            "timed_runs_per_side": runs,
            # agreement, so the race is between equal answers (smoothgrad's noise differs)
            "max_abs_diff": None
            if name == "smoothgrad"
            else float(np.format_float_scientific((A - B.detach()).abs().max().item(), 2)),
        }
    ratios = [m["ratio"] for m in report["methods"].values()]
    report["min_ratio"] = min(ratios) if ratios else None
    report["all_at_least_1"] = all(r >= 1.0 for r in ratios)
    report["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

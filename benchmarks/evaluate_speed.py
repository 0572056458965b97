"""Deletion + insertion evaluation speed per image and per DNA region, against a forward floor.

One process, one JSON line on stdout, ``torch.set_num_threads(2)``.

No peer computes RISE deletion/insertion curves (captum 0.9 has infidelity and sensitivity,
not these curves; Quantus is not a dependency), so the anchor is the **floor**: the same number
of model evaluations (rows) through the same model in the same rows per call, inputs already
built, under ``torch.no_grad``.  ``vs_floor = floor_s / seqsal_s`` is the share of the time
spent in the model itself (1.0 = no overhead); the rest is building the perturbed copies
(rank masks, references: the blur or the dinucleotide shuffles), the predicted-class pre-pass
and bookkeeping.

- ``images``: the zoo ImageCNN (1 channel, 10 classes) on 32 x 32 digits images
  (``seqsal.models.images.digits_dataset``), pixel features, black deletion and blurred
  insertion, 50 steps, 3 random orderings: 2 x 4 x 51 = 408 rows per image.
- ``dna``: the zoo CNN on random 1000 bp one-hot windows, position features, the
  dinucleotide-shuffled reference, same settings: 408 rows per region.

Run: ``nice .venv/bin/python benchmarks/evaluate_speed.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time

import numpy as np
import torch

from seqsal.evaluate import faithfulness

THREADS = 2
STEPS = 50
N_RANDOM = 3
ROWS = 256
LENGTH = 1000


def best_time(fn, repeats):
    """(wall seconds, process CPU seconds) of the fastest of ``repeats`` runs."""
    best = None
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if best is None or wall < best[0]:
            best = (wall, cpu)
    return best


def floor(model, X, n_rows, rows):
    """``n_rows`` model evaluations, ``rows`` per call, of copies of X built beforehand."""
    reps = -(-n_rows // X.shape[0])
    Z = X.repeat(reps, *([1] * (X.ndim - 1)))[:n_rows].contiguous()
    with torch.no_grad():
        for start in range(0, n_rows, rows):
            model(Z[start : start + rows])


def _ratio(slow, fast):
    return round(slow / fast, 3) if fast > 0 else None


def measure(model, X, repeats, **kwargs):
    n = X.shape[0]
    rng = np.random.default_rng(0)
    A = rng.standard_normal(X.shape).astype(np.float32)  # the order's cost does not depend on it
    rows_per_example = 2 * (1 + N_RANDOM) * (STEPS + 1)
    n_rows = n * (rows_per_example + 2)  # + the reference pass and the predicted-class pre-pass
    ours = best_time(
        lambda: faithfulness(
            model, X, A, steps=STEPS, n_random=N_RANDOM, batch_size=ROWS, progress=False, **kwargs
        ),
        repeats,
    )
    base = best_time(lambda: floor(model, torch.as_tensor(X), n_rows, ROWS), repeats)
    return {
        "n": n,
        "rows_per_example": rows_per_example,
        "seqsal_s": round(ours[0], 4),
        "floor_s": round(base[0], 4),
        "seqsal_per_example_ms": round(1000 * ours[0] / n, 3),
        "floor_per_example_ms": round(1000 * base[0] / n, 3),
        "vs_floor": _ratio(base[0], ours[0]),
        "vs_floor_cpu": _ratio(base[1], ours[1]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer examples and repeats")
    parser.add_argument("--threads", type=int, default=THREADS, help="torch threads (default 2)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    repeats = 1 if args.quick else 3
    from seqsal.models import zoo
    from seqsal.models.images import digits_dataset

    report = {
        "benchmark": "evaluate_speed",
        "quick": args.quick,
        "threads": args.threads,
        "steps": STEPS,
        "n_random": N_RANDOM,
        "rows_per_call": ROWS,
        "load_average_start": [round(v, 2) for v in os.getloadavg()],
    }
    image_model = zoo.build("imagecnn", n_targets=10, task="classification", in_channels=1)
    images = digits_dataset(32, seed=0).X[: 4 if args.quick else 32]
    report["images"] = measure(image_model, images, repeats)
    dna_model = zoo.build("cnn", input_length=LENGTH, n_targets=1)
    rng = np.random.default_rng(1)
    n = 4 if args.quick else 32
    X = np.zeros((n, 4, LENGTH), dtype=np.float32)
    X[np.arange(n)[:, None], rng.integers(0, 4, (n, LENGTH)), np.arange(LENGTH)[None, :]] = 1
    report["dna"] = measure(dna_model, X, repeats, score="raw", target=0)
    report["dna"]["length"] = LENGTH
    report["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

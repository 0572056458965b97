"""How long PyTorch's OpenMP threads slow a core-sharded seqsal call after a parallel region.

One process, one JSON line.  With ``torch.set_num_threads(2)``, the calling thread runs one
two-thread elementwise operation (4 M floats), waits ``gap`` seconds, then times seqsal's
core-sharded saliency of 128 digits (the zoo image CNN of ``benchmarks/image_speed.py``:
``seqsal._runtime.sharding`` + ``map_shards``).  The caller's OpenMP helper thread spins after
the operation (libgomp's default, ``GOMP_SPINCOUNT``) and competes with the shard workers for
the two cores until it sleeps; a long enough gap shows the undisturbed time.

Run: ``nice .venv/bin/python benchmarks/spin_crosstalk.py [--repeats 25]``.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from seqsal._runtime import map_shards, sharding
from seqsal.models import zoo
from seqsal.models.images import digits_dataset

GAPS = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=25, help="timed calls per gap")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    torch.manual_seed(0)
    model = zoo.build("imagecnn", n_targets=10, task="classification", in_channels=1).eval()
    model.requires_grad_(False)
    X = torch.from_numpy(digits_dataset(32, seed=None).X[:128])
    other = torch.randn(4_000_000)
    cpu = torch.device("cpu")

    def gradients(rows):
        rows = rows.clone().requires_grad_(True)
        return torch.autograd.grad(model(rows)[:, 0].sum(), rows)[0]

    def sharded():
        with sharding(X.shape[0], cpu):
            return map_shards(gradients, X)

    sharded()
    report = {
        "benchmark": "spin_crosstalk",
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "gaps": {},
    }
    for gap in GAPS:
        times = []
        for _ in range(args.repeats):
            other.mul(2.0)  # a two-thread parallel region on the calling thread
            time.sleep(gap)
            start = time.perf_counter()
            sharded()
            times.append(time.perf_counter() - start)
        report["gaps"][str(gap)] = {
            "best_ms": round(min(times) * 1e3, 2),
            "median_ms": round(float(np.median(times)) * 1e3, 2),
        }
    report["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

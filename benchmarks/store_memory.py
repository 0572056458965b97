"""Peak memory of streaming attributions to the store: N regions vs 10 N regions.

Each size runs in a fresh Python process doing exactly what ``seqsal attribute`` does (it
calls the CLI entry point in-process: read BED, make windows, stream one-hot chunks through
the DNA layer into the HDF5 store), and reports its own peak RSS (``VmHWM``).  A third
process runs the same command on 1 region: the floor (interpreter, torch, model, imports).
Streaming is flat when the 10 N run's peak is within 1.5x of the N run's.

    nice .venv/bin/python benchmarks/store_memory.py [--n 2000] [--length 200] [--method grad_x_input]

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _child(argv: list[str]) -> None:
    from seqsal.cli import main

    began = time.perf_counter()
    code = main(argv)
    peak_kb = _peak_rss_kb()
    print(
        json.dumps(
            {"rc": code, "peak_rss_mb": peak_kb / 1024, "seconds": time.perf_counter() - began}
        )
    )


def run_child(argv: list[str], label: str, threads: int | None = None) -> dict:
    """Run ``seqsal ARGV`` in a fresh process; return its ``rc``, ``peak_rss_mb`` and ``seconds``.

    ``threads`` sets the child's ``OMP_NUM_THREADS``; a failed child stops the benchmark,
    showing its stderr.
    """
    env = None if threads is None else os.environ | {"OMP_NUM_THREADS": str(threads)}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", *argv],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"child for {label} failed:\n{done.stderr[-2000:]}")
    return json.loads(lines[-1])


def _peak_rss_kb() -> int:
    """This process's own peak RSS in KiB.

    Linux's ``VmHWM`` belongs to the process's own address space; ``ru_maxrss`` can carry the
    parent's peak over a fork + exec, so a child started by a large parent would report the
    parent's size.
    """
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def write_genome(root: Path, n_max: int, length: int, seed: int = 0) -> Path:
    """``root/genome.fa``: random sequence with room for ``n_max`` windows (``write_regions``)."""
    rng = np.random.default_rng(seed)
    n_chroms = 4
    per_chrom = -(-n_max // n_chroms)
    chrom_length = per_chrom * (length + 50) + 1000
    with open(root / "genome.fa", "w") as handle:
        for c in range(n_chroms):
            seq = np.array(list("ACGT"))[rng.integers(0, 4, size=chrom_length)]
            handle.write(f">chr{c + 1}\n")
            for start in range(0, chrom_length, 60):
                handle.write("".join(seq[start : start + 60]) + "\n")
    return root / "genome.fa"


def _make_inputs(root: Path, n_max: int, length: int, seed: int = 0) -> tuple[Path, Path]:
    """A genome with ``n_max`` non-overlapping windows' worth of sequence, and a model."""
    from seqsal.models import zoo
    from seqsal.models.load import save_model

    fasta = write_genome(root, n_max, length, seed)
    model = zoo.build("cnn", input_length=length, n_targets=1, seed=0)
    save_model(
        model,
        root / "model",
        arch="cnn",
        arch_kwargs={},
        input_length=length,
        targets=["y"],
        task="regression",
    )
    return fasta, root / "model"


def write_regions(path: Path, n: int, length: int, n_max: int) -> None:
    n_chroms = 4
    per_chrom = -(-n_max // n_chroms)
    with open(path, "w") as handle:
        for i in range(n):
            chrom, slot = divmod(i, per_chrom)
            start = 500 + slot * (length + 50)
            strand = "+-"[i % 2]
            handle.write(f"chr{chrom + 1}\t{start}\t{start + length}\tr{i}\t0\t{strand}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="regions in the small run (large: 10x)")
    parser.add_argument("--length", type=int, default=200, help="window length")
    parser.add_argument("--method", default="grad_x_input")
    parser.add_argument("--chunk-size", type=int, default=256)
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        n_large = 10 * args.n
        fasta, model = _make_inputs(root, n_large, args.length)
        runs = {}
        for label, n in (("floor", 1), ("small", args.n), ("large", n_large)):
            regions = root / f"{label}.bed"
            write_regions(regions, n, args.length, n_large)
            argv = [
                "attribute", "--model", str(model), "--fasta", str(fasta), "--regions", str(regions),
                "--out", str(root / f"{label}.h5"), "--method", args.method,
                "--chunk-size", str(args.chunk_size), "--no-progress", "--steps", "8",
            ]  # fmt: skip
            runs[label] = run_child(argv, label)
            runs[label]["n"] = n
            runs[label]["store_mb"] = (root / f"{label}.h5").stat().st_size / 2**20
    small, large, floor = runs["small"], runs["large"], runs["floor"]
    print(
        json.dumps(
            {
                "benchmark": "store_memory",
                "method": args.method,
                "length": args.length,
                "chunk_size": args.chunk_size,
                "n_small": small["n"],
                "n_large": large["n"],
                "floor_peak_rss_mb": round(floor["peak_rss_mb"], 1),
                "small_peak_rss_mb": round(small["peak_rss_mb"], 1),
                "large_peak_rss_mb": round(large["peak_rss_mb"], 1),
                "peak_rss_ratio_large_vs_small": round(
                    large["peak_rss_mb"] / small["peak_rss_mb"], 3
                ),
                "above_floor_ratio": round(
                    (large["peak_rss_mb"] - floor["peak_rss_mb"])
                    / max(small["peak_rss_mb"] - floor["peak_rss_mb"], 1e-9),
                    3,
                ),
                "store_mb_small": round(small["store_mb"], 1),
                "store_mb_large": round(large["store_mb"], 1),
                "seconds_small": round(small["seconds"], 1),
                "seconds_large": round(large["seconds"], 1),
                "flat_within_1_5x": large["peak_rss_mb"] <= 1.5 * small["peak_rss_mb"],
            }
        )
    )


if __name__ == "__main__":
    main()

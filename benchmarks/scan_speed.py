"""Genome scanning speed and memory: trunk reuse vs window-by-window, flat memory.

One JSON line on stdout.  A simulated chromosome (first-order Markov chain with the human
dinucleotide frequencies of ``seqsal.sequence.synthetic``, with a 50 kb N gap) is written as
FASTA under ``benchmarks/out/scan_speed/`` (kept between runs).  Everything runs with
``torch.set_num_threads(--threads)`` (default 2) on zoo models of input length 300 with their
default sizes (``zoo.build("cnn", ...)``, ``zoo.build("dilated", ...)``), stride 10, both
strands (``strand="mean"``).

- ``speed``: per model, windows per second of ``scan`` on the trunk path over the whole
  chromosome (10 Mb; 1 Mb with ``--quick``; a fifth of it for the slower dilated model) and of
  two anchors in the same run, over its first 200 kb (100 kb with ``--quick``; half that for
  the dilated model; a rate per window needs no more): ``scan(method="windows")`` (the generic fallback: windows
  cut from each chunk and predicted in batches, both strands) and plain
  ``seqsal.models.predict.predict`` on already extracted one-hot windows and their reverse
  complements (extraction not counted).  ``ratio_vs_*`` = trunk throughput / anchor throughput
  (target >= 3 for the zoo CNN); ``max_abs_diff`` compares trunk and fallback scores there.
- ``memory``: peak RSS (``ru_maxrss`` of a separate process running ``seqsal scan`` to a gzip
  TSV) on a chromosome of 10 Mb and of 100 Mb (1 Mb / 10 Mb with ``--quick``); flat means
  ``ratio`` near 1, not 10.

Run: ``nice .venv/bin/python benchmarks/scan_speed.py [--quick]``.
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

HERE = Path(__file__).resolve().parent
CACHE = HERE / "out" / "scan_speed"
LENGTH = 300
STRIDE = 10
GAP = 50_000


def markov_codes(n: int, seed: int) -> np.ndarray:
    """Codes 0-3 of a dinucleotide Markov chain, many chains side by side (vectorised)."""
    from seqsal.sequence.synthetic import dinucleotide_frequencies

    joint = dinucleotide_frequencies()
    transition = joint / joint.sum(axis=1, keepdims=True)
    cumulative = np.cumsum(transition, axis=1)[:, :3]
    start = np.cumsum(joint.sum(axis=1))[:3]
    gen = np.random.default_rng(seed)
    steps = 4096
    out = []
    for lo in range(0, n, 8_000_000):
        size = min(8_000_000, n - lo)
        chains = -(-size // steps)
        uniforms = gen.random((steps, chains))
        codes = np.empty((steps, chains), dtype=np.uint8)
        state = (uniforms[0][:, None] > start[None, :]).sum(axis=1).astype(np.uint8)
        codes[0] = state
        for t in range(1, steps):
            state = (uniforms[t][:, None] > cumulative[state]).sum(axis=1).astype(np.uint8)
            codes[t] = state
        out.append(np.ascontiguousarray(codes.T).reshape(-1)[:size])
    return np.concatenate(out)


def chromosome_fasta(size: int) -> Path:
    """A FASTA with one chromosome ``chrS`` of ``size`` bases (a 50 kb N gap in the middle)."""
    from seqsal.io.fasta import write_fasta

    path = CACHE / f"chrS_{size}.fa"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)[markov_codes(size, seed=size % 9973)]
    mid = size // 2
    letters[mid : mid + min(GAP, size // 10)] = ord("N")
    write_fasta([("chrS", letters.tobytes().decode("ascii"))], path)
    return path


def saved_model(arch: str) -> Path:
    """The zoo model with default sizes, saved afresh every run (zoo defaults may change)."""
    from seqsal.models import save_model, zoo

    model = zoo.build(arch, input_length=LENGTH, n_targets=1, seed=0)
    return save_model(
        model, CACHE / f"model_{arch}", arch=arch, arch_kwargs={}, input_length=LENGTH,
        targets=["y"], task="regression",
    )  # fmt: skip


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def speed(arch: str, fasta: Path, size: int, anchor_size: int, threads: int) -> dict:
    """Throughputs over the first ``size`` bases (trunk) and ``anchor_size`` bases (anchors)."""
    import torch

    from seqsal.io.fasta import Genome
    from seqsal.models.load import load_model
    from seqsal.models.predict import predict
    from seqsal.scan.genome import scan
    from seqsal.sequence.onehot import codes, onehot_from_codes

    torch.set_num_threads(threads)
    model = load_model(saved_model(arch))
    pooling = model.module.head[0].modes
    region = f"chrS:0-{anchor_size}"
    # warm-up (allocator, numba one-hot kernels)
    for method in ("trunk", "windows"):  # numba one-hot kernels compile on first large use
        scan(model, fasta, stride=STRIDE, region="chrS:0-50000", method=method).to_frame()
    whole = f"chrS:0-{size}"
    trunk_s, trunk_cpu, trunk = timed(
        lambda: scan(model, fasta, stride=STRIDE, region=whole).to_frame()
    )
    fall_s, fall_cpu, fallback = timed(
        lambda: scan(model, fasta, stride=STRIDE, region=region, method="windows").to_frame()
    )
    with Genome(fasta) as genome:
        seq = codes(genome.fetch("chrS", 0, anchor_size + LENGTH))
    starts = fallback["start"].to_numpy()
    X = onehot_from_codes(seq[starts[:, None] + np.arange(LENGTH)])
    Xt = torch.from_numpy(X)

    def plain():
        forward = predict(model, Xt, batch_size=256, progress=False)
        reverse = predict(model, torch.flip(Xt, dims=(1, 2)), batch_size=256, progress=False)
        return (forward[:, 0] + reverse[:, 0]) / 2

    plain_s, plain_cpu, plain_scores = timed(plain)
    inside = trunk["start"] < anchor_size
    same = trunk[inside].reset_index(drop=True)
    diff = float(np.max(np.abs(same["score"].to_numpy() - fallback["score"].to_numpy())))
    diff_plain = float(np.max(np.abs(same["score"].to_numpy() - plain_scores)))
    rate = len(trunk) / trunk_s
    return {
        "method": scan(model, fasta, stride=STRIDE, region=whole).method,
        "head_pooling": list(pooling),
        "trunk_windows": len(trunk),
        "trunk_s": round(trunk_s, 2),
        "trunk_cpu_s": round(trunk_cpu, 2),
        "trunk_windows_per_s": round(rate),
        "anchor_windows": len(fallback),
        "fallback_windows_per_s": round(len(fallback) / fall_s),
        "fallback_cpu_s": round(fall_cpu, 2),
        "predict_windows_per_s": round(len(fallback) / plain_s),
        "predict_cpu_s": round(plain_cpu, 2),
        "ratio_vs_fallback": round(rate / (len(fallback) / fall_s), 2),
        "ratio_vs_predict": round(rate / (len(fallback) / plain_s), 2),
        "max_abs_diff": max(diff, diff_plain),
    }


def child_memory(fasta: str, model: str, threads: int) -> None:
    """Run ``seqsal scan`` in this process and print its peak RSS and time as JSON."""
    from seqsal.cli import main

    with tempfile.TemporaryDirectory(dir=CACHE) as folder:
        began = time.perf_counter()
        code = main(
            ["-q", "scan", "--model", model, "--fasta", fasta, "--stride", str(STRIDE),
             "--threads", str(threads), "--no-progress", "--out", f"{folder}/s.tsv.gz"]
        )  # fmt: skip
        seconds = time.perf_counter() - began
        size = os.path.getsize(f"{folder}/s.tsv.gz")
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rc": code, "peak_rss_mb": round(peak_kib / 1024, 1),
                      "seconds": round(seconds, 1), "out_bytes": size}))  # fmt: skip


def memory(sizes: list[int], threads: int) -> dict:
    model = saved_model("cnn")
    out = {}
    for size in sizes:
        fasta = chromosome_fasta(size)
        done = subprocess.run(
            [sys.executable, __file__, "--child-memory", str(fasta), str(model),
             "--threads", str(threads)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"memory run on {fasta} failed: {done.stderr.strip()[-2000:]}")
        line = [x for x in done.stdout.splitlines() if x.startswith("{")][-1]
        out[f"{size // 1_000_000}Mb"] = json.loads(line)
    first, last = (out[f"{s // 1_000_000}Mb"]["peak_rss_mb"] for s in (sizes[0], sizes[-1]))
    out["ratio"] = round(last / first, 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 Mb scan, memory 1 vs 10 Mb")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child-memory", nargs=2, metavar=("FASTA", "MODEL"))
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    if args.child_memory:
        child_memory(*args.child_memory, args.threads)
        return
    size, anchor = (1_000_000, 100_000) if args.quick else (10_000_000, 200_000)
    fasta = chromosome_fasta(size)
    result = {
        "benchmark": "scan_speed",
        "quick": args.quick,
        "threads": args.threads,
        "chromosome_bp": size,
        "window": LENGTH,
        "stride": STRIDE,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    result["cnn"] = speed("cnn", fasta, size, anchor, args.threads)
    # the dilated model is slower per base: a fifth of the chromosome, half the anchor
    result["dilated"] = speed("dilated", fasta, size // 5, anchor // 2, args.threads)
    if not args.skip_memory:
        sizes = [1_000_000, 10_000_000] if args.quick else [10_000_000, 100_000_000]
        result["memory"] = memory(sizes, args.threads)
    result["target_met"] = result["cnn"]["ratio_vs_fallback"] >= 3 and (
        "memory" not in result or result["memory"]["ratio"] < 1.5
    )
    result["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result))


if __name__ == "__main__":
    main()

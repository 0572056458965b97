"""DeepSHAP speed against tangermeme's ``deep_lift_shap``, and streaming memory (issue 18).

Speed, CPU, the same rows through both, in one process:

- models: the zoo CNN (``seqsal.models.zoo.build("cnn", input_length=300)``) and a BPNet-size
  model (``bpnetlite.BPNet(n_filters=64, n_layers=8)``, 2114 bp, its count head; tangermeme
  gets bpnet-lite's ``CountWrapper``), random weights (seed 0): time does not depend on them;
- ``same references``: both get the same 20 dinucleotide shuffles per region (hypothetical
  contributions, 32 example-reference pairs per call: tangermeme's default batch size);
- ``at defaults``: ``seqsal.dna.attribute_dna(model, X)`` at its defaults (the CLI's) against
  ``deep_lift_shap(model, X)`` at its defaults (20 shuffles it draws itself, 32 pairs per call,
  ``random_state=0``), each drawing its own references;
- the floor: one plain gradient (forward and backward, parameters frozen) per pair, 32 rows per
  call: what any method with one gradient pass per reference cannot beat.

seqsal sets glibc's malloc to keep freed blocks (``seqsal._runtime.keep_freed_memory``; the CLI
and ``deepshap`` do it); it is set before anything is timed, so tangermeme runs with the same
allocator (it gains a few per cent from it), the conservative comparison.

Memory: ``seqsal attribute --method deepshap`` (the CLI in a fresh process per size) on a zoo
CNN model folder (1,000 bp input), N and 10 N regions; peak RSS of each (flat when the 10 N run
is within 1.5x of the N run).

    nice .venv/bin/python benchmarks/deepshap_speed.py [--quick] [--threads 2]

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import warnings
from pathlib import Path

import torch
from attribution_speed import random_onehot
from bpnet_attribution import build_bpnet, random_onehot_2114
from store_memory import run_child, write_genome, write_regions

from seqsal._runtime import keep_freed_memory
from seqsal.attribution import Target, deepshap
from seqsal.sequence.shuffle import dinucleotide_shuffle

PAIRS = 32  # tangermeme's default batch size (pairs per call)
K = 20  # tangermeme's default number of shuffles
MEMORY_LENGTH = 1000


def best(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def floor(model, X, refs, target):
    """One forward and backward of the target per (example, reference) pair, PAIRS rows a call."""
    rows = refs.reshape(-1, *X.shape[1:])
    for p in model.parameters():
        p.requires_grad_(False)
    for start in range(0, len(rows), PAIRS):
        Z = rows[start : start + PAIRS].clone().requires_grad_(True)
        out = model(Z)
        value = out[target] if isinstance(out, tuple) else out[:, target]
        torch.autograd.grad(value.sum(), Z)


def compare(label, model, wrapper, X, target, tm_target, repeats):
    from tangermeme.deep_lift_shap import deep_lift_shap

    from seqsal.dna import attribute_dna, resolve_method

    n = len(X)
    refs = torch.as_tensor(dinucleotide_shuffle(X.numpy(), n=K, seed=0), dtype=torch.float32)
    ours_s, ours = best(
        lambda: deepshap(
            model, X, target=target, baseline=refs, hypothetical=True, batch_size=PAIRS,
            progress=False,
        ),
        repeats,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs_s, theirs = best(
            lambda: deep_lift_shap(
                wrapper, X, target=tm_target, references=refs, hypothetical=True,
                batch_size=PAIRS, warning_threshold=1e9, device="cpu",
            ),
            repeats,
        )  # fmt: skip
        tm_default_s, _ = best(
            lambda: deep_lift_shap(
                wrapper, X, target=tm_target, random_state=0, warning_threshold=1e9,
                device="cpu",
            ),
            repeats,
        )  # fmt: skip
    default_s, _ = best(
        lambda: attribute_dna(model, X, target=target, seed=0, progress=False), repeats
    )
    floor_s, _ = best(lambda: floor(model, X, refs, 1 if label == "bpnet" else 0), repeats)
    scale = float(theirs.abs().max())
    return {
        "model": label,
        "regions": n,
        "length": X.shape[-1],
        "references": K,
        "pairs_per_call": PAIRS,
        "seqsal_deepshap_s_per_region": round(ours_s / n, 5),
        "tangermeme_deep_lift_shap_s_per_region": round(theirs_s / n, 5),
        "ratio_tangermeme_over_seqsal": round(theirs_s / ours_s, 2),
        "floor_one_gradient_per_pair_s_per_region": round(floor_s / n, 5),
        "seqsal_over_floor": round(ours_s / floor_s, 2),
        "max_abs_difference_relative": float((ours.attributions - theirs).abs().max()) / scale,
        "max_abs_delta": float(ours.delta.abs().max()),
        "seqsal_default": resolve_method("auto", model),
        "seqsal_default_s_per_region": round(default_s / n, 5),
        "tangermeme_default_s_per_region": round(tm_default_s / n, 5),
        "ratio_tangermeme_default_over_seqsal_default": round(tm_default_s / default_s, 2),
    }


def memory(n_small, threads):
    from seqsal.models import zoo
    from seqsal.models.load import save_model

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        n_large = 10 * n_small
        fasta = write_genome(root, n_large, MEMORY_LENGTH)
        module = zoo.build("cnn", input_length=MEMORY_LENGTH, n_targets=1, seed=0)
        folder = save_model(
            module, root / "model", arch="cnn", arch_kwargs={}, input_length=MEMORY_LENGTH,
            targets=["activity"], task="regression",
        )  # fmt: skip
        runs = {}
        for label, n in (("small", n_small), ("large", n_large)):
            regions = root / f"{label}.bed"
            write_regions(regions, n, MEMORY_LENGTH, n_large)
            argv = [
                "attribute", "--model", str(folder), "--fasta", str(fasta), "--regions",
                str(regions), "--out", str(root / f"{label}.h5"), "--method", "deepshap",
                "--baseline", f"shuffle:{K}", "--no-progress",
            ]  # fmt: skip
            runs[label] = run_child(argv, label, threads) | {"n": n}
    small, large = runs["small"], runs["large"]
    return {
        "command": f"seqsal attribute --method deepshap --baseline shuffle:{K}",
        "model": f"zoo cnn, {MEMORY_LENGTH} bp",
        "n_small": n_small,
        "n_large": n_large,
        "small_peak_rss_mb": round(small["peak_rss_mb"], 1),
        "large_peak_rss_mb": round(large["peak_rss_mb"], 1),
        "peak_rss_ratio_large_vs_small": round(large["peak_rss_mb"] / small["peak_rss_mb"], 3),
        "seconds_small": round(small["seconds"], 1),
        "seconds_large": round(large["seconds"], 1),
        "flat_within_1_5x": large["peak_rss_mb"] <= 1.5 * small["peak_rss_mb"],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--repeats", type=int, default=2, help="best of this many runs")
    parser.add_argument("--memory-n", type=int, default=100, help="regions in the small run")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    keep_freed_memory()
    from seqsal.models import zoo

    cnn = zoo.build("cnn", input_length=300, n_targets=1, seed=0).eval()
    X = torch.as_tensor(random_onehot(16 if args.quick else 80, 1), dtype=torch.float32)
    results = {"speed": [compare("zoo cnn", cnn, cnn, X, 0, 0, args.repeats)]}
    from bpnetlite.bpnet import CountWrapper

    bpnet = build_bpnet()
    X = random_onehot_2114(2 if args.quick else 8, 1)
    results["speed"].append(
        compare("bpnet", bpnet, CountWrapper(bpnet).eval(), X, Target(output=1), 0, args.repeats)
    )
    if not args.skip_memory:
        results["memory"] = memory(10 if args.quick else args.memory_n, args.threads)
    results.update(threads=args.threads, torch=torch.__version__, cpu_count=os.cpu_count())
    print(json.dumps(results))


if __name__ == "__main__":
    main()

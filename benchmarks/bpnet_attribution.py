"""A BPNet-size model from bpnet-lite: attribution time per region and streaming memory.

The model is ``bpnetlite.BPNet(n_filters=64, n_layers=8, n_outputs=2, n_control_tracks=0,
trimming=557)``: 2114 bp input, a profile head ``(n, 2, 1000)`` and a log-counts head
``(n, 1)``, the shape of the published BPNet (Avsec et al. 2021) as bpnet-lite builds it.
Weights are random (seed 0): time does not depend on them.

For each head (counts: ``Target(output=1)``; profile: ``Target(output=0, reduce="profile")``)
and each method, the same rows run through seqsal and through the field's tools on
bpnet-lite's own ``CountWrapper`` / ``ProfileWrapper`` (what bpnet-lite's docs pass to
captum):

- ``grad_x_input``: seqsal vs captum ``InputXGradient`` vs tangermeme ``saliency`` (without
  its gradient correction, so all three compute the same numbers), and the floor (one
  ``torch.autograd.grad`` of the summed head, parameters frozen);
- ``ig``: Integrated Gradients with the same dinucleotide-shuffled references and steps,
  seqsal (at its default rows per call, and at captum's 64) vs captum (captum takes one
  reference per row, so each region is repeated k times);
- ``deep_lift_shap`` (context only): tangermeme's DeepLIFT/SHAP with 20 shuffles, the
  field's default attribution, which seqsal does not have yet.

Memory: ``seqsal attribute`` (the CLI, in a fresh process per size) on a TorchScript file of
the same model, counts head, grad x input, on N and 10 N regions of 2114 bp; peak RSS of each
(flat when the 10 N run is within 1.5x of the N run).

    nice .venv/bin/python benchmarks/bpnet_attribution.py [--quick] [--threads 2]

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from attribution_speed import best_time, captum_ig, floor_gradients
from store_memory import run_child, write_genome, write_regions

from seqsal.attribution import Target, grad_x_input, integrated_gradients
from seqsal.attribution._batching import rows_per_call
from seqsal.sequence.shuffle import dinucleotide_shuffle

LENGTH = 2114
CAPTUM_ROWS = 64  # captum's internal_batch_size for IG
TRIMMING = (2114 - 1000) // 2
HEADS = {"counts": Target(output=1), "profile": Target(output=0, reduce="profile")}


def build_bpnet():
    import bpnetlite

    torch.manual_seed(0)
    model = bpnetlite.BPNet(
        n_filters=64, n_layers=8, n_outputs=2, n_control_tracks=0, trimming=TRIMMING, verbose=False
    )
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def wrappers(model):
    from bpnetlite.bpnet import CountWrapper, ProfileWrapper

    return {"counts": CountWrapper(model).eval(), "profile": ProfileWrapper(model).eval()}


def references(X, k, seed):
    refs = dinucleotide_shuffle(X.numpy(), n=k, seed=seed)
    return torch.as_tensor(refs, dtype=torch.float32)


def per_region(seconds, n):
    return round(seconds / n, 4)


def time_head(model, wrapper, target, n_grad, n_ig, steps, k, repeats):
    from captum.attr import InputXGradient
    from tangermeme.deep_lift_shap import deep_lift_shap
    from tangermeme.saliency import saliency

    out = {}
    X = random_onehot_2114(n_grad, 1)
    rows = n_grad
    floor, _ = best_time(lambda: floor_gradients(wrapper, X, rows), repeats)
    ours, _ = best_time(lambda: grad_x_input(model, X, target=target, batch_size=rows), repeats)
    capt, _ = best_time(
        lambda: InputXGradient(wrapper).attribute(X.clone().requires_grad_(), target=0), repeats
    )
    tang, _ = best_time(
        lambda: saliency(wrapper, X, batch_size=rows, gradient_correction=False), repeats
    )
    out["grad_x_input"] = {
        "n": n_grad,
        "seconds_per_region": {
            "floor": per_region(floor[0], n_grad),
            "seqsal": per_region(ours[0], n_grad),
            "captum": per_region(capt[0], n_grad),
            "tangermeme": per_region(tang[0], n_grad),
        },
        "seqsal_vs_floor": round(floor[0] / ours[0], 3),
        "seqsal_vs_captum": round(capt[0] / ours[0], 3),
        "seqsal_vs_tangermeme": round(tang[0] / ours[0], 3),
    }

    X = random_onehot_2114(n_ig, 2)
    refs = references(X, k, seed=3)
    ours, _ = best_time(
        lambda: integrated_gradients(
            model, X, target=target, baseline=refs, steps=steps, rule="riemann_middle"
        ),
        repeats,
    )
    same_rows, _ = best_time(
        lambda: integrated_gradients(
            model, X, target=target, baseline=refs, steps=steps, rule="riemann_middle",
            batch_size=CAPTUM_ROWS,
        ),
        repeats,
    )  # fmt: skip
    capt, _ = best_time(
        lambda: captum_ig(wrapper, X, refs, steps, "riemann_middle", CAPTUM_ROWS), repeats
    )
    out["ig"] = {
        "n": n_ig,
        "steps": steps,
        "references": k,
        "seqsal_rows_per_call": rows_per_call(model, X[:1], n=n_ig * k * steps),
        "seconds_per_region": {
            "seqsal": per_region(ours[0], n_ig),
            "seqsal_same_rows_as_captum": per_region(same_rows[0], n_ig),
            "captum": per_region(capt[0], n_ig),
        },
        "seqsal_vs_captum": round(capt[0] / ours[0], 3),
        "seqsal_same_rows_vs_captum": round(capt[0] / same_rows[0], 3),
    }

    dls, _ = best_time(
        lambda: deep_lift_shap(
            wrapper, X, n_shuffles=20, batch_size=32, random_state=0, warning_threshold=1e9
        ),
        1,
    )
    out["tangermeme_deep_lift_shap_20_shuffles_seconds_per_region"] = per_region(dls[0], n_ig)
    return out


def random_onehot_2114(n, seed):
    """``(n, 4, 2114)`` random one-hot rows (float32)."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, 4, LENGTH), dtype=np.float32)
    X[np.arange(n)[:, None], rng.integers(0, 4, (n, LENGTH)), np.arange(LENGTH)[None, :]] = 1
    return torch.from_numpy(X)


def memory(model, n_small, threads):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        n_large = 10 * n_small
        fasta = write_genome(root, n_large, LENGTH)
        scripted = torch.jit.trace(model, torch.zeros(1, 4, LENGTH))
        model_file = root / "bpnet.pt"
        scripted.save(str(model_file))
        runs = {}
        for label, n in (("floor", 1), ("small", n_small), ("large", n_large)):
            regions = root / f"{label}.bed"
            write_regions(regions, n, LENGTH, n_large)
            argv = [
                "attribute", "--model", str(model_file), "--width", str(LENGTH), "--output", "1",
                "--fasta", str(fasta), "--regions", str(regions), "--out", str(root / f"{label}.h5"),
                "--method", "grad_x_input", "--no-progress",
            ]  # fmt: skip
            runs[label] = run_child(argv, label, threads) | {"n": n}
    small, large, floor = runs["small"], runs["large"], runs["floor"]
    return {
        "method": "grad_x_input",
        "head": "counts (--output 1)",
        "n_small": n_small,
        "n_large": n_large,
        "floor_peak_rss_mb": round(floor["peak_rss_mb"], 1),
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
    parser.add_argument("--steps", type=int, default=16, help="IG steps on both sides")
    parser.add_argument("--references", type=int, default=4, help="IG shuffled references")
    parser.add_argument("--memory-n", type=int, default=200, help="regions in the small run")
    parser.add_argument(
        "--part", choices=["all", "time", "memory"], default="all", help="what to measure"
    )
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    torch.set_num_threads(args.threads)
    model = build_bpnet()
    report = {
        "benchmark": "bpnet_attribution",
        "quick": args.quick,
        "threads": args.threads,
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "model": "bpnetlite.BPNet(n_filters=64, n_layers=8, n_outputs=2, trimming=557)",
        "length": LENGTH,
    }
    n_grad, n_ig, repeats = (4, 1, 1) if args.quick else (32, 4, 2)
    if args.part in ("all", "time"):
        for name, wrapper in wrappers(model).items():
            report[name] = time_head(
                model, wrapper, HEADS[name], n_grad, n_ig, args.steps, args.references, repeats
            )
    if args.part in ("all", "memory"):
        report["memory"] = memory(model, 10 if args.quick else args.memory_n, args.threads)
    report["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

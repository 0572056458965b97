"""Model quality on planted data: does ``seqsal train`` learn the simulated grammar?

Simulates 8,000 regions x 300 bp with the six default JASPAR motifs (five activators, one
repressor, one cooperative pair), runs ``seqsal train --targets activity`` with default
settings (test = the last chromosome, validation = the one before), and prints one JSON line:
test Pearson r (the bar is >= 0.8), Spearman, validation r, epochs, time, and the anchor
measured in the same run: the Pearson r between the noise-free planted activity (sum of
planted effects + cooperative bonus, from ``planted.bed`` and ``truth.tsv``) and the noisy
activity on the test chromosome, the best any model could reach.

Usage::

    nice .venv/bin/python benchmarks/train_quality.py [--regions 8000] [--length 300] [--seed 0]
        [--arch cnn] [--device cpu] [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def noise_free_activity(sim_dir: Path, regions: pd.DataFrame) -> np.ndarray:
    """Sum of planted effects (+ cooperative bonus once per region holding both partners)."""
    truth = pd.read_csv(sim_dir / "truth.tsv", sep="\t")
    planted = pd.read_csv(sim_dir / "planted.bed", sep="\t")
    effect = dict(zip(truth["motif_id"], truth["effect"], strict=True))
    planted["effect"] = planted["motif_id"].map(effect)
    total = planted.groupby("region")["effect"].sum()
    value = regions["name"].map(total).fillna(0.0).to_numpy(dtype=float)
    pairs = truth[truth["cooperative_partner"].notna() & (truth["cooperative_bonus"] > 0)]
    if len(pairs):
        a, b, bonus = pairs.iloc[0][["motif_id", "cooperative_partner", "cooperative_bonus"]]
        has = planted.groupby("region")["motif_id"].agg(set)
        both = regions["name"].map(lambda r: r in has.index and a in has[r] and b in has[r])
        value = value + bonus * both.to_numpy(dtype=float)
    return value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=8000)
    parser.add_argument("--length", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--arch", default="cnn")
    parser.add_argument("--device", default=None)
    parser.add_argument("--keep", default=None, help="keep the simulated data and model here")
    args = parser.parse_args(argv)

    from seqsal.cli import main as seqsal_main
    from seqsal.io.bed import read_bed
    from seqsal.models.metrics import pearson
    from seqsal.sequence.synthetic import simulate

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="seqsal-train-quality-"))
    sim = simulate(work / "sim", n_regions=args.regions, region_length=args.length, seed=args.seed)
    out = work / "model"
    command = [
        "-q",
        "train",
        "--fasta",
        str(sim.genome),
        "--regions",
        str(sim.regions),
        "--out",
        str(out),
    ]
    command += [
        "--targets",
        "activity",
        "--arch",
        args.arch,
        "--seed",
        str(args.seed),
        "--no-progress",
    ]
    if args.device:
        command += ["--device", args.device]
    began = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # the CLI's summary line; stdout is the JSON
        code = seqsal_main(command)
    seconds = time.perf_counter() - began
    if code != 0:
        print(json.dumps({"benchmark": "train_quality", "error": f"seqsal train exited {code}"}))
        return 1
    metrics = json.loads((out / "metrics.json").read_text())
    regions = read_bed(sim.regions)
    test = regions["chrom"].isin(metrics["splits"]["test"]["chroms"]).to_numpy()
    ceiling = pearson(
        noise_free_activity(work / "sim", regions)[test], regions["activity"].to_numpy()[test]
    )
    r = metrics["test"]["pearson"]["activity"]
    result = {
        "benchmark": "train_quality",
        "regions": args.regions,
        "length": args.length,
        "arch": args.arch,
        "seed": args.seed,
        "test_chroms": metrics["splits"]["test"]["chroms"],
        "n_train": metrics["splits"]["train"]["n"],
        "n_test": metrics["splits"]["test"]["n"],
        "test_pearson": r,
        "test_spearman": metrics["test"]["spearman"]["activity"],
        "val_pearson": metrics["val"]["pearson"]["activity"],
        "bar": 0.8,
        "ratio_to_bar": round(r / 0.8, 4),
        "noise_free_pearson": round(ceiling, 4),
        "ratio_to_noise_free": round(r / ceiling, 4),
        "epochs_run": metrics["epochs_run"],
        "best_epoch": metrics["best_epoch"],
        "train_seconds": round(seconds, 1),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

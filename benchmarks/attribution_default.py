"""Which attribution should be seqsal's default: accuracy and time per region, method by method.

On two planted-motif benchmarks, each method and budget attributes the same held-out regions
and one dinucleotide-shuffled copy of each (the seqlet null, as ``seqsal attribute
--shuffle-control`` makes it); seqlets are called at seqsal's defaults (FDR 0.05, shuffled
null) and scored against the planted instances; motifs are discovered from them and matched
to JASPAR; deletion curves measure faithfulness.

Benchmarks (the simulation is ``motif_recovery.py``'s: 8,000 regions x 300 bp, five JASPAR
activators and the REST repressor, seed 0; its cache under ``benchmarks/out/motif_recovery``
is reused):

- ``seqsal-trained``: the model ``seqsal train`` makes on it (motif_recovery.py's);
- ``plain-cnn``: a model seqsal did not train: a plain CNN (two conv / ReLU / max-pool blocks,
  a dense layer) on the 300 bp regions without flanks, trained here for a few epochs with
  another recipe (Adam, MSE on the standardised activity, batch 64, no early stopping, no
  reverse-complement augmentation), which leaves it weaker than seqsal's.

Methods: ``grad_x_input``; Integrated Gradients at several (steps x references) budgets, the
first being seqsal's default before issue 18 (32 x 10); DeepSHAP (DeepLIFT rescale, averaged
over k dinucleotide shuffles) at k = 5, 10, 20.  Each row reports seconds per region (the
regions only, not the null; same process, 2 threads, best of one), seqlet recall (planted
instances >= 50 % covered by a seqlet of their sign) and precision (seqlets overlapping an
instance of their sign), motifs recovered (rank-1 JASPAR match of that TF or family, q <
0.05; the repressor as a negative motif), and the mean deletion AUC of the projected
contributions (positions replaced by a dinucleotide shuffle in attribution order, 20 steps,
raw model output; lower is more faithful) with the same for random orders.

    nice .venv/bin/python benchmarks/attribution_default.py [--regions 600] [--quick]

Prints one JSON line per benchmark and method, then a summary line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from motif_recovery import motif_scores, planted_instances, prepare, seqlet_scores

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "attribution_default"

CONFIGS = [
    ("grad_x_input", {"method": "grad_x_input"}),
    ("ig 32x10", {"method": "ig", "steps": 32, "baseline": "shuffle:10"}),
    ("ig 16x4", {"method": "ig", "steps": 16, "baseline": "shuffle:4"}),
    ("ig 8x2", {"method": "ig", "steps": 8, "baseline": "shuffle:2"}),
    ("ig 4x2", {"method": "ig", "steps": 4, "baseline": "shuffle:2"}),
    ("deepshap 5", {"method": "deepshap", "baseline": "shuffle:5"}),
    ("deepshap 10", {"method": "deepshap", "baseline": "shuffle:10"}),
    ("deepshap 20", {"method": "deepshap", "baseline": "shuffle:20"}),
    ("seqsal default", {}),
    ("tangermeme deep_lift_shap 20", {"anchor": "tangermeme"}),
]


class _Attributions:
    """The two arrays seqsal's DNA layer returns, for an anchor's attributions."""

    def __init__(self, hypothetical, X):
        self.hypothetical = hypothetical
        self.projected = hypothetical * X
        self.delta = None


def tangermeme_default(model, X, seed):
    """tangermeme's ``deep_lift_shap`` at its defaults (20 shuffles it draws, 32 pairs a call)."""
    import warnings

    from tangermeme.deep_lift_shap import deep_lift_shap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        H = deep_lift_shap(
            model, torch.from_numpy(X), hypothetical=True, random_state=seed, device="cpu",
            warning_threshold=1e9,
        )  # fmt: skip
    return _Attributions(H.numpy(), X)


class PlainCNN(torch.nn.Module):
    """Two conv / ReLU / max-pool blocks and a dense layer: the textbook DNA regressor."""

    def __init__(self, length: int = 300):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv1d(4, 64, 15, padding=7),
            torch.nn.ReLU(),
            torch.nn.MaxPool1d(4),
            torch.nn.Conv1d(64, 64, 7, padding=3),
            torch.nn.ReLU(),
            torch.nn.MaxPool1d(4),
        )
        self.head = torch.nn.Sequential(
            torch.nn.Flatten(),
            torch.nn.Linear(64 * (length // 16), 64),
            torch.nn.ReLU(),
            torch.nn.Linear(64, 1),
        )

    def forward(self, x):
        return self.head(self.features(x))


def region_onehot(sim_dir: Path, chroms=None):
    """The simulation's 300 bp regions (no flanks) as one-hot, with the regions table."""
    from seqsal.io.bed import read_bed
    from seqsal.io.fasta import open_genome
    from seqsal.sequence.windows import extract_onehot, make_windows

    regions = read_bed(sim_dir / "regions.bed")
    if chroms is not None:
        regions = regions[regions["chrom"].isin(chroms)].reset_index(drop=True)
    with open_genome(sim_dir / "genome.fa") as genome:
        windows = make_windows(regions, 300, chrom_sizes=genome.chrom_sizes)
        X = extract_onehot(genome, windows)
    return X, windows


def train_plain_cnn(sim_dir: Path, test_chroms, epochs: int, seed: int) -> tuple[PlainCNN, float]:
    """Train :class:`PlainCNN` on the non-test chromosomes; return it and its test Pearson r."""
    path = OUT / f"plain_cnn_seed{seed}_epochs{epochs}.pt"
    truth = pd.read_csv(sim_dir / "regions.bed", sep="\t")
    X, windows = region_onehot(sim_dir)
    y = truth.set_index("name").loc[windows["name"], "activity"].to_numpy(np.float32)
    test = windows["chrom"].isin(test_chroms).to_numpy()
    mean, sd = y[~test].mean(), y[~test].std()
    y = (y - mean) / sd
    torch.manual_seed(seed)
    model = PlainCNN()
    if path.exists():
        model.load_state_dict(torch.load(path))
    else:
        rng = np.random.default_rng(seed)
        Xt, yt = torch.from_numpy(X[~test]), torch.from_numpy(y[~test])
        optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
        for _ in range(epochs):
            order = torch.from_numpy(rng.permutation(len(Xt)))
            for i in range(0, len(order), 64):
                rows = order[i : i + 64]
                loss = torch.nn.functional.mse_loss(model(Xt[rows])[:, 0], yt[rows])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        OUT.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), path)
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(X[test]))[:, 0].numpy()
    return model, float(np.corrcoef(pred, y[test])[0, 1])


def planted_benchmark():
    """``motif_recovery.py``'s cached simulation and model (made on first use): its info dict."""
    return prepare(
        HERE / "out" / "motif_recovery", n_regions=8000, seed=0, reuse=True, steps=32, refs=10,
        clean=False,
    )  # fmt: skip


def load_benchmark(bench: str, info: dict, n: int, *, epochs: int = 8, seed: int = 0):
    """``(model, test r, X, windows)`` of the first ``n`` held-out regions of a benchmark.

    ``"seqsal-trained"``: the model ``seqsal train`` made, on its windows (regions and
    flanks); ``"plain-cnn"``: :class:`PlainCNN` trained here, on the 300 bp regions.
    """
    from seqsal.models.load import load_model

    sim_dir = Path(info["sim_dir"])
    if bench == "seqsal-trained":
        model, quality = load_model(info["model_dir"]).module, info["test_pearson"]
        d = np.load(info["attributions"])
        windows = pd.DataFrame({c: d[c][:n] for c in ("chrom", "start", "end", "strand", "name")})
        return model, quality, d["X"][:n], windows
    model, quality = train_plain_cnn(sim_dir, info["test_chroms"], epochs, seed)
    X, windows = region_onehot(sim_dir, info["test_chroms"])
    return model, quality, X[:n], windows.iloc[:n].reset_index(drop=True)


def score(model, X, X_null, windows, sim_dir, truth, config, *, seed, n_deletion):
    """Attribute, call seqlets, discover motifs and run deletion curves for one config."""
    from seqsal.dna import attribute_dna
    from seqsal.evaluate.faithfulness import deletion_curves
    from seqsal.motifs.discover import discover
    from seqsal.motifs.match import match
    from seqsal.seqlets import call_seqlets

    if config.get("anchor") == "tangermeme":

        def run(inputs):
            return tangermeme_default(model, inputs, seed)
    else:

        def run(inputs):
            return attribute_dna(model, inputs, **config, seed=seed, progress=False)

    t = time.perf_counter()
    attr = run(X)
    seconds = time.perf_counter() - t
    null = run(X_null)
    planted = planted_instances(sim_dir, windows["name"].to_numpy(), windows["start"].to_numpy())
    coords = windows[["chrom", "start", "end", "strand", "name"]].reset_index(drop=True)
    called = call_seqlets(
        attr.projected, null=null.projected, coords=coords, fdr=0.05, progress=False
    ).table
    row = {"seconds_per_region": round(seconds / len(X), 5)}
    if hasattr(attr, "method"):
        row["method"] = attr.method
    row["seqlets"] = {
        k: v for k, v in seqlet_scores(called, planted).items() if k != "recall_per_motif"
    }
    motifs = (
        discover(
            called, X, attr.hypothetical, attr.projected, coords=coords, seed=seed, progress=False
        )
        if len(called)
        else []
    )
    table = match(motifs) if motifs else pd.DataFrame(columns=["motif", "rank", "sign"])
    scored = motif_scores(table, truth)
    row["motifs"] = {k: scored[k] for k in ("recovered", "of", "repressor_as_negative")}
    curves = deletion_curves(
        model, X[:n_deletion], attr.projected[:n_deletion], steps=20, n_random=1, seed=seed,
        score="raw", progress=False,
    )  # fmt: skip
    row["deletion_auc"] = round(float(np.mean(curves.auc)), 4)
    row["deletion_auc_random"] = round(float(np.mean(curves.random_auc)), 4)
    if attr.delta is not None:
        row["max_abs_delta"] = float(np.abs(attr.delta).max())
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=600, help="held-out regions per benchmark")
    parser.add_argument("--deletion-regions", type=int, default=150)
    parser.add_argument("--epochs", type=int, default=8, help="the plain CNN's epochs")
    parser.add_argument("--seed", type=int, default=0, help="the plain CNN's training seed")
    parser.add_argument(
        "--attribution-seeds",
        type=int,
        nargs="*",
        default=[0],
        help="seeds of the references and the null (one row per seed and config)",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="config names to run (default: all)")
    parser.add_argument("--benchmarks", nargs="*", default=["seqsal-trained", "plain-cnn"])
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from seqsal.sequence.shuffle import dinucleotide_shuffle

    info = planted_benchmark()
    sim_dir = Path(info["sim_dir"])
    truth = pd.read_csv(sim_dir / "truth.tsv", sep="\t")
    configs = [c for c in CONFIGS if not args.only or c[0] in args.only]
    for bench in args.benchmarks:
        model, quality, X, windows = load_benchmark(
            bench, info, args.regions, epochs=args.epochs, seed=args.seed
        )
        for seed in args.attribution_seeds:
            X_null = dinucleotide_shuffle(X, n=1, seed=seed + 1)[:, 0]
            for name, config in configs:
                row = score(
                    model, X, X_null, windows, sim_dir, truth, config, seed=seed,
                    n_deletion=args.deletion_regions,
                )  # fmt: skip
                row = {
                    "benchmark": bench, "test_pearson": round(float(quality), 3), "config": name,
                    "seed": seed, **row,
                }  # fmt: skip
                print(json.dumps(row), flush=True)
    print(json.dumps({"threads": args.threads, "regions": args.regions, "cpu": os.cpu_count(),
                      "python": sys.version.split()[0], "torch": torch.__version__}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

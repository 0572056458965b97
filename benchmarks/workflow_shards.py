"""Sharded attribution through the workflow: 4 shards on 2 cores vs one shard, and start-up cost.

Simulates a planted-motif data set, saves an untrained zoo CNN (attribution cost does not
depend on training), then runs the packaged Snakemake workflow up to the merged store
(``results/<sample>/attr.h5``: shard_regions + attribute + merge) twice per repeat, in
alternation:

* one shard holding every region, its job given both cores (``threads.attribute: 2``);
* the same one shard with one thread (torch's intra-op threading gains little on these
  small convolutions and costs CPU, so this is the stricter anchor);
* four shards, one core each, two running at a time (``--cores 2``).

Anchors: the one-shard runs; the figures are the ratios four/one (best of ``--repeats``).
The per-job start-up cost (interpreter, imports, model load, numba/torch warm-up) is the wall
time of ``seqsal attribute`` on 2 regions, given as a share of the one-shard attribute job.

With ``--run-dir DIR`` (a finished ``seqsal run`` folder) it also reads every rule's
``benchmark:`` file there and reports wall seconds per rule, and the start-up share per rule:
the same command on 2 regions, divided by the rule's time.

    nice .venv/bin/python benchmarks/workflow_shards.py [--regions 2000] [--steps 8]
        [--repeats 2] [--run-dir RUN]

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from seqsal.pipeline import workflow_dir

BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")])}


def _seqsal(*args: str, cwd: Path | None = None) -> float:
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "seqsal", "-q", *args],
        check=True,
        cwd=cwd,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - began


def _inputs(root: Path, n_regions: int) -> tuple[Path, Path, Path]:
    from seqsal.models import zoo
    from seqsal.models.load import save_model

    _seqsal("simulate", "--out", str(root / "data"), "--n-regions", str(n_regions), "--seed", "0")
    model = zoo.build("cnn", input_length=300, n_targets=1, seed=0)
    save_model(
        model,
        root / "model",
        arch="cnn",
        arch_kwargs={},
        input_length=300,
        targets=["activity"],
        task="regression",
    )
    return root / "data" / "genome.fa", root / "data" / "regions.bed", root / "model"


def _workflow(run_dir: Path, config: dict, cores: int) -> float:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    began = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--snakefile",
            str(workflow_dir() / "Snakefile"),
            "--directory",
            str(run_dir),
            "--configfile",
            str(run_dir / "config.yaml"),
            "--cores",
            str(cores),
            f"results/{config['sample']}/attr.h5",
        ],
        check=True,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - began


def _benchmark_seconds(path: Path) -> float:
    with open(path) as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return float(rows[-1]["s"])


def _rule_times(run_dir: Path) -> dict[str, float]:
    """Wall seconds per rule of a finished run (shard jobs summed), from benchmark files."""
    times: dict[str, float] = {}
    for path in sorted(run_dir.glob("results/*/benchmarks/*.tsv")):
        rule = path.stem.split(".")[0]
        times[rule] = round(times.get(rule, 0.0) + _benchmark_seconds(path), 2)
    return times


def _startup_costs(root: Path, run_dir: Path | None, genome, regions, model) -> dict[str, float]:
    """Wall seconds of each stage's command on 2 regions: its fixed start-up cost."""
    small = root / "small"
    small.mkdir()
    lines = Path(regions).read_text().splitlines()
    (small / "regions.bed").write_text("\n".join(lines[:3]) + "\n")
    bed = str(small / "regions.bed")
    costs = {
        "attribute": _seqsal(
            "attribute",
            "--model",
            str(model),
            "--fasta",
            str(genome),
            "--regions",
            bed,
            "--out",
            str(small / "a.h5"),
            "--steps",
            "2",
            "--baseline",
            "shuffle:1",
            "--no-progress",
        ),
        "predict": _seqsal(
            "predict",
            "--model",
            str(model),
            "--fasta",
            str(genome),
            "--regions",
            bed,
            "--out",
            str(small / "p.tsv"),
            "--no-progress",
        ),
        "merge": _seqsal("merge", "--out", str(small / "m.h5"), str(small / "a.h5")),
        "extract": _seqsal(
            "extract",
            "--fasta",
            str(genome),
            "--regions",
            bed,
            "--width",
            "300",
            "--out",
            str(small / "s.fa"),
        ),
    }
    # Stages after attribution start from a finished run's files, when one is given.
    if run_dir is not None:
        sample = next(run_dir.glob("results/*/attr.h5")).parent
        costs["seqlets"] = _seqsal(
            "seqlets",
            "--store",
            str(small / "a.h5"),
            "--out",
            str(small / "s.bed"),
            "--no-progress",
        )
        costs["report"] = _seqsal(
            "report",
            "--store",
            str(small / "a.h5"),
            "--out",
            str(small / "r.html"),
            "--gallery-regions",
            "1",
            "--no-checksums",
        )
        costs["motifs"] = _seqsal(
            "motifs",
            "--store",
            str(sample / "attr.h5"),
            "--seqlets",
            str(small / "s.bed"),
            "--out",
            str(small / "motifs"),
            "--no-progress",
        )
    return {k: round(v, 2) for k, v in costs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=2000, help="regions attributed")
    parser.add_argument("--steps", type=int, default=8, help="IG steps")
    parser.add_argument("--shuffles", type=int, default=4, help="shuffled references per region")
    parser.add_argument("--repeats", type=int, default=2, help="alternating repeats (best kept)")
    parser.add_argument("--run-dir", type=Path, default=None, help="finished seqsal run folder")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="seqsal-wfbench-") as tmp:
        root = Path(tmp)
        genome, regions, model = _inputs(root, args.regions)
        base = {
            "genome": str(genome),
            "regions": str(regions),
            "model": str(model),
            "predict": {"enabled": False},
            "attribute": {
                "steps": args.steps,
                "baseline": f"shuffle:{args.shuffles}",
                "shuffle_control": False,
            },
        }
        runs: dict[str, list[float]] = {"one": [], "one_1thread": [], "four": []}
        settings = {
            # name: (shards, threads per attribute job)
            "one": (1, 2),
            "one_1thread": (1, 1),
            "four": (4, 1),
        }
        for repeat in range(args.repeats):
            for name, (shards, threads) in settings.items():
                cfg = {**base, "sample": name, "threads": {"attribute": threads}}
                cfg["attribute"] = {**base["attribute"], "shard_size": -(-args.regions // shards)}
                runs[name].append(_workflow(root / f"{name}{repeat}", cfg, cores=2))
        one, four = runs["one"], runs["four"]
        one_job = _benchmark_seconds(root / "one0/results/one/benchmarks/attribute.attr.0.tsv")
        startup = _startup_costs(root, args.run_dir, genome, regions, model)
        result = {
            "benchmark": "workflow_shards",
            "regions": args.regions,
            "steps": args.steps,
            "shuffles": args.shuffles,
            "cores": 2,
            "one_shard_s": round(min(one), 2),
            "four_shards_s": round(min(four), 2),
            "ratio_four_vs_one": round(min(four) / min(one), 3),
            "one_shard_1thread_s": round(min(runs["one_1thread"]), 2),
            "ratio_four_vs_one_1thread": round(min(four) / min(runs["one_1thread"]), 3),
            "attribute_startup_s": startup["attribute"],
            "attribute_startup_share": round(startup["attribute"] / one_job, 3),
            "startup_s": startup,
        }
        if args.run_dir is not None:
            rules = _rule_times(args.run_dir)
            result["run_rule_s"] = rules
            counts = {
                rule: len(list(args.run_dir.glob(f"results/*/benchmarks/{rule}.*tsv")))
                + len(list(args.run_dir.glob(f"results/*/benchmarks/{rule}.tsv")))
                for rule in rules
            }
            result["run_startup_share"] = {
                rule: round(startup[rule] * counts[rule] / rules[rule], 3)
                for rule in rules
                if rule in startup and rules[rule] > 0
            }
        print(json.dumps(result))


if __name__ == "__main__":
    main()

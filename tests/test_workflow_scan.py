"""The workflow's scan mode: a real Snakemake run on a tiny simulated genome.

Scan in (chromosome, chunk) shards, call candidates, explain the top ones with the regions
chain (attribute, merge, seqlets, motifs, report). Checked against an unsharded ``seqsal scan``
of the same model (the oracle for sharding), and for the properties the stages promise.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _toys import job_stats, write_config

from seqsal.io.bed import read_bed
from seqsal.io.fasta import open_genome
from seqsal.io.store import open_store
from seqsal.models.load import load_model
from seqsal.pipeline import workflow_dir

pytestmark = pytest.mark.slow

WORKFLOW = workflow_dir()
ENV = {
    **os.environ,
    "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
}
CHROMS = ["chr1", "chr2"]
# Not a multiple of the stride (shards must still keep one grid of windows); every chunk holds
# scorable windows (a chunk wholly inside a chromosome's end run of N gives a header-only
# shard, which seqsal candidates refuses for now).
CHUNK = 6505
STRIDE = 10
TOP = 10


def seqsal(*args: str, cwd=None, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "seqsal", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=ENV,
        timeout=timeout,
    )


def scan_config(data: Path, path: Path, **scan) -> Path:
    return write_config(
        path,
        mode="scan",
        genome=str(data / "genome.fa"),
        regions=str(data / "regions.bed"),
        sample="s",
        train={"targets": "activity", "epochs": 1, "patience": 1, "seed": 0},
        scan={
            "chroms": ",".join(CHROMS),
            "chunk_size": CHUNK,
            "stride": STRIDE,
            "threshold": "quantile",
            "quantile": 0.8,
            "null_windows": 2000,
            "top": TOP,
            **scan,
        },
        predict={"enabled": False},
        attribute={
            "steps": 2,
            "baseline": "shuffle:1",
            "shard_size": 6,
            "shuffle_control": False,
            "seed": 0,
        },
        seqlets={"fdr": 0.2},
        motifs={"min_seqlets": 3},
        report={"n_regions": 2},
    )


def read_scores(paths) -> pd.DataFrame:
    frames = [pd.read_csv(p, sep="\t", compression="gzip") for p in paths]
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def data(workflow_sim) -> Path:
    """The shared simulation (read only)."""
    return workflow_sim


@pytest.fixture(scope="module")
def scan_run(data, tmp_path_factory):
    """Scan mode end to end through `seqsal run` (trains a model on the regions)."""
    run_dir = tmp_path_factory.mktemp("scanrun")
    config = scan_config(data, run_dir / "scan.yaml")
    result = seqsal("run", "--config", str(config), "--directory", str(run_dir), "--cores", "2")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return run_dir, result


def test_dry_run_plans_one_scan_job_per_chunk(data, tmp_path):
    config = scan_config(data, tmp_path / "c.yaml")
    result = seqsal("run", "--config", str(config), "--directory", str(tmp_path), "--dry-run")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout + result.stderr
    with open_genome(data / "genome.fa") as genome:
        sizes = genome.chrom_sizes
    stats = job_stats(out)
    # Attribution jobs appear once the checkpoint has counted the candidates.
    assert stats == {
        "train": 1,
        "scan": sum(math.ceil(sizes[c] / CHUNK) for c in CHROMS),
        "candidates": 1,
        "scan_regions": 1,
        "merge": 1,
        "seqlets": 1,
        "motifs": 1,
        "logos": 1,
        "report": 1,
        "all": 1,
        "total": stats["total"],
    }
    for chrom in CHROMS:
        assert f"results/s/scan/{chrom}.0.tsv.gz" in out
    assert "results/s/scan/chr3" not in out
    assert "checkpoint" in out
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"scan": {"strand": "both"}}, "scan.strand: 'both'; expected one of mean, max"),
        ({"scan": {"chroms": "chr1,chrX"}}, "chrX not in the genome"),
    ],
)
def test_bad_scan_config_is_refused(data, tmp_path, settings, expected):
    config = write_config(
        tmp_path / "bad.yaml",
        mode="scan",
        genome=str(data / "genome.fa"),
        regions=str(data / "regions.bed"),
        **settings,
    )
    result = seqsal("run", "--config", str(config), "--directory", str(tmp_path), "--dry-run")
    assert result.returncode != 0
    assert expected in result.stdout + result.stderr


def test_scan_mode_needs_a_model_source(data, tmp_path):
    config = write_config(tmp_path / "c.yaml", mode="scan", genome=str(data / "genome.fa"))
    result = seqsal("run", "--config", str(config), "--directory", str(tmp_path), "--dry-run")
    assert result.returncode != 0
    assert "scan mode needs a model" in result.stdout + result.stderr


def test_relative_scan_regions_found_next_to_the_config(data, tmp_path):
    """seqsal run resolves scan.regions like the top-level paths, keeping the scan block."""
    folder = tmp_path / "configs"
    folder.mkdir()
    (folder / "spans.bed").write_text("chr2\t100\t6000\n")
    config = scan_config(data, folder / "c.yaml", regions="spans.bed", chroms="chr1,chr2")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = seqsal(
        "run",
        "--config",
        str(config),
        "--directory",
        str(tmp_path / "run"),
        "--dry-run",
        "--",
        "--printshellcmds",
        cwd=elsewhere,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout + result.stderr
    # Only chr2 holds spans; its one chunk scans inside the spans, read from the config's folder.
    assert job_stats(out)["scan"] == 1
    assert f"--regions {folder / 'spans.bed'}" in out
    assert f"--region chr2:0-{CHUNK}" in out


def test_shards_cover_each_chromosome_once(scan_run, data, tmp_path):
    """The shards' union is exactly one unsharded `seqsal scan` of the same model."""
    run_dir, _ = scan_run
    results = run_dir / "results" / "s"
    shards = sorted((results / "scan").glob("*.tsv.gz"))
    with open_genome(data / "genome.fa") as genome:
        sizes = genome.chrom_sizes
    assert len(shards) == sum(math.ceil(sizes[c] / CHUNK) for c in CHROMS)
    sharded = read_scores(shards)
    assert not sharded.duplicated(["chrom", "start"]).any()

    whole = tmp_path / "whole.tsv.gz"
    result = seqsal(
        "scan",
        "--model",
        str(results / "model"),
        "--fasta",
        str(data / "genome.fa"),
        "--chroms",
        ",".join(CHROMS),
        "--stride",
        str(STRIDE),
        "--target",
        "0",
        "--out",
        str(whole),
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr
    unsharded = read_scores([whole])
    key = ["chrom", "start", "end"]
    sharded = sharded.sort_values(key).reset_index(drop=True)
    unsharded = unsharded.sort_values(key).reset_index(drop=True)
    assert sharded[key].equals(unsharded[key])
    np.testing.assert_allclose(sharded["score"], unsharded["score"], rtol=1e-5, atol=1e-6)
    # Every window of a shard starts inside that shard's chunk.
    for path in shards:
        chrom, chunk = path.name.removesuffix(".tsv.gz").rsplit(".", 1)
        table = read_scores([path])
        lo = int(chunk) * CHUNK
        assert ((table["start"] >= lo) & (table["start"] < lo + CHUNK)).all(), path.name
        assert (table["chrom"] == chrom).all()


def test_candidates_ranked_with_monotone_q_values(scan_run):
    run_dir, _ = scan_run
    candidates = pd.read_csv(run_dir / "results" / "s" / "candidates.bed", sep="\t")
    assert len(candidates) > 0
    ranks = candidates["rank"].to_numpy()
    assert (ranks == np.arange(1, len(ranks) + 1)).all()
    scores = candidates["max_score"].to_numpy()
    assert (np.diff(scores) <= 0).all()
    q = candidates["q_value"].to_numpy(dtype=float)
    assert np.isfinite(q).all()
    assert (np.diff(q) >= -1e-12).all()
    bigwig = run_dir / "results" / "s" / "scores.bw"
    assert bigwig.read_bytes()[:4] in (b"\x26\xfc\x8f\x88", b"\x88\x8f\xfc\x26")


def test_top_regions_are_model_windows_on_the_best_candidates(scan_run):
    run_dir, _ = scan_run
    results = run_dir / "results" / "s"
    candidates = pd.read_csv(results / "candidates.bed", sep="\t")
    top = read_bed(results / "scan" / "top.bed")
    length = load_model(results / "model").input_length
    n = min(TOP, len(candidates))
    assert len(top) == n
    assert ((top["end"] - top["start"]) == length).all()
    best = candidates.head(n).reset_index(drop=True)
    assert list(top["name"]) == list(best["name"])
    # Centred on the candidate's best window, which lies inside the candidate.
    centre = top["start"] + length // 2
    peak_centre = best["peak_start"] + (best["peak_end"] - best["peak_start"]) // 2
    assert (centre.to_numpy() == peak_centre.to_numpy()).all()
    assert (top["start"].to_numpy() >= best["start"].to_numpy()).all()
    assert (top["end"].to_numpy() <= best["end"].to_numpy()).all()
    # Those windows are what was attributed, in rank order.
    with open_store(results / "attr.h5") as store:
        assert list(store.coords["name"]) == list(top["name"])
        assert list(store.coords["start"]) == list(top["start"])
    attribute_logs = list((results / "logs").glob("attribute.attr.*.log"))
    assert len(attribute_logs) == math.ceil(n / 6)


def test_report_names_the_scan_mode(scan_run):
    run_dir, result = scan_run
    report = run_dir / "results" / "s" / "report.html"
    assert result.stdout.strip().splitlines()[-1] == str(report.resolve())
    html = report.read_text()
    assert "scan mode: top" in html
    for rule in ("train", "candidates", "scan_regions", "seqlets", "motifs", "report"):
        assert (run_dir / "results" / "s" / "benchmarks" / f"{rule}.tsv").exists(), rule


def test_scan_rules_lint_clean(data, tmp_path):
    config = scan_config(data, tmp_path / "c.yaml")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--snakefile",
            str(WORKFLOW / "Snakefile"),
            "--directory",
            str(tmp_path),
            "--configfile",
            str(config),
            "--lint",
        ],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lints for" not in result.stdout + result.stderr

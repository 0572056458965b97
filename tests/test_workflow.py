"""The packaged Snakemake workflow: DAG, config schema, an end-to-end run, kill and resume.

Every run uses a tiny simulated data set made in a temporary folder; the slow parts (one
training, a few attribution shards) are shared through module-scoped fixtures.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from _toys import job_stats, write_config

from seqsal.io.bed import read_bed
from seqsal.io.store import open_store
from seqsal.pipeline import workflow_dir

pytestmark = pytest.mark.slow

WORKFLOW = workflow_dir()
ENV = {
    **os.environ,
    "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
}


def seqsal(*args: str, cwd=None, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "seqsal", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=ENV,
        timeout=timeout,
    )


def snakemake_cmd(run_dir: Path, config: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(WORKFLOW / "Snakefile"),
        "--directory",
        str(run_dir),
        "--configfile",
        str(config),
        *extra,
    ]


def incomplete_markers(run_dir: Path) -> set[str]:
    """Outputs Snakemake has marked as incomplete (jobs started, not recorded as finished).

    Snakemake keeps one marker per output under .snakemake/incomplete/, named by the output
    path in URL-safe base64 (cut into folder levels when long).
    """
    import base64

    folder = run_dir / ".snakemake" / "incomplete"
    paths = set()
    for marker in folder.rglob("*") if folder.exists() else []:
        if marker.is_file():
            encoded = "".join(marker.relative_to(folder).parts)
            try:
                paths.add(base64.urlsafe_b64decode(encoded).decode())
            except ValueError:
                continue
    return paths


TINY = {
    "train": {"targets": "activity", "epochs": 1, "patience": 1, "seed": 0},
    "attribute": {"steps": 2, "baseline": "shuffle:1", "shard_size": 60, "seed": 0},
    "seqlets": {"fdr": 0.2},
    "motifs": {"min_seqlets": 3},
    "report": {"n_regions": 2},
}


@pytest.fixture(scope="module")
def data(workflow_sim, tmp_path_factory) -> Path:
    """The shared simulation as ``sim/`` (a link to it, read only) and a second, smaller
    region set for the sample sheet."""
    folder = tmp_path_factory.mktemp("wfdata")
    (folder / "sim").symlink_to(workflow_sim, target_is_directory=True)
    lines = (workflow_sim / "regions.bed").read_text().splitlines()
    (folder / "other.bed").write_text("\n".join(lines[:51]) + "\n")
    return folder


@pytest.fixture(scope="module")
def demo_run(data, tmp_path_factory):
    """The tiny workflow run end to end through `seqsal run` (trains a model)."""
    run_dir = tmp_path_factory.mktemp("wfrun")
    config = write_config(
        run_dir / "tiny.yaml",
        genome=str(data / "sim" / "genome.fa"),
        regions=str(data / "sim" / "regions.bed"),
        sample="tiny",
        **TINY,
    )
    began = time.perf_counter()
    result = seqsal("run", "--config", str(config), "--directory", str(run_dir), "--cores", "2")
    return run_dir, result, time.perf_counter() - began


def test_dry_run_one_region_set(data, tmp_path):
    config = write_config(
        tmp_path / "c.yaml",
        genome=str(data / "sim" / "genome.fa"),
        regions=str(data / "sim" / "regions.bed"),
        sample="one",
        width=100,
        attribute={"shard_size": 50},
    )
    result = seqsal("run", "--config", str(config), "--directory", str(tmp_path), "--dry-run")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    stats = job_stats(result.stdout + result.stderr)
    # 120 regions in shards of 50: 3 shards, each attributed and shuffle-controlled.
    assert stats == {
        "extract": 1,
        "shard_regions": 3,
        "train": 1,
        "attribute": 6,
        "predict": 1,
        "merge": 2,
        "seqlets": 1,
        "motifs": 1,
        "logos": 1,
        "report": 1,
        "all": 1,
        "total": 19,
    }
    assert "results/one/shards/null.2.h5" in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def test_default_config_is_the_demo(tmp_path):
    """Without --config, seqsal run plans the demo on data/demo from any folder."""
    demo = Path(__file__).resolve().parents[1] / "data" / "demo" / "regions.bed"
    if not demo.exists():
        pytest.skip("no data/demo in this checkout")
    result = seqsal("run", "--dry-run", "--directory", str(tmp_path / "run"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    stats = job_stats(result.stdout + result.stderr)
    n_regions = sum(1 for line in demo.read_text().splitlines() if not line.startswith("#"))
    demo_config = yaml.safe_load((WORKFLOW / "config" / "demo.yaml").read_text())
    shards = -(-n_regions // demo_config["attribute"]["shard_size"])
    assert stats["attribute"] == 2 * shards
    assert stats["train"] == 1 and stats["report"] == 1
    assert "results/demo/report.html" in result.stdout + result.stderr


def test_dry_run_sample_sheet(data, tmp_path):
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(
        "sample\tregions\tmodel\n"
        f"a\t{data / 'sim' / 'regions.bed'}\t\n"
        f"b\t{data / 'other.bed'}\t{tmp_path / 'given_model'}\n"
    )
    (tmp_path / "given_model").mkdir()
    config = write_config(
        tmp_path / "c.yaml",
        genome=str(data / "sim" / "genome.fa"),
        samples=str(sheet),
        attribute={"shard_size": 40, "shuffle_control": False},
        predict={"enabled": False},
    )
    result = seqsal("run", "--config", str(config), "--directory", str(tmp_path), "--dry-run")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout + result.stderr
    stats = job_stats(out)
    # a: 120 regions -> 3 shards and a trained model; b: 50 regions -> 2 shards, given model.
    assert stats["train"] == 1
    assert stats["attribute"] == 5
    assert stats["shard_regions"] == 5
    assert stats["merge"] == 2
    assert stats["report"] == 2
    assert "predict" not in stats and "extract" not in stats
    assert "results/a/report.html" in out and "results/b/report.html" in out
    assert "results/b/model" not in out
    assert "null.h5" not in out


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"attribute": {"shard_size": 0}}, "shard_size"),
        ({"atribute": {"steps": 4}}, "atribute"),
        ({"seqlets": {"sign": "up"}}, "seqlets.sign: 'up'; expected one of both, positive"),
    ],
)
def test_schema_rejects_bad_config(data, tmp_path, settings, expected):
    config = write_config(
        tmp_path / "bad.yaml",
        genome=str(data / "sim" / "genome.fa"),
        regions=str(data / "sim" / "regions.bed"),
        **settings,
    )
    result = seqsal("run", "--config", str(config), "--directory", str(tmp_path), "--dry-run")
    assert result.returncode == 2
    message = result.stdout + result.stderr
    assert message.startswith(f"seqsal run: error: {config}, line ")
    assert expected in message


def test_missing_inputs_named(tmp_path):
    config = write_config(tmp_path / "c.yaml", genome="nowhere.fa", regions="nowhere.bed")
    result = seqsal("run", "--config", str(config), "--directory", str(tmp_path), "--dry-run")
    assert result.returncode != 0
    assert "nowhere.bed" in result.stdout + result.stderr


def test_width_and_context_together_named(data, tmp_path):
    config = write_config(
        tmp_path / "c.yaml",
        genome=str(data / "sim" / "genome.fa"),
        regions=str(data / "sim" / "regions.bed"),
        width=120,
        train={"context": 5},
    )
    result = seqsal("run", "--config", str(config), "--directory", str(tmp_path), "--dry-run")
    assert result.returncode != 0
    assert "'width' is 120 and 'train.context' is 5" in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def test_demo_run_end_to_end(demo_run):
    run_dir, result, _ = demo_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    results = run_dir / "results" / "tiny"
    report = results / "report.html"
    # seqsal run prints the report's path last.
    assert result.stdout.strip().splitlines()[-1] == str(report.resolve())
    html = report.read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    # Merged stores hold every region once, in BED order, whatever the sharding.
    regions = read_bed(Path(yaml.safe_load((run_dir / "tiny.yaml").read_text())["regions"]))
    with open_store(results / "attr.h5") as store:
        assert list(store.coords["name"]) == list(regions["name"])
        assert store.attrs["regions"].endswith("regions.bed")
    with open_store(results / "null.h5") as null:
        assert null.n == len(regions)
    predictions = (results / "predictions.tsv").read_text().splitlines()
    assert len(predictions) == len(regions) + 1
    assert (results / "motifs" / "motifs.tsv").exists()
    assert (results / "seqlets.bed").exists()
    # Every rule left a log and a benchmark.
    for rule in ("train", "predict", "merge.attr", "merge.null", "seqlets", "motifs", "report"):
        assert (results / "logs" / f"{rule}.log").exists(), rule
        assert (results / "benchmarks" / f"{rule}.tsv").exists(), rule
    assert len(list((results / "benchmarks").glob("attribute.attr.*.tsv"))) == 2


def test_demo_run_builds_motifs_from_its_own_discovery_seqlets(demo_run):
    """The motifs rule calls discovery seqlets against null.h5 at motifs.discovery_fdr (0.2),
    and the report says so beside the reported seqlets' FDR (seqlets.fdr, 0.2 in TINY)."""
    import json

    run_dir, result, _ = demo_run
    assert result.returncode == 0
    results = run_dir / "results" / "tiny"
    record = json.loads((results / "motifs" / "discovery.json").read_text())
    assert {k: record[k] for k in ("source", "fdr", "null", "min_length", "max_length")} == {
        "source": "called",
        "fdr": 0.2,
        "null": "shuffled",
        "min_length": 4,
        "max_length": 20,
    }
    discovery = (results / "motifs" / "seqlets.bed").read_text().splitlines()
    assert record["n_seqlets"] == len(discovery) - 1
    sentence = (
        f"Motifs were built from {record['n_seqlets']:,} seqlets called at FDR 0.2 "
        "(the reported seqlets use FDR 0.2)."
    )
    assert sentence in (results / "report.html").read_text()


def test_rerun_is_up_to_date(demo_run):
    run_dir, result, _ = demo_run
    assert result.returncode == 0
    again = seqsal(
        "run", "--config", str(run_dir / "tiny.yaml"), "--directory", str(run_dir), "--dry-run"
    )
    assert again.returncode == 0
    assert "Nothing to be done" in again.stdout + again.stderr


def test_failing_rule_names_its_log(data, tmp_path):
    bad_model = tmp_path / "bad_model"
    bad_model.mkdir()
    (bad_model / "model.json").write_text("{not json")
    config = write_config(
        tmp_path / "c.yaml",
        genome=str(data / "sim" / "genome.fa"),
        regions=str(data / "other.bed"),
        sample="bad",
        model=str(bad_model),
        attribute={"shard_size": 100, "shuffle_control": False},
        predict={"enabled": False},
    )
    result = subprocess.run(
        snakemake_cmd(tmp_path, config, "--cores", "1", "results/bad/attr.h5"),
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
    )
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "results/bad/logs/attribute.attr.0.log" in out
    log = (tmp_path / "results/bad/logs/attribute.attr.0.log").read_text()
    assert "seqsal attribute: error" in log


def test_kill_and_resume_redoes_only_unfinished_shards(demo_run, data, tmp_path):
    run_dir, result, _ = demo_run
    assert result.returncode == 0
    config = write_config(
        tmp_path / "c.yaml",
        genome=str(data / "sim" / "genome.fa"),
        regions=str(data / "sim" / "regions.bed"),
        sample="k",
        model=str(run_dir / "results" / "tiny" / "model"),
        attribute={"steps": 2, "baseline": "shuffle:1", "shard_size": 20, "shuffle_control": False},
    )
    shards = tmp_path / "results" / "k" / "shards"
    target = "results/k/attr.h5"

    def finished() -> dict[str, tuple[int, int]]:
        """Shard stores Snakemake has recorded as complete: {name: (inode, mtime)}."""
        running = incomplete_markers(tmp_path)
        return {
            p.name: (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in shards.glob("attr.*.h5")
            if f"results/k/shards/{p.name}" not in running
        }

    # One job at a time, so the kill lands with some shards done and some not.
    first = subprocess.Popen(
        snakemake_cmd(tmp_path, config, "--cores", "1", target),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=ENV,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    while len(finished()) < 2:
        assert first.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "no shard finished in time"
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)  # a crash: Snakemake and its running job die at once
    first.wait()
    done = finished()
    assert 2 <= len(done) < 6
    assert not (tmp_path / target).exists()

    unlock = subprocess.run(
        snakemake_cmd(tmp_path, config, "--unlock"), capture_output=True, env=ENV, timeout=120
    )
    assert unlock.returncode == 0
    resumed = subprocess.run(
        snakemake_cmd(tmp_path, config, "--cores", "2", target),
        capture_output=True,
        text=True,
        env=ENV,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in shards.glob("attr.*.h5")}
    assert len(after) == 6
    for name, stamp in done.items():
        assert after[name] == stamp, f"{name} was recomputed"
    # The rerun's log lists exactly the shards that were missing.
    rerun = re.findall(r"rule attribute:.*?wildcards: [^\n]*shard=(\d+)", resumed.stderr, re.S)
    missing = {f"attr.{s}.h5" for s in rerun}
    assert missing == set(after) - set(done)
    with open_store(tmp_path / target) as store:
        assert store.n == 120


def _lint_config(data, tmp_path) -> Path:
    return write_config(
        tmp_path / "c.yaml",
        genome=str(data / "sim" / "genome.fa"),
        regions=str(data / "sim" / "regions.bed"),
    )


def test_snakemake_lint_clean(data, tmp_path):
    result = subprocess.run(
        snakemake_cmd(tmp_path, _lint_config(data, tmp_path), "--lint"),
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lints for" not in result.stdout + result.stderr


def test_snakefmt_clean():
    snakefmt = Path(sys.executable).parent / "snakefmt"
    if not snakefmt.exists():
        pytest.skip("snakefmt is not installed (pip install seqsal[dev])")
    result = subprocess.run(
        [str(snakefmt), "--check", str(WORKFLOW)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_packaged_workflow_files_exist():
    for name in (
        "Snakefile",
        "schemas/config.schema.yaml",
        "config/demo.yaml",
        "profiles/default/config.yaml",
        "profiles/slurm/config.yaml",
        "report/workflow.rst",
    ):
        assert (WORKFLOW / name).is_file(), name
    slurm = yaml.safe_load((WORKFLOW / "profiles/slurm/config.yaml").read_text())
    assert slurm["executor"] == "slurm"
    assert slurm["slurm-status-command"] == "squeue"

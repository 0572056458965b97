"""The workflow's ``layout`` key: ``--layout`` on every job that loads a given model, none on
jobs that load a model the workflow trained (those are channels first)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from _toys import write_config

pytestmark = pytest.mark.slow

ENV = {
    **os.environ,
    "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
}


def seqsal(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "seqsal", *args],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=600,
    )


def test_layout_reaches_the_jobs_of_given_models_only(workflow_sim, tmp_path):
    lines = (workflow_sim / "regions.bed").read_text().splitlines()
    (tmp_path / "other.bed").write_text("\n".join(lines[:51]) + "\n")
    (tmp_path / "given_model").mkdir()
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(
        "sample\tregions\tmodel\n"
        f"a\t{workflow_sim / 'regions.bed'}\t\n"
        f"b\t{tmp_path / 'other.bed'}\t{tmp_path / 'given_model'}\n"
    )
    config = write_config(
        tmp_path / "c.yaml",
        genome=str(workflow_sim / "genome.fa"),
        samples=str(sheet),
        layout="NLC",
        attribute={"shard_size": 60, "shuffle_control": False},
    )
    result = seqsal(
        "run", "--config", str(config), "--directory", str(tmp_path), "--dry-run", "--", "-p"
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    commands = [
        line.strip()
        for line in out.splitlines()
        if re.search(r"seqsal (attribute|predict) --model", line)
    ]
    given = [c for c in commands if "given_model" in c]
    trained = [c for c in commands if "results/a/model" in c]
    assert given and trained
    assert all("--layout NLC" in c for c in given)
    assert not any("--layout" in c for c in trained)


def test_a_bad_layout_is_refused_with_its_line(workflow_sim, tmp_path):
    config = write_config(
        tmp_path / "bad.yaml",
        genome=str(workflow_sim / "genome.fa"),
        regions=str(workflow_sim / "regions.bed"),
        layout="nlc",
    )
    result = seqsal("run", "--config", str(config), "--directory", str(tmp_path), "--dry-run")
    assert result.returncode == 2
    message = (result.stdout + result.stderr).strip()
    assert message.startswith(f"seqsal run: error: {config}, line ")
    assert "layout: 'nlc'; expected one of NCL, NLC" in message


def test_layout_reaches_the_scan_jobs(workflow_sim, tmp_path):
    (tmp_path / "given_model").mkdir()
    config = write_config(
        tmp_path / "c.yaml",
        mode="scan",
        genome=str(workflow_sim / "genome.fa"),
        model=str(tmp_path / "given_model"),
        width=100,
        layout="NLC",
    )
    result = seqsal(
        "run", "--config", str(config), "--directory", str(tmp_path), "--dry-run", "--", "-p"
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    commands = [
        line for line in out.splitlines() if re.search(r"seqsal (scan|candidates) --", line)
    ]
    assert {c.split()[3] for c in commands} == {"scan", "candidates"}
    assert all("--layout NLC" in c for c in commands)

"""A wheel that works: ``python -m build``, a fresh venv, ``seqsal run`` from an empty folder.

The wheel must hold the workflow (Snakefile, rules, schemas, profiles, scripts, config) and the
demo data its default config runs on, so that an installed seqsal runs the pipeline with no
source checkout.  Slow: building, installing (torch comes from this machine's disk through
.ci/constraints.txt) and a small run take a few minutes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def _clean_env(venv: Path | None = None) -> dict[str, str]:
    """The environment without this checkout on PYTHONPATH (the installed seqsal must run)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    if venv is not None:
        env["PATH"] = os.pathsep.join([str(venv / "bin"), "/usr/bin", "/bin"])
    return env


def _run(command: list, *, cwd: Path | None = None, env=None, timeout: int = 900):
    result = subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        env=env if env is not None else _clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel ``python -m build`` makes from a copy of the source (sdist, then wheel)."""
    if not (ROOT / "pyproject.toml").exists() or not (ROOT / "data" / "demo").is_dir():
        pytest.skip("needs a source checkout with data/demo")
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    source.mkdir()
    # The files a clean clone has; the links seqsal/workflow and seqsal/data stay links.
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.fai", "*.egg-info")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for name in ("seqsal", "workflows", "data"):
        shutil.copytree(ROOT / name, source / name, symlinks=True, ignore=ignore)
    _run([sys.executable, "-m", "build", "--outdir", work / "dist", source], timeout=600)
    (found,) = (work / "dist").glob("seqsal-*.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel (and the hpc extra: Snakemake) installed."""
    folder = tmp_path_factory.mktemp("venv") / "venv"
    _run([sys.executable, "-m", "venv", folder])
    pip = [folder / "bin" / "python", "-m", "pip", "install", "-q"]
    _run([*pip, "-c", ROOT / ".ci" / "constraints.txt", f"{wheel}[hpc]"], timeout=1200)
    return folder


def test_wheel_holds_the_workflow_and_the_demo_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    workflow = {
        "seqsal/workflow/" + str(p.relative_to(ROOT / "workflows"))
        for p in (ROOT / "workflows").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    for needed in ("Snakefile", "rules/common.smk", "schemas/config.schema.yaml"):
        assert f"seqsal/workflow/{needed}" in workflow
    for folder in ("rules", "schemas", "profiles", "scripts", "config"):
        assert any(n.startswith(f"seqsal/workflow/{folder}/") for n in workflow), folder
    assert workflow <= names, sorted(workflow - names)
    for data in ("genome.fa", "regions.bed", "planted.bed", "truth.tsv"):
        assert f"seqsal/data/demo/{data}" in names
    assert "seqsal/py.typed" in names
    assert not [n for n in names if n.endswith((".fai", ".pyc"))]


def test_installed_wheel_runs_the_demo_from_an_empty_folder(venv, tmp_path):
    env = _clean_env(venv)
    python = venv / "bin" / "python"
    where = _run([python, "-c", "import seqsal; print(seqsal.__file__)"], env=env, cwd=tmp_path)
    assert where.stdout.strip().startswith(str(venv))

    # No --config: the packaged demo config finds the packaged demo data.
    empty = tmp_path / "empty"
    empty.mkdir()
    plan = _run([venv / "bin" / "seqsal", "run", "--dry-run"], env=env, cwd=empty)
    assert "results/demo/report.html" in plan.stdout + plan.stderr

    # The demo config with fewer epochs and a cheaper attribution, run for real.
    demo_data = Path(
        _run(
            [
                python,
                "-c",
                "from seqsal.pipeline import workflow_dir; print(workflow_dir().parent)",
            ],
            env=env,
        ).stdout.strip()
    )
    config = yaml.safe_load((demo_data / "workflow" / "config" / "demo.yaml").read_text())
    config["genome"] = str(demo_data / "data" / "demo" / "genome.fa")
    config["regions"] = str(demo_data / "data" / "demo" / "regions.bed")
    config["train"].update(epochs=10, patience=3)
    config["attribute"].update(steps=2, baseline="shuffle:1", shard_size=2000)
    (tmp_path / "small.yaml").write_text(yaml.safe_dump(config))
    run = _run(
        [venv / "bin" / "seqsal", "-q", "run", "--config", tmp_path / "small.yaml", "--cores", 2],
        env=env,
        cwd=empty,
        timeout=1200,
    )
    report = empty / "results" / "demo" / "report.html"
    assert run.stdout.strip().splitlines()[-1] == str(report)
    assert report.read_text().lstrip().lower().startswith("<!doctype html")
    meme = (empty / "results" / "demo" / "motifs" / "motifs.meme").read_text()
    assert meme.count("\nMOTIF ") >= 1
    table = (empty / "results" / "demo" / "motifs" / "motifs.tsv").read_text().splitlines()
    planted = {
        line.split("\t")[1].upper()
        for line in (ROOT / "data" / "demo" / "truth.tsv").read_text().splitlines()[1:]
        if line and not line.startswith("#")
    }
    header = table[0].split("\t")
    matched = {row.split("\t")[header.index("match_name")].upper() for row in table[1:]}
    assert matched & planted, (matched, planted)
    metrics = json.loads((empty / "results" / "demo" / "model" / "metrics.json").read_text())
    assert metrics["epochs_run"] <= 10

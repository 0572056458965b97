"""seqsal.pipeline called directly: the Snakemake command line, config reading and path
resolution, signal forwarding, and a planned (dry) run of the packaged workflow.

``seqsal run`` and its one-line config errors are tested in test_run_config.py; the workflow's
jobs in test_workflow*.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from seqsal.errors import ConfigError, SeqsalError
from seqsal.pipeline import (
    NOT_A_RUN,
    WorkflowRun,
    config_overrides,
    demo_config,
    load_config,
    packaged_profiles,
    read_sample_sheet,
    resolve_path,
    resolved_paths,
    run_workflow,
    sample_names,
    snakemake_command,
    wait_forwarding_signals,
    workflow_dir,
)


def test_the_packaged_workflow_and_its_profiles_are_found():
    folder = workflow_dir()
    assert (folder / "Snakefile").is_file()
    assert {"default", "slurm"} <= set(packaged_profiles())
    assert demo_config() == folder / "config" / "demo.yaml"
    assert load_config(demo_config())["sample"] == "demo"


def test_snakemake_command_holds_each_setting_in_order(tmp_path):
    config = tmp_path / "c.yaml"
    cmd = snakemake_command(
        config,
        directory=tmp_path / "run",
        overrides={"genome": "/abs/g.fa", "scan.regions": "/abs/r.bed"},
        profile="slurm",
        cores=3,
        dry_run=True,
        extra_args=["--", "--forceall", "--keep-going"],
    )
    folder = workflow_dir()
    assert cmd == [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(folder / "Snakefile"),
        "--directory",
        str(tmp_path / "run"),
        "--configfile",
        str(config),
        "--config",
        "genome=/abs/g.fa",
        'scan={"regions": "/abs/r.bed"}',
        "--workflow-profile",
        str(folder / "profiles" / "slurm"),
        "--cores",
        "3",
        "--dry-run",
        "--forceall",
        "--keep-going",
    ]
    # the minimal command: no overrides, no profile (Snakemake applies profiles/default)
    assert snakemake_command(config, directory=tmp_path / "run") == cmd[:9]
    assert snakemake_command(config)[6] == "."


def test_a_profile_folder_is_passed_as_profile_and_anything_else_is_refused(tmp_path):
    mine = tmp_path / "myprofile"
    mine.mkdir()
    cmd = snakemake_command(tmp_path / "c.yaml", profile=str(mine))
    assert cmd[-2:] == ["--profile", str(mine.resolve())]
    with pytest.raises(ConfigError) as err:
        snakemake_command(tmp_path / "c.yaml", profile="nope")
    assert str(err.value) == (
        "--profile 'nope': not a packaged profile (default, slurm) nor a profile folder"
    )


def test_config_overrides_nest_dotted_keys_as_json_blocks():
    assert config_overrides({"genome": "/g.fa"}) == ["genome=/g.fa"]
    nested = config_overrides({"scan.regions": "/r.bed", "scan.other": "/o", "model": "/m"})
    assert nested[1] == "model=/m"
    key, value = nested[0].split("=", 1)
    assert key == "scan" and json.loads(value) == {"regions": "/r.bed", "other": "/o"}


def test_relative_paths_are_looked_up_beside_the_config_and_above(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "g.fa").write_text(">c\nACGT\n")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    config_file = nested / "c.yaml"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert resolve_path("data/g.fa", config_file) == str(tmp_path / "data" / "g.fa")
    assert resolve_path("missing.fa", config_file) == "missing.fa"  # left to the workflow
    assert resolve_path("/abs/x.fa", config_file) == "/abs/x.fa"
    config = {"genome": "data/g.fa", "regions": "missing.bed", "scan": {"regions": "data/g.fa"}}
    assert resolved_paths(config, config_file) == {
        "genome": str(tmp_path / "data" / "g.fa"),
        "scan.regions": str(tmp_path / "data" / "g.fa"),
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n- b\n", "{path}: a list at the top; expected a mapping of keys such as "),
        ("genome: [x\n", "{path}, line 2: not valid YAML ("),
    ],
)
def test_load_config_names_the_file_and_what_was_expected(tmp_path, text, expected):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(expected.format(path=path))


def test_load_config_names_the_option_for_a_missing_file(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "none.yaml", option="config")
    assert str(err.value) == f"config {tmp_path / 'none.yaml'}: no such file"
    assert load_config(_write(tmp_path / "empty.yaml", "")) == {}


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_sample_sheet_rows_keep_their_line_numbers_and_names(tmp_path):
    sheet = _write(
        tmp_path / "s.tsv", "# comment\nsample\tregions\n\nA\ta.bed\n# skipped\nB\tb.bed\n"
    )
    header, rows = read_sample_sheet(sheet)
    assert header == ["sample", "regions"]
    assert rows == [(4, ["A", "a.bed"]), (6, ["B", "b.bed"])]
    assert sample_names({"samples": str(sheet)}) == ["A", "B"]
    assert sample_names({"sample": "x"}) == ["x"]
    assert sample_names({}) == ["demo"]


def test_not_a_run_options_are_snakemake_options():
    assert "--report" in NOT_A_RUN and "--unlock" in NOT_A_RUN
    assert all(option.startswith("--") for option in NOT_A_RUN)


def _sleeper_that_exits_with(status: int) -> subprocess.Popen:
    """A child that exits with ``status`` on SIGTERM (and 3 on SIGINT), else after 60 s."""
    code = (
        "import signal, sys, time\n"
        f"signal.signal(signal.SIGTERM, lambda *a: sys.exit({status}))\n"
        "signal.signal(signal.SIGINT, lambda *a: sys.exit(3))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\nsys.exit(1)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    return child


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 7), (signal.SIGINT, 3)])
def test_a_stop_signal_while_waiting_goes_to_the_child(signum, status):
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    child = _sleeper_that_exits_with(7)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signum))
    began = time.monotonic()
    timer.start()
    try:
        assert wait_forwarding_signals(child) == status
    finally:
        timer.cancel()
        if child.poll() is None:
            child.kill()
        child.stdout.close()
    assert time.monotonic() - began < 30  # it stopped on the signal, not after its sleep
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_run_workflow_refuses_a_bad_config_before_snakemake(tmp_path):
    config = _write(tmp_path / "c.yaml", "genome: nope.fa\n")
    with pytest.raises(ConfigError) as err:
        run_workflow(config, directory=tmp_path / "run", dry_run=True)
    assert str(err.value).startswith(f"{config}, line 1: genome: 'nope.fa' not found")
    assert not (tmp_path / "run").exists()


def test_run_workflow_dry_run_plans_the_demo_and_runs_nothing(tmp_path, capsys):
    pytest.importorskip("snakemake")
    run = tmp_path / "run"
    result = run_workflow(directory=run, dry_run=True, cores=1)
    assert result == WorkflowRun(0, [])
    out = capsys.readouterr().out
    assert "Job stats:" in out and "report" in out
    assert sorted(p.name for p in run.iterdir()) == [".snakemake"]  # no results


def test_snakemake_missing_is_one_error(monkeypatch, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "snakemake" else real(name)
    )
    with pytest.raises(SeqsalError, match=r"pip install 'seqsal\[hpc\]'"):
        run_workflow(directory=tmp_path)

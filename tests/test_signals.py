"""SIGTERM (what SLURM and Snakemake send to stop a job) and SIGINT stop a command cleanly.

A real ``seqsal attribute`` process is stopped while it streams its store to the hidden
temporary file: the temporary file must go, the final output must never appear, and the exit
status is 128 + the signal number with one line on stderr.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _toys import saved_zoo_cnn

LENGTH = 200
N_REGIONS = 400


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """One 20 kb chromosome, 400 regions and an untrained CNN of input length 200."""

    root = tmp_path_factory.mktemp("signals")
    rng = np.random.default_rng(0)
    size = 20_000
    (root / "genome.fa").write_text(">chr1\n" + "".join(rng.choice(list("ACGT"), size=size)) + "\n")
    starts = np.sort(rng.choice(size - LENGTH, size=N_REGIONS, replace=False))
    pd.DataFrame({"chrom": "chr1", "start": starts, "end": starts + LENGTH}).to_csv(
        root / "regions.bed", sep="\t", header=False, index=False
    )
    saved_zoo_cnn(root / "model", length=LENGTH, seed=0)
    return root


def _default_signals() -> None:
    # A child of a shell without job control inherits SIGINT ignored, and Python then keeps
    # ignoring it; start the command as a terminal would.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _stop_while_writing(data: Path, out_dir: Path, signum: int) -> subprocess.CompletedProcess:
    """Start ``seqsal attribute``, send ``signum`` once its temporary store exists, wait."""
    out_dir.mkdir()
    command = [
        sys.executable,
        "-m",
        "seqsal",
        "attribute",
        "--model", str(data / "model"),
        "--fasta", str(data / "genome.fa"),
        "--regions", str(data / "regions.bed"),
        "--out", str(out_dir / "attr.h5"),
        "--method", "ig",
        "--steps", "64",
        "--baseline", "shuffle:8",
        "--chunk-size", "4",
        "--no-progress",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=_default_signals,
    )
    try:
        deadline = time.monotonic() + 120
        while not any(p.name.startswith(".attr.h5.") for p in out_dir.iterdir()):
            if child.poll() is not None or time.monotonic() > deadline:
                out, err = child.communicate()
                pytest.fail(f"no temporary store appeared (exit {child.returncode}): {err}")
            time.sleep(0.02)
        child.send_signal(signum)
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    return subprocess.CompletedProcess(command, child.returncode, out, err)


@pytest.mark.parametrize(
    ("signum", "status", "word"),
    [(signal.SIGTERM, 143, "terminated (SIGTERM)"), (signal.SIGINT, 130, "interrupted (SIGINT)")],
    ids=["SIGTERM", "SIGINT"],
)
def test_a_stopped_command_leaves_no_temporary_store(data, tmp_path, signum, status, word):
    out_dir = tmp_path / "out"
    result = _stop_while_writing(data, out_dir, signum)
    # Neither the hidden temporary store nor the final attr.h5.
    assert sorted(p.name for p in out_dir.iterdir()) == []
    assert result.returncode == status, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [f"seqsal attribute: {word}"]
    assert "Traceback" not in result.stderr


def test_signal_handlers_are_restored_after_main(tmp_path):
    """In-process callers (tests, notebooks) get their own handlers back."""
    from seqsal.cli import main

    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    assert main(["simulate", "--out", str(tmp_path / "sim"), "--n-regions", "5"]) == 0
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_a_swallowed_stop_signal_is_raised_again():
    """A signal's exception lost in a weakref callback or an import comes back until caught."""
    from seqsal.cli import Terminated, _StopSignals

    stop = _StopSignals()
    swallowed = 0
    began = time.monotonic()
    with pytest.raises(Terminated), stop.installed():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        except Terminated:
            swallowed += 1
        time.sleep(5)
    assert swallowed == 1 and stop.signum == signal.SIGTERM
    assert time.monotonic() - began < 4


def test_an_error_raised_in_place_of_the_signal_still_stops_cleanly(tmp_path, monkeypatch, capsys):
    """h5py turns an exception raised inside its type conversion into a TypeError; the stop
    is still reported as SIGTERM, and the temporary file left behind is removed."""
    import seqsal.cli.simulate
    from seqsal.cli import Terminated, main
    from seqsal.io.atomic import atomic_path

    def run(args):
        writer = atomic_path(tmp_path / "out.h5")
        writer.__enter__()  # a half-run clean-up: never exited
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        except Terminated as err:
            raise TypeError("Operation not defined for data type class") from err
        return 0

    monkeypatch.setattr(seqsal.cli.simulate, "run", run)
    assert main(["simulate", "--out", str(tmp_path / "sim")]) == 143
    assert list(tmp_path.iterdir()) == []
    assert capsys.readouterr().err.splitlines() == ["seqsal simulate: terminated (SIGTERM)"]


@pytest.mark.slow
def test_seqsal_run_passes_sigterm_on_to_snakemake(tmp_path):
    """While Snakemake runs, seqsal run forwards SIGTERM to it and waits until it has stopped
    (Snakemake lets running jobs finish and schedules no new one)."""
    import psutil
    import yaml

    from seqsal.cli import main

    sim = tmp_path / "sim"
    assert main(["-q", "simulate", "--out", str(sim), "--n-regions", "60", "--seed", "1"]) == 0
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "genome": str(sim / "genome.fa"),
                "regions": str(sim / "regions.bed"),
                "sample": "f",
                "train": {"targets": "activity", "epochs": 2, "patience": 2},
                "attribute": {"steps": 2, "baseline": "shuffle:1"},
            }
        )
    )
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    command = [sys.executable, "-m", "seqsal", "run", "--config", str(config)]
    child = subprocess.Popen(
        [*command, "--directory", str(tmp_path / "run"), "--cores", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=_default_signals,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            descendants = psutil.Process(child.pid).children(recursive=True)
            if any("train" in " ".join(p.cmdline()) for p in descendants):
                break
            assert child.poll() is None and time.monotonic() < deadline, "no job started"
            time.sleep(0.1)
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=180)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode != 0
    assert "Will exit after finishing currently running jobs" in err
    assert not (tmp_path / "run" / "results" / "f" / "report.html").exists()
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in descendants)


LOST_IN_A_WEAKREF_CALLBACK = """
import os, signal, sys, time, weakref
from seqsal.cli import Terminated, _StopSignals

class Thing:
    pass

def callback(ref):
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.001)  # the handler runs here; Python cannot raise out of a weakref callback

stop = _StopSignals()
try:
    with stop.installed():
        thing = Thing()
        ref = weakref.ref(thing, callback)
        del thing
        time.sleep(5)
except Terminated:
    print("stopped", file=sys.stderr)
"""


def test_a_stop_lost_in_a_weakref_callback_prints_no_extra_lines():
    """Python reports an exception it cannot raise ("Exception ignored in ...", a traceback):
    for the stop's own exception, which the watcher raises again, that report is left out, so
    the command still says one line."""
    result = subprocess.run(
        [sys.executable, "-c", LOST_IN_A_WEAKREF_CALLBACK],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == ["stopped"]

"""The workflow's attributions mode: from attributions computed elsewhere (or a store) to the
report, without a model: train, predict and attribute are skipped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from _toys import gattaca_attributions, job_stats, write_config

from seqsal.cli import main
from seqsal.io.store import open_store

pytestmark = pytest.mark.slow

ENV = {
    **os.environ,
    "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
}
SETTINGS = {"motifs": {"min_seqlets": 3}, "report": {"n_regions": 2}}


def seqsal(*args, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "seqsal", *map(str, args)],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return gattaca_attributions(tmp_path_factory.mktemp("wf_attributions"))


def test_the_workflow_runs_from_imported_files_to_the_report(data, tmp_path):
    config = write_config(
        tmp_path / "config.yaml",
        sample="imported",
        attributions={
            "contributions": str(data / "observed_attr.npz"),
            "sequences": str(data / "observed_seq.npz"),
            "regions": str(data / "regions.bed"),
            "control": {
                "contributions": str(data / "control_attr.npz"),
                "sequences": str(data / "control_seq.npz"),
            },
        },
        **SETTINGS,
    )
    result = seqsal("run", "--config", config, "--directory", tmp_path, "--cores", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    results = tmp_path / "results" / "imported"
    assert (results / "report.html").stat().st_size > 0
    assert any((results / "logos").iterdir())
    assert not (results / "model").exists() and not (results / "shards").exists()
    with open_store(results / "attr.h5") as store, open_store(results / "null.h5") as null:
        assert store.attrs["import_format"] == "modisco_npz" and store.n == 100
        assert null.attrs["control"] == "dinucleotide_shuffle"
    # the seqlets are those of the store seqsal attribute wrote from the same arrays
    expected = tmp_path / "expected.bed"
    argv = ["seqlets", "--store", data / "observed.h5", "--null", data / "control.h5"]
    assert main([str(a) for a in [*argv, "--out", expected, "--no-progress"]]) == 0
    assert (results / "seqlets.bed").read_bytes() == expected.read_bytes()
    assert len(expected.read_text().splitlines()) > 100


def test_a_store_is_linked_and_only_the_stages_after_attribution_run(data, tmp_path):
    config = write_config(
        tmp_path / "config.yaml",
        sample="store",
        attributions={
            "store": str(data / "observed.h5"),
            "control": {"store": str(data / "control.h5")},
        },
        **SETTINGS,
    )
    result = seqsal("run", "--config", config, "--directory", tmp_path, "--dry-run")
    assert result.returncode == 0, result.stderr[-3000:]
    stats = job_stats(result.stdout + result.stderr)
    assert stats.get("import_attributions") == 2
    assert not {"train", "predict", "attribute", "merge", "extract"} & set(stats)
    assert {"seqlets", "motifs", "report", "logos"} <= set(stats)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "model: {data}/model\n",
            "attributions: given with 'model' (line 1); attributions replace the model",
        ),
        (
            "mode: scan\n",
            "attributions: given with 'mode' (line 1); attributions replace the model",
        ),
    ],
    ids=["model", "scan"],
)
def test_attributions_with_a_model_is_a_one_line_error(data, tmp_path, extra, expected):
    config = tmp_path / "config.yaml"
    config.write_text(extra.format(data=data) + f"attributions:\n  store: {data / 'observed.h5'}\n")
    result = seqsal("run", "--config", config, "--directory", tmp_path, "--dry-run")
    assert result.returncode == 2, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith(f"seqsal run: error: {config}, line 2: ")
    assert expected in lines[0]
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ({}, "'attributions.contributions' needs 'attributions.regions', the BED of its rows"),
        (
            {
                "regions": "regions.bed",
                "control": {"store": "control.h5", "contributions": "control_attr.npz"},
            },
            "'attributions.control.store' and 'attributions.control.contributions' are both "
            "given; give one",
        ),
    ],
    ids=["no-regions", "store-and-files"],
)
def test_attributions_that_do_not_go_together_are_a_one_line_error(data, tmp_path, block, expected):
    settings = {
        "contributions": str(data / "observed_attr.npz"),
        "sequences": str(data / "observed_seq.npz"),
    }
    for key, value in block.items():
        if isinstance(value, dict):
            settings[key] = {k: str(data / v) for k, v in value.items()}
        else:
            settings[key] = str(data / value)
    config = write_config(tmp_path / "config.yaml", attributions=settings)
    result = seqsal("run", "--config", config, "--directory", tmp_path, "--dry-run")
    assert result.returncode == 2, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert not (tmp_path / "results").exists()

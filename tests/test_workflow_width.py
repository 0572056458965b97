"""The workflow with a model that does not record its input length and `width:` in the config.

A TorchScript file saved by plain ``torch.jit.save`` carries no seqsal metadata, so only the
config's `width` says how long its windows are: every rule that loads the model must get it.
The rules run for real (tiny simulated data, a few targets), in regions mode (predict,
attribute) and in scan mode (scan, candidates, the top windows, attribute).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from _toys import plain_torchscript

from seqsal.cli import main as seqsal_main
from seqsal.io.bed import read_bed
from seqsal.io.store import open_store
from seqsal.models import load_model, predict_regions, zoo
from seqsal.pipeline import workflow_dir
from seqsal.scan.genome import scan

pytestmark = pytest.mark.slow

WORKFLOW = workflow_dir()
ENV = {
    **os.environ,
    "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
}
WIDTH = 100
STRIDE = 10
TINY = {
    "predict": {"enabled": True},
    "attribute": {"steps": 2, "baseline": "shuffle:1", "shard_size": 100, "seed": 0},
}


def snakemake(run_dir: Path, config: dict, *targets: str) -> subprocess.CompletedProcess:
    path = run_dir / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(WORKFLOW / "Snakefile")]
    command += ["--directory", str(run_dir), "--configfile", str(path), "--cores", "2"]
    return subprocess.run(
        [*command, *targets], capture_output=True, text=True, env=ENV, timeout=900
    )


def explain(result: subprocess.CompletedProcess, run_dir: Path) -> str:
    logs = "\n".join(
        f"--- {p.name}\n{p.read_text()[-1500:]}" for p in sorted(run_dir.rglob("logs/*.log"))
    )
    return result.stdout[-2000:] + result.stderr[-3000:] + logs


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("widthdata")
    args = ["-q", "simulate", "--out", str(folder / "sim"), "--n-regions", "60"]
    args += ["--region-length", str(WIDTH), "--rate", "1.0", "--seed", "3"]
    assert seqsal_main(args) == 0
    module = zoo.build("cnn", input_length=WIDTH, n_targets=1, filters=8, hidden=8, seed=0)
    plain = plain_torchscript(module, WIDTH, folder / "plain.pt")
    assert load_model(plain).input_length is None  # nothing records it: any length runs
    return {
        "genome": folder / "sim" / "genome.fa",
        "regions": folder / "sim" / "regions.bed",
        "model": plain,
        "module": module,
    }


def test_regions_mode_predicts_and_attributes_at_the_config_width(data, tmp_path):
    config = {
        "genome": str(data["genome"]),
        "regions": str(data["regions"]),
        "sample": "ts",
        "model": str(data["model"]),
        "width": WIDTH,
        **TINY,
    }
    targets = ["results/ts/predictions.tsv", "results/ts/shards/attr.0.h5"]
    result = snakemake(tmp_path, config, *targets)
    assert result.returncode == 0, explain(result, tmp_path)
    table = pd.read_csv(tmp_path / targets[0], sep="\t")
    regions = read_bed(data["regions"])
    assert len(table) == len(regions) and (table["end"] - table["start"] == WIDTH).all()
    expected = predict_regions(data["module"], data["genome"], data["regions"], width=WIDTH)
    np.testing.assert_allclose(table["target_0"], expected["target_0"], rtol=1e-5, atol=1e-6)
    with open_store(tmp_path / targets[1]) as store:
        assert store.n == len(regions) and store.length == WIDTH


def test_scan_mode_scans_calls_and_explains_at_the_config_width(data, tmp_path):
    config = {
        "mode": "scan",
        "genome": str(data["genome"]),
        "sample": "s",
        "model": str(data["model"]),
        "width": WIDTH,
        "scan": {
            "chroms": "chr1,chr2",
            "chunk_size": 100_000,  # one shard per chromosome
            "stride": STRIDE,
            "threshold": "quantile",
            "quantile": 0.9,
            "null_windows": 500,
            "top": 4,
        },
        **TINY,
        "predict": {"enabled": False},
    }
    targets = ["results/s/candidates.bed", "results/s/scan/top.bed", "results/s/shards/attr.0.h5"]
    result = snakemake(tmp_path, config, *targets)
    assert result.returncode == 0, explain(result, tmp_path)
    shards = sorted((tmp_path / "results/s/scan").glob("*.tsv.gz"))
    assert [p.name.split(".")[0] for p in shards] == ["chr1", "chr2"]
    scores = pd.concat([pd.read_csv(p, sep="\t") for p in shards], ignore_index=True)
    expected = scan(data["module"], data["genome"], chroms="chr1,chr2", stride=STRIDE).to_frame()
    np.testing.assert_array_equal(scores["start"], expected["start"])
    np.testing.assert_allclose(scores["score"], expected["score"], rtol=1e-5, atol=1e-6)
    top = read_bed(tmp_path / targets[1])
    assert len(top) == 4 and (top["end"] - top["start"] == WIDTH).all()
    with open_store(tmp_path / targets[2]) as store:
        assert store.length == WIDTH and store.n == 4

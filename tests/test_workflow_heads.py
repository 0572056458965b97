"""The workflow with a bpnet-lite BPNet (profile and counts heads) saved as plain TorchScript:
`attribute: {output: ..., reduce: ...}` in the config reaches every rule that explains or
scores, and predict writes every head's columns.  The rules run for real (tiny data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from _toys import plain_torchscript, small_bpnet
from test_workflow_width import explain, snakemake

from seqsal.attribution import Target
from seqsal.cli import main as seqsal_main
from seqsal.dna import attribute_dna
from seqsal.io.store import open_store
from seqsal.models import predict_regions

pytest.importorskip("bpnetlite")
pytestmark = pytest.mark.slow

WIDTH = 80


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("headsdata")
    args = ["-q", "simulate", "--out", str(folder / "sim"), "--n-regions", "12"]
    args += ["--region-length", str(WIDTH), "--rate", "1.0", "--seed", "3"]
    assert seqsal_main(args) == 0
    module = small_bpnet(seed=2, trimming=10)
    return {
        "genome": folder / "sim" / "genome.fa",
        "regions": folder / "sim" / "regions.bed",
        "model": plain_torchscript(module, WIDTH, folder / "bpnet.pt"),
        "module": module,
    }


def test_regions_mode_predicts_every_head_and_attributes_the_chosen_one(data, tmp_path):
    attribute = {"steps": 2, "baseline": "shuffle:1", "shard_size": 100, "seed": 0}
    config = {
        "genome": str(data["genome"]),
        "regions": str(data["regions"]),
        "sample": "bp",
        "model": str(data["model"]),
        "width": WIDTH,
        "predict": {"enabled": True},
        "attribute": {**attribute, "output": 0, "reduce": "profile", "positions": "5:55"},
    }
    targets = [
        "results/bp/predictions.tsv",
        "results/bp/shards/attr.0.h5",
        "results/bp/shards/null.0.h5",
    ]
    result = snakemake(tmp_path, config, *targets)
    assert result.returncode == 0, explain(result, tmp_path)
    table = pd.read_csv(tmp_path / targets[0], sep="\t")
    expected = predict_regions(data["module"], data["genome"], data["regions"], width=WIDTH)
    columns = ["0.0.sum", "0.1.sum", "1"]
    assert list(table.columns[-3:]) == columns
    np.testing.assert_allclose(table[columns], expected[columns], rtol=1e-5, atol=1e-5)
    target = Target(output=0, reduce="profile", positions=(5, 55))
    with open_store(tmp_path / targets[1]) as store:
        assert store.n == 12
        assert (store.attrs["output"], store.attrs["reduce"], store.attrs["positions"]) == (
            "0",
            "profile",
            "5:55",
        )
        X = torch.from_numpy(np.asarray(store.raw[:], dtype=np.float32))
        want = attribute_dna(
            data["module"], X, method="ig", target=target, steps=2, baseline="shuffle:1", seed=0
        )
        np.testing.assert_allclose(store.projected[:], want.projected, rtol=1e-4, atol=1e-6)
    with open_store(tmp_path / targets[2]) as null:
        assert null.attrs["control"] == "dinucleotide_shuffle"
        assert null.attrs["positions"] == "5:55"


def test_scan_mode_scores_and_explains_the_counts_head(data, tmp_path):
    from seqsal.io.bed import read_bed
    from seqsal.scan.genome import scan

    config = {
        "mode": "scan",
        "genome": str(data["genome"]),
        "sample": "s",
        "model": str(data["model"]),
        "width": WIDTH,
        "scan": {
            "chroms": "chr1",
            "stride": 20,
            "threshold": "quantile",
            "quantile": 0.9,
            "null_windows": 100,
            "top": 3,
        },
        "predict": {"enabled": False},
        "attribute": {"steps": 2, "baseline": "shuffle:1", "shard_size": 100, "output": 1},
    }
    targets = ["results/s/candidates.bed", "results/s/scan/top.bed", "results/s/shards/attr.0.h5"]
    result = snakemake(tmp_path, config, *targets)
    assert result.returncode == 0, explain(result, tmp_path)
    shards = sorted((tmp_path / "results/s/scan").glob("*.tsv.gz"))
    scores = pd.concat([pd.read_csv(p, sep="\t") for p in shards], ignore_index=True)
    expected = scan(
        data["module"],
        data["genome"],
        chroms="chr1",
        stride=20,
        width=WIDTH,
        target=Target(output=1),
    ).to_frame()
    np.testing.assert_allclose(scores["score"], expected["score"], rtol=1e-5, atol=1e-6)
    top = read_bed(tmp_path / targets[1])
    assert 1 <= len(top) <= 3 and (top["end"] - top["start"] == WIDTH).all()
    with open_store(tmp_path / targets[2]) as store:
        assert store.n == len(top)
        assert store.attrs["output"] == "1" and store.attrs["target"] == "1"

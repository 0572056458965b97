"""The workflow with a fold ensemble: `model:` as a list of two bpnet-lite BPNets (plain
TorchScript, different seeds).  predict writes the mean and each model's columns, the
attribute shard is the mean of the models' attributions and records both checksums; a
missing model in the list is a config error naming it.  The rules run for real (tiny data)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from _toys import plain_torchscript, small_bpnet
from test_workflow_width import explain, snakemake

from seqsal.attribution import Target
from seqsal.cli import main as seqsal_main
from seqsal.dna import attribute_dna
from seqsal.errors import ConfigError
from seqsal.io.store import open_store
from seqsal.models import predict_regions
from seqsal.pipeline import check_config, config_overrides, resolved_paths

pytest.importorskip("bpnetlite")

WIDTH = 80
COLUMNS = ["0.0.sum", "0.1.sum", "1"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("ensembledata")
    args = ["-q", "simulate", "--out", str(folder / "sim"), "--n-regions", "12"]
    args += ["--region-length", str(WIDTH), "--rate", "1.0", "--seed", "3"]
    assert seqsal_main(args) == 0
    modules = [small_bpnet(seed=s, trimming=10) for s in (4, 5)]
    return {
        "genome": folder / "sim" / "genome.fa",
        "regions": folder / "sim" / "regions.bed",
        "models": [
            plain_torchscript(m, WIDTH, folder / f"fold{i}.pt") for i, m in enumerate(modules)
        ],
        "modules": modules,
    }


@pytest.mark.slow
def test_a_model_list_predicts_and_attributes_the_ensemble(data, tmp_path):
    attribute = {"steps": 2, "baseline": "shuffle:1", "shard_size": 100, "seed": 0}
    config = {
        "genome": str(data["genome"]),
        "regions": str(data["regions"]),
        "sample": "ens",
        "model": [str(p) for p in data["models"]],
        "width": WIDTH,
        "predict": {"enabled": True},
        "attribute": {**attribute, "output": 1},
    }
    targets = ["results/ens/predictions.tsv", "results/ens/shards/attr.0.h5"]
    result = snakemake(tmp_path, config, *targets)
    assert result.returncode == 0, explain(result, tmp_path)
    table = pd.read_csv(tmp_path / targets[0], sep="\t")
    members = [f"model{i}:{c}" for i in range(2) for c in COLUMNS]
    assert list(table.columns[-9:]) == COLUMNS + members
    for i, module in enumerate(data["modules"]):
        alone = predict_regions(module, data["genome"], data["regions"], width=WIDTH)
        got = table[[f"model{i}:{c}" for c in COLUMNS]].to_numpy()
        np.testing.assert_allclose(got, alone[COLUMNS], rtol=1e-5, atol=1e-5)
    with open_store(tmp_path / targets[1]) as store:
        assert store.n == 12 and store.attrs["n_models"] == 2
        assert json.loads(store.attrs["model_sources"]) == [str(p) for p in data["models"]]
        X = torch.from_numpy(np.asarray(store.raw[:], dtype=np.float32))
        options = {"method": "ig", "target": Target(output=1), "steps": 2, "seed": 0}
        parts = [
            attribute_dna(m, X, baseline="shuffle:1", **options).projected for m in data["modules"]
        ]
        np.testing.assert_allclose(store.projected[:], np.mean(parts, axis=0), atol=1e-5)


def test_config_check_looks_up_every_model_of_a_list(data, tmp_path):
    config_file = tmp_path / "c.yaml"
    models = [str(data["models"][0]), "nowhere.pt"]
    text = {"genome": str(data["genome"]), "regions": str(data["regions"]), "model": models}
    config_file.write_text(yaml.safe_dump(text))
    with pytest.raises(ConfigError) as info:
        check_config(yaml.safe_load(config_file.read_text()), config_file, tmp_path)
    message = str(info.value)
    assert "'nowhere.pt' (model 1) not found" in message and "\n" not in message
    text["model"] = [str(p) for p in data["models"]]
    config_file.write_text(yaml.safe_dump(text))
    check_config(yaml.safe_load(config_file.read_text()), config_file, tmp_path)


def test_a_model_list_is_resolved_and_passed_on_as_a_list(data, tmp_path):
    (tmp_path / "m").mkdir()
    for name in ("a.pt", "b.pt"):
        (tmp_path / "m" / name).write_bytes(b"")
    config_file = tmp_path / "run" / "c.yaml"
    config_file.parent.mkdir()
    resolved = resolved_paths({"model": ["m/a.pt", "m/b.pt"]}, config_file)
    expected = [str(tmp_path / "m" / "a.pt"), str(tmp_path / "m" / "b.pt")]
    assert resolved == {"model": expected}
    assert config_overrides(resolved) == [f"model={json.dumps(expected)}"]

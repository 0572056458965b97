"""The default attribution (``method="auto"``): DeepSHAP with 20 shuffles when every module of
the model has a DeepLIFT rule, else IG with 10, with a warning naming why; the same in the
library, the CLI (the store records what ran) and the workflow schema."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from _toys import cli_status, random_onehot, saved_zoo_cnn, two_chromosomes_five_regions
from torch import nn

from seqsal.dna import DEFAULT_BASELINES, attribute_dna, default_baseline, resolve_method
from seqsal.errors import InputError
from seqsal.models import zoo
from seqsal.models.ensemble import MeanOutput

LENGTH = 40


class WithLayerNorm(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv, self.norm = nn.Conv1d(4, 3, 5), nn.LayerNorm(LENGTH - 4)
        self.linear = nn.Linear(3 * (LENGTH - 4), 1)

    def forward(self, x):
        return self.linear(self.norm(self.conv(x)).flatten(1))


def test_auto_is_deepshap_where_every_module_has_a_rule_and_ig_elsewhere(caplog):
    cnn = zoo.build("cnn", input_length=LENGTH, n_targets=1, seed=0)
    assert resolve_method("auto", cnn) == "deepshap"
    with caplog.at_level(logging.WARNING):
        assert resolve_method("auto", WithLayerNorm()) == "ig"
    assert "module 'norm' (LayerNorm)" in caplog.text
    assert "running ig instead" in caplog.text
    scripted = torch.jit.trace(cnn.eval(), torch.zeros(1, 4, LENGTH))
    assert resolve_method("auto", scripted) == "ig"
    # an ensemble runs deepshap only when every member allows it
    assert resolve_method("auto", MeanOutput([cnn, cnn])) == "deepshap"
    assert resolve_method("auto", MeanOutput([cnn, WithLayerNorm()])) == "ig"
    # an explicit method is kept; an unknown one is an error
    assert resolve_method("ig", cnn) == "ig"
    with pytest.raises(InputError, match="method='deep'"):
        resolve_method("deep", cnn)


def test_default_baselines_per_method():
    assert DEFAULT_BASELINES == {"deepshap": "shuffle:20", "ig": "shuffle:10"}
    assert default_baseline("deepshap", None) == "shuffle:20"
    assert default_baseline("ig", None) == "shuffle:10"
    assert default_baseline("deepshap", "zeros") == "zeros"


def test_attribute_dna_defaults_are_deepshap_with_20_shuffles():
    model = zoo.build("cnn", input_length=LENGTH, n_targets=1, seed=2)
    X = random_onehot(n=3, length=LENGTH, seed=1)
    default = attribute_dna(model, X, seed=3)
    explicit = attribute_dna(model, X, method="deepshap", baseline="shuffle:20", seed=3)
    np.testing.assert_array_equal(default.hypothetical, explicit.hypothetical)
    np.testing.assert_array_equal(default.delta, explicit.delta)
    other = attribute_dna(model, X, method="deepshap", baseline="shuffle:10", seed=3)
    assert not np.array_equal(default.hypothetical, other.hypothetical)
    # the fallback gets IG's own default references
    ig = attribute_dna(WithLayerNorm(), X, seed=3)
    expected = attribute_dna(WithLayerNorm(), X, method="ig", baseline="shuffle:10", seed=3)
    np.testing.assert_array_equal(ig.hypothetical, expected.hypothetical)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("default-method")
    two_chromosomes_five_regions(root)
    saved_zoo_cnn(root / "model", length=LENGTH)
    module = zoo.build("cnn", input_length=LENGTH, n_targets=1, seed=1).eval()
    torch.jit.trace(module, torch.zeros(1, 4, LENGTH)).save(str(root / "scripted.pt"))
    return root


def _attribute(data, model, out, *extra):
    return cli_status(
        [
            "attribute", "--model", model, "--fasta", data / "genome.fa",
            "--regions", data / "regions.bed", "--out", out, "--no-progress", "--seed", 1,
            *extra,
        ]
    )  # fmt: skip


def test_cli_default_records_what_ran(data, tmp_path, capsys, caplog):
    from seqsal.io.store import open_store

    assert _attribute(data, data / "model", tmp_path / "a.h5") == 0
    assert "method deepshap" in capsys.readouterr().err
    with open_store(tmp_path / "a.h5") as store:
        assert store.attrs["method"] == "deepshap"
        assert store.attrs["baseline"] == "shuffle:20"
        assert np.abs(store.delta[:]).max() < 1e-4
    # a TorchScript file cannot carry the rules: IG, said on stderr, recorded in the store
    out = tmp_path / "b.h5"
    with caplog.at_level(logging.WARNING):
        assert _attribute(data, data / "scripted.pt", out, "--width", LENGTH) == 0
    assert "method ig" in capsys.readouterr().err
    assert "method auto:" in caplog.text and "TorchScript" in caplog.text
    with open_store(out) as store:
        assert store.attrs["method"] == "ig"
        assert store.attrs["baseline"] == "shuffle:10"
        assert store.attrs["steps"] == 32
    # the null made with the same defaults passes the seqlet caller's null check
    null = tmp_path / "a_null.h5"
    assert _attribute(data, data / "model", null, "--shuffle-control") == 0
    beds = tmp_path / "seqlets.bed"
    assert cli_status(["seqlets", "--store", tmp_path / "a.h5", "--null", null, "--out", beds]) == 0


def test_workflow_schema_default_is_auto_with_the_method_s_references():
    from pathlib import Path

    import yaml

    schema = yaml.safe_load(
        (Path(__file__).parents[1] / "workflows" / "schemas" / "config.schema.yaml").read_text()
    )
    attribute = schema["properties"]["attribute"]["properties"]
    assert attribute["method"]["default"] == "auto"
    assert "auto" in attribute["method"]["enum"]
    assert attribute["baseline"]["default"] is None

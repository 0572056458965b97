"""Saving and loading models: round trips, checksums, TorchScript, class + state dict, pickles."""

import json
import warnings

import numpy as np
import pytest
import torch
from _toys import onehot_codes
from torch import nn

from seqsal.errors import InputError, ModelError
from seqsal.models import load_model, predict, save_model, save_torchscript, zoo
from seqsal.models.load import LoadedModel

L = 90


class TinyNet(nn.Module):
    """A user model, importable as 'tests.test_models_load:TinyNet' or through this module."""

    def __init__(self, channels: int = 3, length: int = L):
        super().__init__()
        self.conv = nn.Conv1d(4, channels, 5)
        self.linear = nn.Linear(channels, 2)

    def forward(self, x):
        return self.linear(torch.relu(self.conv(x)).mean(dim=-1))


@pytest.fixture
def x():
    g = np.random.default_rng(0)
    return onehot_codes(g.integers(0, 4, size=(7, L)))


@pytest.fixture
def model():
    m = zoo.build(
        "cnn",
        input_length=L,
        n_targets=2,
        task="classification",
        filters=8,
        conv_filters=8,
        hidden=8,
        seed=3,
    )
    with torch.no_grad():
        m.head[-1].shift.fill_(0.5)  # a non-default buffer must survive the round trip
    return m


def _save(model, path, **extra):
    return save_model(
        model,
        path,
        arch="cnn",
        arch_kwargs={"filters": 8, "conv_filters": 8, "hidden": 8},
        input_length=L,
        targets=["a", "b"],
        task="classification",
        metadata={"metrics": {"test": {"auroc": [0.9, 0.8]}}, "seed": 3, **extra},
    )


def test_round_trip_identical_outputs_and_metadata(tmp_path, model, x):
    path = _save(model, tmp_path / "m")
    assert sorted(p.name for p in path.iterdir()) == ["model.json", "weights.pt"]
    loaded = load_model(path)
    assert isinstance(loaded, LoadedModel)
    assert (
        loaded.input_length == L
        and loaded.targets == ["a", "b"]
        and loaded.task == "classification"
    )
    assert loaded.metadata == {"metrics": {"test": {"auroc": [0.9, 0.8]}}, "seed": 3}
    # every option is recorded, defaults included, so a later default change cannot alter it
    assert loaded.arch == "cnn" and loaded.arch_kwargs == {
        **zoo.default_kwargs("cnn"),
        "filters": 8,
        "conv_filters": 8,
        "hidden": 8,
    }
    info = json.loads((path / "model.json").read_text())
    assert info["format_version"] == 1 and info["weights_sha256"] == loaded.checksum
    np.testing.assert_array_equal(predict(loaded, x), predict(model, x))
    # Saving again over a model folder replaces it.
    _save(model, path, note="again")
    assert load_model(path).metadata["note"] == "again"


@pytest.mark.parametrize("modes", [("mean", "max"), ("mean",)])
def test_folder_without_pool_modes_rebuilds_what_was_trained(tmp_path, x, modes):
    """Folders written before options were all recorded name only the user's options; the
    head's weights say which global pooling the CNN had (("mean", "max") was the old
    default)."""
    torch.manual_seed(0)
    old = zoo.build("cnn", input_length=L, n_targets=2, filters=8, hidden=8, pool_modes=modes)
    path = save_model(
        old,
        tmp_path / "m",
        arch="cnn",
        arch_kwargs={},
        input_length=L,
        targets=["a", "b"],
        task="regression",
    )
    info = json.loads((path / "model.json").read_text())
    info["arch_kwargs"] = {"filters": 8, "hidden": 8}  # as an older seqsal wrote it
    (path / "model.json").write_text(json.dumps(info))
    loaded = load_model(path)
    assert tuple(loaded.module.head[0].modes) == modes
    np.testing.assert_array_equal(predict(loaded, x), predict(old, x))


def test_checksum_tamper_is_refused(tmp_path, model):
    path = _save(model, tmp_path / "m")
    state = torch.load(path / "weights.pt", weights_only=True)
    next(iter(state.values())).add_(1.0)
    torch.save(state, path / "weights.pt")
    with pytest.raises(ModelError, match=r"sha256 .* does not match"):
        load_model(path)


def test_missing_files(tmp_path, model):
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "nope")
    path = _save(model, tmp_path / "m")
    (path / "weights.pt").unlink()
    with pytest.raises(ModelError, match=r"weights file 'weights\.pt' is missing"):
        load_model(path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match=r"no model\.json"):
        load_model(tmp_path / "empty")


def test_refuses_to_overwrite_a_foreign_folder(tmp_path, model):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not a seqsal model folder"):
        _save(model, tmp_path / "data")
    assert (tmp_path / "data" / "keep.txt").read_text() == "mine"


def test_torchscript_and_class_state_dict_give_same_predictions(tmp_path, model, x):
    expected = predict(model, x)
    ts = save_torchscript(
        model, tmp_path / "m.pt", input_length=L, targets=["a", "b"], task="classification"
    )
    from_ts = load_model(ts)
    assert (
        from_ts.input_length == L
        and from_ts.targets == ["a", "b"]
        and from_ts.arch == "torchscript"
    )
    np.testing.assert_allclose(predict(from_ts, x), expected, rtol=1e-6, atol=1e-6)

    torch.save(model.state_dict(), tmp_path / "state.pt")
    kwargs = {
        "input_length": L,
        "n_targets": 2,
        "task": "classification",
        "filters": 8,
        "conv_filters": 8,
        "hidden": 8,
    }
    from_class = load_model(
        "seqsal.models.zoo:CompactCNN", state_dict=tmp_path / "state.pt", kwargs=json.dumps(kwargs)
    )
    np.testing.assert_array_equal(predict(from_class, x), expected)
    assert from_class.input_length == L and from_class.targets == ["target_0", "target_1"]
    from_zoo_name = load_model("cnn", state_dict=tmp_path / "state.pt", kwargs=kwargs)
    np.testing.assert_array_equal(predict(from_zoo_name, x), expected)

    # A plain TorchScript file without seqsal metadata: input length probed, names generated.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = torch.jit.trace(TinyNet().eval(), torch.zeros(1, 4, L))
        torch.jit.save(scripted, str(tmp_path / "plain.pt"))
    plain = load_model(tmp_path / "plain.pt")
    assert plain.input_length is None  # global pooling: many lengths work, none is recorded
    assert plain.targets == ["target_0", "target_1"]


def test_state_dict_key_mismatch_lists_keys(tmp_path, model):
    state = model.state_dict()
    state["extra.weight"] = torch.zeros(1)
    del state["trunk.0.bias"]
    torch.save(state, tmp_path / "state.pt")
    kwargs = {"input_length": L, "n_targets": 2, "filters": 8, "conv_filters": 8, "hidden": 8}
    with pytest.raises(
        ModelError, match=r"1 missing \(e.g. trunk.0.bias\); 1 unexpected \(e.g. extra.weight\)"
    ):
        load_model("seqsal.models.zoo:CompactCNN", state_dict=tmp_path / "state.pt", kwargs=kwargs)
    with pytest.raises(ModelError, match="cannot import module"):
        load_model("no_such_package.mod:Net", state_dict=tmp_path / "state.pt")
    with pytest.raises(InputError, match="state_dict="):
        load_model("seqsal.models.zoo:CompactCNN")


def test_state_dict_alone_asks_for_the_class(tmp_path, model):
    torch.save(model.state_dict(), tmp_path / "state.pt")
    with pytest.raises(ModelError, match="holds a state dict"):
        load_model(tmp_path / "state.pt")


def test_pickled_module_needs_trust_pickle(tmp_path, x):
    net = TinyNet().eval()
    torch.save(net, tmp_path / "full.pt")
    with pytest.raises(ModelError, match="trust_pickle=True"):
        load_model(tmp_path / "full.pt")
    loaded = load_model(tmp_path / "full.pt", trust_pickle=True, input_length=L)
    np.testing.assert_array_equal(predict(loaded, x), predict(net, x))


class BadShape(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 2, 3)

    def forward(self, x):
        return self.conv(x)  # (n, 2, L - 2): a head with a position axis


def test_positional_output_is_one_head_and_a_deeper_one_is_refused():
    """(n, C, L') is a head with a position axis (predicted as the sum per channel); an output
    of higher rank is refused with its shape."""
    loaded = load_model(BadShape(), input_length=L)
    assert [(h.key, h.shape, h.positional) for h in loaded.heads] == [(None, (2, L - 2), True)]
    assert loaded.targets == ["target_0", "target_1"]
    assert loaded.columns == ["target_0.sum", "target_1.sum"]

    class Deeper(BadShape):
        def forward(self, x):
            return self.conv(x)[..., None]

    with pytest.raises(ModelError, match=r"output has shape \(2, 2, 88, 1\) for 2 inputs"):
        load_model(Deeper(), input_length=L)


def test_module_in_memory_is_wrapped_with_its_attributes(model):
    loaded = load_model(model)
    assert loaded.input_length == L and loaded.task == "classification" and loaded.n_targets == 2
    assert loaded.target_index(1) == 1
    with pytest.raises(InputError, match="target='c'"):
        load_model(model, targets=["a", "b"]).target_index("c")

"""Model files as users have them: pickles and state dicts saved on a GPU, ``path/file.py:Class``
specs, forwards with further inputs, channels-last models."""

import json
import sys

import numpy as np
import pytest
import torch
from _toys import conv_relu_linear, onehot_codes, save_as_if_on_cuda
from torch import nn

from seqsal.errors import InputError, ModelError
from seqsal.models import load_model, predict, save_model
from seqsal.models.files import MODEL_JSON, WEIGHTS, quiet_jit_deprecation
from seqsal.models.load import read_model

L = 20


@pytest.fixture
def x():
    g = np.random.default_rng(1)
    return onehot_codes(g.integers(0, 4, size=(6, L)))


def _assert_same_weights(module: nn.Module, reference: nn.Module):
    got, want = module.state_dict(), reference.state_dict()
    assert list(got) == list(want)
    for key, value in got.items():
        assert value.device.type == "cpu", key
        torch.testing.assert_close(value, want[key], rtol=0, atol=0)


def _plain_load_refuses(path):
    """Plain torch.load (no map_location) of a CUDA file fails on a CPU-only machine."""
    if torch.cuda.is_available():  # a GPU machine loads it onto the GPU: nothing to check
        return
    with pytest.raises(RuntimeError, match=r"on a CUDA device but torch\.cuda\.is_available"):
        torch.load(path, weights_only=False)


# --------------------------------------------------------------------------- saved on a GPU


def test_pickled_module_saved_on_a_gpu_loads_on_the_cpu(tmp_path, x):
    net = conv_relu_linear(seed=2, n_targets=2, length=L).eval()
    path = save_as_if_on_cuda(net, tmp_path / "full.pt")
    _plain_load_refuses(path)
    with pytest.raises(ModelError, match="trust_pickle=True"):
        load_model(path)
    loaded = load_model(path, trust_pickle=True, input_length=L)
    _assert_same_weights(loaded.module, net)
    np.testing.assert_array_equal(predict(loaded, x), predict(net, x))


def test_state_dict_saved_on_a_gpu_loads_on_the_cpu(tmp_path, x):
    net = conv_relu_linear(seed=3, n_targets=2, length=L).eval()
    path = save_as_if_on_cuda(net.state_dict(), tmp_path / "state.pt")
    _plain_load_refuses(path)
    torch.manual_seed(99)  # the class is built with other weights; the state dict replaces them
    loaded = load_model(
        "_toys:ConvReluLinear", state_dict=path, kwargs={"length": L}, input_length=L
    )
    _assert_same_weights(loaded.module, net)
    np.testing.assert_array_equal(predict(loaded, x), predict(net, x))


def test_model_folder_with_weights_saved_on_a_gpu_loads_on_the_cpu(tmp_path, x):
    from _toys import ConvReluLinear

    net = ConvReluLinear(length=L).eval()
    folder = save_model(
        net,
        tmp_path / "m",
        arch="_toys:ConvReluLinear",
        arch_kwargs={"length": L},
        input_length=L,
        targets=["a", "b"],
        task="regression",
    )
    # A folder written on a GPU by another tool: CUDA storages, its checksum recorded.
    save_as_if_on_cuda(net.state_dict(), folder / WEIGHTS)
    _plain_load_refuses(folder / WEIGHTS)
    info = json.loads((folder / MODEL_JSON).read_text())
    from seqsal.io.checksum import sha256_file

    info["weights_sha256"] = sha256_file(folder / WEIGHTS)
    (folder / MODEL_JSON).write_text(json.dumps(info))
    loaded = load_model(folder)
    _assert_same_weights(loaded.module, net)
    np.testing.assert_array_equal(predict(loaded, x), predict(net, x))


def test_pickled_bpnet_lite_model_saved_on_a_gpu_loads_on_the_cpu(tmp_path):
    bpnetlite = pytest.importorskip("bpnetlite")
    from bpnetlite.bpnet import CountWrapper

    torch.manual_seed(0)
    bpnet = bpnetlite.BPNet(n_filters=8, n_layers=2, n_outputs=2, n_control_tracks=0)
    bpnet.eval()
    length = 2 * bpnet.trimming + 40
    g = np.random.default_rng(4)
    xb = torch.from_numpy(onehot_codes(g.integers(0, 4, size=(3, length))))
    path = save_as_if_on_cuda(bpnet, tmp_path / "bpnet.pt")
    _plain_load_refuses(path)

    module = read_model(path, trust_pickle=True).module
    _assert_same_weights(module, bpnet)
    with torch.no_grad():
        for got, want in zip(module(xb), bpnet(xb), strict=True):
            torch.testing.assert_close(got, want, rtol=0, atol=0)

    counts = save_as_if_on_cuda(CountWrapper(bpnet), tmp_path / "counts.pt")
    loaded = load_model(counts, trust_pickle=True, input_length=length)
    with torch.no_grad():
        want = bpnet(xb)[1].numpy()
    np.testing.assert_array_equal(predict(loaded, xb.numpy()), want)


# --------------------------------------------------------------------------- path/file.py:Class

MODEL_FILE = """
import torch
from torch import nn

import seqsal_test_sibling_helpers as helpers
from .blocks import ConvBlock


class FileNet(nn.Module):
    def __init__(self, input_length, channels=5, n_targets=2):
        super().__init__()
        self.block = ConvBlock(channels)
        self.linear = nn.Linear(channels * (input_length - 4), n_targets)

    def forward(self, x):
        return helpers.scale(self.linear(self.block(x).flatten(1)))
"""

BLOCKS_FILE = """
import torch
from torch import nn


class ConvBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv1d(4, channels, 5)

    def forward(self, x):
        return torch.relu(self.conv(x))
"""

HELPERS_FILE = """
def scale(y):
    return 2.0 * y
"""


def _model_files(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "filenet.py").write_text(MODEL_FILE)
    (folder / "blocks.py").write_text(BLOCKS_FILE)
    (folder / "seqsal_test_sibling_helpers.py").write_text(HELPERS_FILE)
    return folder / "filenet.py"


def test_file_spec_with_state_dict_and_kwargs(tmp_path, x, monkeypatch):
    from seqsal.models.classes import import_class

    path = _model_files(tmp_path / "code")
    cls = import_class(f"{path}:FileNet")
    torch.manual_seed(7)
    reference = cls(input_length=L, channels=3).eval()
    torch.save(reference.state_dict(), tmp_path / "state.pt")
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()

    loaded = load_model(
        f"{path}:FileNet",
        state_dict=tmp_path / "state.pt",
        kwargs={"input_length": L, "channels": 3},
    )
    assert loaded.arch == f"{path}:FileNet" and loaded.input_length == L
    _assert_same_weights(loaded.module, reference)
    np.testing.assert_array_equal(predict(loaded, x), expected)
    assert str(tmp_path / "code") not in sys.path  # the folder was on it only briefly

    # A relative path is relative to the working directory; the CLI options take it as it is.
    import argparse

    from seqsal.cli._options import add_model_options, load_model_from_args

    monkeypatch.chdir(tmp_path)
    parser = argparse.ArgumentParser()
    add_model_options(parser)
    args = parser.parse_args(
        [
            "--model",
            "code/filenet.py:FileNet",
            "--state-dict",
            "state.pt",
            "--model-kwargs",
            json.dumps({"input_length": L, "channels": 3}),
        ]
    )
    np.testing.assert_array_equal(predict(load_model_from_args(args), x), expected)


def test_file_spec_errors_are_one_line(tmp_path):
    torch.save({}, tmp_path / "state.pt")
    state = tmp_path / "state.pt"
    path = _model_files(tmp_path / "code")

    with pytest.raises(ModelError, match=r"file '.*missing\.py' not found") as err:
        load_model(f"{tmp_path}/missing.py:Net", state_dict=state)
    assert "\n" not in str(err.value)

    with pytest.raises(
        ModelError, match=r"has no attribute 'Nett'; its torch\.nn\.Module classes: FileNet"
    ):
        load_model(f"{path}:Nett", state_dict=state)

    broken = tmp_path / "broken.py"
    broken.write_text("import torch\n\n\nclass Net(torch.nn.Module:\n    pass\n")
    with pytest.raises(ModelError, match=r"broken\.py, line 4: syntax error") as err:
        load_model(f"{broken}:Net", state_dict=state)
    assert "\n" not in str(err.value)

    failing = tmp_path / "failing.py"
    failing.write_text("import torch\n\nraise RuntimeError('no GPU here')\n")
    with pytest.raises(ModelError, match=r"failing\.py, line 3 failed: RuntimeError: no GPU here"):
        load_model(f"{failing}:Net", state_dict=state)
    assert not [k for k in sys.modules if k.startswith("_seqsal_user_") and "failing" in k]

    with pytest.raises(InputError, match=r"names a Python file; a model folder records only"):
        save_model(
            nn.Linear(4, 1),
            tmp_path / "folder",
            arch=f"{path}:FileNet",
            arch_kwargs={"length": L},
            input_length=L,
            targets=["a"],
            task="regression",
        )
    assert not (tmp_path / "folder").exists()


def test_model_folder_naming_a_python_file_is_refused(tmp_path):
    from _toys import ConvReluLinear

    folder = save_model(
        ConvReluLinear(length=L),
        tmp_path / "m",
        arch="_toys:ConvReluLinear",
        arch_kwargs={"length": L},
        input_length=L,
        targets=["a", "b"],
        task="regression",
    )
    info = json.loads((folder / MODEL_JSON).read_text())
    info["arch"] = "/elsewhere/model.py:Net"
    (folder / MODEL_JSON).write_text(json.dumps(info))
    with pytest.raises(ModelError, match=r"arch '/elsewhere/model.py:Net' names a Python file"):
        load_model(folder)


# --------------------------------------------------------------------------- further forward inputs


class WithControl(nn.Module):
    """forward(x, ctl=None, scale=1.0): the control track is optional."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(5)
        self.conv = nn.Conv1d(4, 2, 5)

    def forward(self, x, ctl: torch.Tensor | None = None, scale: float = 1.0):
        y = self.conv(x).mean(-1)
        if ctl is not None:
            y = y + ctl.sum(-1)
        return scale * y


class NeedsControl(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 2, 5)

    def forward(self, x, ctl):
        return self.conv(x).mean(-1) + ctl.sum(-1)


class NeedsKeyword(NeedsControl):
    def forward(self, x, *, bias):
        return self.conv(x).mean(-1) + bias


def test_optional_forward_inputs_keep_their_defaults(tmp_path, x):
    net = WithControl().eval()
    loaded = load_model(net, input_length=L)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    np.testing.assert_array_equal(predict(loaded, x), expected)

    with quiet_jit_deprecation():
        torch.jit.save(torch.jit.script(net), str(tmp_path / "scripted.pt"))
    from_file = load_model(tmp_path / "scripted.pt", input_length=L)
    np.testing.assert_allclose(predict(from_file, x), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("cls, name", [(NeedsControl, "'ctl'"), (NeedsKeyword, "'bias'")])
def test_a_further_required_input_is_refused_by_name(tmp_path, cls, name):
    with pytest.raises(ModelError, match=f"forward needs input {name} besides the sequence") as err:
        load_model(cls(), input_length=L)
    assert "seqsal passes only the sequence" in str(err.value) and "\n" not in str(err.value)
    if cls is NeedsControl:  # the TorchScript schema says the same
        with quiet_jit_deprecation():
            torch.jit.save(torch.jit.script(cls()), str(tmp_path / "needs.pt"))
        with pytest.raises(ModelError, match=f"needs input {name} besides the sequence"):
            load_model(tmp_path / "needs.pt", input_length=L)


def test_bpnet_lite_with_and_without_control_tracks(x):
    bpnetlite = pytest.importorskip("bpnetlite")
    from bpnetlite.bpnet import CountWrapper

    torch.manual_seed(0)
    plain = bpnetlite.BPNet(n_filters=8, n_layers=2, n_control_tracks=0, verbose=False).eval()
    length = 2 * plain.trimming + 40
    g = np.random.default_rng(2)
    xb = onehot_codes(g.integers(0, 4, size=(4, length)))
    loaded = load_model(CountWrapper(plain), input_length=length)
    with torch.no_grad():
        expected = plain(torch.from_numpy(xb))[1].numpy()
    np.testing.assert_array_equal(predict(loaded, xb), expected)

    torch.manual_seed(0)
    controlled = bpnetlite.BPNet(n_filters=8, n_layers=2, n_control_tracks=2, verbose=False)
    with pytest.raises(ModelError) as err:
        load_model(CountWrapper(controlled.eval()), input_length=length)
    message = str(err.value)
    assert "\n" not in message
    assert f"model fails on input of shape (2, 4, {length})" in message
    assert "forward also takes X_ctl=None" in message and "passes only the sequence" in message


# --------------------------------------------------------------------------- channels-last models


class PermuteFirst(nn.Module):
    """A channels-last port: (n, L, 4) -> permute -> the channels-first layers."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x.permute(0, 2, 1))


class DenseFirst(nn.Module):
    """Keras-like: Dense(4 -> H) on the last axis of (n, L, 4), ReLU, Flatten, Dense."""

    def __init__(self, hidden=3, length=L, n_targets=2, seed=4):
        super().__init__()
        torch.manual_seed(seed)
        self.dense = nn.Linear(4, hidden)
        self.out = nn.Linear(length * hidden, n_targets)

    def forward(self, x):
        return self.out(torch.relu(self.dense(x)).flatten(1))


def dense_first_channels_first(model: DenseFirst) -> nn.Sequential:
    """The same weights as a channels-first model: Conv1d(k=1), ReLU, Flatten, Linear."""
    hidden, length = model.dense.out_features, model.out.in_features // model.dense.out_features
    conv = nn.Conv1d(4, hidden, 1)
    out = nn.Linear(length * hidden, model.out.out_features)
    with torch.no_grad():
        conv.weight.copy_(model.dense.weight[:, :, None])
        conv.bias.copy_(model.dense.bias)
        # Flatten of (n, L, H) is position-major, of (n, H, L) channel-major.
        weight = model.out.weight.reshape(-1, length, hidden).permute(0, 2, 1)
        out.weight.copy_(weight.reshape(model.out.out_features, -1))
        out.bias.copy_(model.out.bias)
    return nn.Sequential(conv, nn.ReLU(), nn.Flatten(), out).eval()


def _layout_pairs():
    first = conv_relu_linear(seed=6, n_targets=2, length=L).eval()
    dense = DenseFirst().eval()
    return [(PermuteFirst(first).eval(), first), (dense, dense_first_channels_first(dense))]


@pytest.mark.parametrize("pair", [0, 1], ids=["permute-first", "dense-first"])
def test_channels_last_model_equals_its_channels_first_twin(pair, x):
    from seqsal.attribution import attribute

    nlc, ncl = _layout_pairs()[pair]
    loaded = load_model(nlc, layout="NLC", input_length=L)
    assert loaded.layout == "NLC" and loaded.input_length == L
    reference = load_model(ncl, input_length=L)
    assert reference.layout == "NCL"
    np.testing.assert_allclose(predict(loaded, x), predict(reference, x), rtol=1e-6, atol=1e-6)
    for method, options in [("saliency", {}), ("ig", {"steps": 8}), ("occlusion", {"window": 3})]:
        got = attribute(loaded.module, x, method, target=1, **options)
        want = attribute(reference.module, x, method, target=1, **options)
        assert got.shape == (len(x), 4, L)
        torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)


def test_gradcam_and_the_scan_see_through_the_wrapper(x):
    from seqsal.attribution import attribute
    from seqsal.scan.genome import trunk_plan_for

    nlc, ncl = _layout_pairs()[0]
    loaded = load_model(nlc, layout="NLC", input_length=L)
    # The model's own layer names reach its layers; the last conv is found by default.
    assert loaded.module.get_submodule("net.2") is nlc.net[2]
    got = attribute(loaded.module, x, "gradcam", target=0, layer="net.2")
    want = attribute(ncl, x, "gradcam", target=0, layer="2")
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(attribute(loaded.module, x, "gradcam", target=0), want)
    plan, reason = trunk_plan_for(loaded.module, L)
    assert plan is None and "not a zoo model" in reason


def test_a_layout_that_contradicts_the_first_layer_is_named():
    nlc = _layout_pairs()[1][0]
    with pytest.raises(ModelError) as err:
        load_model(nlc, input_length=L)  # channels-last given (n, 4, L)
    message = str(err.value)
    assert "\n" not in message
    assert (
        "layout 'NCL' contradicts the model: its first layer dense (Linear(in_features=4" in message
    )
    assert f"fails on input (2, 4, {L})" in message and "--layout NLC" in message

    first = _layout_pairs()[0][1]
    with pytest.raises(
        ModelError, match=r"layout 'NLC' contradicts the model: its first layer 0 \(Conv1d\(4, 6"
    ):
        load_model(first, layout="NLC", input_length=L)
    torch.manual_seed(0)
    pooled = nn.Sequential(nn.Conv1d(4, 3, 5), nn.AdaptiveAvgPool1d(1), nn.Flatten())
    with pytest.raises(ModelError, match=r"fails on input \(2, 1000, 4\), and the model runs"):
        load_model(pooled, layout="NLC")  # no length: the probe lengths are tried
    with pytest.raises(InputError, match=r"layout='CNL'; expected one of NCL, NLC"):
        load_model(first, layout="CNL", input_length=L)


def test_model_folder_records_the_layout(tmp_path, x):
    dense = DenseFirst().eval()
    kwargs = {"hidden": 3, "length": L, "n_targets": 2}
    folder = save_model(
        dense,
        tmp_path / "nlc",
        arch="test_models_user_files:DenseFirst",
        arch_kwargs=kwargs,
        input_length=L,
        targets=["a", "b"],
        task="regression",
        layout="NLC",
    )
    assert json.loads((folder / MODEL_JSON).read_text())["layout"] == "NLC"
    loaded = load_model(folder)
    assert loaded.layout == "NLC"
    np.testing.assert_allclose(
        predict(loaded, x), predict(dense_first_channels_first(dense), x), rtol=1e-6, atol=1e-6
    )
    assert load_model(folder, layout="NLC").layout == "NLC"
    with pytest.raises(InputError, match=r"layout='NCL', but .*nlc records layout 'NLC'"):
        load_model(folder, layout="NCL")
    # A LoadedModel goes back in unwrapped, with its layout.
    again = load_model(loaded, layout="NLC")
    assert again.layout == "NLC" and type(again.module) is type(loaded.module)
    assert again.module.model is loaded.module.model  # not wrapped twice
    with pytest.raises(InputError, match=r"records layout 'NLC'"):
        load_model(loaded, layout="NCL")

    plain = save_model(
        conv_relu_linear(length=L, n_targets=2),
        tmp_path / "ncl",
        arch="_toys:ConvReluLinear",
        arch_kwargs={"length": L},
        input_length=L,
        targets=["a", "b"],
        task="regression",
    )
    assert "layout" not in json.loads((plain / MODEL_JSON).read_text())
    assert load_model(plain).layout == "NCL"

    with pytest.raises(InputError, match=r"layout='nlc'; expected one of NCL, NLC"):
        save_model(
            dense,
            tmp_path / "bad",
            arch="x:Y",
            arch_kwargs={},
            input_length=L,
            targets=["a", "b"],
            task="regression",
            layout="nlc",
        )
    assert not (tmp_path / "bad").exists()
    info = json.loads((folder / MODEL_JSON).read_text())
    info["layout"] = "LCN"
    (folder / MODEL_JSON).write_text(json.dumps(info))
    with pytest.raises(ModelError, match=r"model.json: layout='LCN'; expected one of NCL, NLC"):
        load_model(folder)


def test_integrated_gradients_of_a_model_that_transposes_its_input(x):
    """The input gradient of a model that transposes its input first is not contiguous."""
    from seqsal.attribution import attribute

    dense = DenseFirst().eval()

    class Transposing(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = dense

        def forward(self, x):
            return self.inner(x.transpose(1, 2))

    got = attribute(Transposing(), x, "ig", target=1, steps=8)
    want = attribute(dense_first_channels_first(dense), x, "ig", target=1, steps=8)
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)


def test_cli_layout_option(tmp_path, capsys):
    import pandas as pd

    from seqsal.cli import main
    from seqsal.models import save_torchscript

    def status(argv):
        try:
            return main([str(a) for a in argv])
        except SystemExit as exit:
            return int(exit.code)

    g = np.random.default_rng(3)
    (tmp_path / "g.fa").write_text(">chr1\n" + "".join(g.choice(list("ACGT"), 300)) + "\n")
    (tmp_path / "r.bed").write_text("".join(f"chr1\t{s}\t{s + L}\n" for s in (10, 95, 200)))
    dense = DenseFirst().eval()
    folder = save_model(
        dense,
        tmp_path / "nlc",
        arch="test_models_user_files:DenseFirst",
        arch_kwargs={"hidden": 3, "length": L, "n_targets": 2},
        input_length=L,
        targets=["a", "b"],
        task="regression",
        layout="NLC",
    )
    twin = save_torchscript(
        dense_first_channels_first(dense),
        tmp_path / "twin.pt",
        input_length=L,
        targets=["a", "b"],
        task="regression",
    )
    common = ["--fasta", tmp_path / "g.fa", "--regions", tmp_path / "r.bed", "--no-progress"]
    assert status(["predict", "--model", folder, *common, "--out", tmp_path / "nlc.tsv"]) == 0
    assert status(["predict", "--model", twin, *common, "--out", tmp_path / "ncl.tsv"]) == 0
    got = pd.read_csv(tmp_path / "nlc.tsv", sep="\t")
    want = pd.read_csv(tmp_path / "ncl.tsv", sep="\t")
    np.testing.assert_allclose(got[["a", "b"]], want[["a", "b"]], rtol=1e-5, atol=1e-6)

    # Layout given on the command line for a module spec; a contradiction; a bad value.
    torch.save(dense.state_dict(), tmp_path / "state.pt")
    spec = ["--model", "test_models_user_files:DenseFirst", "--state-dict", tmp_path / "state.pt"]
    spec += ["--model-kwargs", json.dumps({"length": L}), "--width", L]
    assert status(["predict", *spec, "--layout", "NLC", *common, "--out", tmp_path / "s.tsv"]) == 0
    np.testing.assert_allclose(
        pd.read_csv(tmp_path / "s.tsv", sep="\t")[["target_0", "target_1"]].to_numpy(),
        want[["a", "b"]].to_numpy(),
        rtol=1e-5,
        atol=1e-6,
    )
    capsys.readouterr()
    for layout, expected in [
        ("NCL", "layout 'NCL' contradicts the model: its first layer dense"),
        ("nlc", "argument --layout: invalid choice: 'nlc' (choose from 'NCL', 'NLC')"),
    ]:
        out = tmp_path / f"refused_{layout}.tsv"
        assert status(["predict", *spec, "--layout", layout, *common, "--out", out]) == 2
        err = capsys.readouterr().err.strip()
        assert expected in err and "\n" not in err and "Traceback" not in err
        assert not out.exists()


# --------------------------------------------------------------------------- TorchScript outputs


class TupleOut(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(8)
        self.conv = nn.Conv1d(4, 2, 3)

    def forward(self, x):
        profile = self.conv(x)
        return profile, profile.logsumexp(-1)


class DictOut(TupleOut):
    def forward(self, x):
        profile = self.conv(x)
        return {"profile": profile, "counts": profile.logsumexp(-1)}


@pytest.mark.parametrize("cls", [TupleOut, DictOut])
@pytest.mark.parametrize("how", ["traced", "scripted"])
def test_torchscript_with_tuple_and_dict_outputs_loads(tmp_path, x, cls, how):
    from seqsal.models import save_torchscript

    net = cls().eval()
    path = tmp_path / "m.pt"
    if how == "traced":
        save_torchscript(net, path, input_length=L, targets=["a", "b"], task="regression")
    else:
        with quiet_jit_deprecation():
            torch.jit.save(torch.jit.script(net), str(path))
    module = read_model(path).module
    xt = torch.from_numpy(x)
    with torch.no_grad():
        got, want = module(xt), net(xt)
    assert type(got) is type(want)
    if isinstance(want, dict):
        assert list(got) == list(want)
        got, want = list(got.values()), list(want.values())
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-6, atol=1e-6)


def test_torchscript_metadata_may_record_the_layout(tmp_path, x):
    import json as _json

    nlc, ncl = _layout_pairs()[1]
    with quiet_jit_deprecation():
        traced = torch.jit.trace(nlc, torch.zeros(1, L, 4))
        torch.jit.save(
            traced,
            str(tmp_path / "nlc.pt"),
            _extra_files={"seqsal.json": _json.dumps({"input_length": L, "layout": "NLC"})},
        )
    loaded = load_model(tmp_path / "nlc.pt")
    assert loaded.layout == "NLC" and loaded.input_length == L
    np.testing.assert_allclose(predict(loaded, x), predict(ncl, x), rtol=1e-6, atol=1e-6)


def test_a_model_that_cannot_be_traced_is_one_line(tmp_path):
    from seqsal.models import save_torchscript

    class Branching(nn.Module):
        def forward(self, x):
            return {"n": "text"}  # not tensors: the tracer cannot record it

    with pytest.raises(ModelError, match=r"cannot trace Branching on input \(1, 4, 20\)") as err:
        save_torchscript(
            Branching(), tmp_path / "b.pt", input_length=L, targets=["n"], task="regression"
        )
    assert "\n" not in str(err.value) and not (tmp_path / "b.pt").exists()


def test_layout_is_for_dna_models_only():
    from _toys import image_cnn

    with pytest.raises(InputError, match=r"layout='NLC' is for DNA models; an image model takes"):
        load_model(image_cnn(), input_shape=(3, 14, 16), layout="NLC")
    assert load_model(image_cnn(), input_shape=(3, 14, 16), layout="NCL").layout == "NCL"

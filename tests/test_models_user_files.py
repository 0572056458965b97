"""Model files as users have them: pickles and state dicts saved on a GPU, ``path/file.py:Class``
specs, forwards with further inputs, channels-last models."""

import json

import numpy as np
import pytest
import torch
from _toys import conv_relu_linear, onehot_codes, save_as_if_on_cuda
from torch import nn

from seqsal.errors import ModelError
from seqsal.models import load_model, predict, save_model
from seqsal.models.files import MODEL_JSON, WEIGHTS
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

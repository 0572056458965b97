"""Models with several heads loaded, probed and predicted: a bpnet-lite BPNet (in memory and
as TorchScript), dict and namedtuple outputs; predict's columns and their names."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _toys import TwoHeads, plain_torchscript, random_onehot, small_bpnet

from seqsal.attribution import Target, resolve_targets
from seqsal.errors import ModelError
from seqsal.models.load import load_model
from seqsal.models.predict import predict

pytest.importorskip("bpnetlite")
L = 80


@pytest.fixture(scope="module")
def bpnet():
    return small_bpnet(seed=1, trimming=10)


def expected_columns(output):
    profile, counts = output
    return torch.cat([profile.sum(dim=2), counts], dim=1).numpy()


def test_bpnet_heads_columns_and_predictions(bpnet):
    loaded = load_model(bpnet, input_length=L)
    assert [(h.key, h.shape, h.positional) for h in loaded.heads] == [
        (0, (2, L - 20), True),
        (1, (1,), False),
    ]
    assert loaded.columns == loaded.targets == ["0.0.sum", "0.1.sum", "1"]
    X = random_onehot(n=7, length=L, seed=2)
    with torch.no_grad():
        expected = expected_columns(bpnet(X))
    for batch_size in (1, 3, 7):
        got = predict(loaded, X, batch_size=batch_size, progress=False)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_bpnet_torchscript_tuple_output_loads(bpnet, tmp_path):
    path = plain_torchscript(bpnet, L, tmp_path / "bpnet.pt")
    loaded = load_model(path, input_length=L)
    assert loaded.arch == "torchscript"
    assert [h.key for h in loaded.heads] == [0, 1] and loaded.columns == ["0.0.sum", "0.1.sum", "1"]
    X = random_onehot(n=4, length=L, seed=3)
    with torch.no_grad():
        expected = expected_columns(bpnet(X))
        output = loaded.module(X)
    np.testing.assert_allclose(predict(loaded, X, progress=False), expected, rtol=1e-5, atol=1e-5)
    counts = resolve_targets(Target(output=1)).select(output, 0)
    np.testing.assert_allclose(counts.numpy(), expected[:, 2], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["dict", "namedtuple"])
def test_named_heads_columns(kind):
    model = TwoHeads(kind=kind, seed=3).eval()
    loaded = load_model(model, input_length=24)
    assert [h.key for h in loaded.heads] == ["profile", "counts"]
    assert loaded.columns == ["profile.0.sum", "profile.1.sum", "counts"]
    X = random_onehot(n=3, length=24, seed=4)
    with torch.no_grad():
        out = model(X)
        out = out if kind == "dict" else out._asdict()
        expected = torch.cat([out["profile"].sum(dim=2), out["counts"]], dim=1).numpy()
    np.testing.assert_allclose(predict(loaded, X, progress=False), expected, rtol=1e-6)


def test_dict_torchscript_loads(tmp_path):
    model = TwoHeads(kind="dict", seed=3).eval()
    loaded = load_model(plain_torchscript(model, 24, tmp_path / "dict.pt"), input_length=24)
    assert loaded.columns == ["profile.0.sum", "profile.1.sum", "counts"]
    X = random_onehot(n=3, length=24, seed=4)
    np.testing.assert_allclose(
        predict(loaded, X, progress=False), predict(model, X, progress=False), rtol=1e-6
    )


def test_predict_select_takes_chosen_targets(bpnet):
    X = random_onehot(n=5, length=L, seed=6)
    targets = resolve_targets([Target(output=1), Target(output=0, reduce="profile")])
    got = predict(bpnet, X, select=lambda out: targets.select_all(out).T, progress=False)
    with torch.no_grad():
        expected = targets.select_all(bpnet(X)).T.numpy()
    assert got.shape == (5, 2)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_target_names_must_match_the_columns(bpnet):
    with pytest.raises(ModelError, match=r"model has 3 columns .* but 2 target names"):
        load_model(bpnet, input_length=L, targets=["a", "b"])
    loaded = load_model(bpnet, input_length=L, targets=["plus", "minus", "counts"])
    assert loaded.columns == ["plus", "minus", "counts"]

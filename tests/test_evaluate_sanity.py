"""The model parameter randomisation test (seqsal.evaluate.sanity), SSIM against scikit-image."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _toys import conv_relu_linear, random_onehot
from scipy.stats import spearmanr
from skimage.metrics import structural_similarity
from torch import nn

from seqsal.attribution import grad_x_input, saliency
from seqsal.errors import InputError
from seqsal.evaluate import (
    compare_maps,
    parameter_randomization,
    randomizable_layers,
    spearman,
    ssim,
)


@pytest.fixture(scope="module")
def dna():
    return conv_relu_linear(length=30, n_targets=2, channels=(8, 6)), random_onehot(6, length=30)


@pytest.mark.parametrize(
    ("shape", "channel_axis"), [((23, 17), None), ((40,), None), ((9, 8, 3), 2), ((3, 12, 10), 0)]
)
def test_ssim_matches_skimage(shape, channel_axis):
    rng = np.random.default_rng(len(shape))
    a = rng.random(shape)
    b = np.clip(a + 0.3 * rng.standard_normal(shape), 0, 1)
    mine = ssim(a, b, data_range=1.0, channel_axis=channel_axis)
    theirs = structural_similarity(a, b, data_range=1.0, channel_axis=channel_axis)
    assert mine == pytest.approx(theirs, abs=1e-12)
    assert ssim(a, a, data_range=1.0, channel_axis=channel_axis) == pytest.approx(1.0)
    five = ssim(a, b, data_range=2.0, win_size=5, channel_axis=channel_axis)
    assert five == pytest.approx(
        structural_similarity(a, b, data_range=2.0, win_size=5, channel_axis=channel_axis),
        abs=1e-12,
    )


def test_spearman_matches_scipy_with_ties():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, 50).astype(float)
    b = a + rng.standard_normal(50)
    assert spearman(a, b) == pytest.approx(spearmanr(a, b).statistic, abs=1e-12)
    assert np.isnan(spearman(np.ones(5), b[:5]))


def test_compare_maps_columns_follow_their_definitions():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3, 4, 25))
    b = a + rng.standard_normal((3, 4, 25))
    out = compare_maps(a, b)  # channels summed: one value per position, (L,)
    for i in range(3):
        sa, sb = a[i].sum(0), b[i].sum(0)
        assert out["spearman_signed"][i] == pytest.approx(spearmanr(sa, sb).statistic)
        assert out["spearman_abs"][i] == pytest.approx(spearmanr(abs(sa), abs(sb)).statistic)
        ua, ub = abs(sa) / abs(sa).max(), abs(sb) / abs(sb).max()
        assert out["ssim"][i] == pytest.approx(structural_similarity(ua, ub, data_range=1.0))
    kept = compare_maps(a, b, channels="keep")  # (4, L): SSIM per row, averaged
    ua, ub = abs(a[0]) / abs(a[0]).max(), abs(b[0]) / abs(b[0]).max()
    assert kept["ssim"][0] == pytest.approx(
        structural_similarity(ua, ub, data_range=1.0, channel_axis=0)
    )
    assert kept["spearman_signed"][0] == pytest.approx(
        spearmanr(a[0].ravel(), b[0].ravel()).statistic
    )


def test_unrandomised_is_exactly_one_and_top_layer_decorrelates(dna):
    model, X = dna
    table = parameter_randomization(model, X, "saliency", target=0, per_example=True)
    original = table[table["mode"] == "original"]
    assert len(original) == X.shape[0]
    assert (original[["spearman_abs", "spearman_signed", "ssim"]] == 1.0).all().all()
    top = table[(table["mode"] == "cascading") & (table["step"] == 1)]
    assert top["layer"].iloc[0] == "5"  # the Linear output layer goes first
    assert top["spearman_abs"].mean() < 0.5
    assert top["spearman_signed"].mean() < 0.5
    full = table[(table["mode"] == "cascading") & (table["step"] == 3)]
    assert full["spearman_abs"].mean() < 0.5


def test_summary_table_and_mode_consistency(dna):
    model, X = dna
    table = parameter_randomization(model, X, "grad_x_input", target=1, seed=4)
    assert list(table["layer"]) == ["none", "5", "2", "0", "5", "2", "0"]
    assert list(table["mode"]) == ["original"] + ["cascading"] * 3 + ["independent"] * 3
    assert (table["n"] == X.shape[0]).all()
    # the top layer alone is the same randomised model in both modes
    casc = table[(table["mode"] == "cascading") & (table["step"] == 1)].iloc[0]
    ind = table[(table["mode"] == "independent") & (table["step"] == 1)].iloc[0]
    assert casc["spearman_abs"] == ind["spearman_abs"] and casc["ssim"] == ind["ssim"]
    # the means are the means of the per-example table
    per = parameter_randomization(model, X, "grad_x_input", target=1, seed=4, per_example=True)
    means = per.groupby(["mode", "step"], sort=False)["spearman_signed"].mean().to_numpy()
    np.testing.assert_allclose(table["spearman_signed"], means)


def test_model_is_not_mutated(dna):
    model, X = dna
    model.train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    flags = [p.requires_grad for p in model.parameters()]
    before = saliency(model, X, target=0)
    parameter_randomization(model, X, "saliency", target=0, modes="cascading")
    assert model.training
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert [p.requires_grad for p in model.parameters()] == flags
    assert torch.equal(before, saliency(model, X, target=0))
    model.eval()


def test_callable_method_and_predicted_target(dna):
    model, X = dna

    def projected(m, x, target):  # a DNA-layer style callable: projected gradients
        return grad_x_input(m, x, target=target)

    table = parameter_randomization(
        model, X, projected, modes="independent", layers=["0"], per_example=True
    )
    assert list(table["layer"].unique()) == ["none", "0"]
    assert (table.loc[table["mode"] == "original", "spearman_signed"] == 1.0).all()
    named = parameter_randomization(model, X, "grad_x_input", modes="independent", layers=["0"])
    # target None = the class predicted by the original model, the same for the named method
    per = table.groupby("mode", sort=False)["ssim"].mean()
    np.testing.assert_allclose(named.set_index("mode")["ssim"].loc[per.index], per.to_numpy())


def test_image_gradcam_and_randomisable_layers():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    ).eval()
    assert randomizable_layers(model) == ["0", "1", "3", "7"]
    X = torch.rand((3, 3, 12, 12), generator=torch.Generator().manual_seed(0))
    table = parameter_randomization(
        model, X, "gradcam", method_kwargs={"layer": "3"}, modes="cascading"
    )
    assert table.loc[0, "spearman_abs"] == 1.0 and table.loc[0, "ssim"] == pytest.approx(1.0)
    assert table.loc[1:, "spearman_abs"].max() < 1.0


def test_bad_arguments(dna):
    model, X = dna
    with pytest.raises(InputError, match="method="):
        parameter_randomization(model, X, "deeplift")
    with pytest.raises(InputError, match="layers="):
        parameter_randomization(model, X, "saliency", layers=["nope"])
    with pytest.raises(InputError, match="modes="):
        parameter_randomization(model, X, "saliency", modes="random")
    with pytest.raises(InputError, match="data_range"):
        ssim(np.ones(9), np.ones(9), data_range=0)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torchscript_models_are_copied_not_changed(dna):
    model, X = dna
    traced = torch.jit.trace(model.eval(), X[:1])
    state = {k: v.clone() for k, v in traced.state_dict().items()}
    table = parameter_randomization(traced, X, "saliency", target=0, modes="independent")
    assert table.loc[0, "spearman_signed"] == 1.0
    assert (table.loc[1:, "spearman_signed"] < 0.9).all()
    assert all(torch.equal(state[k], v) for k, v in traced.state_dict().items())
    assert all(p.is_leaf for p in traced.parameters())

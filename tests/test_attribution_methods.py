"""seqsal.attribution.attribute: a method by name runs the very function of that name."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seqsal import attribution as A
from seqsal.errors import InputError


def toy():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 6 * 5, 2)
    ).eval()


def test_each_name_equals_its_function():
    model = toy()
    X = torch.rand(4, 2, 6, 5, generator=torch.Generator().manual_seed(1))
    direct = {
        "saliency": A.saliency(model, X, target=1),
        "grad_x_input": A.grad_x_input(model, X, target=1),
        "ig": A.integrated_gradients(model, X, target=1, steps=7).attributions,
        "integrated_gradients": A.integrated_gradients(model, X, target=1, steps=7).attributions,
        "smoothgrad": A.smoothgrad(model, X, target=1, n_samples=3, seed=5),
        "gradcam": A.gradcam(model, X, target=1, layer="0"),
        "occlusion": A.occlusion(model, X, target=1, window=(2, 2)),
        "deepshap": A.deepshap(model, X, target=1, baseline=0.5).attributions,
    }
    options = {
        "ig": {"steps": 7},
        "integrated_gradients": {"steps": 7},
        "smoothgrad": {"n_samples": 3},
        "gradcam": {"layer": "0"},
        "occlusion": {"window": (2, 2)},
        "deepshap": {"baseline": 0.5},
    }
    assert set(direct) == set(A.METHODS)
    for name, expected in direct.items():
        got = A.attribute(model, X, name, target=1, seed=5, **options.get(name, {}))
        assert got.shape == X.shape
        torch.testing.assert_close(got, expected, rtol=0, atol=0, msg=name)
    # methods differ from each other: the dispatch does not route everything to one function
    assert not torch.equal(direct["saliency"], direct["grad_x_input"])


@pytest.mark.parametrize("bad", ["deeplift", "", None, 3])
def test_unknown_method_is_named(bad):
    with pytest.raises(InputError, match="method="):
        A.attribute(toy(), torch.rand(1, 2, 6, 5), bad)

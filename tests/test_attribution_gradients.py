"""Saliency and gradient x input: captum agreement, targets, batching, model state, errors."""

import pytest
import torch
from _toys import FailsAfter, conv_relu_linear, gaussian, image_cnn, random_onehot

from seqsal.attribution import (
    evaluate_perturbed,
    grad_x_input,
    gradcam,
    integrated_gradients,
    occlusion,
    resolve_targets,
    saliency,
    smoothgrad,
)
from seqsal.attribution._batching import rows_per_call
from seqsal.errors import InputError

captum_attr = pytest.importorskip("captum.attr")


def test_saliency_is_captums_signed_saliency():
    model, X = conv_relu_linear(), gaussian((6, 4, 20))
    theirs = captum_attr.Saliency(model).attribute(X.clone().requires_grad_(), target=2, abs=False)
    torch.testing.assert_close(
        saliency(model, X, target=2, batch_size=4), theirs, atol=1e-5, rtol=1e-5
    )
    assert (saliency(model, X, target=2) < 0).any()  # signed, not captum's default abs


def test_grad_x_input_is_captums_input_x_gradient():
    model, X = conv_relu_linear(), random_onehot(6)
    theirs = captum_attr.InputXGradient(model).attribute(X.clone().requires_grad_(), target=1)
    torch.testing.assert_close(
        grad_x_input(model, X.numpy(), target=1), theirs.detach(), atol=1e-5, rtol=1e-5
    )


def test_saliency_on_images():
    model, X = image_cnn(), gaussian((3, 3, 14, 16))
    theirs = captum_attr.Saliency(model).attribute(X.clone().requires_grad_(), target=1, abs=False)
    torch.testing.assert_close(saliency(model, X, target=1), theirs, atol=1e-5, rtol=1e-5)


def test_multi_target_stacks_a_leading_axis_and_names_resolve():
    model, X = conv_relu_linear(), gaussian((4, 4, 20))
    both = grad_x_input(model, X, target=[2, "b"], target_names=["a", "b", "c"])
    assert both.shape == (2, 4, 4, 20)
    torch.testing.assert_close(both[0], grad_x_input(model, X, target=2))
    torch.testing.assert_close(both[1], grad_x_input(model, X, target=1))
    model.targets = ["a", "b", "c"]  # the model's own names are used when none are given
    torch.testing.assert_close(saliency(model, X, target="c"), saliency(model, X, target=2))


def test_callable_target_reduces_the_output():
    model, X = conv_relu_linear(), gaussian((4, 4, 20))
    summed = saliency(model, X, target=lambda out: out.sum(dim=1))
    by_parts = sum(saliency(model, X, target=t) for t in range(3))
    torch.testing.assert_close(summed, by_parts, atol=1e-6, rtol=1e-5)


def test_models_returning_one_value_per_example():
    base, X = conv_relu_linear(), gaussian((3, 4, 20))

    class Vector(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = base

        def forward(self, x):
            return self.inner(x)[:, 1]

    torch.testing.assert_close(saliency(Vector(), X), saliency(base, X, target=1))
    with pytest.raises(InputError, match="target"):
        saliency(Vector(), X, target=1)


@pytest.mark.parametrize(
    ("target", "word"),
    [(3, "out of range"), (-1, ">= 0"), ("x", "target_names"), (True, "target"), ([], "empty")],
)
def test_bad_targets_name_the_argument(target, word):
    model, X = conv_relu_linear(), gaussian((2, 4, 20))
    with pytest.raises(InputError, match=word):
        saliency(model, X, target=target)


def test_callable_target_must_reduce_to_one_value_per_example():
    model, X = conv_relu_linear(), gaussian((2, 4, 20))
    with pytest.raises(InputError, match="one value per example"):
        saliency(model, X, target=lambda out: out)


def test_bad_inputs():
    model = conv_relu_linear()
    with pytest.raises(InputError, match="X"):
        saliency(model, [[1.0]])
    with pytest.raises(InputError, match="batch_size"):
        saliency(model, gaussian((2, 4, 20)), batch_size=-3)
    with pytest.raises(InputError, match="max_memory"):
        saliency(model, gaussian((2, 4, 20)), max_memory=0)


def test_memory_budget_sets_rows_per_call():
    model, X = conv_relu_linear(), gaussian((1, 4, 20))
    small = rows_per_call(model, X, max_memory=50_000)
    large = rows_per_call(model, X, max_memory=5_000_000)
    assert 1 <= small < large
    assert rows_per_call(model, X, batch_size=7, max_memory=1) == 7


METHODS = {
    "saliency": lambda m, X, **kw: saliency(m, X, **kw),
    "grad_x_input": lambda m, X, **kw: grad_x_input(m, X, **kw),
    "ig": lambda m, X, **kw: integrated_gradients(m, X, steps=5, **kw).attributions,
    "smoothgrad": lambda m, X, **kw: smoothgrad(m, X, n_samples=3, seed=0, **kw),
    "gradcam": lambda m, X, **kw: gradcam(m, X, **kw),  # the last convolution
    "occlusion": lambda m, X, **kw: occlusion(m, X, window=4, stride=2, **kw),
    "perturbed": lambda m, X, **kw: (
        evaluate_perturbed(m, X, lambda r, e, i: r * (i[:, None, None] + 1.0), 3, **kw).perturbed
    ),
}


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_is_batch_size_invariant(name):
    model, X = conv_relu_linear(), gaussian((5, 4, 20), seed=3)
    method = METHODS[name]
    reference = method(model, X, target=[0, 2], batch_size=1)
    for batch_size in (2, 7, None):
        torch.testing.assert_close(
            method(model, X, target=[0, 2], batch_size=batch_size), reference, atol=1e-6, rtol=1e-5
        )


@pytest.mark.parametrize("name", sorted(METHODS))
def test_model_state_is_restored_even_when_the_model_raises(name):
    inner = conv_relu_linear()
    model = FailsAfter(inner, calls=3)
    model.train()
    inner[0].weight.requires_grad_(False)  # a mix of frozen and trainable parameters
    with pytest.raises(RuntimeError, match="boom"):
        METHODS[name](model, gaussian((6, 4, 20)), target=0, batch_size=2)
    assert model.training and inner.training
    assert not inner[0].weight.requires_grad
    assert all(p.requires_grad for name_, p in inner.named_parameters() if name_ != "0.weight")
    assert all(p.device.type == "cpu" for p in inner.parameters())
    assert "forward" not in inner[0].__dict__


def test_resolve_targets_shape_convention():
    single = resolve_targets(1)
    several = resolve_targets([0, "b"], target_names=["a", "b"])
    assert not single.stacked and several.stacked and several.selectors == (0, 1)

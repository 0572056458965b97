"""Integrated Gradients: completeness, linear-model identity, captum agreement, batching."""

import warnings

import numpy as np
import pytest
import torch
from _toys import (
    SkipInput,
    conv_relu_linear,
    gaussian,
    linear_model,
    random_onehot,
    smooth_cnn,
)

from seqsal.attribution import RULES, grad_x_input, integrated_gradients, integration_points
from seqsal.attribution.integrated import find_affine_entry
from seqsal.errors import InputError

captum_attr = pytest.importorskip("captum.attr")


def _relative_delta(model, X, result, target, baseline):
    with torch.no_grad():
        change = model(X)[:, target] - model(baseline)[:, target]
    return (result.delta.abs() / change.abs()).max().item()


@pytest.mark.parametrize(
    ("make", "rule", "steps"),
    [
        # a ReLU network's path gradient is piecewise constant: Riemann error ~ 1 / steps
        (conv_relu_linear, "riemann_trapezoid", 4096),
        # a smooth network: Gauss-Legendre converges fast
        (smooth_cnn, "gausslegendre", 64),
    ],
)
def test_completeness_with_enough_steps(make, rule, steps):
    model, X = make(), gaussian((4, 4, 20), seed=1)
    result = integrated_gradients(model, X, target=1, steps=steps, rule=rule)
    summed = result.attributions.sum(dim=(1, 2))
    with torch.no_grad():
        change = model(X)[:, 1] - model(torch.zeros_like(X))[:, 1]
    # delta is what it says it is, and it is small relative to the change
    torch.testing.assert_close(result.delta, summed - change, atol=1e-5, rtol=0)
    assert _relative_delta(model, X, result, 1, torch.zeros_like(X)) <= 1e-3


def test_few_steps_leave_a_larger_delta_than_many():
    model, X = conv_relu_linear(), gaussian((4, 4, 20), seed=2)
    coarse = integrated_gradients(model, X, steps=2, rule="riemann_left").delta.abs().mean()
    fine = integrated_gradients(model, X, steps=256, rule="gausslegendre").delta.abs().mean()
    assert fine < coarse / 10


def test_linear_model_with_zero_baseline_equals_grad_x_input():
    model, X = linear_model(), gaussian((3, 4, 20))
    ig = integrated_gradients(model, X, target=1, steps=3, rule="riemann_right")
    torch.testing.assert_close(
        ig.attributions, grad_x_input(model, X, target=1), atol=1e-6, rtol=1e-5
    )
    assert ig.delta.abs().max() < 1e-4


@pytest.mark.parametrize("rule", RULES)
def test_agrees_with_captum_for_every_rule(rule):
    model, X = conv_relu_linear(), gaussian((4, 4, 20), seed=3)
    baseline = gaussian((4, 4, 20), seed=4) * 0.1
    ours = integrated_gradients(
        model, X, target=2, baseline=baseline, steps=12, rule=rule, batch_size=5
    )
    ig = captum_attr.IntegratedGradients(model)
    theirs, delta = ig.attribute(
        X, baselines=baseline, target=2, n_steps=12, method=rule, return_convergence_delta=True
    )
    torch.testing.assert_close(ours.attributions, theirs.detach(), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours.delta, delta.detach(), atol=1e-5, rtol=1e-5)


def test_integration_points_match_captum():
    from captum.attr._utils.approximation_methods import approximation_parameters

    for rule in RULES:
        step_sizes, alphas = approximation_parameters(rule)
        a, w = integration_points(rule, 7)
        np.testing.assert_allclose(a.numpy(), alphas(7), rtol=1e-6)
        np.testing.assert_allclose(w.numpy(), step_sizes(7), rtol=1e-6)


def test_expected_ig_over_k_references_matches_captum_average():
    model, X = smooth_cnn(), random_onehot(3)
    refs = torch.stack([random_onehot(3, seed=s) for s in range(10, 14)], dim=1)  # (n, k=4, 4, L)
    ours = integrated_gradients(model, X, target=0, baseline=refs, steps=8, rule="gausslegendre")
    ig = captum_attr.IntegratedGradients(model)
    theirs, delta = ig.attribute(
        X.repeat_interleave(4, 0),
        baselines=refs.reshape(12, 4, 20),
        target=0,
        n_steps=8,
        method="gausslegendre",
        return_convergence_delta=True,
    )
    torch.testing.assert_close(
        ours.attributions, theirs.view(3, 4, 4, 20).mean(1), atol=1e-5, rtol=1e-5
    )
    torch.testing.assert_close(ours.delta, delta.view(3, 4).mean(1), atol=1e-5, rtol=1e-5)
    # a callable giving the same references gives the same result
    again = integrated_gradients(model, X, baseline=lambda x: refs, steps=8, rule="gausslegendre")
    torch.testing.assert_close(again.attributions, ours.attributions)


def test_first_layer_reuse_equals_the_plain_path_and_is_used():
    model, X = conv_relu_linear(), gaussian((5, 4, 20), seed=5)
    refs = gaussian((5, 3, 4, 20), seed=6)
    assert find_affine_entry(model, X[:1]) is model[0]
    calls, conv = [], model[0]._conv_forward

    def counting(x, weight, bias):  # the real convolution, not the injected output
        calls.append(x.shape[0])
        return conv(x, weight, bias)

    model[0]._conv_forward = counting
    try:
        fast = integrated_gradients(model, X, target=[0, 2], baseline=refs, steps=16, batch_size=40)
    finally:
        del model[0]._conv_forward
    slow = integrated_gradients(
        model, X, target=[0, 2], baseline=refs, steps=16, reuse_first_layer=False
    )
    torch.testing.assert_close(fast.attributions, slow.attributions, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(fast.delta, slow.delta, atol=1e-5, rtol=1e-5)
    # the first conv ran on (example, reference) pairs, never on the 5 * 3 * 16 step rows
    assert sum(calls) < 5 * 3 * 16


def test_first_layer_reuse_refused_when_the_input_is_used_elsewhere():
    model, X = SkipInput(), gaussian((3, 4, 20))
    assert find_affine_entry(model, X[:1]) is None
    ig = captum_attr.IntegratedGradients(model)
    theirs = ig.attribute(X, target=1, n_steps=10, method="riemann_middle")
    ours = integrated_gradients(model, X, target=1, steps=10)
    torch.testing.assert_close(ours.attributions, theirs.detach(), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("reuse", [True, False])
def test_results_do_not_depend_on_batch_size(reuse):
    model, X = conv_relu_linear(), gaussian((5, 4, 20), seed=7)
    refs = gaussian((5, 2, 4, 20), seed=8)
    results = [
        integrated_gradients(
            model, X, baseline=refs, steps=9, batch_size=b, reuse_first_layer=reuse
        )
        for b in (1, 4, 9, 10, 1000)
    ]
    for other in results[1:]:
        torch.testing.assert_close(
            other.attributions, results[0].attributions, atol=1e-6, rtol=1e-5
        )
        torch.testing.assert_close(other.delta, results[0].delta, atol=1e-5, rtol=1e-5)


def test_numpy_input_and_constant_baseline():
    model, X = conv_relu_linear(), gaussian((2, 4, 20))
    a = integrated_gradients(model, X.numpy(), baseline=0.25, steps=5)
    b = integrated_gradients(model, X, baseline=torch.full((4, 20), 0.25), steps=5)
    assert a.attributions.dtype == torch.float32 and a.attributions.device.type == "cpu"
    torch.testing.assert_close(a.attributions, b.attributions)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"steps": 0}, "steps"),
        ({"steps": 1, "rule": "riemann_trapezoid"}, "steps"),
        ({"rule": "simpson"}, "rule"),
        ({"baseline": torch.zeros(3, 4, 21)}, "baseline"),
        ({"baseline": "mean"}, "baseline"),
        ({"target": 7}, "target"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, word):
    model, X = conv_relu_linear(), gaussian((3, 4, 20))
    with pytest.raises(InputError, match=word):
        integrated_gradients(model, X, **kwargs)


def test_no_warnings_and_model_untouched():
    model, X = conv_relu_linear(), gaussian((2, 4, 20))
    model.train()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        integrated_gradients(model, X, steps=4)
    assert model.training
    assert all(p.requires_grad for p in model.parameters())
    assert "forward" not in model[0].__dict__

"""The fast pooling kernels are invisible: same values, argmax on ties and gradients."""

import pytest
import torch
from _attribution_toys import onehot, pooled_cnn

from seqsal.attribution import gradcam, integrated_gradients, saliency
from seqsal.attribution._kernels import fast_kernels

captum_attr = pytest.importorskip("captum.attr")


def _output_and_gradient(model, X, target):
    Z = X.clone().requires_grad_(True)
    out = model(Z)
    (grad,) = torch.autograd.grad(out[:, target].sum(), Z)
    return out.detach(), grad


def test_patched_model_gives_identical_outputs_and_gradients_and_is_restored():
    model = pooled_cnn().eval()
    # one-hot inputs and a zero row give exact ties inside pooling windows
    X = torch.cat([onehot(6, length=23), torch.zeros(1, 4, 23)])
    expected = _output_and_gradient(model, X, 1)
    with fast_kernels(model) as patched:
        got = _output_and_gradient(model, X, 1)
    assert patched == 4  # two ReLU + pool pairs
    assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1])
    assert all("forward" not in m.__dict__ for m in model.modules())


def test_shared_or_hooked_modules_are_left_alone():
    relu = torch.nn.ReLU()
    model = torch.nn.Sequential(torch.nn.Conv1d(4, 3, 3), relu, torch.nn.MaxPool1d(2), relu)
    with fast_kernels(model) as patched:
        assert "forward" not in relu.__dict__  # used twice: not fused
        assert patched == 1  # the pool alone
    hooked = pooled_cnn()
    handle = hooked[1].register_forward_hook(lambda m, i, o: None)
    try:
        with fast_kernels(hooked):
            assert "forward" not in hooked[1].__dict__
    finally:
        handle.remove()


def test_attributions_on_a_pooled_model_agree_with_captum():
    model, X = pooled_cnn(), onehot(5, length=23, seed=2)
    theirs = captum_attr.IntegratedGradients(model).attribute(
        X, target=1, n_steps=10, method="riemann_middle"
    )
    ours = integrated_gradients(model, X, target=1, steps=10, batch_size=7)
    torch.testing.assert_close(ours.attributions, theirs.detach(), atol=1e-5, rtol=1e-5)
    sal = captum_attr.Saliency(model).attribute(X.clone().requires_grad_(), target=0, abs=False)
    torch.testing.assert_close(saliency(model, X, target=0), sal, atol=1e-6, rtol=1e-5)


def test_gradcam_on_a_relu_before_a_pool_sees_the_relu_output():
    model, X = pooled_cnn(), onehot(4, length=23, seed=3)
    # the hooked ReLU must not be folded into the pool, or the map would use pre-ReLU values
    theirs = captum_attr.LayerGradCam(model, model[4]).attribute(
        X, target=0, relu_attributions=True
    )
    up = captum_attr.LayerAttribution.interpolate(theirs, (23,), "linear").expand(-1, 4, -1)
    torch.testing.assert_close(
        gradcam(model, X, layer="4", target=0), up.detach(), atol=1e-5, rtol=1e-5
    )

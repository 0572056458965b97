"""The shared attribution core on images (n, C, H, W), against captum on the zoo ImageCNN.

Grey, colour and non-square inputs; black, blurred and noisy IG baselines; Grad-CAM on named
layers; completeness; the blur against scipy.ndimage.
"""

import numpy as np
import pytest
import torch

from seqsal.attribution import (
    grad_x_input,
    gradcam,
    integrated_gradients,
    occlusion,
    resolve_baseline,
    saliency,
    smoothgrad,
    smoothgrad_noise,
)
from seqsal.attribution.baselines import NAMES, gaussian_blur, noise_baseline
from seqsal.errors import InputError
from seqsal.models import zoo

captum_attr = pytest.importorskip("captum.attr")

# (C, H, W): grey square, colour non-square, colour with odd sizes
SHAPES = [(1, 12, 12), (3, 10, 14), (3, 9, 16)]
CHANNELS = [4, 6, 8, 8]


def _model(channels, seed=0, n_targets=5):
    return zoo.build(
        "imagecnn",
        n_targets=n_targets,
        task="classification",
        in_channels=channels,
        channels=CHANNELS,
        seed=seed,
    )


def _images(shape, n=3, seed=1):
    return torch.rand((n, *shape), generator=torch.Generator().manual_seed(seed))


def _close(ours, theirs, atol=1e-5):
    torch.testing.assert_close(ours, theirs.detach().float(), atol=atol, rtol=1e-5)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("baseline", ["black", "blur", "noise"])
def test_integrated_gradients_match_captum_for_every_baseline(shape, baseline):
    model, X = _model(shape[0]), _images(shape)
    reference = resolve_baseline(baseline, X)[:, 0]
    ours = integrated_gradients(model, X, target=3, baseline=baseline, steps=16, batch_size=7)
    theirs, delta = captum_attr.IntegratedGradients(model).attribute(
        X,
        baselines=reference,
        target=3,
        n_steps=16,
        method="riemann_middle",
        return_convergence_delta=True,
    )
    _close(ours.attributions, theirs)
    _close(ours.delta, delta)
    # the string names are the tensors: the same attributions when the tensor is passed
    explicit = integrated_gradients(model, X, target=3, baseline=reference.numpy(), steps=16)
    _close(ours.attributions, explicit.attributions)


def test_named_baselines_are_what_they_say():
    X = _images((3, 10, 14))
    assert torch.equal(resolve_baseline("black", X), resolve_baseline("zeros", X))
    assert resolve_baseline("black", X).abs().max() == 0
    torch.testing.assert_close(resolve_baseline("blur", X)[:, 0], gaussian_blur(X, 5.0))
    noisy = resolve_baseline("noise", X)
    torch.testing.assert_close(noisy, noise_baseline(X, scale=0.15, seed=0))
    # noise: X plus smoothgrad's seeded noise, reproducible, and k references on request
    torch.testing.assert_close(
        noisy, X.unsqueeze(1) + smoothgrad_noise(X, n_samples=1, noise=0.15, seed=0)
    )
    assert not torch.equal(noise_baseline(X, seed=1), noisy)
    assert noise_baseline(X, n_samples=4, seed=0).shape == (3, 4, 3, 10, 14)
    with pytest.raises(InputError, match=r"'blurred'.*'zeros', 'black', 'blur', 'noise'"):
        resolve_baseline("blurred", X)
    assert NAMES == ("zeros", "black", "blur", "noise")


def test_expected_ig_over_noisy_references_is_captums_average():
    model, X = _model(3), _images((3, 9, 16), n=2)
    references = noise_baseline(X, n_samples=3, scale=0.2, seed=5)
    ours = integrated_gradients(model, X, target=1, baseline=references, steps=8)
    ig = captum_attr.IntegratedGradients(model)
    theirs = torch.stack(
        [
            ig.attribute(
                X, baselines=references[:, j], target=1, n_steps=8, method="riemann_middle"
            )
            for j in range(3)
        ]
    ).mean(0)
    _close(ours.attributions, theirs)


@pytest.mark.parametrize("baseline", ["black", "blur"])
def test_ig_completeness_on_images(baseline):
    model, X = _model(3, seed=2), _images((3, 10, 14), seed=3)
    result = integrated_gradients(
        model, X, target=0, baseline=baseline, steps=48, rule="gausslegendre"
    )
    with torch.no_grad():
        gap = model(X)[:, 0] - model(resolve_baseline(baseline, X)[:, 0])[:, 0]
    sums = result.attributions.sum(dim=(1, 2, 3))
    torch.testing.assert_close(result.delta, sums - gap, atol=1e-5, rtol=1e-5)
    assert (result.delta.abs() <= 0.02 * gap.abs().max()).all()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("layer", ["features.conv3", "features.conv4"])
def test_gradcam_matches_captum_on_named_layers(shape, layer):
    model, X = _model(shape[0]), _images(shape)
    theirs = captum_attr.LayerGradCam(model, model.get_submodule(layer)).attribute(
        X, target=2, relu_attributions=True
    )
    up = captum_attr.LayerAttribution.interpolate(theirs, shape[1:], "bilinear")
    ours = gradcam(model, X, layer=layer, target=2, batch_size=2)
    assert ours.shape == X.shape
    _close(ours, up.expand(-1, shape[0], -1, -1))
    _close(gradcam(model, X, layer=layer, target=2, upsample=False), theirs)
    # the default layer is the last convolution, the one the model names
    assert model.last_conv == "features.conv4"
    torch.testing.assert_close(
        gradcam(model, X, target=2), gradcam(model, X, layer="features.conv4", target=2)
    )


@pytest.mark.parametrize("shape", SHAPES)
def test_gradient_methods_match_captum(shape):
    model, X = _model(shape[0]), _images(shape)
    _close(
        saliency(model, X, target=4), captum_attr.Saliency(model).attribute(X, target=4, abs=False)
    )
    _close(
        grad_x_input(model, X, target=4, batch_size=2),
        captum_attr.InputXGradient(model).attribute(X, target=4),
    )


@pytest.mark.parametrize("shape", SHAPES)
def test_smoothgrad_is_the_mean_of_captum_saliency_over_the_same_noise(shape):
    model, X = _model(shape[0]), _images(shape, n=2)
    noise = smoothgrad_noise(X, n_samples=4, noise=0.2, seed=3)
    ours = smoothgrad(model, X, target=1, noise=noise)
    sal = captum_attr.Saliency(model)
    theirs = torch.stack(
        [sal.attribute(X + noise[:, s], target=1, abs=False) for s in range(4)]
    ).mean(0)
    _close(ours, theirs)
    # the seeded draw is the same noise
    torch.testing.assert_close(smoothgrad(model, X, target=1, n_samples=4, noise=0.2, seed=3), ours)


@pytest.mark.parametrize("shape", SHAPES)
def test_occlusion_matches_captum(shape):
    model, X = _model(shape[0]), _images(shape, n=2)
    ours = occlusion(model, X, window=(4, 4), stride=(2, 3), baseline=0.0, target=0)
    theirs = captum_attr.Occlusion(model).attribute(
        X, sliding_window_shapes=(shape[0], 4, 4), strides=(shape[0], 2, 3), baselines=0.0, target=0
    )
    _close(ours, theirs)


@pytest.mark.parametrize("sigma", [0.8, 2.5, (1.0, 3.0), 5.0])
def test_gaussian_blur_is_scipys_gaussian_filter(sigma):
    ndimage = pytest.importorskip("scipy.ndimage")
    X = np.random.default_rng(0).random((2, 3, 9, 13)).astype(np.float32)
    s = (sigma, sigma) if np.isscalar(sigma) else sigma
    expected = ndimage.gaussian_filter(X.astype(np.float64), sigma=(0, 0, *s), mode="reflect")
    np.testing.assert_allclose(gaussian_blur(X, sigma).numpy(), expected, atol=1e-6)
    # other ranks: (n, C, L) blurs along L
    line = X[:, :, 0]
    expected_1d = ndimage.gaussian_filter(
        line.astype(np.float64), sigma=(0, 0, s[0]), mode="reflect"
    )
    np.testing.assert_allclose(gaussian_blur(line, s[0]).numpy(), expected_1d, atol=1e-6)


def test_gaussian_blur_keeps_the_mean_and_flattens_detail():
    X = _images((3, 16, 16), n=2)
    blurred = gaussian_blur(X, 3.0)
    torch.testing.assert_close(gaussian_blur(X, 0.0), X)
    assert blurred.var(dim=(2, 3)).max() < 0.2 * X.var(dim=(2, 3)).min()
    torch.testing.assert_close(blurred.mean(dim=(2, 3)), X.mean(dim=(2, 3)), atol=0.03, rtol=0)
    with pytest.raises(InputError, match="sigma="):
        gaussian_blur(X, -1.0)
    with pytest.raises(InputError, match="sigma="):
        gaussian_blur(X, (1.0, 2.0, 3.0))
    with pytest.raises(InputError, match="spatial axis"):
        gaussian_blur(X[:, 0, 0], 1.0)


def test_real_digits_agree_with_captum_and_first_layer_reuse_only_moves_max_pool_ties():
    """Digits have flat backgrounds and ramps: max-pool windows hold near-ties there.

    Running the first convolution once per reference (seqsal's default) rounds differently
    from running it per step, which can send a pooled gradient to the other of two tied
    pixels: attributions move between neighbours, their sums and the delta do not.  With
    ``reuse_first_layer=False`` seqsal does captum's arithmetic.
    """
    from seqsal.models.images import digits_dataset

    model = _model(1, seed=3)
    X = torch.from_numpy(digits_dataset(16, seed=None).X[:6])
    theirs, delta = captum_attr.IntegratedGradients(model).attribute(
        X, baselines=torch.zeros_like(X), target=2, n_steps=24, method="gausslegendre",
        return_convergence_delta=True,
    )  # fmt: skip
    plain = integrated_gradients(
        model, X, target=2, steps=24, rule="gausslegendre", reuse_first_layer=False
    )
    _close(plain.attributions, theirs)
    _close(plain.delta, delta)
    reused = integrated_gradients(model, X, target=2, steps=24, rule="gausslegendre")
    _close(reused.attributions.sum(dim=(1, 2, 3)), theirs.sum(dim=(1, 2, 3)))
    _close(reused.delta, delta)
    relative = (reused.attributions - theirs).norm() / theirs.norm()
    assert relative < 1e-2
    up = captum_attr.LayerAttribution.interpolate(
        captum_attr.LayerGradCam(model, model.features.conv3).attribute(
            X, target=2, relu_attributions=True
        ),
        (16, 16),
        "bilinear",
    )
    _close(gradcam(model, X, layer="features.conv3", target=2), up)

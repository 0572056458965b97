"""SmoothGrad / SmoothGrad-squared / VarGrad: captum NoiseTunnel agreement and seeding."""

import pytest
import torch
from _toys import conv_relu_linear, gaussian, random_onehot

from seqsal.attribution import KINDS, grad_x_input, saliency, smoothgrad, smoothgrad_noise
from seqsal.errors import InputError

captum_attr = pytest.importorskip("captum.attr")


def _captum_noise(X, n_samples, stdev, seed):
    """The exact noise captum's NoiseTunnel draws after torch.manual_seed(seed)."""
    torch.manual_seed(seed)
    expanded = torch.tensor(stdev).repeat((X.shape[0] * n_samples, *X.shape[1:]))
    return torch.normal(0, expanded).view(X.shape[0], n_samples, *X.shape[1:])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("method", "peer"), [(saliency, "Saliency"), (grad_x_input, "InputXGradient")]
)
def test_matches_captum_noise_tunnel_given_the_same_noise(kind, method, peer):
    model, X = conv_relu_linear(), gaussian((4, 4, 20), seed=1)
    noise = _captum_noise(X, 5, 0.3, seed=11)
    torch.manual_seed(11)
    algorithm = getattr(captum_attr, peer)(model)
    extra = {"abs": False} if peer == "Saliency" else {}
    theirs = captum_attr.NoiseTunnel(algorithm).attribute(
        X, nt_type=kind, nt_samples=5, stdevs=0.3, target=1, **extra
    )
    ours = smoothgrad(model, X, method=method, noise=noise, kind=kind, target=1, batch_size=3)
    torch.testing.assert_close(ours, theirs.detach(), atol=1e-5, rtol=1e-5)


def test_noise_is_a_fraction_of_each_examples_range():
    X = torch.cat([random_onehot(2), 100 * random_onehot(2, seed=1)])
    noise = smoothgrad_noise(X, n_samples=400, noise=0.2, seed=0)
    std = noise.flatten(1).std(dim=1)
    torch.testing.assert_close(std, torch.tensor([0.2, 0.2, 20.0, 20.0]), rtol=0.05, atol=0)


def test_seeded_reproducible_and_a_prefix_gets_the_same_noise():
    model, X = conv_relu_linear(), gaussian((4, 4, 20), seed=2)
    a = smoothgrad(model, X, n_samples=4, seed=5)
    torch.testing.assert_close(a, smoothgrad(model, X, n_samples=4, seed=5))
    assert not torch.allclose(a, smoothgrad(model, X, n_samples=4, seed=6))
    torch.testing.assert_close(smoothgrad(model, X[:2], n_samples=4, seed=5), a[:2])


def test_vargrad_is_nonnegative_and_zero_without_noise():
    model, X = conv_relu_linear(), gaussian((3, 4, 20), seed=3)
    assert (smoothgrad(model, X, kind="vargrad", n_samples=4, seed=0) >= -1e-7).all()
    still = smoothgrad(model, X, kind="vargrad", noise=0.0, n_samples=3, seed=0)
    assert still.abs().max() < 1e-6
    torch.testing.assert_close(smoothgrad(model, X, noise=0.0, n_samples=2), saliency(model, X))


def test_bad_arguments():
    model, X = conv_relu_linear(), gaussian((2, 4, 20))
    with pytest.raises(InputError, match="kind"):
        smoothgrad(model, X, kind="mean")
    with pytest.raises(InputError, match="n_samples"):
        smoothgrad(model, X, n_samples=0)
    with pytest.raises(InputError, match="noise"):
        smoothgrad(model, X, noise=-0.1)
    with pytest.raises(InputError, match="noise"):
        smoothgrad(model, X, noise=torch.zeros(2, 3, 4, 19))

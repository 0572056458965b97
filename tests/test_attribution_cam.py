"""Grad-CAM on 1-D and 2-D convolutions against captum's LayerGradCam, and on TorchScript
models (scripted and traced) against the eager model with the same weights."""

import warnings

import pytest
import torch
from _toys import conv_relu_linear, gaussian, image_cnn, linear_model, random_onehot
from torch import nn

from seqsal.attribution import conv_layer_names, gradcam, gradcam_layer
from seqsal.errors import InputError, ModelError


def _captum():
    return pytest.importorskip("captum.attr")


@pytest.mark.parametrize("relu", [True, False])
def test_1d_matches_captum_upsampled_linearly(relu):
    model, X = conv_relu_linear(), gaussian((4, 4, 20), seed=1)
    theirs = _captum().LayerGradCam(model, model[2]).attribute(X, target=2, relu_attributions=relu)
    up = _captum().LayerAttribution.interpolate(theirs, (20,), "linear").expand(-1, 4, -1)
    ours = gradcam(model, X, layer="2", target=2, relu=relu, batch_size=3)
    assert ours.shape == X.shape
    torch.testing.assert_close(ours, up.detach(), atol=1e-5, rtol=1e-5)
    small = gradcam(model, X, layer="2", target=2, relu=relu, upsample=False)
    torch.testing.assert_close(small, theirs.detach(), atol=1e-5, rtol=1e-5)


def test_2d_matches_captum_upsampled_bilinearly():
    model, X = image_cnn(), gaussian((3, 3, 14, 16), seed=2)
    theirs = _captum().LayerGradCam(model, model[2]).attribute(X, target=1, relu_attributions=True)
    up = _captum().LayerAttribution.interpolate(theirs, (14, 16), "bilinear").expand(-1, 3, -1, -1)
    ours = gradcam(model, X, layer="2", target=1)
    assert ours.shape == X.shape
    torch.testing.assert_close(ours, up.detach(), atol=1e-5, rtol=1e-5)
    assert (ours[:, 0] == ours[:, 2]).all()  # the same map over every input channel


def test_default_layer_is_the_last_convolution_and_targets_stack():
    model, X = conv_relu_linear(), gaussian((2, 4, 20), seed=3)
    assert conv_layer_names(model) == ["0", "2"]
    torch.testing.assert_close(gradcam(model, X, target=1), gradcam(model, X, layer="2", target=1))
    both = gradcam(model, X, target=[0, 1])
    assert both.shape == (2, 2, 4, 20)
    torch.testing.assert_close(both[1], gradcam(model, X, target=1))


def test_unknown_or_unusable_layer_lists_the_convolutions():
    model, X = conv_relu_linear(), gaussian((2, 4, 20))
    with pytest.raises(InputError, match=r"layer='trunk.3'.*\['0', '2'\]"):
        gradcam(model, X, layer="trunk.3")
    with pytest.raises(InputError, match="layer='5'"):
        gradcam(model, X, layer="5")  # the Linear head: (n, T) is not a map


# --------------------------------------------------------------------------- TorchScript


class _Blocks(nn.Module):
    """A 2-D CNN with nested blocks (dotted names), a reflect-padded, strided, dilated and
    grouped convolution, and a convolution called twice (a shared layer)."""

    def __init__(self, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.stem = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1, padding_mode="reflect"), nn.ReLU())
        self.body = nn.Sequential(
            nn.Conv2d(6, 6, 3, stride=2, dilation=2, groups=3), nn.ReLU(), nn.MaxPool2d(2)
        )
        self.shared = nn.Conv2d(6, 6, 1)
        self.head = nn.Linear(6, 4)

    def forward(self, x):
        x = self.body(self.stem(x))
        x = torch.relu(self.shared(torch.relu(self.shared(x))))  # the later call is the layer's
        return self.head(x.mean(dim=(2, 3)))


def _torchscript(model, X, kind, folder):
    """``model`` compiled by torch.jit.script or .trace, saved and loaded (as the CLI gets it)."""
    with warnings.catch_warnings():  # TorchScript is deprecated but still the one-file format
        warnings.simplefilter("ignore", DeprecationWarning)
        compiled = torch.jit.script(model) if kind == "script" else torch.jit.trace(model, X[:1])
        path = folder / f"{kind}.pt"
        torch.jit.save(compiled, str(path))
        return torch.jit.load(str(path))


@pytest.mark.parametrize("kind", ["script", "trace"])
@pytest.mark.parametrize("layer", [None, "stem.0", "body.0", "shared"])
def test_torchscript_2d_equals_the_eager_model(kind, layer, tmp_path):
    model, X = _Blocks().eval(), gaussian((5, 3, 18, 18), seed=4)
    loaded = _torchscript(model, X, kind, tmp_path)
    assert conv_layer_names(loaded) == conv_layer_names(model) == ["stem.0", "body.0", "shared"]
    eager = gradcam(model, X, layer=layer, target=[1, 3])
    ours = gradcam(loaded, X, layer=layer, target=[1, 3], batch_size=2)
    assert eager.abs().max() > 0  # a map with something in it, not two zeros
    torch.testing.assert_close(ours, eager, atol=1e-6, rtol=0)
    raw = gradcam(loaded, X, layer=layer, target=2, relu=False, upsample=False)
    torch.testing.assert_close(
        raw, gradcam(model, X, layer=layer, target=2, relu=False, upsample=False), atol=1e-6, rtol=0
    )
    # the model's parameters are left as they were (only the layer's weight took gradients)
    assert all(p.requires_grad for p in loaded.parameters())
    assert all(p.grad is None for p in loaded.parameters())


@pytest.mark.parametrize("kind", ["script", "trace"])
def test_torchscript_1d_dna_cnn_equals_the_eager_model(kind, tmp_path):
    model, X = conv_relu_linear().eval(), random_onehot(n=6, length=20, seed=2)
    loaded = _torchscript(model, X, kind, tmp_path)
    assert conv_layer_names(loaded) == ["0", "2"]
    for layer in (None, "0"):
        eager = gradcam(model, X, layer=layer, target=1)
        assert eager.abs().max() > 0
        torch.testing.assert_close(
            gradcam(loaded, X, layer=layer, target=1), eager, atol=1e-6, rtol=0
        )


def test_torchscript_layer_that_is_not_a_convolution_is_refused(tmp_path):
    model, X = _Blocks().eval(), gaussian((2, 3, 18, 18))
    loaded = _torchscript(model, X, "script", tmp_path)
    with pytest.raises(InputError, match=r"layer='body' is a Sequential of a TorchScript model.*"):
        gradcam(loaded, X, layer="body")
    with pytest.raises(InputError, match=r"layer='nope' is not a module"):
        gradcam(loaded, X, layer="nope")
    assert gradcam_layer(loaded) == "shared" and gradcam_layer(loaded, "stem.0") == "stem.0"


@pytest.mark.parametrize("kind", ["eager", "script"])
def test_a_model_without_convolution_is_a_model_error(kind, tmp_path):
    model, X = linear_model().eval(), random_onehot(n=2)
    if kind == "script":
        model = _torchscript(model, X, kind, tmp_path)
    with pytest.raises(ModelError, match=r"layer=None: the (TorchScript )?model has no Conv1d"):
        gradcam(model, X)
    with pytest.raises(ModelError):
        gradcam_layer(model)


def test_frozen_torchscript_model_is_a_model_error(tmp_path):
    model, X = _Blocks().eval(), gaussian((2, 3, 18, 18))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        frozen = torch.jit.freeze(torch.jit.script(model))
    # freezing folds the submodules into constants: nothing is left to read
    with pytest.raises(ModelError, match="no Conv1d/Conv2d layer"):
        gradcam(frozen, X)

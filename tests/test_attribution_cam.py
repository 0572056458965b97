"""Grad-CAM on 1-D and 2-D convolutions against captum's LayerGradCam."""

import pytest
import torch
from _attribution_toys import conv_relu_linear, gaussian, image_cnn

from seqsal.attribution import conv_layer_names, gradcam
from seqsal.errors import InputError

captum_attr = pytest.importorskip("captum.attr")


@pytest.mark.parametrize("relu", [True, False])
def test_1d_matches_captum_upsampled_linearly(relu):
    model, X = conv_relu_linear(), gaussian((4, 4, 20), seed=1)
    theirs = captum_attr.LayerGradCam(model, model[2]).attribute(
        X, target=2, relu_attributions=relu
    )
    up = captum_attr.LayerAttribution.interpolate(theirs, (20,), "linear").expand(-1, 4, -1)
    ours = gradcam(model, X, layer="2", target=2, relu=relu, batch_size=3)
    assert ours.shape == X.shape
    torch.testing.assert_close(ours, up.detach(), atol=1e-5, rtol=1e-5)
    small = gradcam(model, X, layer="2", target=2, relu=relu, upsample=False)
    torch.testing.assert_close(small, theirs.detach(), atol=1e-5, rtol=1e-5)


def test_2d_matches_captum_upsampled_bilinearly():
    model, X = image_cnn(), gaussian((3, 3, 14, 16), seed=2)
    theirs = captum_attr.LayerGradCam(model, model[2]).attribute(
        X, target=1, relu_attributions=True
    )
    up = captum_attr.LayerAttribution.interpolate(theirs, (14, 16), "bilinear").expand(
        -1, 3, -1, -1
    )
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

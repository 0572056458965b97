"""Occlusion against captum, and the generic batched perturbation evaluator."""

import pytest
import torch
from _toys import conv_relu_linear, gaussian, image_cnn, random_onehot

from seqsal.attribution import evaluate_perturbed, occlusion, occlusion_windows
from seqsal.errors import InputError

captum_attr = pytest.importorskip("captum.attr")


@pytest.mark.parametrize(("window", "stride"), [(3, 2), (5, 5), (4, 1), (6, 4)])
def test_1d_occlusion_matches_captum(window, stride):
    model, X = conv_relu_linear(), random_onehot(4)
    theirs = captum_attr.Occlusion(model).attribute(
        X, sliding_window_shapes=(4, window), strides=(4, stride), target=1
    )
    ours = occlusion(model, X, window=window, stride=stride, target=1, batch_size=7)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)


def test_2d_occlusion_with_a_baseline_matches_captum():
    model, X = image_cnn(), gaussian((2, 3, 14, 16), seed=1)
    theirs = captum_attr.Occlusion(model).attribute(
        X, sliding_window_shapes=(3, 4, 3), strides=(3, 2, 2), target=1, baselines=0.5
    )
    torch.testing.assert_close(
        occlusion(model, X, window=(4, 3), stride=2, target=1, baseline=0.5),
        theirs,
        atol=1e-5,
        rtol=1e-5,
    )


def test_occlusion_of_single_positions_is_a_brute_force_difference():
    model, X = conv_relu_linear(), gaussian((2, 4, 20), seed=2)
    ours = occlusion(model, X, window=(1, 1), target=0)
    with torch.no_grad():
        full = model(X)[:, 0]
        for c, pos in [(0, 0), (3, 7), (2, 19)]:
            Y = X.clone()
            Y[:, c, pos] = 0
            torch.testing.assert_close(ours[:, c, pos], full - model(Y)[:, 0], atol=1e-6, rtol=1e-5)


def test_evaluate_perturbed_gives_each_copy_its_own_value():
    model, X = conv_relu_linear(), gaussian((3, 4, 20), seed=3)

    def scale(rows, example, index):
        return rows * (index.float() + 1).view(-1, 1, 1)

    result = evaluate_perturbed(model, X, scale, 4, target=[0, 2], batch_size=5)
    assert result.perturbed.shape == (2, 3, 4)
    with torch.no_grad():
        for j in range(4):
            torch.testing.assert_close(result.perturbed[:, :, j], model(X * (j + 1))[:, [0, 2]].T)
        torch.testing.assert_close(result.reference, model(X)[:, [0, 2]].T)


def test_windows_cover_everything_like_captum():
    window, stride, starts = occlusion_windows((4, 11), 4, 3)
    assert window == (4, 4) and stride == (4, 3)
    assert starts[1].tolist() == [0, 3, 6, 9]  # the last window is clipped at the end


def test_bad_windows_and_perturbations():
    model, X = conv_relu_linear(), gaussian((2, 4, 20))
    with pytest.raises(InputError, match="window"):
        occlusion(model, X, window=21)
    with pytest.raises(InputError, match="stride"):
        occlusion(model, X, window=3, stride=4)
    with pytest.raises(InputError, match="window"):
        occlusion(model, X, window=(1, 1, 1, 1))
    with pytest.raises(InputError, match="perturb returned"):
        evaluate_perturbed(model, X, lambda r, e, i: r[:, :2], 2)
    with pytest.raises(InputError, match="n_perturbations"):
        evaluate_perturbed(model, X, lambda r, e, i: r, 0)

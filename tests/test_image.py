"""seqsal.image, the image layer over the attribution core: maps against direct calls of the
core with the references built by hand, targets, skipped methods, faithfulness and sanity
against seqsal.evaluate."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from torch import nn

from seqsal import attribution as A
from seqsal import image
from seqsal.attribution.baselines import gaussian_blur, noise_baseline
from seqsal.attribution.smoothgrad import content_seed
from seqsal.errors import InputError, ModelError
from seqsal.models import zoo

MEAN, STD = [0.2, 0.3, 0.4], [0.5, 0.6, 0.7]


def _model(seed=4):
    return zoo.build(
        "imagecnn", n_targets=4, task="classification", in_channels=3, channels=(4, 8), seed=seed
    ).eval()


def _images(n=5, seed=1):
    pixels = np.random.default_rng(seed).random((n, 3, 12, 18))
    return ((pixels - np.reshape(MEAN, (1, 3, 1, 1))) / np.reshape(STD, (1, 3, 1, 1))).astype(
        np.float32
    )


class _Counting(nn.Module):
    """A model without a convolution that counts its forward passes."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 12 * 18, 4))
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.net(x)


def test_references_are_in_pixel_space():
    X = _images()
    black = image.image_references(X, "black", mean=MEAN, std=STD)
    # the black pixel (0) normalised as the input is: -mean / std per channel
    np.testing.assert_allclose(black.reshape(3), -np.array(MEAN) / np.array(STD), rtol=1e-6)
    np.testing.assert_array_equal(image.image_references(X, "blur"), gaussian_blur(X).numpy())
    noise = image.image_references(X, "noise", seed=3)
    for i in range(len(X)):  # each image's noise is seeded by the seed and its own pixels
        own = noise_baseline(X[i : i + 1], seed=content_seed(3, X[i]))[0, 0].numpy()
        np.testing.assert_array_equal(noise[i], own)
    assert not np.array_equal(noise, image.image_references(X, "noise", seed=4))
    with pytest.raises(InputError, match=r"baseline='white'; expected one of black, blur, noise"):
        image.image_references(X, "white")


def test_maps_equal_the_core_for_each_image_and_its_predicted_class():
    model, X = _model(), _images()
    result = image.explain_images(
        model, X, target=None, mean=MEAN, std=STD, steps=6, n_samples=3, window=4, seed=5
    )
    assert list(result.maps) == list(image.METHODS) and result.skipped == {}
    with torch.no_grad():
        predicted = model(torch.from_numpy(X)).argmax(dim=1).numpy()
    np.testing.assert_array_equal(result.target, predicted)
    assert len(set(predicted)) > 1  # several targets: the images really are grouped
    black = image.black_image(3, mean=MEAN, std=STD)
    for t in np.unique(predicted).tolist():
        rows = np.flatnonzero(predicted == t)  # each group of images goes through the core once
        x = X[rows]
        expected = {
            "saliency": A.saliency(model, x, target=t),
            "grad_x_input": A.grad_x_input(model, x, target=t),
            "ig": A.integrated_gradients(model, x, target=t, steps=6, baseline=black).attributions,
            "smoothgrad": A.smoothgrad(
                model, x, target=t, noise=image.smoothgrad_image_noise(x, n_samples=3, seed=5)
            ),
            "gradcam": A.gradcam(model, x, target=t, layer="features.conv2"),
            "occlusion": A.occlusion(
                model, x, target=t, window=(4, 4), stride=(2, 2), baseline=black
            ),
        }
        for method, value in expected.items():
            np.testing.assert_allclose(
                result.maps[method][rows], value.numpy(), rtol=1e-5, atol=1e-6, err_msg=method
            )
    assert result.settings["gradcam"] == {"layer": "features.conv2"}
    assert result.settings["occlusion"] == {"window": 4, "stride": 2, "baseline": "black"}
    assert result.settings["ig"] == {"baseline": "black", "steps": 6, "rule": "riemann_middle"}


def test_maps_do_not_depend_on_the_batch_size_or_the_target_form():
    model, X = _model(), _images()
    kwargs = dict(mean=MEAN, std=STD, steps=4, baseline="blur")
    methods = ["grad_x_input", "ig", "occlusion"]
    one = image.explain_images(model, X, methods, target=2, batch_size=1, **kwargs)
    many = image.explain_images(model, X, methods, target=np.full(5, 2), **kwargs)
    for method in methods:
        np.testing.assert_allclose(one.maps[method], many.maps[method], rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(one.target, np.full(5, 2))
    with pytest.raises(InputError, match=r"target has shape \(2,\).*expected an int or 5 ints"):
        image.explain_images(model, X, methods, target=[1, 2])


def test_an_image_gets_the_same_random_maps_alone_and_among_others():
    """SmoothGrad's noise and the noise reference are seeded by the image itself, not by its
    place among the images that share its target."""
    model, X = _model(), _images(n=6)
    kwargs = dict(mean=MEAN, std=STD, steps=4, n_samples=4, baseline="noise", seed=7)
    methods = ["smoothgrad", "ig", "occlusion"]
    together = image.explain_images(model, X, methods, target=1, **kwargs)
    for i in (0, 3, 5):
        alone = image.explain_images(model, X[i : i + 1], methods, target=1, **kwargs)
        reordered = image.explain_images(model, X[::-1], methods, target=1, **kwargs)
        for method in methods:
            np.testing.assert_allclose(
                alone.maps[method][0], together.maps[method][i], rtol=1e-5, atol=1e-7
            )
            np.testing.assert_allclose(
                reordered.maps[method][len(X) - 1 - i],
                together.maps[method][i],
                rtol=1e-5,
                atol=1e-7,
            )
    # and the seed still matters
    other = image.explain_images(model, X, ["smoothgrad"], target=1, **{**kwargs, "seed": 8})
    assert not np.allclose(other.maps["smoothgrad"], together.maps["smoothgrad"])


def test_default_methods_skip_what_the_model_cannot_run(caplog):
    model, X = _Counting(), _images(n=2)
    with caplog.at_level(logging.WARNING, logger="seqsal.image"):
        result = image.explain_images(model, X, target=1, steps=2, n_samples=2)
    assert (
        list(result.skipped) == ["gradcam"]
        and "no Conv1d/Conv2d layer" in result.skipped["gradcam"]
    )
    assert list(result.maps) == [m for m in image.METHODS if m != "gradcam"]
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["gradcam skipped"]
    np.testing.assert_allclose(
        result.maps["saliency"], A.saliency(model, X, target=1).numpy(), rtol=1e-6
    )


def test_a_named_method_that_cannot_run_fails_before_any_work():
    model, X = _Counting(), _images(n=2)
    with pytest.raises(ModelError, match=r"method 'gradcam' cannot run on this model: .*Conv1d"):
        image.explain_images(model, X, ["saliency", "gradcam"], target=0)
    assert model.calls == 0
    # a bad layer name is the caller's mistake, with the default list too
    with pytest.raises(InputError, match=r"layer='conv9' is not a module"):
        image.explain_images(_model(), X, layer="conv9", target=0)
    with pytest.raises(InputError, match=r"unknown method shap"):
        image.explain_images(_model(), X, "saliency,shap", target=0)


def test_faithfulness_is_seqsal_evaluate_with_black_and_blur():
    from seqsal.evaluate import faithfulness

    model, X = _model(), _images(n=3)
    maps = image.explain_images(model, X, ["saliency", "grad_x_input"], target=1).maps
    result = image.image_faithfulness(
        model, X, maps, target=1, names=list("abc"), mean=MEAN, std=STD, eval_steps=5, n_random=2
    )
    black = image.black_image(3, mean=MEAN, std=STD)
    for method, reduce in (("saliency", "abs"), ("grad_x_input", "sum")):
        direct = faithfulness(
            model, X, maps[method], target=1, baseline=black, start="blur", reduce=reduce,
            steps=5, n_random=2, seed=0,
        )  # fmt: skip
        mine = result.table[result.table["method"] == method].reset_index(drop=True)
        np.testing.assert_allclose(mine["auc"], direct.table()["auc"], rtol=1e-6)
        assert list(mine["name"]) == list("abc") * 2
        row = result.summary[result.summary["method"] == method].iloc[0]
        assert row["deletion AUC"] == pytest.approx(direct.deletion.auc.mean())
        assert row["insertion AUC"] == pytest.approx(direct.insertion.auc.mean())
    assert result.settings["eval_steps"] == 5 and result.settings["deletion_reference"] == "black"


def test_sanity_runs_each_method_with_its_image_settings():
    from seqsal.evaluate import parameter_randomization

    model, X = _model(), _images(n=2)
    result = image.image_sanity(model, X, ["ig", "saliency"], target=3, mean=MEAN, std=STD, steps=4)
    black = image.black_image(3, mean=MEAN, std=STD)
    direct = parameter_randomization(
        model, X, "ig", target=3, method_kwargs={"steps": 4, "baseline": black}
    )
    mine = result.table[result.table["method"] == "ig"].reset_index(drop=True)
    np.testing.assert_allclose(mine["spearman_abs"], direct["spearman_abs"], rtol=1e-6)
    np.testing.assert_allclose(mine["ssim"], direct["ssim"], rtol=1e-6)
    assert list(dict.fromkeys(result.table["method"])) == ["ig", "saliency"]
    last = result.table[result.table["mode"] == "cascading"].groupby("method").tail(1)
    assert result.fully_randomised == pytest.approx(last["spearman_abs"].max())


class _DictHeads(nn.Module):
    """An image model returning ``{"logits": (n, T), "total": (n,)}``."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        logits = self.inner(x)
        return {"logits": logits, "total": logits.sum(dim=1)}


def test_a_target_head_equals_the_int_target_of_the_head_alone():
    """A Target on a dict-output model explains, evaluates and randomises exactly what the
    plain index does on the model returning that head (the layer named as the model's own)."""
    model, X = _model(), _images(n=3)
    heads = _DictHeads(model).eval()
    target = A.Target(output="logits", channel=2)
    methods = ["saliency", "gradcam"]
    kwargs = {"mean": MEAN, "std": STD, "layer": "features.conv2"}
    ours = image.explain_images(
        heads, X, methods, target=target, **{**kwargs, "layer": "inner.features.conv2"}
    )
    plain = image.explain_images(model, X, methods, target=2, **kwargs)
    for method in methods:
        np.testing.assert_allclose(ours.maps[method], plain.maps[method], rtol=1e-6, atol=1e-7)
        assert np.abs(ours.maps[method]).sum() > 0
    ours_f = image.image_faithfulness(
        heads, X, ours.maps, target=target, mean=MEAN, std=STD, eval_steps=5, n_random=1
    )
    plain_f = image.image_faithfulness(
        OneLogit(model, 2), X, plain.maps, target=0, mean=MEAN, std=STD, eval_steps=5, n_random=1
    )
    np.testing.assert_allclose(
        ours_f.summary["deletion AUC"], plain_f.summary["deletion AUC"], rtol=1e-6
    )


class OneLogit(nn.Module):
    """Output ``k`` of ``model`` alone, ``(n,)``."""

    def __init__(self, model, k):
        super().__init__()
        self.model, self.k = model, k

    def forward(self, x):
        return self.model(x)[:, self.k]

"""Heads and targets: Target(output, channel, reduce, positions) against bpnet-lite's own
count and profile wrappers run through captum (the oracle), dict and namedtuple outputs,
batch-size invariance and the one-line errors for heads, channels and positions that do not
exist."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _toys import OneHead, TwoHeads, random_onehot, small_bpnet

from seqsal.attribution import (
    Target,
    attribute,
    describe_heads,
    grad_x_input,
    integrated_gradients,
    resolve_targets,
    saliency,
)
from seqsal.errors import InputError

bpnet = pytest.importorskip("bpnetlite.bpnet")
captum_attr = pytest.importorskip("captum.attr")

TOL = {"rtol": 1e-5, "atol": 1e-5}
COUNTS = Target(output=1)
PROFILE = Target(output=0, reduce="profile")


class DetachedProfileWrapper(bpnet.ProfileWrapper):
    """bpnet-lite's ProfileWrapper with the softmax weights detached (ChromBPNet's
    stop-gradient): the definition seqsal documents for reduce="profile"."""

    def forward(self, X, X_ctl=None, **kwargs):
        logits = self.flatten(self.model(X, X_ctl, **kwargs)[0])
        logits = logits - torch.mean(logits, dim=-1, keepdim=True)
        return (logits * torch.softmax(logits, dim=-1).detach()).sum(dim=-1, keepdim=True)


@pytest.fixture(scope="module")
def model():
    return small_bpnet(seed=3, trimming=10)


@pytest.fixture(scope="module")
def X():
    return random_onehot(n=6, length=80, seed=1)


def test_forward_values_equal_bpnetlite_wrappers(model, X):
    with torch.no_grad():
        output = model(X)
        counts = resolve_targets(COUNTS).select(output, 0)
        profile = resolve_targets(PROFILE).select(output, 0)
        torch.testing.assert_close(counts, bpnet.CountWrapper(model)(X)[:, 0], **TOL)
        torch.testing.assert_close(profile, bpnet.ProfileWrapper(model)(X)[:, 0], **TOL)
        # one strand's positions only when a channel is chosen
        one = resolve_targets(Target(output=0, channel=1, reduce="profile")).select(output, 0)
        z = output[0][:, 1] - output[0][:, 1].mean(dim=1, keepdim=True)
        torch.testing.assert_close(one, (z * torch.softmax(z, dim=1)).sum(dim=1), **TOL)
    assert counts.shape == profile.shape == (6,)
    assert not torch.allclose(one, profile)


@pytest.mark.parametrize(
    ("target", "wrapper"), [(COUNTS, bpnet.CountWrapper), (PROFILE, DetachedProfileWrapper)]
)
def test_gradient_methods_equal_captum_on_bpnetlite_wrappers(model, X, target, wrapper):
    wrapped = wrapper(model).eval()
    expected_saliency = captum_attr.Saliency(wrapped).attribute(X, target=0, abs=False)
    expected_gxi = captum_attr.InputXGradient(wrapped).attribute(X, target=0)
    expected_ig = captum_attr.IntegratedGradients(wrapped).attribute(
        X, baselines=torch.zeros_like(X), target=0, n_steps=16, method="riemann_middle"
    )
    torch.testing.assert_close(saliency(model, X, target=target), expected_saliency, **TOL)
    torch.testing.assert_close(grad_x_input(model, X, target=target), expected_gxi, **TOL)
    ig = integrated_gradients(model, X, target=target, baseline="zeros", steps=16)
    torch.testing.assert_close(ig.attributions, expected_ig, **TOL)
    assert expected_saliency.abs().max() > 1e-4  # a real signal, not zeros on both sides


def test_profile_gradient_is_the_detached_one(model, X):
    """The documented definition detaches the softmax: the value is ProfileWrapper's, the
    gradient is not (bpnet-lite's wrapper differentiates through the softmax)."""
    ours = saliency(model, X, target=PROFILE)
    through_softmax = captum_attr.Saliency(bpnet.ProfileWrapper(model)).attribute(
        X, target=0, abs=False
    )
    assert not torch.allclose(ours, through_softmax, atol=1e-6)


@pytest.mark.parametrize(
    ("target", "wrapper"), [(COUNTS, bpnet.CountWrapper), (PROFILE, DetachedProfileWrapper)]
)
def test_attribute_dna_equals_captum_on_bpnetlite_wrappers(model, X, target, wrapper):
    from seqsal.dna import attribute_dna

    wrapped = wrapper(model).eval()
    gradient = captum_attr.Saliency(wrapped).attribute(X, target=0, abs=False)
    result = attribute_dna(model, X, method="saliency", target=target, correction=False)
    np.testing.assert_allclose(result.hypothetical, gradient.numpy(), **TOL)
    np.testing.assert_allclose(result.projected, (gradient * X).numpy(), **TOL)
    expected_ig = captum_attr.IntegratedGradients(wrapped).attribute(
        X, baselines=torch.zeros_like(X), target=0, n_steps=16, method="riemann_middle"
    )
    result = attribute_dna(
        model, X, method="ig", target=target, baseline="zeros", steps=16, correction=False
    )
    np.testing.assert_allclose(result.projected, expected_ig.numpy(), **TOL)


@pytest.mark.parametrize("method", ["saliency", "grad_x_input", "ig", "smoothgrad", "occlusion"])
@pytest.mark.parametrize("kind", ["tuple", "dict", "namedtuple"])
def test_every_method_on_a_head_equals_the_head_alone(method, kind):
    """A Target on a multi-head model explains exactly what the same method explains on a
    model returning that head alone, for tuple, dict and namedtuple outputs."""
    model = TwoHeads(kind=kind, seed=2).eval()
    X = random_onehot(n=4, length=24, seed=5)
    key = 1 if kind == "tuple" else "counts"
    options = {"smoothgrad": {"n_samples": 4}, "occlusion": {"window": 3}}.get(method, {})
    ours = attribute(model, X, method, target=Target(output=key), seed=0, **options)
    alone = attribute(OneHead(model, key).eval(), X, method, target=0, seed=0, **options)
    torch.testing.assert_close(ours, alone, rtol=0, atol=1e-6)
    assert ours.abs().sum() > 0


def test_gradcam_on_a_head_equals_the_head_alone():
    model = TwoHeads(kind="dict", seed=2).eval()
    X = random_onehot(n=4, length=24, seed=5)
    target = Target(output="profile", channel=0, reduce="sum", positions=(3, 12))
    ours = attribute(model, X, "gradcam", target=target, layer="trunk.0")

    def alone(out):
        return out[:, 0, 3:12].sum(dim=1)

    other = attribute(
        OneHead(model, "profile").eval(), X, "gradcam", target=alone, layer="model.trunk.0"
    )
    torch.testing.assert_close(ours, other, rtol=0, atol=1e-6)
    assert ours.abs().sum() > 0


def test_namedtuple_heads_by_name_and_index_and_sum_mean_positions():
    model = TwoHeads(kind="namedtuple", seed=4).eval()
    X = random_onehot(n=3, length=24, seed=6)
    with torch.no_grad():
        output = model(X)
        profile = output.profile

        def pick(t):
            return resolve_targets(t).select(output, 0)

        torch.testing.assert_close(pick(Target(output="counts")), output.counts[:, 0])
        torch.testing.assert_close(pick(Target(output=1)), output.counts[:, 0])
        torch.testing.assert_close(pick(Target(output=0, reduce="sum")), profile.sum(dim=(1, 2)))
        torch.testing.assert_close(
            pick(Target(output="profile", channel=1, reduce="mean", positions=(2, 9))),
            profile[:, 1, 2:9].mean(dim=1),
        )
    assert describe_heads(output) == "profile (n, 2, 20), counts (n, 1)"


def test_callable_target_receives_the_raw_output():
    model = TwoHeads(kind="dict", seed=1).eval()
    X = random_onehot(n=3, length=24, seed=2)
    seen = []

    def counts(out):
        seen.append(type(out))
        return out["counts"][:, 0]

    torch.testing.assert_close(
        saliency(model, X, target=counts), saliency(model, X, target=Target(output="counts"))
    )
    assert seen and all(t is dict for t in seen)


@pytest.mark.parametrize(
    "target", [COUNTS, PROFILE, Target(output=0, channel=1, reduce="sum", positions=(5, 40))]
)
def test_batch_size_invariance(model, X, target):
    one = integrated_gradients(model, X, target=target, baseline="zeros", steps=8, batch_size=1)
    many = integrated_gradients(model, X, target=target, baseline="zeros", steps=8, batch_size=13)
    torch.testing.assert_close(one.attributions, many.attributions, rtol=0, atol=1e-6)
    torch.testing.assert_close(
        saliency(model, X, target=target, batch_size=1),
        saliency(model, X, target=target, batch_size=4),
        rtol=0,
        atol=1e-6,
    )


def test_target_list_stacks_heads(model, X):
    both = saliency(model, X, target=[COUNTS, PROFILE])
    assert both.shape == (2, *X.shape)
    torch.testing.assert_close(both[0], saliency(model, X, target=COUNTS))
    torch.testing.assert_close(both[1], saliency(model, X, target=PROFILE))


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            0,
            "output=None but the model returns 2 heads: 0 (n, 2, 60), 1 (n, 1); choose one with --output",
        ),
        (
            Target(output=2),
            "output=2 is not a head of the model; it returns 2 head(s): 0 (n, 2, 60), 1 (n, 1)",
        ),
        (Target(output="counts"), "output='counts' is not a head"),
        (
            Target(output=0),
            "head 0 has a position axis, shape (n, 2, 60): choose --reduce from ['sum', 'mean', 'profile']",
        ),
        (
            Target(output=1, reduce="sum"),
            "reduce='sum' needs a head with a position axis (n, C, L'); head 1 has shape (n, 1)",
        ),
        (
            Target(output=0, reduce="sum", positions=(10, 61)),
            "positions=10:61 lie outside head 0, whose position axis has 60 positions",
        ),
        (
            Target(output=0, channel=2, reduce="profile"),
            "target=2 is out of range: head 0 has 2 channel(s)",
        ),
        (Target(output=1, channel=1), "target=1 is out of range: head 1 has 1 channel(s)"),
    ],
)
def test_bad_heads_targets_and_positions_are_one_line_errors(model, X, target, message):
    with pytest.raises(InputError) as info:
        saliency(model, X, target=target)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reduce": "max"}, "reduce='max'; expected one of ['sum', 'mean', 'profile']"),
        ({"reduce": "sum", "positions": (5, 5)}, "positions=(5, 5); expected (start, end)"),
        ({"positions": (0, 5)}, "without reduce"),
        ({"output": -1}, "output=-1; expected an index >= 0"),
    ],
)
def test_bad_target_objects(kwargs, message):
    with pytest.raises(InputError, match=None) as info:
        Target(**kwargs)
    assert message in str(info.value)


def test_dict_heads_listed_by_name():
    model = TwoHeads(kind="dict").eval()
    with pytest.raises(InputError) as info:
        saliency(model, random_onehot(n=2, length=24), target=None)
    assert "returns 2 heads: profile (n, 2, 20), counts (n, 1)" in str(info.value)


def test_ism_of_a_head_equals_the_head_alone(model, X):
    from _toys import OneHead

    from seqsal.dna import attribute_dna

    ours = attribute_dna(model, X, method="ism", target=Target(output=0, reduce="profile"))
    alone = attribute_dna(
        OneHead(model, 0).eval(), X, method="ism", target=Target(reduce="profile")
    )
    np.testing.assert_allclose(ours.hypothetical, alone.hypothetical, rtol=0, atol=1e-6)
    assert np.abs(ours.hypothetical).sum() > 0


def test_chrombpnet_counts_and_profile_equal_captum_on_bpnetlite_wrappers():
    """A randomly initialised ChromBPNet (a bias BPNet and an accessibility BPNet combined):
    its (profile, counts) tuple explained as bpnet-lite's wrappers are, through captum."""
    import warnings

    import bpnetlite
    from bpnetlite.chrombpnet import ChromBPNet

    torch.manual_seed(11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kwargs = {"n_outputs": 1, "n_control_tracks": 0, "trimming": 10, "verbose": False}
        bias = bpnetlite.BPNet(n_filters=8, n_layers=2, **kwargs)
        accessibility = bpnetlite.BPNet(n_filters=16, n_layers=4, **kwargs)
        model = ChromBPNet(bias, accessibility).eval()
    X = random_onehot(n=4, length=80, seed=9)
    assert [tuple(h.shape) for h in model(X)] == [(4, 1, 60), (4, 1)]
    for target, wrapper in ((COUNTS, bpnet.CountWrapper), (PROFILE, DetachedProfileWrapper)):
        wrapped = wrapper(model).eval()
        with torch.no_grad():
            value = resolve_targets(target).select(model(X), 0)
            torch.testing.assert_close(value, wrapped(X)[:, 0], **TOL)
        expected = captum_attr.Saliency(wrapped).attribute(X, target=0, abs=False)
        torch.testing.assert_close(saliency(model, X, target=target), expected, **TOL)
        assert expected.abs().max() > 1e-5
    with torch.no_grad():
        torch.testing.assert_close(
            resolve_targets(PROFILE).select(model(X), 0),
            bpnet.ProfileWrapper(model)(X)[:, 0],
            **TOL,
        )

"""DeepSHAP (DeepLIFT, rescale rule, averaged over references) against its oracles: tangermeme's
``deep_lift_shap`` given the same references (hypothetical and projected) on the zoo CNN, the
dilated zoo model (also with a max over positions) and a bpnet-lite BPNet's count head;
captum's DeepLift on an image CNN from a black baseline; completeness in float64; the rules for
every supported activation and softmax; batch-size invariance; restored state; and the errors
for modules and functions without a rule and for references of the wrong shape."""

from __future__ import annotations

import copy
import warnings

import pytest
import torch
from _toys import random_onehot, small_bpnet
from torch import nn

from seqsal.attribution import Target, attribute, deepshap
from seqsal.errors import InputError, ModelError
from seqsal.models import zoo

tangermeme = pytest.importorskip("tangermeme.deep_lift_shap")
captum_attr = pytest.importorskip("captum.attr")

L = 60
TOL = {"rtol": 1e-4, "atol": 1e-4}


def references(n, k, length=L, seed=5):
    return torch.stack([random_onehot(n=k, length=length, seed=seed + i) for i in range(n)])


def tangermeme_shap(model, X, R, target, hypothetical):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tangermeme.deep_lift_shap(
            model, X, target=target, references=R, hypothetical=hypothetical, device="cpu",
            verbose=False,
        )  # fmt: skip


class MaxPoolGlobal(nn.Module):
    """The zoo's GlobalPool with its max written as an nn.MaxPool1d over all positions, so that
    tangermeme applies its max rule to it."""

    def __init__(self, length, modes):
        super().__init__()
        self.pool, self.modes = nn.MaxPool1d(length), modes

    def forward(self, x):
        return torch.cat(
            [x.mean(-1) if m == "mean" else self.pool(x)[..., 0] for m in self.modes], 1
        )


ZOO = [("cnn", {}), ("dilated", {}), ("dilated", {"pool_modes": ("mean", "max")})]


@pytest.mark.parametrize(("name", "options"), ZOO)
def test_equals_tangermeme_on_zoo_models(name, options):
    model = zoo.build(name, input_length=L, n_targets=2, seed=0, **options).eval()
    X, R = random_onehot(n=3, length=L, seed=1), references(3, 4)
    oracle_model = model
    if "max" in model.head[0].modes:
        oracle_model = copy.deepcopy(model)
        length = model.trunk(X[:1]).shape[-1]
        oracle_model.head[0] = MaxPoolGlobal(length, model.head[0].modes)
    hypothetical = deepshap(model, X, target=1, baseline=R, hypothetical=True).attributions
    expected = tangermeme_shap(oracle_model, X, R, 1, hypothetical=True)
    assert expected.abs().max() > 1e-3  # the comparison is not between zeros
    torch.testing.assert_close(hypothetical, expected, **TOL)
    projected = tangermeme_shap(oracle_model, X, R, 1, hypothetical=False)
    torch.testing.assert_close(hypothetical * X, projected, **TOL)
    # projected and plain contributions differ elementwise but sum to the same per example
    plain = deepshap(model, X, target=1, baseline=R).attributions
    torch.testing.assert_close(plain.sum(dim=(1, 2)), projected.sum(dim=(1, 2)), **TOL)


def test_equals_tangermeme_on_bpnet_count_head():
    bpnet = pytest.importorskip("bpnetlite.bpnet")
    model = small_bpnet(seed=2, trimming=10)
    X, R = random_onehot(n=3, length=80, seed=2), references(3, 3, length=80)
    ours = deepshap(model, X, target=Target(output=1), baseline=R, hypothetical=True)
    expected = tangermeme_shap(bpnet.CountWrapper(model), X, R, 0, hypothetical=True)
    assert expected.abs().max() > 1e-3
    torch.testing.assert_close(ours.attributions, expected, **TOL)
    assert ours.delta.abs().max() < 1e-4


@pytest.mark.filterwarnings("ignore::UserWarning")  # captum's notes on hooks and requires_grad
def test_equals_captum_deeplift_on_image_cnn_black_baseline():
    model = zoo.build("imagecnn", n_targets=3, in_channels=2, channels=[4, 6], seed=3).eval()
    X = torch.rand(4, 2, 12, 12, generator=torch.Generator().manual_seed(0))
    ours = deepshap(model, X, target=2, baseline="black")
    expected = captum_attr.DeepLift(copy.deepcopy(model)).attribute(X, target=2)
    assert expected.abs().max() > 1e-4
    torch.testing.assert_close(ours.attributions, expected.detach(), **TOL)
    assert ours.attributions.shape == X.shape


@pytest.mark.parametrize(("name", "options"), ZOO)
def test_completeness_in_float64(name, options):
    model = zoo.build(name, input_length=L, n_targets=2, seed=4, **options).double().eval()
    X, R = random_onehot(n=4, length=L, seed=3), references(4, 3, seed=9)
    result = deepshap(model, X, target=[0, 1], baseline=R)
    assert result.attributions.shape == (2, 4, 4, L) and result.delta.shape == (2, 4)
    assert result.delta.abs().max() < 1e-4
    # the delta is what it claims: sum of contributions minus f(x) - mean f(r)
    with torch.no_grad():
        f_x = model(X.double())[:, 0]
        f_r = model(R.reshape(-1, 4, L).double())[:, 0].reshape(4, 3).mean(1)
    torch.testing.assert_close(
        result.attributions[0].sum(dim=(1, 2)).double(), f_x - f_r, rtol=1e-5, atol=1e-5
    )


ACTIVATIONS = [nn.ReLU, nn.GELU, nn.ELU, nn.Softplus, nn.Sigmoid, nn.Tanh]


def small_net(activation, softmax=False):
    torch.manual_seed(0)
    layers = [nn.Conv1d(4, 6, 5), activation(), nn.AvgPool1d(2), nn.Flatten(), nn.Linear(6 * 13, 3)]
    if softmax:
        layers.append(nn.Softmax(dim=1))
    return nn.Sequential(*layers).eval()


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activation_rules_equal_tangermeme_and_add_up(activation):
    model = small_net(activation)
    X, R = random_onehot(n=3, length=30, seed=4), references(3, 2, length=30)
    ours = deepshap(model, X, target=2, baseline=R, hypothetical=True)
    expected = tangermeme_shap(model, X, R, 2, hypothetical=True)
    torch.testing.assert_close(ours.attributions, expected, **TOL)
    assert ours.delta.abs().max() < 1e-5


def test_softmax_rule_equals_tangermeme_and_adds_up():
    model = small_net(nn.Tanh, softmax=True)
    X, R = random_onehot(n=3, length=30, seed=6), references(3, 2, length=30)
    ours = deepshap(model, X, target=1, baseline=R, hypothetical=True)
    expected = tangermeme_shap(model, X, R, 1, hypothetical=True)
    assert expected.abs().max() > 1e-4
    torch.testing.assert_close(ours.attributions, expected, **TOL)
    assert ours.delta.abs().max() < 1e-5


def test_batch_size_invariant_and_state_restored():
    model = zoo.build("cnn", input_length=L, n_targets=2, seed=0)
    model.train()
    X, R = random_onehot(n=5, length=L, seed=7), references(5, 3)
    whole = deepshap(model, X, target=0, baseline=R)
    assert model.training
    assert all(p.requires_grad for p in model.parameters())
    for batch_size in (1, 2, 7):
        part = deepshap(model, X, target=0, baseline=R, batch_size=batch_size)
        torch.testing.assert_close(part.attributions, whole.attributions, rtol=1e-6, atol=1e-7)
        torch.testing.assert_close(part.delta, whole.delta, rtol=1e-5, atol=1e-7)
    # the registry runs the same function
    torch.testing.assert_close(attribute(model, X, "deepshap", baseline=R), whole.attributions)


def test_callable_references_give_k_per_example():
    model = zoo.build("cnn", input_length=L, n_targets=2, seed=0).eval()
    X, R = random_onehot(n=2, length=L, seed=8), references(2, 3)
    given = deepshap(model, X, baseline=R).attributions
    called = deepshap(model, X, baseline=lambda X_: R).attributions
    torch.testing.assert_close(called, given)
    one = deepshap(model, X, baseline=R[:, :1]).attributions
    assert (one - given).abs().max() > 1e-6  # averaging over 3 references changes the result


class FunctionalReLU(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 3, 3)
        self.fc = nn.Linear(3, 1)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean(-1))


def test_unsupported_module_is_a_one_line_error_naming_it():
    model = nn.Sequential(nn.Conv1d(4, 3, 3), nn.LayerNorm(18), nn.Flatten(), nn.Linear(54, 1))
    with pytest.raises(ModelError, match=r"module '1' \(LayerNorm\)") as err:
        deepshap(model, random_onehot(n=2, length=20), baseline=references(2, 1, length=20))
    assert "\n" not in str(err.value)


def test_functional_nonlinearity_is_an_error_naming_it():
    with pytest.raises(
        ModelError, match=r"torch\.relu, called in the forward of module '<model>'"
    ) as err:
        deepshap(FunctionalReLU(), random_onehot(n=2, length=20), baseline="zeros", target=None)
    assert "\n" not in str(err.value)


def test_references_of_the_wrong_shape_and_k_zero_are_errors():
    model = zoo.build("cnn", input_length=L, n_targets=2, seed=0)
    X = random_onehot(n=2, length=L)
    with pytest.raises(InputError, match=r"baseline has shape \(2, 3, 4, 59\)"):
        deepshap(model, X, baseline=torch.zeros(2, 3, 4, L - 1))
    with pytest.raises(InputError, match=r"baseline has shape \(2, 0, 4, 60\)"):
        deepshap(model, X, baseline=torch.zeros(2, 0, 4, L))


class TensorMax(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 3, 3)
        self.fc = nn.Linear(3, 1)

    def forward(self, x):
        return self.fc(self.conv(x).amax(dim=-1))


def test_tensor_method_nonlinearity_is_an_error_and_the_guard_is_removed():
    model = TensorMax()
    X = random_onehot(n=2, length=20)
    with pytest.raises(ModelError, match=r"Tensor\.amax"):
        deepshap(model, X, baseline="zeros", target=None)
    # outside deepshap the model runs as before, and another method still works on it
    assert model(X).shape == (2, 1)
    assert attribute(model, X, "saliency", target=None).abs().max() > 0


def test_adaptive_max_pool_and_inplace_relu():
    torch.manual_seed(1)
    conv, fc = nn.Conv2d(2, 3, 3), nn.Linear(3 * 2 * 2, 2)
    relu = nn.ReLU(inplace=True)
    adaptive = nn.Sequential(conv, relu, nn.AdaptiveMaxPool2d(2), nn.Flatten(), fc).eval()
    fixed = nn.Sequential(conv, nn.ReLU(), nn.MaxPool2d(5), nn.Flatten(), fc).eval()
    X = torch.rand(3, 2, 12, 12, generator=torch.Generator().manual_seed(2))
    R = torch.rand(3, 2, 2, 12, 12, generator=torch.Generator().manual_seed(3))
    ours = deepshap(adaptive, X, target=1, baseline=R)
    # AdaptiveMaxPool2d(2) on 10 x 10 is MaxPool2d(5): the same max rule
    torch.testing.assert_close(
        ours.attributions, deepshap(fixed, X, target=1, baseline=R).attributions
    )
    assert ours.delta.abs().max() < 1e-5 and ours.attributions.abs().max() > 1e-4
    assert relu.inplace  # restored


def test_equals_tangermeme_on_bpnet_profile_head():
    bpnet = pytest.importorskip("bpnetlite.bpnet")

    class DetachedProfile(bpnet.ProfileWrapper):
        """bpnet-lite's profile wrapper with the softmax weights detached, as
        Target(reduce="profile") defines the profile explanation."""

        def forward(self, X, X_ctl=None, **kwargs):
            logits = self.flatten(self.model(X, X_ctl, **kwargs)[0])
            logits = logits - torch.mean(logits, dim=-1, keepdim=True)
            return (logits * torch.softmax(logits, dim=-1).detach()).sum(dim=-1, keepdim=True)

    model = small_bpnet(seed=4, trimming=10)
    X, R = random_onehot(n=2, length=80, seed=3), references(2, 3, length=80, seed=11)
    target = Target(output=0, reduce="profile")
    ours = deepshap(model, X, target=target, baseline=R, hypothetical=True).attributions
    expected = tangermeme_shap(DetachedProfile(model), X, R, 0, hypothetical=True)
    assert expected.abs().max() > 1e-4
    torch.testing.assert_close(ours, expected, **TOL)


class SharedModules(nn.Module):
    """One nn.ReLU and one nn.MaxPool1d called at two depths (a common way to write a model)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(3)
        self.conv1, self.conv2 = nn.Conv1d(4, 8, 5), nn.Conv1d(8, 8, 3)
        self.relu, self.pool = nn.ReLU(), nn.MaxPool1d(2)
        self.linear = nn.Linear(8 * 13, 2)

    def forward(self, x):
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        return self.linear(x.flatten(1))


class Unshared(SharedModules):
    """The same weights with a module per call."""

    def __init__(self, shared):
        super().__init__()
        self.load_state_dict(shared.state_dict())
        self.relu2, self.pool2 = nn.ReLU(), nn.MaxPool1d(2)

    def forward(self, x):
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        return self.linear(x.flatten(1))


def test_a_module_called_twice_gets_the_rule_at_each_call():
    shared = SharedModules()
    X, R = random_onehot(n=4, length=L, seed=2), references(4, 3)
    ours = deepshap(shared, X, target=1, baseline=R, hypothetical=True, batch_size=5)
    unshared = Unshared(shared)
    torch.testing.assert_close(ours.attributions, tangermeme_shap(unshared, X, R, 1, True), **TOL)
    assert ours.delta.abs().max() < 1e-4


def test_tiled_max_pool_winners_are_torch_s_including_ties():
    from seqsal.attribution.deeplift import _max_indices

    z = torch.randn(3, 5, 23)
    z[0, :, :12] = 0.0  # ties, as after a ReLU
    z[1, 2, 4:8] = 1.5  # a tie at the window's maximum, as in a poly-A run
    for pool in (nn.MaxPool1d(4), nn.MaxPool1d(3, stride=3), nn.MaxPool1d(1)):
        _, expected = torch.nn.functional.max_pool1d(z, pool.kernel_size, return_indices=True)
        torch.testing.assert_close(_max_indices(pool, z), expected, rtol=0, atol=0)


def test_zoo_cnn_on_homopolymer_runs_equals_tangermeme():
    # runs of one base make equal neighbouring activations: ties inside the max pool
    model = zoo.build("cnn", input_length=L, n_targets=1, seed=4)
    X = random_onehot(n=3, length=L, seed=8)
    X[:, :, 10:40] = 0.0
    X[:, 0, 10:40] = 1.0
    R = references(3, 4)
    ours = deepshap(model, X, target=0, baseline=R, hypothetical=True)
    torch.testing.assert_close(ours.attributions, tangermeme_shap(model, X, R, 0, True), **TOL)


class DataDependent(nn.Module):
    """Calls its ReLU a second time only for inputs whose first base is A."""

    def __init__(self):
        super().__init__()
        self.conv, self.relu = nn.Conv1d(4, 4, 3, padding=1), nn.ReLU()

    def forward(self, x):
        h = self.relu(self.conv(x))
        if bool(x[0, 0, 0] > 0):
            h = self.relu(self.conv(h))
        return h.sum(dim=(1, 2))[:, None]


def test_a_forward_that_changes_with_the_input_is_a_one_line_error():
    X = torch.zeros(1, 4, 8)
    X[0, 0] = 1.0  # all A: the second call runs on the example
    R = torch.zeros(1, 1, 4, 8)
    R[0, 0, 1] = 1.0  # all C: not on the reference
    with pytest.raises(ModelError, match="calls the same modules on every input") as err:
        deepshap(DataDependent(), X, baseline=R)
    assert "\n" not in str(err.value)

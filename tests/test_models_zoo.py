"""Zoo architectures: shapes, trunk/head composition, equivariance, seeded init."""

import pytest
import torch

from seqsal.errors import InputError
from seqsal.models import zoo


@pytest.mark.parametrize("arch", ["cnn", "dilated"])
@pytest.mark.parametrize("task", ["regression", "classification"])
@pytest.mark.parametrize("n_targets", [1, 3])
def test_output_shape_and_trunk_head_composition(arch, task, n_targets):
    model = zoo.build(arch, input_length=120, n_targets=n_targets, task=task)
    x = torch.randn(5, 4, 120, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = model(x)
        features = model.trunk(x)
        composed = model.head(features)
    assert out.shape == (5, n_targets)
    assert features.ndim == 3 and features.shape[0] == 5
    torch.testing.assert_close(out, composed, rtol=0, atol=0)
    assert model.input_length == 120 and model.n_targets == n_targets and model.task == task
    # Logits, not probabilities: a classification head is not squashed into [0, 1].
    assert not model.training


@pytest.mark.parametrize("arch", ["cnn", "dilated"])
def test_trunk_is_translation_equivariant_at_multiples_of_its_stride(arch):
    model = zoo.build(arch, input_length=150, n_targets=1)
    long = torch.randn(1, 4, 600, generator=torch.Generator().manual_seed(1))
    stride = model.trunk_stride
    with torch.no_grad():
        whole = model.trunk(long)
        for offset in (0, stride * 3, stride * 17):
            window = model.trunk(long[..., offset : offset + 150])
            k = offset // stride
            torch.testing.assert_close(
                whole[..., k : k + window.shape[-1]], window, rtol=1e-5, atol=1e-5
            )
            torch.testing.assert_close(
                model.head(whole[..., k : k + window.shape[-1]]),
                model(long[..., offset : offset + 150]),
            )
    assert model.trunk_output_length(150) == window.shape[-1]


@pytest.mark.parametrize("arch", ["cnn", "dilated"])
def test_seeded_init_is_deterministic_and_leaves_global_rng_alone(arch):
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a = zoo.build(arch, input_length=100, n_targets=2, seed=7)
    assert torch.equal(torch.random.get_rng_state(), before)
    b = zoo.build(arch, input_length=100, n_targets=2, seed=7)
    c = zoo.build(arch, input_length=100, n_targets=2, seed=8)
    for (ka, va), (_, vb), (_, _vc) in zip(
        a.state_dict().items(), b.state_dict().items(), c.state_dict().items(), strict=True
    ):
        assert torch.equal(va, vb), ka
    assert any(
        not torch.equal(va, vc) for va, vc in zip(a.parameters(), c.parameters(), strict=True)
    )


def test_output_transform_scales_each_target():
    model = zoo.build("cnn", input_length=80, n_targets=2)
    x = torch.randn(3, 4, 80, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        raw = model(x)
        model.head[-1].scale.copy_(torch.tensor([2.0, 3.0]))
        model.head[-1].shift.copy_(torch.tensor([1.0, -1.0]))
        scaled = model(x)
    torch.testing.assert_close(scaled, raw * torch.tensor([2.0, 3.0]) + torch.tensor([1.0, -1.0]))


def test_input_gradients_are_defined():
    model = zoo.build("dilated", input_length=100, n_targets=1)
    x = torch.randn(2, 4, 100, requires_grad=True)
    model(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_bad_arguments():
    with pytest.raises(InputError, match="arch='resnet'"):
        zoo.build("resnet", input_length=100, n_targets=1)
    with pytest.raises(InputError, match="task="):
        zoo.build("cnn", input_length=100, n_targets=1, task="ranking")
    with pytest.raises(InputError, match="shorter than the first convolution"):
        zoo.build("cnn", input_length=10, n_targets=1)
    with pytest.raises(InputError, match="unknown option"):
        zoo.build("cnn", input_length=100, n_targets=1, widht=3)

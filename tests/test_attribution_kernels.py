"""The fast pooling kernels are invisible: same values, argmax on ties and gradients."""

import pytest
import torch
from _toys import pooled_cnn, random_onehot

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
    X = torch.cat([random_onehot(6, length=23), torch.zeros(1, 4, 23)])
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
    model, X = pooled_cnn(), random_onehot(5, length=23, seed=2)
    theirs = captum_attr.IntegratedGradients(model).attribute(
        X, target=1, n_steps=10, method="riemann_middle"
    )
    ours = integrated_gradients(model, X, target=1, steps=10, batch_size=7)
    torch.testing.assert_close(ours.attributions, theirs.detach(), atol=1e-5, rtol=1e-5)
    sal = captum_attr.Saliency(model).attribute(X.clone().requires_grad_(), target=0, abs=False)
    torch.testing.assert_close(saliency(model, X, target=0), sal, atol=1e-6, rtol=1e-5)


def test_gradcam_on_a_relu_before_a_pool_sees_the_relu_output():
    model, X = pooled_cnn(), random_onehot(4, length=23, seed=3)
    # the hooked ReLU must not be folded into the pool, or the map would use pre-ReLU values
    theirs = captum_attr.LayerGradCam(model, model[4]).attribute(
        X, target=0, relu_attributions=True
    )
    up = captum_attr.LayerAttribution.interpolate(theirs, (23,), "linear").expand(-1, 4, -1)
    torch.testing.assert_close(
        gradcam(model, X, layer="4", target=0), up.detach(), atol=1e-5, rtol=1e-5
    )


# --------------------------------------------------------------------------------------------
# channels-last layout for image models


def _image_model(in_channels=3):
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(in_channels, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2, ceil_mode=True),
        torch.nn.Conv2d(8, 6, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(6, 3),
    ).eval()


def test_channels_last_runs_nhwc_gives_the_same_gradients_and_restores_the_model():
    from seqsal.attribution._kernels import channels_last, in_channels_last

    model = _image_model()
    weights = {name: (p.data_ptr(), p.stride()) for name, p in model.named_parameters()}
    X = torch.randn(5, 3, 9, 11, generator=torch.Generator().manual_seed(1))
    expected = _output_and_gradient(model, X, 2)
    seen = []
    hook = model[1].register_forward_hook(lambda m, i, o: seen.append(o.is_contiguous()))
    with channels_last(model) as switched:
        assert switched and in_channels_last(model)
        assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
        assert not model[0].weight.is_contiguous()
        got = _output_and_gradient(model, X, 2)
    hook.remove()
    assert seen == [False]  # the layers ran on NHWC data inside the block
    assert got[1].is_contiguous()  # the gradient comes back in the caller's layout
    torch.testing.assert_close(got[0], expected[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(got[1], expected[1], rtol=1e-5, atol=1e-6)
    # restored to the very tensors, no hook left behind
    assert not in_channels_last(model) and not model._forward_pre_hooks
    for name, p in model.named_parameters():
        assert p.data_ptr() == weights[name][0] and p.stride() == weights[name][1]


def test_channels_last_restores_the_model_when_the_block_raises():
    from seqsal.attribution._kernels import channels_last

    model = _image_model()
    ptr, stride = model[0].weight.data_ptr(), model[0].weight.stride()
    with pytest.raises(RuntimeError, match="boom"), channels_last(model):
        raise RuntimeError("boom")
    assert model[0].weight.data_ptr() == ptr and model[0].weight.stride() == stride
    assert not model._forward_pre_hooks


def test_channels_last_leaves_sequence_and_script_models_alone():
    from seqsal.attribution._kernels import channels_last

    dna = pooled_cnn().eval()
    with channels_last(dna) as switched:
        assert not switched and not dna._forward_pre_hooks
    scripted = torch.jit.script(_image_model())
    with channels_last(scripted) as switched:
        assert not switched


def test_perturbation_passes_run_nhwc_and_gradient_passes_do_not():
    from seqsal.attribution import occlusion

    model = _image_model()
    X = torch.randn(3, 3, 8, 10, generator=torch.Generator().manual_seed(2))
    layouts = []
    hook = model[0].register_forward_hook(lambda m, i, o: layouts.append(o.is_contiguous()))
    try:
        got = occlusion(model, X, window=(2, 2), stride=(2, 2), target=1, batch_size=7)
        assert layouts and not any(layouts)  # every forward pass ran on NHWC data
        layouts.clear()
        saliency(model, X, target=1)
        assert layouts and all(layouts)  # gradient passes keep the default layout
    finally:
        hook.remove()
    # the same occlusion map as in the default layout, to float rounding
    expected = torch.zeros_like(X)
    with torch.no_grad():
        base = model(X)[:, 1]
        for i in range(0, 8, 2):
            for j in range(0, 10, 2):
                Z = X.clone()
                Z[:, :, i : i + 2, j : j + 2] = 0
                expected[:, :, i : i + 2, j : j + 2] = (base - model(Z)[:, 1])[:, None, None, None]
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["image", "dna"])
def test_sharded_passes_equal_one_unsplit_call_exactly(kind, monkeypatch):
    """Rows split over the cores give every row's gradient bit for bit as one call does."""
    import seqsal._runtime as runtime
    from seqsal.attribution import grad_x_input, smoothgrad

    if kind == "image":
        model = _image_model()
        X = torch.rand(12, 3, 8, 10, generator=torch.Generator().manual_seed(4))
        X[:, :, :4] = 0.5  # flat regions: exact max-pool ties
    else:
        model = pooled_cnn().eval()
        X = torch.cat([random_onehot(11, length=23), torch.zeros(1, 4, 23)])  # ties in the pools
    calls = []
    model.register_forward_pre_hook(lambda m, args: calls.append(args[0].shape[0]))

    def run():
        calls.clear()
        maps = [
            saliency(model, X, target=1),
            grad_x_input(model, X, target=1),
            smoothgrad(model, X[:2], target=1, n_samples=6, seed=0, batch_size=12),
        ]
        return maps, sorted(calls)

    before = torch.get_num_threads()
    monkeypatch.setattr(runtime, "usable_cores", lambda: 2)
    try:
        torch.set_num_threads(2)
        split, split_calls = run()
        torch.set_num_threads(1)
        whole, whole_calls = run()
    finally:
        torch.set_num_threads(before)
    # three 12-row gradient calls, each run as two halves
    assert whole_calls.count(12) == 3 and max(split_calls) == 6
    assert split_calls.count(6) == 6
    for a, b in zip(split, whole, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_gradcam_runs_nhwc_and_does_not_depend_on_the_batch():
    model = _image_model()
    X = torch.rand(6, 3, 8, 10, generator=torch.Generator().manual_seed(5))
    X[:, :, :4] = 0.5  # flat regions: tied pools below the layer
    layouts = []
    hook = model[0].register_forward_hook(lambda m, i, o: layouts.append(o.is_contiguous()))
    try:
        together = gradcam(model, X, layer="3", target=1)
    finally:
        hook.remove()
    # after rows_per_call's one-row probe, the layers below ran on NHWC data
    assert layouts[0] and layouts[1:] and not any(layouts[1:])
    alone = torch.cat([gradcam(model, X[i : i + 1], layer="3", target=1) for i in range(6)])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-7)
    reference = captum_attr.LayerGradCam(model, model[3]).attribute(X, target=1)
    reference = captum_attr.LayerAttribution.interpolate(reference, (8, 10), "bilinear")
    torch.testing.assert_close(together, reference.expand_as(X), rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------------------------
# 2 x 2 max pools of image models: numba kernels


def _bits(t):
    return t.contiguous().view(torch.int32)


def _count_kernel_calls(monkeypatch):
    from seqsal.attribution import _pool2d_kernels

    calls = []
    forward = _pool2d_kernels.pool2_forward

    def counted(x, relu, out, code):
        calls.append(relu)
        return forward(x, relu, out, code)

    monkeypatch.setattr(_pool2d_kernels, "pool2_forward", counted)
    return calls


def _plain_pool_model():
    """Pools without a ReLU before them (and one with stride given as a tuple)."""
    torch.manual_seed(3)
    return torch.nn.Sequential(
        torch.nn.Conv2d(2, 5, 3, padding=1),
        torch.nn.MaxPool2d(2),
        torch.nn.Tanh(),
        torch.nn.Conv2d(5, 4, 3, padding=1),
        torch.nn.MaxPool2d((2, 2), stride=(2, 2), ceil_mode=True),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 3 * 4, 3),
    ).eval()


def test_image_pools_run_the_numba_kernel_bit_for_bit(monkeypatch):
    from seqsal.models import zoo
    from seqsal.models.images import digits_dataset

    calls = _count_kernel_calls(monkeypatch)
    digits = zoo.build("imagecnn", n_targets=10, task="classification", in_channels=1, seed=0)
    digits.eval()
    # digits: flat backgrounds give exact ties in the pooling windows at every level
    X = torch.from_numpy(digits_dataset(32, seed=None).X[:8])
    plain = _plain_pool_model()
    Y = torch.rand(4, 2, 12, 16, generator=torch.Generator().manual_seed(6))
    Y[:, :, :6] = 0.25
    for model, inputs, pools, relus in ((digits, X, 3, [True] * 3), (plain, Y, 2, [False] * 2)):
        expected = _output_and_gradient(model, inputs, 1)
        calls.clear()
        with fast_kernels(model) as patched:
            got = _output_and_gradient(model, inputs, 1)
        assert calls == relus  # every pool ran the kernel, the ReLU folded in where there is one
        assert patched == pools * (2 if relus[0] else 1)
        assert torch.equal(_bits(got[0]), _bits(expected[0]))
        assert torch.equal(_bits(got[1]), _bits(expected[1]))
        assert all("forward" not in m.__dict__ for m in model.modules())


def test_pool_kernel_ties_signed_zeros_and_relu_follow_pytorch(monkeypatch):
    """The first maximum wins a tie, and a -0.0 gradient arrives as +0.0, as in PyTorch."""
    calls = _count_kernel_calls(monkeypatch)  # imports numba: small inputs use it from now on
    x = torch.tensor([0.5, 0.5, 0.5, 0.5, -1.0, 2.0, 2.0, -3.0, -0.5, -0.25, -2.0, -0.25])
    x = torch.cat([x, torch.randn(52, generator=torch.Generator().manual_seed(7))])
    x = x.reshape(1, 1, 8, 8)
    grad = torch.randn(1, 1, 4, 4, generator=torch.Generator().manual_seed(8))
    grad[0, 0, 0, :2] = -0.0
    for layers in ((torch.nn.MaxPool2d(2),), (torch.nn.ReLU(), torch.nn.MaxPool2d(2))):
        model = torch.nn.Sequential(*layers)
        expected = _pool_output_and_gradient(model, x, grad)
        with fast_kernels(model) as patched:
            got = _pool_output_and_gradient(model, x, grad)
        assert patched == len(layers) and len(calls) == 1
        calls.clear()
        assert torch.equal(_bits(got[0]), _bits(expected[0]))
        assert torch.equal(_bits(got[1]), _bits(expected[1]))


def _pool_output_and_gradient(model, x, grad):
    Z = x.clone().requires_grad_(True)
    out = model(Z)
    (g,) = torch.autograd.grad(out, Z, grad)
    return out.detach(), g


@pytest.mark.parametrize("relu", [True, False], ids=["relu", "plain"])
def test_pool_kernel_hands_odd_inputs_to_pytorch(relu, monkeypatch):
    calls = _count_kernel_calls(monkeypatch)
    layers = [torch.nn.ReLU()] if relu else [torch.nn.Tanh()]
    model = torch.nn.Sequential(*layers, torch.nn.MaxPool2d(2, ceil_mode=True)).eval()
    generator = torch.Generator().manual_seed(9)
    finite = torch.randn(2, 3, 6, 8, generator=generator)
    cases = {
        "NaN and infinity": finite.clone().index_put_(
            tuple(torch.tensor(i) for i in ([0, 1, 1], [0, 2, 1], [1, 4, 4], [2, 5, 5])),
            torch.tensor([float("nan"), float("inf"), -float("inf")]),
        ),
        "odd height": torch.randn(2, 3, 7, 8, generator=generator),
        "channels last": finite.contiguous(memory_format=torch.channels_last),
        "float64": finite.double(),
    }
    for name, x in cases.items():
        grad = torch.randn(model(x).shape, generator=generator, dtype=x.dtype)
        expected = _pool_output_and_gradient(model, x, grad)
        calls.clear()
        with fast_kernels(model):
            got = _pool_output_and_gradient(model, x, grad)
        assert calls == ([relu] if name == "NaN and infinity" else []), name
        torch.testing.assert_close(got[0], expected[0], rtol=0, atol=0, equal_nan=True, msg=name)
        torch.testing.assert_close(got[1], expected[1], rtol=0, atol=0, equal_nan=True, msg=name)


@pytest.mark.parametrize(
    "pool",
    [
        torch.nn.MaxPool2d(3),
        torch.nn.MaxPool2d(2, stride=1),
        torch.nn.MaxPool2d(2, padding=1),
        torch.nn.MaxPool2d(2, dilation=2),
        torch.nn.MaxPool2d(2, return_indices=True),
        torch.nn.MaxPool2d((2, 3)),
    ],
    ids=repr,
)
def test_other_2d_pools_are_left_alone(pool):
    with fast_kernels(torch.nn.Sequential(torch.nn.ReLU(), pool)) as patched:
        assert patched == 0 and "forward" not in pool.__dict__


def test_numba_is_imported_only_after_enough_pooling_in_a_fresh_process():
    """A few images go through PyTorch's pool; the kernels load once a process pools more."""
    import subprocess
    import sys

    script = (
        "import sys, torch\n"
        "from seqsal.attribution import _kernels\n"
        "model = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.MaxPool2d(2))\n"
        "x = torch.rand(8, 16, 64, 64)\n"
        "loaded = []\n"
        "with _kernels.fast_kernels(model):\n"
        "    for _ in range(_kernels._NUMBA_AFTER_VALUES // x.numel() + 1):\n"
        "        model(x)\n"
        "        loaded.append('seqsal.attribution._pool2d_kernels' in sys.modules)\n"
        "print(loaded.count(False), loaded.count(True))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["64", "1"]

"""DeepLIFT with the rescale rule, averaged over references (DeepSHAP).

DeepLIFT (Shrikumar et al. 2017) replaces the derivative of every nonlinear operation by a
ratio of differences between the input ``x`` and a reference ``r``: for an elementwise
``y = g(z)`` the multiplier is ``(g(z_x) - g(z_r)) / (z_x - z_r)`` (the *rescale* rule), and
the contributions ``m * (x - r)`` add up to ``f(x) - f(r)`` exactly for a network built from
linear layers and these rules.  DeepSHAP (Lundberg & Lee 2017) averages the contributions over
``k`` references per example.

How it runs.  Each batch holds ``p`` (example, reference) pairs as ``2p`` rows: the examples,
then their references.  While the model runs, every module that has a rule returns its output
through an autograd function whose backward pass applies the rule to the two halves; one
ordinary backward pass then gives the multipliers.  Linear modules keep their gradients.  A
leaf module of a type with neither a rule nor a place in :data:`LINEAR_MODULES`, or a known
nonlinear torch function called outside a module with a rule, is an error naming it: treating
an unknown operation as linear would silently break the sum.

Rules.  ReLU, LeakyReLU, GELU, ELU, SELU, CELU, SiLU, Softplus, Sigmoid, Tanh: rescale, with
the ordinary gradient where ``|z_x - z_r| < 1e-6`` (where the ratio is unstable).
MaxPool1d/2d, AdaptiveMaxPool1d/2d and the max of the zoo's ``GlobalPool``: the change of each
pooled output is split into the part carried by the example's winning input and the part
carried by the reference's, routed back through the two argmaxes, and divided by the change of
each input (the ordinary gradient where the input does not change).  Softmax: the rescale rule
on ``exp`` and the log-ratio rule on the normalisation (as tangermeme).  Average pooling,
convolutions, linear layers, batch normalisation in eval mode, padding, flattening, dropout in
eval mode: linear.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from seqsal._runtime import check_seed, model_on, progress_bar
from seqsal.attribution._batching import as_input, rows_per_call
from seqsal.attribution._targets import TargetLike, resolve_targets
from seqsal.attribution.baselines import BaselineLike, resolve_baseline
from seqsal.errors import InputError, ModelError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from seqsal.attribution._types import Device, Inputs

log = logging.getLogger(__name__)

#: Below this input difference the rescale ratio is replaced by the ordinary gradient.
RESCALE_EPS = 1e-6

#: Names of the torch modules whose gradient is kept: they are linear (affine) in their input
#: (batch normalisation and dropout in eval mode, where attribution runs them).
LINEAR_MODULES = (
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "Linear",
    "Identity",
    "Flatten",
    "Unflatten",
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "Dropout",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "AlphaDropout",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "OutputTransform",  # seqsal.models.zoo: y = x * scale + shift
)

#: Names of the modules with the elementwise rescale rule.
RESCALE_MODULES = (
    "ReLU",
    "ReLU6",
    "LeakyReLU",
    "GELU",
    "ELU",
    "SELU",
    "CELU",
    "SiLU",
    "Softplus",
    "Sigmoid",
    "Tanh",
)

#: Names of the modules with the max rule.
MAX_MODULES = ("MaxPool1d", "MaxPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d")


class DeepShapResult(NamedTuple):
    """DeepSHAP output.

    Attributes
    ----------
    attributions : torch.Tensor, shape (n, ...) or (n_targets, n, ...)
        Contributions averaged over the references (or hypothetical contributions).
    delta : torch.Tensor, shape (n,) or (n_targets, n)
        Convergence delta ``sum(m * (x - r)) - (f(x) - mean_k f(r_k))`` per example, averaged
        over the references: zero up to rounding when every nonlinearity has a rule.  With
        ``hypothetical=True``, the same for the projected contributions ``h * x``.
    """

    attributions: torch.Tensor
    delta: torch.Tensor


def deepshap(
    model: nn.Module,
    X: Inputs,
    *,
    target: TargetLike = 0,
    target_names: Sequence[str] | None = None,
    baseline: BaselineLike = "zeros",
    hypothetical: bool = False,
    batch_size: int | None = None,
    device: Device = None,
    progress: bool | None = None,
    seed: int | None = None,
    max_memory: int | None = None,
) -> DeepShapResult:
    """DeepLIFT (rescale rule) averaged over ``k`` references per example: DeepSHAP.

    One forward and one backward pass per (example, reference) pair, against ``steps`` passes
    for Integrated Gradients; the contributions of an example add up to
    ``f(x) - mean_k f(r_k)`` exactly for networks of linear layers and the supported
    nonlinearities (see the module docstring); ``delta`` reports the gap.

    Parameters
    ----------
    model : torch.nn.Module
        ``model(X) -> (n, T)``, ``(n,)`` or heads; device and train/eval state are restored.
        Every leaf module must be linear or have a rule, else a ModelError names it.
    X : numpy.ndarray or torch.Tensor, shape (n, ...)
    target : int, str, Target, callable or list, default 0
        See :func:`seqsal.attribution.resolve_targets`; a list gives a leading target axis.
    target_names : list of str, optional
    baseline : "zeros", float, array or callable, default "zeros"
        The references, see :func:`seqsal.attribution.baselines.resolve_baseline`: ``(n, k,
        ...)`` or a callable returning it gives ``k`` references per example.
    hypothetical : bool, default False
        For inputs one-hot along axis 1 (DNA ``(n, 4, L)``): return the hypothetical
        contributions ``h[c] = mean_k (m_k[c] - sum_c' m_k[c'] r_k[c'])`` at every position,
        the contribution the position would make if it held category ``c``; ``h * X`` then
        holds the contributions of the observed bases (what tangermeme returns with
        ``hypothetical=True`` and ``False``), and ``delta`` is the delta of ``h * X``.
        False: ``mean_k m_k * (x - r_k)``.
    batch_size : int, optional
        Model rows per call (two per pair: the example and its reference); None chooses it
        from ``max_memory``.  Results do not depend on it.
    device, progress, seed, max_memory
        As in :func:`seqsal.attribution.saliency`; ``seed`` is checked but unused (the
        references carry any randomness).

    Returns
    -------
    DeepShapResult
        ``attributions`` (float32, CPU, X's shape, or ``(n_targets, n, ...)``) and ``delta``.
    """
    import torch

    check_seed(seed)  # no random step here; checked as every method checks it
    X = as_input(X)
    if hypothetical and X.ndim < 2:
        raise InputError(
            f"hypothetical=True needs inputs one-hot along axis 1, shape (n, C, ...); got "
            f"shape {tuple(X.shape)}"
        )
    targets = resolve_targets(target, model=model, target_names=target_names)
    references = resolve_baseline(baseline, X)
    n, k = references.shape[:2]
    n_targets = targets.n_targets
    sums = torch.zeros((n_targets, *X.shape), dtype=torch.float32)
    delta_sums = torch.zeros((n_targets, n), dtype=torch.float64)
    feature_dims = tuple(range(2, X.ndim + 1))
    with model_on(model, device) as dev, deeplift_rules(model):
        dtype = _model_dtype(model)
        rows = rows_per_call(
            model, X[:1].to(dev, dtype), batch_size=batch_size, max_memory=max_memory
        )
        pairs_per_call = max(1, rows // 2)
        starts = range(0, n * k, pairs_per_call)
        bar = progress_bar(total=len(starts), desc="deepshap", unit="batch", progress=progress)
        try:
            for p0 in starts:
                pair = torch.arange(p0, min(p0 + pairs_per_call, n * k))
                example, reference = pair // k, pair % k
                x = X[example].to(dev, dtype)
                r = references[example, reference].to(dev, dtype)
                multipliers, values = _multipliers(model, x, r, targets)  # (T, p, ...), (T, 2p)
                diff = x - r
                contributions = multipliers * diff
                f_x, f_r = values.split(len(pair), dim=1)
                delta = contributions.sum(dim=feature_dims) - (f_x - f_r)
                if hypothetical:
                    # sum over categories of m * r, broadcast back over the category axis
                    base = (multipliers * r).sum(dim=2, keepdim=True)
                    contributions = multipliers - base
                    # the delta of the projected contributions h * x (equal to the plain one
                    # where every position of x is one-hot; not where a position is all zero)
                    delta = (contributions * x).sum(dim=feature_dims) - (f_x - f_r)
                sums.index_add_(1, example, contributions.float().cpu())
                delta_sums.index_add_(1, example, delta.double().cpu())
                bar.update(1)
        finally:
            bar.close()
    return DeepShapResult(targets.unstack(sums / k), targets.unstack((delta_sums / k).float()))


def _model_dtype(model: nn.Module) -> torch.dtype:
    import torch

    for parameter in model.parameters():
        if parameter.is_floating_point():
            return parameter.dtype
    return torch.float32


def _multipliers(
    model: nn.Module, x: torch.Tensor, r: torch.Tensor, targets: Any
) -> tuple[torch.Tensor, torch.Tensor]:
    """DeepLIFT multipliers of each target at ``x`` against ``r``, and the target values.

    Returns ``(n_targets, p, ...)`` multipliers and ``(n_targets, 2p)`` values (examples
    first, then references).
    """
    import torch

    p = x.shape[0]
    Z = torch.cat([x, r]).detach().requires_grad_(True)
    with torch.enable_grad():
        with _functional_guard():
            output = model(Z)
        values = [targets.select(output, t) for t in range(targets.n_targets)]
    grads = []
    for t, value in enumerate(values):
        # Both halves are seeded, so that every rule sees the same upstream gradient in the
        # example and the reference half (the max rule reads both).
        (grad,) = torch.autograd.grad(value.sum(), Z, retain_graph=t < len(values) - 1)
        grads.append(grad[:p])
    return torch.stack(grads), torch.stack([v.detach() for v in values])


# --------------------------------------------------------------------------------------------
# rules


def _halves(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    p = t.shape[0] // 2
    return t[:p], t[p:]


def _rescale_function() -> Any:
    import torch

    class Rescale(torch.autograd.Function):
        """Output ``y = g(z)`` unchanged; backward: ``grad * (y_x - y_r) / (z_x - z_r)``."""

        @staticmethod
        def forward(ctx: Any, z: torch.Tensor, y: torch.Tensor, g: Callable) -> torch.Tensor:
            ctx.save_for_backward(z, y)
            ctx.g = g
            return y.clone()

        @staticmethod
        def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
            z, y = ctx.saved_tensors
            z_x, z_r = _halves(z)
            y_x, y_r = _halves(y)
            dz = z_x - z_r
            small = dz.abs() < RESCALE_EPS
            ratio = (y_x - y_r) / torch.where(small, torch.ones_like(dz), dz)
            out = grad * torch.cat([ratio, ratio])
            if bool(small.any()):
                with torch.enable_grad():
                    w = z.detach().requires_grad_(True)
                    (local,) = torch.autograd.grad(ctx.g(w), w, grad)
                out = torch.where(torch.cat([small, small]), local, out)
            return out, None, None

    return Rescale


def _max_function() -> Any:
    import torch

    class MaxRule(torch.autograd.Function):
        """Output of a max (pool) unchanged; backward: the DeepLIFT max rule.

        ``idx`` (2p, C, P) are the winning positions in the flattened spatial input of each of
        the P pooled outputs.
        """

        @staticmethod
        def forward(ctx: Any, z: torch.Tensor, y: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
            ctx.save_for_backward(z, y, idx)
            return y.clone()

        @staticmethod
        def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
            z, y, idx = ctx.saved_tensors
            m, c = z.shape[:2]
            y_x, y_r = _halves(y)
            top = torch.maximum(y_x, y_r)
            share = grad * torch.cat([top - y_r, y_x - top])
            routed = torch.zeros((m, c, z[0, 0].numel()), dtype=z.dtype, device=z.device)
            routed.scatter_add_(2, idx.reshape(m, c, -1), share.reshape(m, c, -1))
            routed = routed.reshape(z.shape)
            numerator = routed[: m // 2] + routed[m // 2 :]
            z_x, z_r = _halves(z)
            dz = z_x - z_r
            still = dz == 0
            half = numerator / torch.where(still, torch.ones_like(dz), dz)
            if bool(still.any()):
                plain = torch.zeros((m // 2, c, z[0, 0].numel()), dtype=z.dtype, device=z.device)
                plain.scatter_add_(
                    2, idx[: m // 2].reshape(m // 2, c, -1), grad[: m // 2].reshape(m // 2, c, -1)
                )
                half = torch.where(still, plain.reshape(dz.shape), half)
            return torch.cat([half, half]), None, None

    return MaxRule


def _softmax_function() -> Any:
    import torch

    class SoftmaxRule(torch.autograd.Function):
        """Softmax along ``dim`` unchanged; backward: rescale on exp, log-ratio on the sum."""

        @staticmethod
        def forward(ctx: Any, z: torch.Tensor, y: torch.Tensor, dim: int) -> torch.Tensor:
            ctx.save_for_backward(z)
            ctx.dim = dim
            return y.clone()

        @staticmethod
        def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
            (z,) = ctx.saved_tensors
            dim = ctx.dim
            z_x, z_r = _halves(z)
            c = torch.maximum(z_x.amax(dim=dim, keepdim=True), z_r.amax(dim=dim, keepdim=True))
            a, a_r = torch.exp(z_x - c), torch.exp(z_r - c)
            tiny = torch.finfo(z.dtype).tiny
            v = a.sum(dim=dim, keepdim=True).clamp_min(tiny).reciprocal()
            v_r = a_r.sum(dim=dim, keepdim=True).clamp_min(tiny).reciprocal()
            y, y_r = a * v, a_r * v_r
            dz = z_x - z_r
            m_exp = torch.where(dz.abs() > RESCALE_EPS, (a - a_r) / dz, a_r)
            dy = y - y_r
            dlog_v = torch.log(v) - torch.log(v_r)
            dlog_y = dz + dlog_v
            y_per_log = torch.where(dlog_y.abs() > RESCALE_EPS, dy / dlog_y, y_r)
            dv = v - v_r
            log_per_v = torch.where(dv.abs() > RESCALE_EPS, dlog_v / dv, v_r.reciprocal())
            m_v = y_per_log * log_per_v
            g_x, g_r = _halves(grad)
            out = []
            for g in (g_x, g_r):
                out.append(
                    g * y_per_log + m_exp * (g * m_v * (-v * v_r)).sum(dim=dim, keepdim=True)
                )
            return torch.cat(out), None, None

    return SoftmaxRule


def _max_indices(module: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Flattened-spatial argmax of every pooled output of a max-pooling ``module`` at ``z``."""
    import torch.nn.functional as F

    name = type(module).__name__
    if name == "MaxPool1d":
        _, idx = F.max_pool1d(
            z, module.kernel_size, module.stride, module.padding, module.dilation,
            module.ceil_mode, True,
        )  # fmt: skip
    elif name == "MaxPool2d":
        _, idx = F.max_pool2d(
            z, module.kernel_size, module.stride, module.padding, module.dilation,
            module.ceil_mode, True,
        )  # fmt: skip
    elif name == "AdaptiveMaxPool1d":
        _, idx = F.adaptive_max_pool1d(z, module.output_size, True)
    else:
        _, idx = F.adaptive_max_pool2d(z, module.output_size, True)
    return idx


@contextlib.contextmanager
def deeplift_rules(model: nn.Module) -> Iterator[None]:
    """Install the DeepLIFT rules on ``model`` inside the block (removed in ``finally``).

    Inside the block ``model`` must be called on ``2p`` rows: ``p`` examples, then their
    ``p`` references; the gradient of the summed outputs with respect to the rows then holds
    the multipliers.  Raises a ModelError naming the first leaf module that is neither linear
    nor has a rule.
    """
    import torch

    check_supported(model)
    rescale, max_rule, softmax_rule = _rescale_function(), _max_function(), _softmax_function()
    handles, inplace = [], []
    rules: set[nn.Module] = set()

    def elementwise_hook(module: nn.Module, inputs: Any, output: Any) -> Any:
        return rescale.apply(inputs[0], output, module.forward)

    def max_hook(module: nn.Module, inputs: Any, output: Any) -> Any:
        return max_rule.apply(inputs[0], output, _max_indices(module, inputs[0].detach()))

    def softmax_hook(module: nn.Module, inputs: Any, output: Any) -> Any:
        dim = module.dim if module.dim is not None else 1
        if dim % inputs[0].ndim == 0:
            raise ModelError(f"{_describe(model, module)} normalises over the batch axis (dim=0)")
        return softmax_rule.apply(inputs[0], output, dim)

    def global_pool_hook(module: nn.Module, inputs: Any, output: Any) -> Any:
        z = inputs[0]
        parts = []
        for mode in module.modes:
            if mode == "mean":
                parts.append(z.mean(dim=-1))
            else:
                idx = z.detach().argmax(dim=-1, keepdim=True)
                y = z.detach().gather(-1, idx)
                parts.append(max_rule.apply(z, y, idx)[..., 0])
        return torch.cat(parts, dim=1)

    try:
        for module in model.modules():
            name = type(module).__name__
            hook = None
            if name in RESCALE_MODULES:
                hook = elementwise_hook
            elif name in MAX_MODULES:
                hook = max_hook
            elif name == "Softmax":
                hook = softmax_hook
            elif name == "GlobalPool" and type(module).__module__ == "seqsal.models.zoo":
                hook = global_pool_hook
            if hook is None:
                continue
            if getattr(module, "inplace", False):
                inplace.append(module)
                module.inplace = False
            handles.append(module.register_forward_hook(hook))
            rules.add(module)
        for name, module in model.named_modules():
            label = f"module {name or '<model>'!r} ({type(module).__name__})"
            entry = (label, module in rules)
            handles.append(module.register_forward_pre_hook(_entering(entry)))
            handles.append(module.register_forward_hook(_leaving, prepend=True))
        yield
    finally:
        for handle in handles:
            handle.remove()
        for module in inplace:
            module.inplace = True


def _describe(model: nn.Module, module: nn.Module) -> str:
    for name, candidate in model.named_modules():
        if candidate is module:
            return f"module {name or '<model>'!r} ({type(module).__name__})"
    return f"module {type(module).__name__}"


def check_supported(model: nn.Module) -> None:
    """Raise a one-line ModelError naming the first leaf module DeepLIFT has no rule for."""
    import torch

    if isinstance(model, torch.jit.ScriptModule):
        raise ModelError(
            "method 'deepshap' needs a Python nn.Module (its modules carry the DeepLIFT rules); "
            "this model is TorchScript: use another method, e.g. ig"
        )
    known = set(LINEAR_MODULES) | set(RESCALE_MODULES) | set(MAX_MODULES) | {"Softmax"}
    for name, module in model.named_modules():
        kind = type(module).__name__
        if kind == "GlobalPool" and type(module).__module__ == "seqsal.models.zoo":
            continue
        if list(module.children()) or kind in known:
            continue
        if kind.startswith(("BatchNorm", "Dropout")):
            continue
        raise ModelError(
            f"method 'deepshap' has no DeepLIFT rule for module {name or '<model>'!r} "
            f"({kind}); supported nonlinear modules: {', '.join(RESCALE_MODULES + MAX_MODULES)}, "
            "Softmax; linear ones: Conv, Linear, BatchNorm, pooling by average, padding, "
            "Flatten, Dropout, Identity; use another method (e.g. ig) for this model"
        )


# --------------------------------------------------------------------------------------------
# nonlinear torch functions called outside a module with a rule

#: The modules whose forward is running, innermost last: (label, has a rule).
_RUNNING: list[tuple[str, bool]] = []


def _entering(entry: tuple[str, bool]) -> Callable[..., None]:
    def hook(module: nn.Module, inputs: Any) -> None:
        _RUNNING.append(entry)

    return hook


def _leaving(module: nn.Module, inputs: Any, output: Any) -> None:
    if _RUNNING:
        _RUNNING.pop()


def _nonlinear_functions() -> dict[Any, str]:
    import torch
    import torch.nn.functional as F

    names = {}
    for owner, label, attributes in (
        (torch, "torch", ("relu", "sigmoid", "tanh", "exp", "log", "softmax", "log_softmax",
                          "amax", "amin", "max", "min", "maximum", "minimum", "clamp", "abs",
                          "logsumexp", "sqrt", "pow", "square", "max_pool1d", "max_pool2d")),
        (F, "torch.nn.functional", ("relu", "relu6", "leaky_relu", "gelu", "elu", "selu",
                                    "celu", "silu", "softplus", "sigmoid", "tanh", "softmax",
                                    "log_softmax", "max_pool1d", "max_pool2d",
                                    "adaptive_max_pool1d", "adaptive_max_pool2d", "mish",
                                    "hardtanh", "glu", "layer_norm")),
        (torch.Tensor, "Tensor", ("relu", "sigmoid", "tanh", "exp", "log", "softmax", "amax",
                                  "amin", "max", "min", "clamp", "abs", "sqrt", "pow",
                                  "__pow__", "square", "logsumexp")),
    ):  # fmt: skip
        for attribute in attributes:
            function = getattr(owner, attribute, None)
            if function is not None:
                names[function] = f"{label}.{attribute}"
    return names


@contextlib.contextmanager
def _functional_guard() -> Iterator[None]:
    """Raise a ModelError when a nonlinear torch function runs outside a module with a rule."""
    from torch.overrides import TorchFunctionMode

    functions = _nonlinear_functions()

    class Guard(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = functions.get(func)
            if name is not None and not any(rule for _, rule in _RUNNING):
                where = _RUNNING[-1][0] if _RUNNING else "the model"
                raise ModelError(
                    f"method 'deepshap' has no DeepLIFT rule for {name}, called in the forward "
                    f"of {where} (the rules attach to modules such as nn.ReLU or "
                    "nn.MaxPool1d): use such modules in the model, or another method (e.g. ig)"
                )
            return func(*args, **(kwargs or {}))

    _RUNNING.clear()  # a call that raised may have left entries
    with Guard():
        yield

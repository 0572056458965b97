"""DeepLIFT with the rescale rule, averaged over references (DeepSHAP).

DeepLIFT (Shrikumar et al. 2017) replaces the derivative of every nonlinear operation by a
ratio of differences between the input ``x`` and a reference ``r``: for an elementwise
``y = g(z)`` the multiplier is ``(g(z_x) - g(z_r)) / (z_x - z_r)`` (the *rescale* rule), and
the contributions ``m * (x - r)`` add up to ``f(x) - f(r)`` exactly for a network built from
linear layers and these rules.  DeepSHAP (Lundberg & Lee 2017) averages the contributions over
``k`` references per example.

How it runs.  A batch holds ``p`` (example, reference) pairs.  The model first runs on the
batch's distinct examples without a graph, recording, at every module with a rule, the
tensors the rule needs (its input and output, and the winners of a max).  It then runs on the
``p`` references with a graph, and every module with a rule returns its output through an
autograd function whose backward pass applies the rule to the pair (the recorded example
values, the reference's own).  One backward pass from the target, seeded with the target's
gradient at the example's output, gives the multipliers.  Linear modules have the same gradient
at the example and the reference, so the graph may run on either; running it on the
references only (not on both, as tangermeme and captum concatenate them) halves the backward
pass and runs each example once per batch, not once per reference.  A leaf module of a type
with neither a rule nor a place in :data:`LINEAR_MODULES`, or a known nonlinear torch
function called outside a module with a rule, is an error naming it: treating an unknown
operation as linear would silently break the sum.

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

from seqsal._runtime import check_seed, keep_freed_memory, model_on, progress_bar
from seqsal.attribution._batching import (
    DEFAULT_MAX_MEMORY_ACCELERATOR,
    DEFAULT_MAX_MEMORY_CPU,
    as_input,
    rows_per_call,
)
from seqsal.attribution._targets import TargetLike, resolve_targets
from seqsal.attribution.baselines import BaselineLike, resolve_baseline
from seqsal.errors import InputError, ModelError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from seqsal.attribution._types import Device, Inputs

log = logging.getLogger(__name__)

#: DeepSHAP's memory budget per call, when none is given, is this many times the other
#: methods' (256 MiB on a CPU): a call carries per-call work (the examples' pass, the target's
#: seed, the hooks) that one pair per call repeats for every reference.  On the BPNet-size model
#: of docs/benchmarks.md the 64 MiB budget allowed 1 pair per call (0.89 s per region), 256 MiB
#: allows 6 (0.47 s; 32 pairs: 0.45 s).
MEMORY_FACTOR = 4

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
        (Example, reference) pairs per call (one graph row each, as tangermeme's
        ``batch_size``); None chooses it from ``max_memory``.  Results do not depend on it.
    max_memory : int, optional
        Bytes per call; default :data:`MEMORY_FACTOR` times the other methods' (256 MiB on a
        CPU, 4 GiB on an accelerator).
    device, progress, seed
        As in :func:`seqsal.attribution.saliency`; ``seed`` is checked but unused (the
        references carry any randomness).

    Returns
    -------
    DeepShapResult
        ``attributions`` (float32, CPU, X's shape, or ``(n_targets, n, ...)``) and ``delta``.
    """
    import torch

    check_seed(seed)  # no random step here; checked as every method checks it
    keep_freed_memory()
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
    with model_on(model, device) as dev, deeplift_rules(model) as tape:
        dtype = _model_dtype(model)
        if max_memory is None:
            budget = DEFAULT_MAX_MEMORY_CPU if dev.type == "cpu" else DEFAULT_MAX_MEMORY_ACCELERATOR
            max_memory = MEMORY_FACTOR * budget
        pairs_per_call = rows_per_call(
            model, X[:1].to(dev, dtype), batch_size=batch_size, max_memory=max_memory
        )
        starts = range(0, n * k, pairs_per_call)
        bar = progress_bar(total=len(starts), desc="deepshap", unit="batch", progress=progress)
        try:
            for p0 in starts:
                pair = torch.arange(p0, min(p0 + pairs_per_call, n * k))
                example, reference = pair // k, pair % k
                first = int(example[0])
                x = X[first : int(example[-1]) + 1].to(dev, dtype)  # the batch's examples, once
                r = references[example, reference].to(dev, dtype)
                at = (example - first).to(dev)  # row of x of each pair
                multipliers, f_x, f_r = _multipliers(model, tape, x, r, at, targets)
                x = x[at]
                diff = x - r
                contributions = multipliers * diff
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
    model: nn.Module, tape: _Tape, x: torch.Tensor, r: torch.Tensor, at: torch.Tensor, targets: Any
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """DeepLIFT multipliers of each target for the pairs ``(x[at], r)``, and the target values.

    ``x`` holds the distinct examples, ``r`` one reference per pair and ``at`` the row of ``x``
    of each pair.  Returns ``(n_targets, p, ...)`` multipliers and the ``(n_targets, p)`` target
    values at the examples and at the references.
    """
    import torch
    from torch.utils._pytree import tree_flatten, tree_unflatten

    with torch.no_grad(), tape.recording(), _functional_guard():
        out_x = model(x)
    heads_x, spec = tree_flatten(out_x)
    # the target's gradient with respect to every output at the example: the seed of the
    # backward pass (a target that is not linear in the output, as the profile target with its
    # detached softmax, is thereby linearised at the example, as the concatenated pass does)
    leaves = [h.detach().requires_grad_(True) if _floating(h) else h for h in heads_x]
    with torch.enable_grad():
        values_x = [
            targets.select(tree_unflatten(leaves, spec), t) for t in range(targets.n_targets)
        ]
        seeds = [
            torch.autograd.grad(v.sum(), [h for h in leaves if _floating(h)], allow_unused=True)
            for v in values_x
        ]
    Z = r.detach().requires_grad_(True)
    with torch.enable_grad(), tape.replaying(at):
        out_r = model(Z)
        heads_r = [h for h in tree_flatten(out_r)[0] if _floating(h)]
        values_r = [targets.select(out_r, t).detach() for t in range(targets.n_targets)]
        grads = []
        for t, seed in enumerate(seeds):
            used = [(h, s[at]) for h, s in zip(heads_r, seed, strict=True) if s is not None]
            (grad,) = torch.autograd.grad(
                [h for h, _ in used],
                Z,
                grad_outputs=[s for _, s in used],
                retain_graph=t < len(seeds) - 1,
            )
            grads.append(grad)
    tape.check_replayed()
    f_x = torch.stack([v.detach()[at] for v in values_x])
    return torch.stack(grads), f_x, torch.stack(values_r)


def _floating(value: Any) -> bool:
    import torch

    return isinstance(value, torch.Tensor) and value.is_floating_point()


# --------------------------------------------------------------------------------------------
# rules
#
# Each rule is an autograd function applied, in the pass on the references, to the output of a
# module with a rule.  It returns that output unchanged; its backward reads the example's
# recorded values (``*_x``, one row per distinct example, ``at`` picking each pair's) and the
# reference's own.


def _rescale_function() -> Any:
    import torch

    class Rescale(torch.autograd.Function):
        """Output ``y = g(z)`` unchanged; backward: ``grad * (y_x - y_r) / (z_x - z_r)``."""

        @staticmethod
        def forward(
            ctx: Any,
            z: torch.Tensor,
            y: torch.Tensor,
            z_x: torch.Tensor,
            y_x: torch.Tensor,
            at: torch.Tensor,
            g: Callable,
        ) -> torch.Tensor:
            ctx.save_for_backward(z, y, z_x, y_x, at)
            ctx.g = g
            return y.view_as(y)

        @staticmethod
        def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
            z_r, y_r, z_x, y_x, at = ctx.saved_tensors
            dz = z_x.index_select(0, at).sub_(z_r)
            small = dz.abs() < RESCALE_EPS
            # (arithmetic with the mask: masked_fill and where are several times slower on CPU)
            out = y_x.index_select(0, at).sub_(y_r).div_(dz.add_(small)).mul_(grad)
            if bool(small.any()):
                # the ordinary gradient at the example where the ratio is unstable; the rule
                # modules are elementwise, so only those entries are evaluated
                where = small.nonzero(as_tuple=True)
                with torch.enable_grad():
                    w = z_x.index_select(0, at)[where].detach().requires_grad_(True)
                    (local,) = torch.autograd.grad(ctx.g(w), w, grad[where])
                out[where] = local
            return out, None, None, None, None, None

    return Rescale


def _max_function() -> Any:
    import torch

    class MaxRule(torch.autograd.Function):
        """Output of a max (pool) unchanged; backward: the DeepLIFT max rule.

        ``idx`` (m, C, P) are the winning positions in the flattened spatial input of each of
        the P pooled outputs.  The change of each pooled output is split into the part the
        example's winner carries (``top - y_r``) and the part the reference's winner carries
        (``y_x - top``), each divided by the change of its winning input (the ordinary gradient
        for the example's winner where that input does not change).  All of it is computed at
        the winners, in the pooled shape, and scattered once.
        """

        @staticmethod
        def forward(
            ctx: Any,
            z: torch.Tensor,
            y: torch.Tensor,
            idx: torch.Tensor,
            z_x: torch.Tensor,
            y_x: torch.Tensor,
            idx_x: torch.Tensor,
            at: torch.Tensor,
        ) -> torch.Tensor:
            ctx.save_for_backward(z, y, idx, z_x, y_x, idx_x, at)
            return y.view_as(y)

        @staticmethod
        def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
            z_r, y_r, idx_r, z_x, y_x, idx_x, at = ctx.saved_tensors
            m, c = z_r.shape[:2]
            flat_r = z_r.reshape(m, c, -1)
            flat_x = z_x.reshape(z_x.shape[0], c, -1).index_select(0, at)
            idx_x = idx_x.index_select(0, at).reshape(m, c, -1)
            idx_r = idx_r.reshape(m, c, -1)
            y_x = y_x.index_select(0, at).reshape(m, c, -1)
            y_r = y_r.reshape(m, c, -1)
            grad = grad.reshape(m, c, -1)
            top = torch.maximum(y_x, y_r)
            # the change of the input at each winner: z_x there is y_x, z_r there is y_r
            dz_x = y_x - flat_r.gather(2, idx_x)
            dz_r = flat_x.gather(2, idx_r) - y_r
            # Where the example's winner does not change (dz_x == 0) the example's output is not
            # above the reference's, so its share is zero and the ordinary gradient goes there;
            # where the reference's winner does not change its share is zero too.  The masks
            # enter by arithmetic (masked_fill and where are several times slower on CPU).
            still_x, still_r = dz_x == 0, dz_r == 0
            share_x = grad * (top - y_r) / (dz_x + still_x) + grad * still_x
            share_r = grad * (y_x - top) / (dz_r + still_r)
            out = torch.zeros_like(flat_r)
            out.scatter_add_(2, idx_x, share_x)
            out.scatter_add_(2, idx_r, share_r)
            return out.reshape(z_r.shape), None, None, None, None, None, None

    return MaxRule


def _softmax_function() -> Any:
    import torch

    class SoftmaxRule(torch.autograd.Function):
        """Softmax along ``dim`` unchanged; backward: rescale on exp, log-ratio on the sum."""

        @staticmethod
        def forward(
            ctx: Any,
            z: torch.Tensor,
            y: torch.Tensor,
            z_x: torch.Tensor,
            at: torch.Tensor,
            dim: int,
        ) -> torch.Tensor:
            ctx.save_for_backward(z, z_x, at)
            ctx.dim = dim
            return y.view_as(y)

        @staticmethod
        def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
            z_r, z_x, at = ctx.saved_tensors
            z_x = z_x[at]
            dim = ctx.dim
            c = torch.maximum(z_x.amax(dim=dim, keepdim=True), z_r.amax(dim=dim, keepdim=True))
            a, a_r = torch.exp(z_x - c), torch.exp(z_r - c)
            tiny = torch.finfo(z_r.dtype).tiny
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
            out = grad * y_per_log + m_exp * (grad * m_v * (-v * v_r)).sum(dim=dim, keepdim=True)
            return out, None, None, None, None

    return SoftmaxRule


def _max_indices(module: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Flattened-spatial argmax of every pooled output of a max-pooling ``module`` at ``z``."""
    import torch.nn.functional as F

    name = type(module).__name__
    m: Any = module  # the pooling arguments, typed loosely by torch
    if name == "MaxPool1d" and _tiles(m):
        return _tile_argmax(
            z, m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0]
        )
    if name == "MaxPool1d":
        _, idx = F.max_pool1d(z, m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode, True)
    elif name == "MaxPool2d":
        _, idx = F.max_pool2d(z, m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode, True)
    elif name == "AdaptiveMaxPool1d":
        _, idx = F.adaptive_max_pool1d(z, m.output_size, True)
    else:
        _, idx = F.adaptive_max_pool2d(z, m.output_size, True)
    return idx


def _tiles(module: Any) -> bool:
    """Whether a MaxPool1d cuts its input into adjacent windows (stride = kernel, no padding)."""

    def one(v: Any) -> int:
        return v if isinstance(v, int) else v[0]

    stride = module.stride if module.stride is not None else module.kernel_size
    return (
        one(stride) == one(module.kernel_size)
        and one(module.padding) == 0
        and one(module.dilation) == 1
        and not module.ceil_mode
    )


def _tile_argmax(z: torch.Tensor, k: int) -> torch.Tensor:
    """Flattened argmax of each window of ``k`` adjacent positions of ``z`` (n, C, L), as
    ``max_pool1d(..., return_indices=True)`` gives it (the first maximum), in a few passes over
    ``z`` rather than torch's per-window loop, several times slower on the CPU."""
    import torch

    n_windows = z.shape[-1] // k
    z = z[..., : n_windows * k]
    best = z[..., 0::k]
    idx = torch.zeros(best.shape, dtype=torch.long, device=z.device)
    for j in range(1, k):
        candidate = z[..., j::k]
        wins = candidate > best  # strictly: the first maximum stays, as in torch
        best = torch.maximum(best, candidate)
        idx += wins * (j - idx)  # (arithmetic: masked_fill and where are slow on CPU)
    return idx + torch.arange(0, n_windows * k, k, device=z.device)


class _Tape:
    """What the rules recorded in the pass on the examples, replayed in the pass on the references.

    Entries are kept in call order, so a module called several times (one ``nn.ReLU`` reused
    across layers) gets one entry per call.
    """

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.entries: list[tuple[nn.Module, tuple]] = []
        self.mode: str | None = None
        self.cursor = 0
        self.at: Any = None
        self.pending: dict[nn.Module, torch.Tensor] = {}

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        self.entries, self.mode = [], "record"
        try:
            yield
        finally:
            self.mode = None

    @contextlib.contextmanager
    def replaying(self, at: torch.Tensor) -> Iterator[None]:
        self.mode, self.cursor, self.at = "replay", 0, at
        try:
            yield
        finally:
            self.mode = None

    def next(self, module: nn.Module, z: torch.Tensor) -> tuple:
        """The recorded entry of this call of ``module``, checked against the reference's input."""
        if self.cursor < len(self.entries):
            recorded, values = self.entries[self.cursor]
            if recorded is module and values[0].shape[1:] == z.shape[1:]:
                self.cursor += 1
                return values
        raise ModelError(
            f"method 'deepshap' needs a forward that calls the same modules on every input; "
            f"{_describe(self.model, module)} was called in another order or shape on the "
            "references than on the examples: use another method (e.g. ig) for this model"
        )

    def check_replayed(self) -> None:
        if self.cursor != len(self.entries):
            module = self.entries[self.cursor][0]
            raise ModelError(
                f"method 'deepshap' needs a forward that calls the same modules on every input; "
                f"{_describe(self.model, module)} ran on the examples but not on the references: "
                "use another method (e.g. ig) for this model"
            )


@contextlib.contextmanager
def deeplift_rules(model: nn.Module) -> Iterator[_Tape]:
    """Install the DeepLIFT rules on ``model`` inside the block (removed in ``finally``).

    Yields the tape: inside ``tape.recording()`` the model runs on the examples and the rules
    record their values; inside ``tape.replaying(at)`` it runs on one reference per pair
    (``at``: the example row of each pair) and the gradient of the targets with respect to the
    references holds the multipliers.  Raises a ModelError naming the first leaf module that
    is neither linear nor has a rule.
    """
    import torch

    check_supported(model)
    rescale, max_rule, softmax_rule = _rescale_function(), _max_function(), _softmax_function()
    tape = _Tape(model)
    handles: list[Any] = []
    inplace: list[Any] = []  # modules whose inplace flag is switched off meanwhile
    rules: set[nn.Module] = set()

    def detach_input(module: nn.Module, inputs: Any) -> Any:
        # In the pass on the references the module computes its output without a graph (a
        # max pool with a graph computes its winners a second time); the rule's function
        # attaches the output to the kept input.
        if tape.mode != "replay" or not isinstance(inputs[0], torch.Tensor):
            return None
        tape.pending[module] = inputs[0]
        return (inputs[0].detach(), *inputs[1:])

    def elementwise_hook(module: nn.Module, inputs: Any, output: Any) -> Any:
        if tape.mode == "record":
            tape.entries.append((module, (inputs[0].detach(), output.detach())))
            return None
        if tape.mode != "replay":
            return None
        z = tape.pending.pop(module)
        z_x, y_x = tape.next(module, z)
        return rescale.apply(z, output, z_x, y_x, tape.at, module.forward)

    def max_hook(module: nn.Module, inputs: Any, output: Any) -> Any:
        if tape.mode == "record":
            z = inputs[0].detach()
            tape.entries.append((module, (z, output.detach(), _max_indices(module, z))))
            return None
        if tape.mode != "replay":
            return None
        z = tape.pending.pop(module)
        z_x, y_x, idx_x = tape.next(module, z)
        idx = _max_indices(module, z.detach())
        return max_rule.apply(z, output, idx, z_x, y_x, idx_x, tape.at)

    def softmax_hook(module: nn.Module, inputs: Any, output: Any) -> Any:
        dim = module.dim if module.dim is not None else 1
        if dim % inputs[0].ndim == 0:
            raise ModelError(f"{_describe(model, module)} normalises over the batch axis (dim=0)")
        if tape.mode == "record":
            tape.entries.append((module, (inputs[0].detach(),)))
            return None
        if tape.mode != "replay":
            return None
        z = tape.pending.pop(module)
        (z_x,) = tape.next(module, z)
        return softmax_rule.apply(z, output, z_x, tape.at, dim)

    def global_pool_hook(module: nn.Module, inputs: Any, output: Any) -> Any:
        if tape.mode not in ("record", "replay"):
            return None
        z = tape.pending.pop(module) if tape.mode == "replay" else inputs[0]
        parts = []
        modes: Any = module.modes
        for mode in modes:
            if mode == "mean":
                parts.append(z.mean(dim=-1))
                continue
            idx = z.detach().argmax(dim=-1, keepdim=True)
            y = z.detach().gather(-1, idx)
            if tape.mode == "record":
                tape.entries.append((module, (z.detach(), y, idx)))
                parts.append(y[..., 0])
            else:
                z_x, y_x, idx_x = tape.next(module, z)
                parts.append(max_rule.apply(z, y, idx, z_x, y_x, idx_x, tape.at)[..., 0])
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
                switched: Any = module
                switched.inplace = False
                inplace.append(switched)
            handles.append(module.register_forward_pre_hook(detach_input))
            handles.append(module.register_forward_hook(_as_rule(hook)))
            rules.add(module)
        for name, module in model.named_modules():
            label = f"module {name or '<model>'!r} ({type(module).__name__})"
            entry = (label, module in rules)
            handles.append(module.register_forward_pre_hook(_entering(entry)))
            handles.append(module.register_forward_hook(_leaving, prepend=True))
        yield tape
    finally:
        for handle in handles:
            handle.remove()
        for switched in inplace:
            switched.inplace = True


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


def _as_rule(hook: Callable[..., Any]) -> Callable[..., Any]:
    """``hook`` with the torch functions it calls counted as inside a module with a rule."""

    def run(module: nn.Module, inputs: Any, output: Any) -> Any:
        _RUNNING.append(("a DeepLIFT rule", True))
        try:
            return hook(module, inputs, output)
        finally:
            _RUNNING.pop()

    return run


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
        def __torch_function__(
            self, func: Any, types: Any, args: Any = (), kwargs: Any = None
        ) -> Any:
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

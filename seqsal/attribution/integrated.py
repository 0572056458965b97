"""Integrated Gradients: path-integrated gradients from one or several references.

For an input ``x``, a reference ``b`` and the straight path ``z(a) = b + a (x - b)``,
``IG(x) = (x - b) * integral_0^1 grad f(z(a)) da``; the integral is replaced by a quadrature
rule with ``steps`` points.  With ``k`` references per example the attributions are averaged
over them (expected IG), and the completeness delta ``sum(IG) - (f(x) - mean_k f(b_k))``
measures the quadrature error of every example.

Speed.  Every (example, reference, step) is one row; rows are batched under a memory budget.
When the model's input enters only through an affine first layer (Conv1d/Conv2d/Conv3d or
Linear), that layer is linear along the path, ``W z(a) + c = (W b + c) + a W (x - b)``: it is
evaluated twice per (example, reference) instead of once per step, the rest of the network runs
per step from the injected layer output, and the gradients are pulled back through the layer
once, after summing over steps.  The detection runs the model once with NaN inputs and the
true layer output injected; any other use of the input makes the check fail and the plain path
is used.  The result is the same up to float rounding (tested).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from seqsal._runtime import check_positive_int, check_seed, model_on, progress_bar
from seqsal.attribution._batching import as_input, rows_per_call
from seqsal.attribution._kernels import fast_kernels
from seqsal.attribution._targets import TargetLike, Targets, resolve_targets
from seqsal.attribution.baselines import BaselineLike, resolve_baseline
from seqsal.errors import InputError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from seqsal.attribution._types import Device, Inputs

log = logging.getLogger(__name__)

RULES = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre")


class IGResult(NamedTuple):
    """Integrated Gradients output.

    Attributes
    ----------
    attributions : torch.Tensor, shape (n, ...) or (n_targets, n, ...)
    delta : torch.Tensor, shape (n,) or (n_targets, n)
        Completeness delta ``sum(attributions) - (f(x) - mean_k f(b_k))`` per example.
    """

    attributions: torch.Tensor
    delta: torch.Tensor


def integration_points(rule: str, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Quadrature points and weights on [0, 1], as captum defines them.

    Parameters
    ----------
    rule : {"riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre"}
        Riemann rules use ``steps`` equal cells (left/right ends, middles, or the trapezoid
        rule on ``steps`` points from 0 to 1 with halved end weights); Gauss-Legendre uses the
        ``steps`` Legendre nodes, exact for polynomials of degree ``2 * steps - 1``, and so
        needs far fewer steps on smooth paths.
    steps : int
        Number of points: >= 1 (>= 2 for the trapezoid rule).

    Returns
    -------
    alphas, weights : torch.Tensor, float32, shape (steps,)
    """
    import torch

    if rule not in RULES:
        raise InputError(f"rule={rule!r}; expected one of {list(RULES)}")
    steps = check_positive_int(steps, "steps")
    n = int(steps)
    alphas: Sequence[float] | np.ndarray
    weights: Sequence[float] | np.ndarray
    if rule == "gausslegendre":
        nodes, legendre_weights = np.polynomial.legendre.leggauss(n)
        alphas, weights = 0.5 * (1 + nodes), 0.5 * legendre_weights
    else:
        if rule == "riemann_trapezoid" and n < 2:
            raise InputError(f"steps={steps!r}; rule='riemann_trapezoid' needs at least 2 steps")
        cell_weights = [1 / n] * n
        if rule == "riemann_trapezoid":
            cell_weights[0] /= 2
            cell_weights[-1] /= 2
            points = torch.linspace(0, 1, n)
        elif rule == "riemann_left":
            points = torch.linspace(0, 1 - 1 / n, n)
        elif rule == "riemann_middle":
            points = torch.linspace(1 / (2 * n), 1 - 1 / (2 * n), n)
        else:
            points = torch.linspace(1 / n, 1, n)
        alphas, weights = points.tolist(), cell_weights
    return torch.tensor(np.asarray(alphas, dtype=np.float64)).float(), torch.tensor(
        np.asarray(weights, dtype=np.float64)
    ).float()


def integrated_gradients(
    model: nn.Module,
    X: Inputs,
    *,
    target: TargetLike = 0,
    target_names: Sequence[str] | None = None,
    baseline: BaselineLike = "zeros",
    steps: int = 32,
    rule: str = "riemann_middle",
    batch_size: int | None = None,
    device: Device = None,
    progress: bool | None = None,
    seed: int | None = None,
    max_memory: int | None = None,
    reuse_first_layer: bool = True,
) -> IGResult:
    """Integrated Gradients (Sundararajan et al. 2017), expected over ``k`` references.

    The method of choice for contributions that add up: the attributions of an example sum to
    ``f(x) - f(baseline)`` up to the quadrature error reported in ``delta``.  Cost: ``steps``
    gradient passes per reference; Gauss-Legendre reaches a given error with the fewest steps
    on smooth models, ``riemann_middle`` is the robust default for ReLU networks.

    Parameters
    ----------
    model : torch.nn.Module
        ``model(X) -> (n, T)`` or ``(n,)``; device and train/eval state are restored.
    X : numpy.ndarray or torch.Tensor, shape (n, ...)
    target : int, str, callable or list, default 0
        See :func:`seqsal.attribution.resolve_targets`; a list gives a leading target axis.
    target_names : list of str, optional
    baseline : "zeros", float, array or callable, default "zeros"
        See :func:`seqsal.attribution.baselines.resolve_baseline`; ``(n, k, ...)`` or a
        callable returning it gives ``k`` references per example.
    steps : int, default 32
        Quadrature points per reference.
    rule : str, default "riemann_middle"
        One of ``RULES``; points and weights exactly as captum's.
    batch_size : int, optional
        Rows per model call, one row being one (example, reference, step); None chooses it
        from ``max_memory``.  Results do not depend on it.
    device, progress, seed, max_memory
        As in :func:`seqsal.attribution.saliency`; ``seed`` is checked but unused (deterministic).
    reuse_first_layer : bool, default True
        Evaluate an affine first layer once per reference instead of once per step when the
        model allows it (see the module docstring); False always runs the full model per step.

    Returns
    -------
    IGResult
        ``attributions`` (float32, CPU, X's shape, or ``(n_targets, n, ...)``) and ``delta``
        (``(n,)`` or ``(n_targets, n)``).
    """
    import torch

    check_seed(seed)  # no random step; checked as every method checks it
    X = as_input(X)
    alphas, weights = integration_points(rule, steps)
    targets = resolve_targets(target, model=model, target_names=target_names)
    references = resolve_baseline(baseline, X)
    n, k = references.shape[:2]
    n_steps = len(alphas)
    n_targets = targets.n_targets
    sums = torch.zeros((n_targets, *X.shape), dtype=torch.float32)
    delta_sums = torch.zeros((n_targets, n), dtype=torch.float32)
    feature_dims = tuple(range(2, X.ndim + 1))
    with model_on(model, device) as dev, fast_kernels(model):
        rows = rows_per_call(model, X[:1].to(dev), batch_size=batch_size, max_memory=max_memory)
        entry = find_affine_entry(model, X[:1].to(dev)) if reuse_first_layer else None
        path = _Path(model, entry, targets, X.shape[1:], dev)
        pairs_per_call = max(1, rows // n_steps)
        steps_per_call = min(n_steps, rows)
        alphas_dev, weights_dev = alphas.to(dev), weights.to(dev)
        starts = range(0, n * k, pairs_per_call)
        bar = progress_bar(
            total=len(starts), desc="integrated gradients", unit="batch", progress=progress
        )
        try:
            for p0 in starts:
                pair = torch.arange(p0, min(p0 + pairs_per_call, n * k))
                example, reference = pair // k, pair % k
                x = X[example].to(dev)
                b = references[example, reference].to(dev)
                diff = x - b
                start, direction = path.encode(b, diff)
                grad_sum: torch.Tensor | None = None
                feature_shape = start.shape[1:]
                for s0 in range(0, n_steps, steps_per_call):
                    a = alphas_dev[s0 : s0 + steps_per_call]
                    w = weights_dev[s0 : s0 + steps_per_call]
                    # rows (pair, step): start + a * direction in one fused pass
                    H = torch.addcmul(
                        start.unsqueeze(1),
                        a.view((1, -1) + (1,) * len(feature_shape)),
                        direction.unsqueeze(1),
                    ).reshape(-1, *feature_shape)
                    grads = path.gradients(H).reshape(n_targets, len(pair), len(a), -1)
                    part = torch.matmul(w, grads).view(
                        n_targets, len(pair), *feature_shape
                    )  # sum_s w_s g_s
                    grad_sum = part if grad_sum is None else grad_sum + part
                assert grad_sum is not None  # n_steps >= 1
                grad_x = path.pullback(grad_sum)  # (T, P, ...)
                attributions = grad_x * diff
                end = x if entry is None else start + direction
                f_x, f_b = path.values(torch.cat([end, start])).split(len(pair), dim=1)  # one call
                delta = attributions.sum(dim=feature_dims) - (f_x - f_b)
                sums.index_add_(1, example, attributions.cpu())
                delta_sums.index_add_(1, example, delta.cpu())
                bar.update(1)
        finally:
            bar.close()
    return IGResult(targets.unstack(sums / k), targets.unstack(delta_sums / k))


class _Path:
    """Runs the model from the input, or from an injected affine first-layer output."""

    def __init__(
        self,
        model: nn.Module,
        entry: nn.Module | None,
        targets: Targets,
        input_shape: Sequence[int],
        dev: torch.device,
    ):
        self.model, self.entry, self.targets = model, entry, targets
        self.input_shape, self.dev = tuple(input_shape), dev

    def encode(self, b: torch.Tensor, diff: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Path start and direction in the space the steps run in."""
        if self.entry is None:
            return b, diff
        import torch

        with torch.no_grad():
            zero = self.entry(torch.zeros_like(b[:1]))
            return self.entry(b), self.entry(diff) - zero

    def _dummy(self, m: int) -> torch.Tensor:
        import torch

        return torch.zeros((), device=self.dev).expand(m, *self.input_shape)

    def _forward(self, H: torch.Tensor) -> torch.Tensor:
        if self.entry is None:
            return self.model(H)
        with inject_output(self.entry, H):
            return self.model(self._dummy(H.shape[0]))

    def gradients(self, H: torch.Tensor) -> torch.Tensor:
        import torch

        H = H.detach().requires_grad_(True)
        with torch.enable_grad():
            output = self._forward(H)
            values = [self.targets.select(output, t) for t in range(self.targets.n_targets)]
            grads = [
                torch.autograd.grad(v.sum(), H, retain_graph=t < len(values) - 1)[0]
                for t, v in enumerate(values)
            ]
        return grads[0].unsqueeze(0) if len(grads) == 1 else torch.stack(grads)

    def values(self, H: torch.Tensor) -> torch.Tensor:
        import torch

        with torch.no_grad():
            return self.targets.select_all(self._forward(H))

    def pullback(self, grad_sum: torch.Tensor) -> torch.Tensor:
        """Gradient with respect to the input, from the gradient at the layer output."""
        if self.entry is None:
            return grad_sum
        import torch

        n_targets, m = grad_sum.shape[:2]
        z = torch.zeros((n_targets * m, *self.input_shape), device=self.dev, requires_grad=True)
        with torch.enable_grad():
            out = self.entry(z)
            (grad,) = torch.autograd.grad(
                out, z, grad_outputs=grad_sum.reshape(n_targets * m, *grad_sum.shape[2:])
            )
        return grad.reshape(n_targets, m, *self.input_shape)


@contextlib.contextmanager
def inject_output(module: nn.Module, value: torch.Tensor) -> Iterator[None]:
    """Make ``module(...)`` return ``value`` inside the block (restored in ``finally``)."""
    had_own = "forward" in module.__dict__
    own: Any = module.__dict__.get("forward")
    module.forward = lambda *args, **kwargs: value
    try:
        yield
    finally:
        if had_own:
            module.forward = own
        else:
            del module.forward


def find_affine_entry(model: nn.Module, row: torch.Tensor) -> nn.Module | None:
    """The affine layer through which alone the input enters ``model``, or None.

    Candidates are Conv1d/Conv2d/Conv3d/Linear modules called with the input tensor itself.
    The candidate is accepted only if running the model on a NaN input, with the candidate's
    output replaced by its true output on ``row``, reproduces ``model(row)`` exactly: then the
    input is used nowhere else.
    """
    import torch
    from torch import nn

    if isinstance(model, torch.jit.ScriptModule):
        return None
    affine = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
    found: list[nn.Module] = []

    def pre_hook(module: nn.Module, inputs: Any) -> None:
        if not found and inputs and inputs[0] is row:
            found.append(module)

    handles = [
        m.register_forward_pre_hook(pre_hook) for m in model.modules() if isinstance(m, affine)
    ]
    try:
        with torch.no_grad():
            expected = model(row)
    finally:
        for handle in handles:
            handle.remove()
    if not found:
        return None
    module = found[0]
    try:
        with torch.no_grad():
            layer_out = module(row)
            with inject_output(module, layer_out):
                got = model(torch.full((), float("nan"), device=row.device).expand_as(row))
    except (RuntimeError, TypeError, ValueError) as err:
        log.debug("first-layer reuse disabled: %s", err)
        return None
    same = (
        isinstance(got, torch.Tensor) and got.shape == expected.shape and torch.equal(got, expected)
    )
    if not same:
        log.debug("first-layer reuse disabled: the input is used outside %s", type(module).__name__)
        return None
    return module

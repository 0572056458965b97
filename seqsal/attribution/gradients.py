"""Gradient attributions: saliency (the signed input gradient) and gradient x input.

Both rest on one batched engine, :func:`input_gradients`, which runs a forward pass on a batch
of rows and one backward pass per target, with the model's parameters frozen so that autograd
computes the gradient with respect to the input only.  It is the same work as the floor of the
benchmark (DESIGN.md section 6): ``torch.autograd.grad`` of the summed output.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from seqsal._runtime import check_seed, map_shards, model_on, progress_bar, sharding
from seqsal.attribution._batching import as_input, rows_per_call
from seqsal.attribution._kernels import fast_kernels
from seqsal.attribution._targets import TargetLike, Targets, resolve_targets

if TYPE_CHECKING:
    import torch
    from torch import nn

    from seqsal.attribution._types import Device, Inputs

log = logging.getLogger(__name__)


def row_gradients(
    model: nn.Module, Z: torch.Tensor, targets: Targets
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients of each target with respect to the rows ``Z``, from one forward pass.

    Inside a ``seqsal._runtime.sharding`` block the rows are split over the CPU's cores; each
    row's gradient is the same as from one call.

    Parameters
    ----------
    model : torch.nn.Module
        In eval mode with frozen parameters (see ``seqsal._runtime.model_on``).
    Z : torch.Tensor, shape (m, ...)
        Rows on the model's device.
    targets : Targets

    Returns
    -------
    grads : torch.Tensor, shape (n_targets, m, ...)
    values : torch.Tensor, shape (n_targets, m)
        The target values at ``Z`` (detached).
    """
    return map_shards(lambda part: _row_gradients(model, part, targets), Z, dim=1)


def _row_gradients(
    model: nn.Module, Z: torch.Tensor, targets: Targets
) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    Z = Z.detach().requires_grad_(True)
    with torch.enable_grad():
        output = model(Z)
        values = [targets.select(output, k) for k in range(targets.n_targets)]
        grads = []
        for k, value in enumerate(values):
            (grad,) = torch.autograd.grad(value.sum(), Z, retain_graph=k < len(values) - 1)
            grads.append(grad)
    values = [v.detach() for v in values]
    if len(grads) == 1:  # no copy of the (m, ...) gradient for the usual single target
        return grads[0].unsqueeze(0), values[0].unsqueeze(0)
    return torch.stack(grads), torch.stack(values)


def input_gradients(
    model: nn.Module,
    X: Inputs,
    *,
    target: TargetLike = 0,
    target_names: Sequence[str] | None = None,
    batch_size: int | None = None,
    device: Device = None,
    progress: bool | None = None,
    max_memory: int | None = None,
) -> torch.Tensor:
    """Gradients of the target(s) with respect to ``X``, batched under a memory budget.

    Returns
    -------
    torch.Tensor, shape (n_targets, n, ...)
        Always with the target axis; the public methods drop it for a single target.
    """
    import torch

    X = as_input(X)
    targets = resolve_targets(target, model=model, target_names=target_names)
    out = torch.empty((targets.n_targets, *X.shape), dtype=torch.float32)
    with model_on(model, device) as dev, fast_kernels(model):
        rows = rows_per_call(
            model, X[:1].to(dev), batch_size=batch_size, max_memory=max_memory, n=X.shape[0]
        )
        starts = range(0, X.shape[0], rows)
        with sharding(min(rows, X.shape[0]), dev):
            for start in progress_bar(
                starts, total=len(starts), desc="gradients", unit="batch", progress=progress
            ):
                stop = min(start + rows, X.shape[0])
                grads, _ = row_gradients(model, X[start:stop].to(dev), targets)
                out[:, start:stop] = grads.cpu()
    return out


def saliency(
    model: nn.Module,
    X: Inputs,
    *,
    target: TargetLike = 0,
    target_names: Sequence[str] | None = None,
    batch_size: int | None = None,
    device: Device = None,
    progress: bool | None = None,
    seed: int | None = None,
    max_memory: int | None = None,
) -> torch.Tensor:
    """Saliency: the signed gradient of the target with respect to the input.

    The cheapest map (one forward and one backward pass); it says how the output would move
    for a small change of each input value, not how much each value contributed.  Prefer
    :func:`grad_x_input` or :func:`~seqsal.attribution.integrated_gradients` for contributions.

    Parameters
    ----------
    model : torch.nn.Module
        ``model(X) -> (n, T)`` or ``(n,)``; its device and train/eval state are restored.
    X : numpy.ndarray or torch.Tensor, shape (n, ...)
    target : int, str, callable or list, default 0
        See :func:`seqsal.attribution.resolve_targets`.  A list gives a leading target axis.
    target_names : list of str, optional
        Output names, for string targets.
    batch_size : int, optional
        Rows (examples) per model call; None chooses it from ``max_memory``.
    device : str or torch.device, optional
        Where to run; None keeps the model's device.
    progress : bool, optional
        Progress bar; None shows it only on a terminal.
    seed : int, optional
        Checked (a non-negative integer or None) but unused: the method is deterministic;
        accepted so every method has one signature.
    max_memory : int, optional
        Bytes per model call when ``batch_size`` is None (default 64 MiB on a CPU, 1 GiB on
        an accelerator).

    Returns
    -------
    torch.Tensor, float32 on CPU, shape (n, ...), or (n_targets, n, ...) for a list target.
    """
    check_seed(seed)  # no random step; checked as every method checks it
    grads = input_gradients(
        model,
        X,
        target=target,
        target_names=target_names,
        batch_size=batch_size,
        device=device,
        progress=progress,
        max_memory=max_memory,
    )
    return grads if isinstance(target, (list, tuple)) else grads[0]


def grad_x_input(
    model: nn.Module,
    X: Inputs,
    *,
    target: TargetLike = 0,
    target_names: Sequence[str] | None = None,
    batch_size: int | None = None,
    device: Device = None,
    progress: bool | None = None,
    seed: int | None = None,
    max_memory: int | None = None,
) -> torch.Tensor:
    """Gradient x input: the first-order contribution of each value (relative to zero).

    Exact for a linear model (where it equals Integrated Gradients from a zero baseline);
    for a nonlinear one it is a local approximation at the cost of one gradient.  Same
    parameters and return shape as :func:`saliency`.
    """
    check_seed(seed)  # no random step; checked as every method checks it
    X = as_input(X)
    grads = input_gradients(
        model,
        X,
        target=target,
        target_names=target_names,
        batch_size=batch_size,
        device=device,
        progress=progress,
        max_memory=max_memory,
    )
    result = grads * X
    return result if isinstance(target, (list, tuple)) else result[0]

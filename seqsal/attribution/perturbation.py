"""Perturbation attributions: the model is run on modified copies of each input.

:func:`evaluate_perturbed` is the shared machinery: it evaluates ``P`` perturbed copies of
every example (built on the fly by a user function, so only one batch of copies exists at a
time) under the memory budget and returns the target values.  :func:`occlusion` is built on
it here; in-silico saturation mutagenesis of DNA (one copy per alternative base) is built on it
in the DNA layer.  Perturbation methods need no gradients and work for any model, but cost one
forward pass per copy.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, cast

import numpy as np

from seqsal._runtime import (
    check_positive_int,
    check_seed,
    map_shards,
    model_on,
    progress_bar,
    sharding,
)
from seqsal.attribution._batching import as_input, rows_per_call
from seqsal.attribution._kernels import channels_last
from seqsal.attribution._targets import TargetLike, resolve_targets
from seqsal.errors import InputError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from seqsal.attribution._types import Device, Inputs

log = logging.getLogger(__name__)


class PerturbationResult(NamedTuple):
    """Target values of the inputs and of their perturbed copies.

    Attributes
    ----------
    reference : torch.Tensor, shape (n,) or (n_targets, n)
        Target values of the unmodified inputs.
    perturbed : torch.Tensor, shape (n, P) or (n_targets, n, P)
        Target values of copy ``j`` of example ``i``.
    """

    reference: torch.Tensor
    perturbed: torch.Tensor


def evaluate_perturbed(
    model: nn.Module,
    X: Inputs,
    perturb: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
    n_perturbations: int,
    *,
    target: TargetLike = 0,
    target_names: Sequence[str] | None = None,
    batch_size: int | None = None,
    device: Device = None,
    progress: bool | None = None,
    max_memory: int | None = None,
) -> PerturbationResult:
    """Evaluate ``n_perturbations`` perturbed copies of every example, batched.

    Parameters
    ----------
    model : torch.nn.Module
    X : numpy.ndarray or torch.Tensor, shape (n, ...)
    perturb : callable
        ``perturb(rows, example, index) -> rows``: ``rows`` is a ``(m, ...)`` tensor of copies
        of ``X[example]`` on the model's device (free to modify in place), ``example`` and
        ``index`` are ``(m,)`` long tensors (which example, which perturbation in
        ``0..n_perturbations-1``).  Returns the perturbed rows, shape ``(m, ...)``.
    n_perturbations : int
        Copies per example (P).
    target, target_names, batch_size, device, progress, max_memory
        As in :func:`seqsal.attribution.saliency`; ``batch_size`` counts copies per call.

    Returns
    -------
    PerturbationResult
    """
    import torch

    X = as_input(X)
    n_perturbations = check_positive_int(n_perturbations, "n_perturbations")
    targets = resolve_targets(target, model=model, target_names=target_names)
    n = X.shape[0]
    perturbed = torch.empty((targets.n_targets, n * n_perturbations), dtype=torch.float32)
    reference = torch.empty((targets.n_targets, n), dtype=torch.float32)
    # Forward only: PyTorch's own pooling is faster without a backward to serve, so the
    # fast_kernels pool patch (a gradient-path optimisation) is not applied here; image
    # models still run channels-last.
    with model_on(model, device) as dev, torch.no_grad(), channels_last(model):
        rows = rows_per_call(model, X[:1].to(dev), batch_size=batch_size, max_memory=max_memory)
        for start in range(0, n, rows):
            reference[:, start : start + rows] = targets.select_all(
                model(X[start : start + rows].to(dev))
            ).cpu()
        starts = range(0, n * n_perturbations, rows)
        with sharding(min(rows, n * n_perturbations), dev):
            for start in progress_bar(
                starts, total=len(starts), desc="perturbations", unit="batch", progress=progress
            ):
                flat = torch.arange(start, min(start + rows, n * n_perturbations))
                example, index = flat // n_perturbations, flat % n_perturbations
                copies = X[example].to(dev)
                modified = perturb(copies, example.to(dev), index.to(dev))
                if not isinstance(modified, torch.Tensor) or modified.shape != copies.shape:
                    raise InputError(
                        f"perturb returned {getattr(modified, 'shape', type(modified).__name__)}; "
                        f"expected a tensor of shape {tuple(copies.shape)}"
                    )
                scores = map_shards(lambda part: targets.select_all(model(part)), modified, dim=1)
                perturbed[:, flat] = scores.float().cpu()
    perturbed = perturbed.view(targets.n_targets, n, n_perturbations)
    return PerturbationResult(targets.unstack(reference), targets.unstack(perturbed))


def _window_spec(
    value: Any,
    shape: tuple[int, ...],
    name: str,
    default: tuple[int, ...] | None = None,
) -> tuple[int, ...] | None:
    """Right-align an int or tuple against ``shape``; missing leading axes get ``default``."""
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        items = [value] * max(1, len(shape) - 1)  # every axis after the channels
    else:
        items = list(value) if isinstance(value, (list, tuple)) else [value]
    if (
        not items
        or len(items) > len(shape)
        or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in items)
    ):
        raise InputError(
            f"{name}={value!r}; expected a positive int or a tuple of at most {len(shape)} positive ints for feature shape {tuple(shape)}"
        )
    lead = len(shape) - len(items)
    fill = shape[:lead] if default is None else default[:lead]
    return tuple(int(v) for v in fill) + tuple(int(v) for v in items)


def occlusion_windows(
    shape: Sequence[int],
    window: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
) -> tuple[tuple[int, ...], tuple[int, ...], list[np.ndarray]]:
    """Window sizes, strides and start positions per axis, as captum's Occlusion places them.

    Windows start at ``0, s, 2s, ...`` on each axis, ``ceil((D - w) / s) + 1`` of them, and the
    last is clipped at the end, so every position is covered.

    Returns
    -------
    window, stride : tuple of int
    starts : list of numpy.ndarray, one per axis
    """
    shape = tuple(int(d) for d in shape)
    window = cast("tuple[int, ...]", _window_spec(window, shape, "window"))
    stride = window if stride is None else _window_spec(stride, shape, "stride", default=window)
    stride = cast("tuple[int, ...]", stride)
    starts = []
    for axis, (size, w, s) in enumerate(zip(shape, window, stride, strict=True)):
        if w > size:
            raise InputError(
                f"window={window}: {w} > {size} on axis {axis + 1} of X's shape (n, {', '.join(map(str, shape))})"
            )
        if w < size and s > w:
            raise InputError(
                f"stride={stride}: {s} > window {w} on axis {axis + 1} would leave positions uncovered"
            )
        starts.append(np.arange(math.ceil((size - w) / s) + 1) * s)
    return window, stride, starts


def occlusion(
    model: nn.Module,
    X: Inputs,
    *,
    window: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    baseline: float | np.ndarray | torch.Tensor = 0.0,
    target: TargetLike = 0,
    target_names: Sequence[str] | None = None,
    batch_size: int | None = None,
    device: Device = None,
    progress: bool | None = None,
    seed: int | None = None,
    max_memory: int | None = None,
) -> torch.Tensor:
    """Occlusion (Zeiler & Fergus 2014): how much the target drops when a window is blanked.

    Each window position replaces a box of the input by ``baseline``; a feature's attribution
    is ``f(x) - f(x with the window occluded)``, averaged over all windows covering it (as
    captum's Occlusion does).  Model-agnostic and faithful to large changes, but costs one
    forward pass per window.

    Parameters
    ----------
    model : torch.nn.Module
    X : numpy.ndarray or torch.Tensor, shape (n, ...)
    window : int or tuple of int
        Box size.  An int applies to every axis after the first (channel) axis, which is
        covered whole: ``window=10`` on DNA ``(n, 4, L)`` means ``(4, 10)``, ``window=8`` on
        images ``(n, C, H, W)`` means ``(C, 8, 8)``.  A tuple is right-aligned against the
        feature axes and leading axes not given are covered whole: ``(8, 8)`` on images is
        ``(C, 8, 8)``.
    stride : int or tuple of int, optional
        Step between windows, placed the same way (axes not given step by the window's size);
        default ``window`` (no overlap).  Must not exceed the window where the window is
        smaller than the axis.
    baseline : float or array, default 0.0
        Replacement value: a number, or an array broadcastable to X's shape ``(n, ...)``.
    target, target_names, batch_size, device, progress, max_memory
        As in :func:`seqsal.attribution.saliency`; ``seed`` is checked but unused.

    Returns
    -------
    torch.Tensor, float32 on CPU, X's shape (or ``(n_targets, n, ...)`` for a list target).
    """
    import torch

    check_seed(seed)  # no random step; checked as every method checks it
    X = as_input(X)
    feature_shape = tuple(X.shape[1:])
    window, stride, starts = occlusion_windows(feature_shape, window, stride)
    counts = [len(s) for s in starts]
    n_windows = int(np.prod(counts))
    if isinstance(baseline, (torch.Tensor, np.ndarray)):
        try:
            fill = torch.broadcast_to(
                as_input(baseline, "baseline")
                if baseline.ndim
                else torch.as_tensor(float(baseline)),
                X.shape,
            )
        except RuntimeError as err:
            raise InputError(
                f"baseline has shape {tuple(baseline.shape)}; expected a number or a shape broadcastable to X's {tuple(X.shape)}"
            ) from err
    elif isinstance(baseline, (int, float, np.integer, np.floating)) and not isinstance(
        baseline, bool
    ):
        fill = None
    else:
        raise InputError(f"baseline={baseline!r}; expected a number or an array broadcastable to X")
    starts_t = [torch.as_tensor(s) for s in starts]
    strides_flat = np.cumprod([1, *counts[:-1]])

    def masks(index: torch.Tensor) -> torch.Tensor:
        """Boolean masks (m, ...) of windows ``index`` (first axis varies fastest, as captum)."""
        mask = None
        for axis, size in enumerate(feature_shape):
            position = (index // int(strides_flat[axis])) % counts[axis]
            begin = starts_t[axis].to(index.device)[position]
            span = torch.arange(size, device=index.device)
            inside = (span >= begin[:, None]) & (span < begin[:, None] + window[axis])
            view = [inside.shape[0]] + [1] * len(feature_shape)
            view[axis + 1] = size
            inside = inside.view(view)
            mask = inside if mask is None else mask & inside
        return cast("torch.Tensor", mask)

    def perturb(rows: torch.Tensor, example: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        mask = masks(index)
        value = float(baseline) if fill is None else fill[example.cpu()].to(rows.device)
        return torch.where(mask, value, rows)

    result = evaluate_perturbed(
        model,
        X,
        perturb,
        n_windows,
        target=list(resolve_targets(target, model=model, target_names=target_names).selectors),
        batch_size=batch_size,
        device=device,
        progress=progress,
        max_memory=max_memory,
    )
    drops = result.reference.unsqueeze(-1) - result.perturbed  # (T, n, P)
    n_targets = drops.shape[0]
    n_features = int(np.prod(feature_shape))
    total = torch.zeros((n_targets * X.shape[0], n_features), dtype=torch.float32)
    coverage = torch.zeros(n_features, dtype=torch.float32)
    chunk = max(1, (16 * 2**20) // max(1, n_features))
    for w0 in range(0, n_windows, chunk):
        index = torch.arange(w0, min(w0 + chunk, n_windows))
        block = masks(index).reshape(len(index), n_features).float()
        total += drops[:, :, index].reshape(-1, len(index)) @ block
        coverage += block.sum(dim=0)
    attributions = (total / coverage).view(n_targets, *X.shape)
    return attributions if isinstance(target, (list, tuple)) else attributions[0]

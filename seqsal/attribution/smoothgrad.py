"""SmoothGrad, SmoothGrad-squared and VarGrad around any gradient method.

The map of each example is computed on ``n_samples`` noisy copies and combined: the mean
(SmoothGrad, Smilkov et al. 2017), the mean of squares, or the variance (VarGrad, Adebayo et
al. 2018), exactly as captum's NoiseTunnel combines them.  Noise is Gaussian with a standard
deviation that is a fraction of each example's own value range (max - min), so one setting
suits one-hot DNA and images in [0, 255] alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from seqsal._runtime import check_positive_int, check_seed, model_on, progress_bar, rng, sharding
from seqsal.attribution._batching import as_input, rows_per_call
from seqsal.attribution._targets import TargetLike, resolve_targets
from seqsal.attribution.gradients import saliency
from seqsal.errors import InputError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from seqsal.attribution._types import Device, Inputs

log = logging.getLogger(__name__)

KINDS = ("smoothgrad", "smoothgrad_sq", "vargrad")


def smoothgrad_noise(
    X: Inputs, *, n_samples: int = 25, noise: float = 0.15, seed: int | None = None
) -> torch.Tensor:
    """The Gaussian noise :func:`smoothgrad` adds, shape ``(n, n_samples, ...)``.

    Example ``i`` gets noise with standard deviation ``noise * (max(X[i]) - min(X[i]))``,
    drawn from its own generator seeded by ``(seed, i)``: the noise of an example depends on
    the seed, its position ``i`` and its own range only, never on the batch size or on the
    examples after it.

    Parameters
    ----------
    X : numpy.ndarray or torch.Tensor, shape (n, ...)
    n_samples : int, default 25
    noise : float, default 0.15
        Standard deviation as a fraction of each example's range (Smilkov et al. suggest
        10-20%).
    seed : int, optional
        None draws fresh entropy (not reproducible).
    """
    import torch

    X = as_input(X)
    n_samples = check_positive_int(n_samples, "n_samples")
    if (
        isinstance(noise, bool)
        or not isinstance(noise, (int, float, np.floating, np.integer))
        or noise < 0
    ):
        raise InputError(
            f"noise={noise!r}; expected a non-negative fraction of the input range, e.g. 0.15"
        )
    seed = check_seed(seed)
    base = int(rng(None).integers(2**62)) if seed is None else seed
    flat = X.reshape(X.shape[0], -1)
    scale = (flat.max(dim=1).values - flat.min(dim=1).values) * float(noise)
    out = torch.empty((X.shape[0], n_samples, *X.shape[1:]), dtype=torch.float32)
    generator = torch.Generator()
    for i in range(X.shape[0]):
        generator.manual_seed(
            int(np.random.SeedSequence([base, i]).generate_state(1, dtype=np.uint64)[0] >> 1)
        )
        out[i] = torch.randn((n_samples, *X.shape[1:]), generator=generator) * scale[i]
    return out


def smoothgrad(
    model: nn.Module,
    X: Inputs,
    *,
    method: Callable[..., Any] = saliency,
    target: TargetLike = 0,
    target_names: Sequence[str] | None = None,
    n_samples: int = 25,
    noise: float | np.ndarray | torch.Tensor = 0.15,
    kind: str = "smoothgrad",
    batch_size: int | None = None,
    device: Device = None,
    progress: bool | None = None,
    seed: int | None = None,
    max_memory: int | None = None,
    **method_kwargs: Any,
) -> torch.Tensor:
    """Average (or square, or variance of) a gradient map over noisy copies of each input.

    Prefer it over a single gradient when maps look speckled: averaging over a neighbourhood
    removes the high-frequency noise of ReLU gradients.  VarGrad highlights where the map is
    unstable rather than its sign.

    Parameters
    ----------
    model : torch.nn.Module
    X : numpy.ndarray or torch.Tensor, shape (n, ...)
    method : callable, default saliency
        Any seqsal method ``f(model, X, *, target, target_names, batch_size, device, progress,
        ...) -> tensor``, e.g. ``saliency`` or ``grad_x_input``; ``method_kwargs`` go to it.
    target, target_names
        As in :func:`seqsal.attribution.saliency`.
    n_samples : int, default 25
        Noisy copies per example.
    noise : float or array, default 0.15
        A float: standard deviation as a fraction of each example's range (max - min).  An
        array of shape ``(n, n_samples, ...)``: the exact noise to add (e.g. to reproduce
        another library's draw); ``seed`` is then unused.
    kind : {"smoothgrad", "smoothgrad_sq", "vargrad"}, default "smoothgrad"
        Mean, mean of squares, or variance (mean of squares minus squared mean) of the maps.
    batch_size : int, optional
        Rows (noisy copies) per model call; None chooses from ``max_memory``.
    device, progress, max_memory
        As in :func:`seqsal.attribution.saliency`.
    seed : int, optional
        Seeds the noise; the same seed gives the same result for any batch size.

    Returns
    -------
    torch.Tensor, float32 on CPU, shape (n, ...) or (n_targets, n, ...) for a list target.
    """
    import torch

    X = as_input(X)
    if kind not in KINDS:
        raise InputError(f"kind={kind!r}; expected one of {list(KINDS)}")
    if not callable(method):
        raise InputError(f"method={method!r}; expected a function such as saliency or grad_x_input")
    if isinstance(noise, (np.ndarray, torch.Tensor)):
        noise = as_input(noise, "noise")
        if (
            tuple(noise.shape[:1]) + tuple(noise.shape[2:]) != tuple(X.shape)
            or noise.ndim != X.ndim + 1
        ):
            raise InputError(
                f"noise has shape {tuple(noise.shape)}; expected (n, n_samples, ...) with (n, ...) = {tuple(X.shape)}"
            )
        n_samples = noise.shape[1]
    else:
        noise = smoothgrad_noise(X, n_samples=n_samples, noise=noise, seed=seed)
    targets = resolve_targets(target, model=model, target_names=target_names)
    n = X.shape[0]
    total = torch.zeros((targets.n_targets, *X.shape), dtype=torch.float32)
    total_sq = torch.zeros_like(total) if kind != "smoothgrad" else total
    with model_on(model, device) as dev:
        rows = rows_per_call(model, X[:1].to(dev), batch_size=batch_size, max_memory=max_memory)
        per_call = max(1, rows // n_samples)
        starts = range(0, n, per_call)
        # one sharding block for the whole loop (the method's own calls nest in it)
        with sharding(min(rows, n * n_samples), dev):
            for start in progress_bar(
                starts, total=len(starts), desc=kind, unit="batch", progress=progress
            ):
                stop = min(start + per_call, n)
                noisy = (X[start:stop].unsqueeze(1) + noise[start:stop]).reshape(-1, *X.shape[1:])
                maps = method(
                    model,
                    noisy,
                    target=list(targets.selectors),
                    batch_size=rows,
                    device=dev,
                    progress=False,
                    **method_kwargs,
                )
                maps = getattr(maps, "attributions", maps)  # integrated_gradients gives an IGResult
                maps = maps.reshape(targets.n_targets, stop - start, n_samples, *X.shape[1:])
                if kind != "smoothgrad_sq":
                    total[:, start:stop] = maps.sum(dim=2)
                if kind != "smoothgrad":  # the squares only where they are used
                    total_sq[:, start:stop] = (maps**2).sum(dim=2)
    mean, mean_sq = total / n_samples, total_sq / n_samples
    if kind == "smoothgrad":
        result = mean
    elif kind == "smoothgrad_sq":
        result = mean_sq
    else:
        result = mean_sq - mean**2
    return targets.unstack(result)


def content_seed(seed: int, row: Any) -> int:
    """A seed for one example drawn from ``seed`` and the example's own values.

    Seeding each example's noise (or shuffles) this way makes it depend on the example only,
    not on its position among the others: the same input gets the same noise however the
    data are chunked, grouped or ordered.

    Parameters
    ----------
    seed : int
    row : numpy.ndarray or torch.Tensor
        One example (its bytes are hashed with CRC-32).

    Returns
    -------
    int
        A non-negative seed below 2**62.
    """
    import zlib

    values = row.numpy() if hasattr(row, "numpy") else np.asarray(row)
    digest = zlib.crc32(np.ascontiguousarray(values).tobytes())
    return int(
        np.random.SeedSequence([int(seed), digest]).generate_state(1, dtype=np.uint64)[0] >> 2
    )

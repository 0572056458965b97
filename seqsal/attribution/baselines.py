"""Baselines (references) for path methods such as Integrated Gradients.

Every form the user can give is turned into one tensor of shape ``(n, k, ...)``: ``k``
references per example.  Attributions are averaged over the ``k`` references (expected
gradients with a fixed path), as DeepLIFT/SHAP-style references are used for DNA models.

Named references (strings for ``baseline=``): ``"zeros"`` / ``"black"`` (all zeros: black for
images in [0, 1]), ``"blur"`` (:func:`gaussian_blur` of the input, default sigma) and
``"noise"`` (:func:`noise_baseline`, default scale and seed).  Sturmfels et al. (2020,
"Visualizing the impact of feature attribution baselines", Distill) compare these for images:
a black reference ignores dark features, a blurred one keeps the coarse image and explains its
edges and texture, a noisy one averages over several nearby references.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from seqsal.errors import InputError

if TYPE_CHECKING:
    import torch

    from seqsal.attribution._types import Inputs

#: What ``baseline=`` accepts: a name (:data:`NAMES`), a number, an array, or a callable
#: ``f(X) -> (n, k, ...)`` (or ``(n, ...)``).
BaselineLike: TypeAlias = (
    "str | float | np.ndarray | torch.Tensor | Callable[[torch.Tensor], np.ndarray | torch.Tensor]"
)

#: Baselines that can be named by a string (see :func:`resolve_baseline`).
NAMES = ("zeros", "black", "blur", "noise")

#: Default Gaussian blur width in pixels (RISE's blurred canvas, Petsiuk et al. 2018, uses 5).
DEFAULT_BLUR_SIGMA = 5.0


def resolve_baseline(baseline: BaselineLike, X: torch.Tensor) -> torch.Tensor:
    """Return the references for ``X`` as a float32 CPU tensor of shape ``(n, k, ...)``.

    Parameters
    ----------
    baseline : str, float, array or callable
        ``"zeros"`` or its alias ``"black"`` (k = 1); ``"blur"``: ``gaussian_blur(X)``
        (k = 1, sigma 5 pixels); ``"noise"``: ``noise_baseline(X)`` (k = 1, seed 0); a number (a constant input, k = 1); an array broadcastable to
        ``X``'s shape ``(n, ...)`` (k = 1); an array of shape ``(n, k, ...)`` (k references);
        or a callable ``f(X) -> (n, k, ...)`` (or ``(n, ...)`` for k = 1), e.g. a function
        returning dinucleotide-shuffled copies.
    X : torch.Tensor, shape (n, ...)

    Returns
    -------
    torch.Tensor, shape (n, k, ...)
        Possibly an expanded view (no copy) for constant baselines.
    """
    import torch

    shape = tuple(X.shape)
    if isinstance(baseline, str):
        if baseline in ("zeros", "black"):
            return torch.zeros(()).expand(shape[0], 1, *shape[1:])
        if baseline == "blur":
            return gaussian_blur(X).unsqueeze(1)
        if baseline == "noise":
            return noise_baseline(X)
        raise InputError(
            f"baseline={baseline!r}; expected one of {', '.join(map(repr, NAMES))}, a number, "
            "an array or a callable"
        )
    if isinstance(baseline, bool):
        raise InputError(
            f"baseline={baseline!r}; expected 'zeros', a number, an array or a callable"
        )
    if isinstance(baseline, (int, float, np.integer, np.floating)):
        return torch.full((), float(baseline)).expand(shape[0], 1, *shape[1:])
    if callable(baseline) and not isinstance(baseline, (torch.Tensor, np.ndarray)):
        value = baseline(X)
        return _as_references(value, shape, "baseline(X)")
    if isinstance(baseline, (torch.Tensor, np.ndarray)):
        return _as_references(baseline, shape, "baseline")
    raise InputError(
        f"baseline has type {type(baseline).__name__}; expected 'zeros', a number, an array or a callable"
    )


def _as_references(value: Any, shape: tuple[int, ...], name: str) -> torch.Tensor:
    import torch

    if isinstance(value, np.ndarray):
        value = torch.from_numpy(np.ascontiguousarray(value))
    if not isinstance(value, torch.Tensor):
        raise InputError(
            f"{name} gave type {type(value).__name__}; expected an array of shape (n, k, ...) or {shape}"
        )
    value = value.detach().to(device="cpu", dtype=torch.float32)
    if value.ndim == len(shape) + 1:
        if value.shape[0] != shape[0] or tuple(value.shape[2:]) != shape[1:] or value.shape[1] < 1:
            raise InputError(
                f"{name} has shape {tuple(value.shape)}; expected (n, k, ...) = ({shape[0]}, k, "
                f"{', '.join(map(str, shape[1:]))}) or a shape broadcastable to X's {shape}"
            )
        return value
    try:
        return torch.broadcast_to(value, shape).unsqueeze(1)
    except RuntimeError as err:
        raise InputError(
            f"{name} has shape {tuple(value.shape)}, which does not broadcast to X's shape {shape}; "
            "expected that, or (n, k, ...) for k references per example"
        ) from err


def _gaussian_kernel1d(sigma: float, radius: int) -> np.ndarray:
    """Normalised Gaussian weights on ``-radius..radius`` (scipy.ndimage's kernel), float64."""
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    phi = np.exp(-0.5 / (sigma * sigma) * x * x)
    return phi / phi.sum()


def _reflect_indices(length: int, radius: int) -> np.ndarray:
    """Indices ``-radius..length+radius-1`` folded into ``0..length-1`` by half-sample
    symmetric reflection (``d c b a | a b c d | d c b a``, scipy.ndimage's "reflect")."""
    idx = np.arange(-radius, length + radius)
    period = 2 * length
    idx = np.mod(idx, period)
    return np.where(idx >= length, period - 1 - idx, idx)


def gaussian_blur(
    X: Inputs, sigma: float | Sequence[float] = DEFAULT_BLUR_SIGMA, *, truncate: float = 4.0
) -> torch.Tensor:
    """Blur every axis after the first two ``(n, C)`` with a Gaussian, channel by channel.

    The blurred reference of Integrated Gradients for images (and RISE's insertion canvas):
    it removes edges and texture while keeping the coarse image, so the attributions explain
    fine detail rather than the mere presence of light.  Deterministic; the same numbers as
    ``scipy.ndimage.gaussian_filter(X, sigma=(0, 0, s, s), mode="reflect", truncate=truncate)``
    (a separable kernel of radius ``int(truncate * s + 0.5)``, half-sample symmetric edges).

    Parameters
    ----------
    X : numpy.ndarray or torch.Tensor, shape (n, C, H, W)
        Images.  Other ranks: ``(n, C, L)`` is blurred along L (1-D), ``(n, C, D, H, W)`` along
        its three trailing axes; rank below 3 raises InputError (nothing spatial to blur).
    sigma : float or sequence of float, default 5.0
        Standard deviation in pixels, one number for every spatial axis or one per spatial
        axis (e.g. ``(2.0, 4.0)`` for H and W); 0 leaves that axis unchanged.
    truncate : float, default 4.0
        The kernel is cut at ``truncate`` standard deviations (scipy's default).

    Returns
    -------
    torch.Tensor, float32 on CPU, X's shape.
    """
    import torch
    import torch.nn.functional as F

    from seqsal.attribution._batching import as_input

    X = as_input(X)
    if X.ndim < 3:
        raise InputError(
            f"X has shape {tuple(X.shape)}; gaussian_blur needs (n, C, ...) with at least one "
            "spatial axis, e.g. images (n, C, H, W)"
        )
    n_spatial = X.ndim - 2
    sigmas = np.atleast_1d(np.asarray(sigma, dtype=np.float64)) if _is_real(sigma) else None
    if sigmas is None or sigmas.ndim != 1 or len(sigmas) not in (1, n_spatial):
        raise InputError(
            f"sigma={sigma!r}; expected a non-negative number or {n_spatial} numbers (one per "
            f"spatial axis of X's shape {tuple(X.shape)})"
        )
    if not np.all(np.isfinite(sigmas)) or np.any(sigmas < 0):
        raise InputError(f"sigma={sigma!r}; must be finite and non-negative")
    if isinstance(truncate, bool) or not _is_real(truncate) or not truncate > 0:
        raise InputError(f"truncate={truncate!r}; expected a positive number such as 4.0")
    sigmas = np.broadcast_to(sigmas, (n_spatial,))
    out = X
    for axis, s in enumerate(sigmas, start=2):
        radius = int(float(truncate) * float(s) + 0.5)
        if s == 0 or radius == 0:
            continue
        length = out.shape[axis]
        kernel = torch.from_numpy(_gaussian_kernel1d(float(s), radius)).float()
        index = torch.from_numpy(_reflect_indices(length, radius))
        moved = out.movedim(axis, -1)
        rest = moved.shape[:-1]
        padded = moved.reshape(-1, 1, length).index_select(-1, index)
        blurred = F.conv1d(padded, kernel.view(1, 1, -1))
        out = blurred.reshape(*rest, length).movedim(-1, axis)
    return out.contiguous()


def _is_real(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return False
    return array.dtype.kind in "iuf" and array.ndim <= 1


def noise_baseline(
    X: Inputs, *, scale: float = 0.15, n_samples: int = 1, seed: int | None = 0
) -> torch.Tensor:
    """Noisy copies of the input as references: ``X + N(0, (scale * range)^2)``, seeded.

    Sturmfels et al.'s Gaussian baseline: averaging IG over several references near the
    input (``n_samples > 1``) smooths the map as SmoothGrad does, without a black or blurred
    image's bias.  The noise is :func:`seqsal.attribution.smoothgrad_noise` (one generator per
    example, seeded by ``(seed, i)``), so results do not depend on batch size.  No clipping:
    clip the returned tensor yourself if the model needs inputs in a range.

    Parameters
    ----------
    X : numpy.ndarray or torch.Tensor, shape (n, ...)
    scale : float, default 0.15
        Standard deviation as a fraction of each example's range (max - min).
    n_samples : int, default 1
        References per example (``k``).
    seed : int or None, default 0
        Seed of the noise; None draws fresh entropy (not reproducible).

    Returns
    -------
    torch.Tensor, float32 on CPU, shape (n, n_samples, ...)
        Ready for ``integrated_gradients(..., baseline=...)``.
    """
    from seqsal.attribution._batching import as_input
    from seqsal.attribution.smoothgrad import smoothgrad_noise

    X = as_input(X)
    return X.unsqueeze(1) + smoothgrad_noise(X, n_samples=n_samples, noise=scale, seed=seed)

"""One entry point that runs an attribution method given by name.

The CLI, the image gallery and the sanity checks all turn a method name into a call; this
module is where that happens, so every caller runs the same function with the same keywords.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from seqsal.errors import InputError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from seqsal.attribution._targets import TargetLike
    from seqsal.attribution._types import Device, Inputs

#: Method names -> functions of :mod:`seqsal.attribution` ("ig" is a short name).
METHODS = {
    "saliency": "saliency",
    "grad_x_input": "grad_x_input",
    "ig": "integrated_gradients",
    "integrated_gradients": "integrated_gradients",
    "smoothgrad": "smoothgrad",
    "gradcam": "gradcam",
    "occlusion": "occlusion",
    "deepshap": "deepshap",
}


def attribute(
    model: nn.Module,
    X: Inputs,
    method: str,
    *,
    target: TargetLike = 0,
    batch_size: int | None = None,
    device: Device = None,
    progress: bool | None = None,
    seed: int | None = None,
    **options: Any,
) -> torch.Tensor:
    """Attributions of ``X`` by the method named ``method``: a float32 tensor of X's shape.

    Parameters
    ----------
    model : torch.nn.Module
        Any model ``X -> (n, T)``.
    X : torch.Tensor or np.ndarray, shape (n, ...)
        Inputs (DNA ``(n, 4, L)``, images ``(n, C, H, W)``).
    method : str
        One of :data:`METHODS`: ``saliency``, ``grad_x_input``, ``ig`` (or
        ``integrated_gradients``), ``smoothgrad``, ``gradcam``, ``occlusion``, ``deepshap``.
    target, batch_size, device, progress, seed
        The shared keywords, as in every method.
    **options
        The method's own options (``steps``, ``baseline``, ``layer``, ``window``, ...).

    Returns
    -------
    torch.Tensor
        The attribution map (for IG and DeepSHAP the ``attributions`` of their result).
    """
    # From the modules that own the methods, not the package: the package imports this module.
    from seqsal.attribution.cam import gradcam
    from seqsal.attribution.deeplift import deepshap
    from seqsal.attribution.gradients import grad_x_input, saliency
    from seqsal.attribution.integrated import integrated_gradients
    from seqsal.attribution.perturbation import occlusion
    from seqsal.attribution.smoothgrad import smoothgrad

    if not isinstance(method, str) or method not in METHODS:
        raise InputError(f"method={method!r}; expected one of {sorted(METHODS)}")
    functions: dict[str, Callable[..., Any]] = {
        "saliency": saliency,
        "grad_x_input": grad_x_input,
        "integrated_gradients": integrated_gradients,
        "smoothgrad": smoothgrad,
        "gradcam": gradcam,
        "occlusion": occlusion,
        "deepshap": deepshap,
    }
    function = functions[METHODS[method]]
    result = function(
        model,
        X,
        target=target,
        batch_size=batch_size,
        device=device,
        progress=progress,
        seed=seed,
        **options,
    )
    return result.attributions if hasattr(result, "attributions") else result

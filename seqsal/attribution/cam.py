"""Grad-CAM (Selvaraju et al. 2017) on a named convolutional layer, 1-D or 2-D.

The layer's activations ``A`` (shape ``(n, C, L)`` or ``(n, C, H, W)``) are weighted by the
spatial mean of the target's gradient with respect to them, summed over channels and (by
default) rectified: a coarse map of where the layer saw evidence for the target.  It is then
upsampled to the input's spatial size with linear (1-D) or bilinear (2-D) interpolation,
``align_corners=False`` (captum's ``LayerAttribution.interpolate`` with mode "linear" /
"bilinear"), and repeated over the input channels so the result has the input's shape.
"""

from __future__ import annotations

import logging
import threading

from seqsal._runtime import model_on, progress_bar
from seqsal.attribution._batching import as_input, rows_per_call
from seqsal.attribution._kernels import channels_last, fast_kernels
from seqsal.attribution._targets import resolve_targets
from seqsal.errors import InputError

log = logging.getLogger(__name__)


def conv_layer_names(model) -> list[str]:
    """Dotted names of the model's Conv1d/Conv2d modules, in definition order."""
    from torch import nn

    return [name for name, m in model.named_modules() if isinstance(m, (nn.Conv1d, nn.Conv2d))]


def get_layer(model, layer):
    """The module called ``layer`` (dotted name), or None for the last convolution."""
    names = conv_layer_names(model)
    if layer is None:
        if not names:
            raise InputError(
                "layer=None: the model has no Conv1d/Conv2d layer; pass layer='<dotted module name>'"
            )
        log.debug("gradcam: using the last convolution %r", names[-1])
        layer = names[-1]
    if not isinstance(layer, str):
        raise InputError(
            f"layer={layer!r}; expected a dotted module name such as {names[-1] if names else 'trunk.3'!r}"
        )
    try:
        return model.get_submodule(layer)
    except AttributeError as err:
        raise InputError(
            f"layer={layer!r} is not a module of this model; convolutional layers: {names}"
        ) from err


def gradcam(
    model,
    X,
    *,
    layer=None,
    target=0,
    target_names=None,
    relu: bool = True,
    upsample: bool = True,
    batch_size=None,
    device=None,
    progress=None,
    seed=None,
    max_memory=None,
):
    """Grad-CAM on ``layer``, upsampled to the input and repeated over its channels.

    Coarse (the layer's resolution) but class-discriminative and robust to gradient noise;
    use a late convolution.  For base-level detail prefer Integrated Gradients.

    Parameters
    ----------
    model : torch.nn.Module
    X : numpy.ndarray or torch.Tensor, shape (n, C, L) or (n, C, H, W)
    layer : str, optional
        Dotted module name (``model.get_submodule``), e.g. ``"trunk.3"``; its output must be
        ``(n, C', L')`` or ``(n, C', H', W')``.  None uses the last Conv1d/Conv2d.  An unknown
        name raises InputError listing the convolutional layers.
    target, target_names, batch_size, device, progress, max_memory
        As in :func:`seqsal.attribution.saliency`; ``seed`` is unused.
    relu : bool, default True
        Keep only positive evidence, as in the paper.
    upsample : bool, default True
        Interpolate to X's spatial size (linear / bilinear, ``align_corners=False``) and
        repeat over X's channels.  False returns the layer-resolution map ``(n, 1, L')`` or
        ``(n, 1, H', W')``.

    Returns
    -------
    torch.Tensor, float32 on CPU, X's shape (or ``(n_targets, n, ...)`` for a list target).
    """
    import torch
    import torch.nn.functional as F

    del seed
    X = as_input(X)
    module = get_layer(model, layer)
    targets = resolve_targets(target, model=model, target_names=target_names)
    captured = {}  # thread -> the layer's output (safe when two threads share the model)

    def hook(_module, _inputs, output):
        if isinstance(output, torch.Tensor) and not output.requires_grad:
            # Nothing below the layer needs a gradient: the graph starts at the layer, so
            # the layers below it keep no activations for a backward that never reaches them.
            leaf = output.detach().requires_grad_(True)
            captured[threading.get_ident()] = leaf
            return leaf.view_as(leaf)  # a non-leaf, so in-place ops after the layer stay legal
        captured[threading.get_ident()] = output
        return output

    def cam_rows(Z):
        with torch.enable_grad():
            output = model(Z)
            A = captured.pop(threading.get_ident(), None)
            if not isinstance(A, torch.Tensor) or A.ndim not in (3, 4) or A.ndim != X.ndim:
                shape = tuple(A.shape) if isinstance(A, torch.Tensor) else None
                raise InputError(
                    f"layer={layer!r} gives output shape {shape} for input {tuple(Z.shape)}; "
                    "Grad-CAM needs a (n, C, L) or (n, C, H, W) layer matching the input's dimensions"
                )
            values = [targets.select(output, t) for t in range(targets.n_targets)]
            maps = []
            for t, value in enumerate(values):
                (grad,) = torch.autograd.grad(value.sum(), A, retain_graph=t < len(values) - 1)
                weights = grad.mean(dim=tuple(range(2, grad.ndim)), keepdim=True)
                cam = (weights * A).sum(dim=1, keepdim=True).detach()
                maps.append(F.relu(cam) if relu else cam)
        return torch.stack(maps)  # (T, m, 1, ...)

    pieces = []
    with model_on(model, device) as dev:
        rows = rows_per_call(
            model, X[:1].to(dev), batch_size=batch_size, max_memory=max_memory, n=X.shape[0]
        )
        # Hooked before fast_kernels, so the hooked layer stays as it is.
        handle = module.register_forward_hook(hook)
        try:
            # Channels-last is safe here, unlike for input gradients: layers below ``layer``
            # run forward only, and the map uses the layer's gradient only through its
            # spatial mean, which a different winner at a max-pool tie above it leaves as is.
            # Not split over the cores (seqsal._runtime.sharding): measured slower here.
            with channels_last(model), fast_kernels(model):
                starts = range(0, X.shape[0], rows)
                for start in progress_bar(
                    starts, total=len(starts), desc="grad-cam", unit="batch", progress=progress
                ):
                    Z = X[start : start + rows].to(dev)
                    pieces.append(cam_rows(Z).cpu())
        finally:
            handle.remove()
    cams = torch.cat(pieces, dim=1)  # (T, n, 1, ...)
    if upsample:
        mode = "linear" if X.ndim == 3 else "bilinear"
        flat = cams.reshape(-1, 1, *cams.shape[3:])
        flat = F.interpolate(flat, size=tuple(X.shape[2:]), mode=mode, align_corners=False)
        cams = (
            flat.reshape(cams.shape[0], cams.shape[1], 1, *X.shape[2:])
            .expand(-1, -1, X.shape[1], *X.shape[2:])
            .contiguous()
        )
    return targets.unstack(cams)

"""Grad-CAM (Selvaraju et al. 2017) on a named convolutional layer, 1-D or 2-D.

The layer's activations ``A`` (shape ``(n, C, L)`` or ``(n, C, H, W)``) are weighted by the
spatial mean of the target's gradient with respect to them, summed over channels and (by
default) rectified: a coarse map of where the layer saw evidence for the target.  It is then
upsampled to the input's spatial size with linear (1-D) or bilinear (2-D) interpolation,
``align_corners=False`` (captum's ``LayerAttribution.interpolate`` with mode "linear" /
"bilinear"), and repeated over the input channels so the result has the input's shape.

TorchScript models (``torch.jit.script`` or ``torch.jit.trace``, saved and loaded) take no
forward hooks and no ``get_submodule``.  Their layers are found with ``named_modules()`` and
recognised by ``original_name`` (``"Conv1d"``, ``"Conv2d"``); the layer's activations and their
gradient are read from the autograd graph instead of a hook: the convolution node whose
weight is the layer's weight parameter gives its input (from which ``A`` is recomputed with
the node's own stride, padding, dilation and groups) and, through a hook on the node, the
gradient with respect to ``A``.  Only convolutions can be read this way, so on a TorchScript
model ``layer`` must name a Conv1d or Conv2d.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from seqsal._runtime import check_seed, model_on, progress_bar
from seqsal.attribution._batching import as_input, rows_per_call
from seqsal.attribution._kernels import channels_last, fast_kernels
from seqsal.attribution._targets import TargetLike, resolve_targets
from seqsal.errors import InputError, ModelError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from seqsal.attribution._types import Device, Inputs

log = logging.getLogger(__name__)

#: Class names of the layers Grad-CAM uses by default (``original_name`` in TorchScript).
CONV_NAMES = ("Conv1d", "Conv2d")


def _is_script(module: nn.Module) -> bool:
    import torch

    return isinstance(module, torch.jit.ScriptModule)


def _is_conv(module: nn.Module) -> bool:
    from torch import nn

    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        return True
    return _is_script(module) and getattr(module, "original_name", None) in CONV_NAMES


def conv_layer_names(model: nn.Module) -> list[str]:
    """Dotted names of the model's Conv1d/Conv2d modules, in definition order.

    TorchScript submodules count by their ``original_name`` (the class they were compiled
    from), so scripted and traced models list the same names as the eager model.
    """
    return [name for name, m in model.named_modules() if name and _is_conv(m)]


def gradcam_layer(model: nn.Module, layer: str | None = None) -> str:
    """The dotted name of the layer Grad-CAM reads: ``layer``, checked, or the last convolution.

    Parameters
    ----------
    model : torch.nn.Module
        An eager or TorchScript model.
    layer : str, optional
        A dotted module name; None picks the last Conv1d/Conv2d (:func:`conv_layer_names`).

    Returns
    -------
    str

    Raises
    ------
    ModelError
        ``layer`` is None and the model has no convolution: Grad-CAM cannot run on it.
    InputError
        ``layer`` is not a module of the model, or (TorchScript) not a convolution.
    """
    get_layer(model, layer)
    return layer if layer is not None else conv_layer_names(model)[-1]


def get_layer(model: nn.Module, layer: str | None) -> nn.Module:
    """The module called ``layer`` (dotted name), or the last convolution for None.

    Raises the errors listed in :func:`gradcam_layer`.
    """
    names = conv_layer_names(model)
    if layer is None:
        if not names:
            kind = "TorchScript model" if _is_script(model) else "model"
            raise ModelError(
                f"layer=None: the {kind} has no Conv1d/Conv2d layer for Grad-CAM to use; name "
                "a layer whose output is (n, C, L) or (n, C, H, W)"
            )
        log.debug("gradcam: using the last convolution %r", names[-1])
        layer = names[-1]
    if not isinstance(layer, str):
        raise InputError(
            f"layer={layer!r}; expected a dotted module name such as {names[-1] if names else 'trunk.3'!r}"
        )
    if _is_script(model):  # ScriptModule.get_submodule raises "not supported"
        module = dict(model.named_modules()).get(layer) if layer else None
    else:
        try:
            module = model.get_submodule(layer) if layer else None
        except AttributeError:
            module = None
    if module is None:
        raise InputError(
            f"layer={layer!r} is not a module of this model; convolutional layers: {names}"
        )
    if _is_script(module) and not _is_conv(module):
        kind = getattr(module, "original_name", type(module).__name__)
        raise InputError(
            f"layer={layer!r} is a {kind} of a TorchScript model; Grad-CAM reads only Conv1d/Conv2d "
            f"layers of TorchScript models (they take no forward hooks); convolutional layers: {names}"
        )
    return module


def _same_tensor(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a is b or (a.data_ptr() == b.data_ptr() and a.shape == b.shape and a.dtype == b.dtype)


def _conv_node(roots: Sequence[torch.Tensor], weight: torch.Tensor, layer: str | None) -> Any:
    """The autograd node of the convolution that used ``weight``: the latest one if several."""
    seen, stack, found = set(), [r.grad_fn for r in roots], []
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        for child, _ in node.next_functions:
            if child is None:
                continue
            variable = getattr(child, "variable", None)
            if variable is not None and _same_tensor(variable, weight):
                found.append(node)
            else:
                stack.append(child)
    if not found:
        raise ModelError(
            f"layer={layer!r}: its weight does not reach the output through autograd (a frozen "
            "TorchScript model, or a layer the forward pass does not use), so Grad-CAM cannot "
            "read its activations"
        )
    node = max(found, key=lambda n: n._sequence_nr())  # the last call, as a forward hook sees
    if not type(node).__name__.startswith("ConvolutionBackward"):
        raise ModelError(
            f"layer={layer!r}: the TorchScript graph computes it inside {type(node).__name__} "
            "rather than as one convolution, so Grad-CAM cannot read its activations"
        )
    return node


def _conv_output(node: Any, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """The convolution's output, recomputed from the input the node saved (detached)."""
    import torch

    with torch.no_grad():
        return torch.ops.aten.convolution(
            node._saved_input,
            weight,
            bias,
            list(node._saved_stride),
            list(node._saved_padding),
            list(node._saved_dilation),
            bool(node._saved_transposed),
            list(node._saved_output_padding),
            int(node._saved_groups),
        )


def gradcam(
    model: nn.Module,
    X: Inputs,
    *,
    layer: str | None = None,
    target: TargetLike = 0,
    target_names: Sequence[str] | None = None,
    relu: bool = True,
    upsample: bool = True,
    batch_size: int | None = None,
    device: Device = None,
    progress: bool | None = None,
    seed: int | None = None,
    max_memory: int | None = None,
) -> torch.Tensor:
    """Grad-CAM on ``layer``, upsampled to the input and repeated over its channels.

    Coarse (the layer's resolution) but class-discriminative and robust to gradient noise;
    use a late convolution.  For base-level detail prefer Integrated Gradients.

    Parameters
    ----------
    model : torch.nn.Module
        An eager model, or a TorchScript one (scripted or traced; see the module docstring).
    X : numpy.ndarray or torch.Tensor, shape (n, C, L) or (n, C, H, W)
    layer : str, optional
        Dotted module name (as in ``model.named_modules()``), e.g. ``"trunk.3"``; its output
        must be ``(n, C', L')`` or ``(n, C', H', W')``.  None uses the last Conv1d/Conv2d (a
        model without one raises ModelError).  An unknown name raises InputError listing the
        convolutional layers; so does a TorchScript layer that is not a convolution.
    target, target_names, batch_size, device, progress, max_memory
        As in :func:`seqsal.attribution.saliency`; ``seed`` is checked but unused.
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

    check_seed(seed)  # no random step; checked as every method checks it
    X = as_input(X)
    module = get_layer(model, layer)
    scripted = _is_script(module)
    targets = resolve_targets(target, model=model, target_names=target_names)
    captured: dict[
        int, Any
    ] = {}  # thread -> the layer's output (safe when two threads share the model)

    def hook(_module: nn.Module, _inputs: Any, output: Any) -> Any:
        if isinstance(output, torch.Tensor) and not output.requires_grad:
            # Nothing below the layer needs a gradient: the graph starts at the layer, so
            # the layers below it keep no activations for a backward that never reaches them.
            leaf = output.detach().requires_grad_(True)
            captured[threading.get_ident()] = leaf
            return leaf.view_as(leaf)  # a non-leaf, so in-place ops after the layer stay legal
        captured[threading.get_ident()] = output
        return output

    def check(A: Any, Z: torch.Tensor) -> None:
        if not isinstance(A, torch.Tensor) or A.ndim not in (3, 4) or A.ndim != X.ndim:
            shape = tuple(A.shape) if isinstance(A, torch.Tensor) else None
            raise InputError(
                f"layer={layer!r} gives output shape {shape} for input {tuple(Z.shape)}; "
                "Grad-CAM needs a (n, C, L) or (n, C, H, W) layer matching the input's dimensions"
            )

    def cam(A: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        weights = grad.mean(dim=tuple(range(2, grad.ndim)), keepdim=True)
        value = (weights * A).sum(dim=1, keepdim=True).detach()
        return F.relu(value) if relu else value

    def cam_rows(Z: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            output = model(Z)
            A = captured.pop(threading.get_ident(), None)
            check(A, Z)
            values = [targets.select(output, t) for t in range(targets.n_targets)]
            maps = []
            for t, value in enumerate(values):
                (grad,) = torch.autograd.grad(value.sum(), A, retain_graph=t < len(values) - 1)
                maps.append(cam(A, grad))
        return torch.stack(maps)  # (T, m, 1, ...)

    def cam_rows_script(Z: torch.Tensor) -> torch.Tensor:
        weight = cast("torch.Tensor", module.weight)  # a Conv1d/Conv2d (get_layer)
        with torch.enable_grad():
            output = model(Z)
            values = [targets.select(output, t) for t in range(targets.n_targets)]
            node = _conv_node(values, weight, layer)
            A = _conv_output(node, weight, cast("torch.Tensor | None", module.bias))
            check(A, Z)
            got: dict[str, torch.Tensor] = {}
            handle = node.register_prehook(lambda grad_outputs: got.update(grad=grad_outputs[0]))
            try:
                maps = []
                for t, value in enumerate(values):
                    got.clear()
                    # the gradient is asked of the weight only to run the backward through
                    # the node, whose hook keeps the gradient with respect to its output
                    torch.autograd.grad(
                        value.sum(), weight, retain_graph=t < len(values) - 1, allow_unused=True
                    )
                    grad = got.get("grad")
                    maps.append(cam(A, torch.zeros_like(A) if grad is None else grad))
            finally:
                handle.remove()
        return torch.stack(maps)

    pieces = []
    with model_on(model, device) as dev:
        rows = rows_per_call(
            model, X[:1].to(dev), batch_size=batch_size, max_memory=max_memory, n=X.shape[0]
        )
        starts = range(0, X.shape[0], rows)
        bar = progress_bar(
            starts, total=len(starts), desc="grad-cam", unit="batch", progress=progress
        )
        if scripted:
            # model_on froze every parameter; the layer's weight alone takes part in autograd
            # so that the graph holds its convolution node (and nothing below it)
            module.weight.requires_grad_(True)
            try:
                for start in bar:
                    pieces.append(cam_rows_script(X[start : start + rows].to(dev)).cpu())
            finally:
                module.weight.requires_grad_(False)
        else:
            # Hooked before fast_kernels, so the hooked layer stays as it is.
            handle = module.register_forward_hook(hook)
            try:
                # Channels-last is safe here, unlike for input gradients: layers below
                # ``layer`` run forward only, and the map uses the layer's gradient only
                # through its spatial mean, which a different winner at a max-pool tie above
                # it leaves as is.  Not split over the cores (seqsal._runtime.sharding), which
                # is slower for this pass.
                with channels_last(model), fast_kernels(model):
                    for start in bar:
                        pieces.append(cam_rows(X[start : start + rows].to(dev)).cpu())
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

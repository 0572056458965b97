"""Faster, numerically identical kernels swapped in while an attribution runs.

Sequence CNNs pool without overlap (``nn.MaxPool1d`` with kernel == stride), usually right
after a ReLU.  PyTorch's CPU ``max_pool1d`` runs a generic 2-D kernel, the ReLU runs on the
full-length tensor forward and backward, and the pool's backward is a generic 2-D kernel
too.  :func:`fast_kernels` replaces, for the duration of a block:

- an eligible ``nn.MaxPool1d`` by a reshape + ``max(dim=-1)`` with its own backward (one
  scatter of the output gradient to the saved argmax, no padding copy);
- a ``nn.ReLU`` directly followed by such a pool inside an ``nn.Sequential`` by the identity,
  the pool then applying the ReLU after the max (``max(relu(x)) == relu(max(x))``, with the
  same argmax and zero gradient wherever the ReLU is off), so the ReLU runs on the pooled
  tensor only.

Image CNNs on a CPU pool 2 x 2 (``nn.MaxPool2d(2)``), where PyTorch's NCHW kernel branches on
every value: an eligible ``nn.MaxPool2d`` (and the ``nn.ReLU`` right before it) is replaced
in the same way by the branch-free numba kernels of ``seqsal.attribution._pool2d_kernels``
(several times faster; docs/benchmarks.md has the timings).  An input that is not a
contiguous float32 CPU tensor with even height and width, or that holds a NaN or an
infinity, goes through PyTorch's own modules; so do the first 33 million values a process
pools, before numba is imported (``_NUMBA_AFTER_VALUES``).

Values, argmax on ties (the first maximum) and gradients are identical to the unpatched model;
modules with hooks are never touched.  Everything is restored in ``finally``.

Forward-only passes (perturbations) and Grad-CAM of image models on a CPU run in the
channels-last memory layout (:func:`channels_last`): oneDNN's 2-D convolutions and PyTorch's
2-D max pool are faster on NHWC data.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn


@functools.cache
def _pool_function() -> Any:
    import torch

    class PoolMax(torch.autograd.Function):
        """Non-overlapping max pooling over the last axis, optionally followed by a ReLU."""

        @staticmethod
        def forward(ctx: Any, x: torch.Tensor, kernel: int, relu: bool) -> torch.Tensor:
            length = (x.shape[-1] // kernel) * kernel
            values, index = x[..., :length].unflatten(-1, (length // kernel, kernel)).max(dim=-1)
            if relu:
                values = values.clamp_min(0)
            ctx.save_for_backward(index, values if relu else None)
            ctx.kernel, ctx.relu, ctx.length = kernel, relu, x.shape[-1]
            return values

        @staticmethod
        def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
            index, values = ctx.saved_tensors
            if ctx.relu:
                grad = grad * (values > 0)
            kernel, pooled = ctx.kernel, index.shape[-1]
            grad_x = grad.new_zeros((*grad.shape[:-1], ctx.length))
            windows = grad_x[..., : pooled * kernel].unflatten(-1, (pooled, kernel))  # a view
            windows.scatter_(-1, index.unsqueeze(-1), grad.unsqueeze(-1))
            return grad_x, None, None

    return PoolMax


#: Values a process pools with PyTorch's kernel before the 2-D pools import numba (once per
#: process, kernels cached on disk; PyTorch pools this many values in about the time the
#: import takes): a few images are done before the import would pay for itself.  Once numba is loaded every
#: eligible pool uses the kernels.  The results are the same either way.
_NUMBA_AFTER_VALUES = 1 << 25
_POOL2D_MODULE = "seqsal.attribution._pool2d_kernels"
_torch_pooled = [0]  # values pooled by PyTorch so far (approximate under threads)


@functools.cache
def _pool2d_function() -> Callable[[nn.Module, torch.Tensor, bool], torch.Tensor]:
    import sys

    import torch

    class PoolMax2d(torch.autograd.Function):
        """2 x 2 max pooling with stride 2 of an NCHW float32 CPU tensor with even height and
        width, optionally of its ReLU; PyTorch's kernels for a tensor that is not finite."""

        @staticmethod
        def forward(ctx: Any, x: torch.Tensor, relu: bool, ceil_mode: bool) -> torch.Tensor:
            from seqsal.attribution import _pool2d_kernels

            n, c, h, w = x.shape
            rows = n * c * h // 2
            out = x.new_empty((n, c, h // 2, w // 2))
            code = torch.empty(out.shape, dtype=torch.uint8)
            odd = _pool2d_kernels.pool2_forward(
                x.detach().numpy().reshape(rows, 2, w),
                relu,
                out.numpy().reshape(rows, w // 2),
                code.numpy().reshape(rows, w // 2),
            )
            ctx.relu, ctx.ceil_mode, ctx.shape = relu, ceil_mode, x.shape
            ctx.finite = not odd
            if odd:  # PyTorch's own rule for NaN (the last NaN wins) and its gradient
                source = torch.relu(x) if relu else x
                out, index = torch.ops.aten.max_pool2d_with_indices(
                    source, [2, 2], [2, 2], [0, 0], [1, 1], ceil_mode
                )
                ctx.save_for_backward(source, index)
            else:
                ctx.save_for_backward(code)
            return out

        @staticmethod
        def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
            if not ctx.finite:
                source, index = ctx.saved_tensors
                grad_x = torch.ops.aten.max_pool2d_with_indices_backward(
                    grad, source, [2, 2], [2, 2], [0, 0], [1, 1], ctx.ceil_mode, index
                )
                if ctx.relu:
                    grad_x = torch.ops.aten.threshold_backward(grad_x, source, 0)
                return grad_x, None, None
            from seqsal.attribution import _pool2d_kernels

            (code,) = ctx.saved_tensors
            n, c, h, w = ctx.shape
            rows = n * c * h // 2
            grad = grad.contiguous()
            grad_x = grad.new_empty(ctx.shape)
            _pool2d_kernels.pool2_backward(
                grad.numpy().reshape(rows, w // 2).view("int32"),
                code.numpy().reshape(rows, w // 2),
                grad_x.numpy().reshape(rows, 2, w).view("int32"),
            )
            return grad_x, None, None

    def pool(module: nn.Module, x: torch.Tensor, relu: bool) -> torch.Tensor:
        if (
            x.ndim == 4
            and x.dtype == torch.float32
            and x.device.type == "cpu"
            and x.is_contiguous()
            and x.shape[2] % 2 == 0
            and x.shape[3] % 2 == 0
            and x.numel()
        ):
            if _POOL2D_MODULE in sys.modules or _torch_pooled[0] >= _NUMBA_AFTER_VALUES:
                return PoolMax2d.apply(x, relu, module.ceil_mode)
            _torch_pooled[0] += x.numel()
        return type(module).forward(module, torch.relu(x) if relu else x)

    return pool


def _kernel2d(module: nn.Module) -> bool:
    """True for an ``nn.MaxPool2d`` with 2 x 2 windows, stride 2, no padding or dilation."""
    from torch import nn

    if type(module) is not nn.MaxPool2d or _busy(module) or module.return_indices:
        return False

    def pair(value: Any) -> tuple[Any, ...]:
        return tuple(value) if isinstance(value, (tuple, list)) else (value, value)

    stride = module.kernel_size if module.stride is None else module.stride
    return (
        pair(module.kernel_size) == (2, 2)
        and pair(stride) == (2, 2)
        and pair(module.padding) == (0, 0)
        and pair(module.dilation) == (1, 1)
    )


def _kernel(module: nn.Module) -> int | None:
    """The pool size of an eligible ``nn.MaxPool1d`` (kernel == stride, plain), else None."""
    from torch import nn

    if type(module) is not nn.MaxPool1d or _busy(module):
        return None

    def single(value: Any) -> int | None:
        if isinstance(value, int):
            return value
        return value[0] if len(value) == 1 else None

    kernel = single(module.kernel_size)
    stride = kernel if module.stride is None else single(module.stride)
    plain = single(module.padding) == 0 and single(module.dilation) == 1
    if kernel is None or stride != kernel or not plain or module.ceil_mode or module.return_indices:
        return None
    return kernel


def _busy(module: nn.Module) -> bool:
    """True when patching would be visible: hooks, or a forward already replaced."""
    return bool(
        "forward" in module.__dict__
        or module._forward_hooks
        or module._forward_pre_hooks
        or module._backward_hooks
        or getattr(module, "_backward_pre_hooks", None)
    )


@functools.cache
def _layout_function() -> Any:
    import torch

    class ToChannelsLast(torch.autograd.Function):
        """NCHW -> channels-last copy whose backward hands back a plain contiguous gradient."""

        @staticmethod
        def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
            return x.contiguous(memory_format=torch.channels_last)

        @staticmethod
        def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
            return grad.contiguous()

    return ToChannelsLast


#: Models currently inside :func:`channels_last` (a nested use leaves the layout as it is).
_CHANNELS_LAST: weakref.WeakSet[nn.Module] = weakref.WeakSet()


def in_channels_last(model: nn.Module) -> bool:
    """True while ``model`` runs inside :func:`channels_last` with the layout switched on."""
    return model in _CHANNELS_LAST


@contextlib.contextmanager
def channels_last(model: nn.Module) -> Iterator[bool]:
    """Run an image model (any ``nn.Conv2d``, every parameter on the CPU) channels-last inside
    the block: 4-D parameters and buffers are swapped for channels-last copies, and a forward
    pre-hook converts a 4-D input (gradients come back in the usual layout).  Restored, to the
    very tensors, in ``finally``.  Other models, ScriptModules and accelerators are untouched.

    Used for forward-only passes (occlusion, deletion/insertion: 0.88 -> 1.16 of the
    default-layout floor on the zoo image CNN) and for Grad-CAM, whose map depends on the
    layer's gradient only through its spatial mean.  Outputs agree with the default layout
    to float rounding, but that rounding depends on the batch size in NHWC, and a gradient
    pass turns it into a different winner at exact max-pool ties (flat image regions):
    saliency of one image alone and in a batch of six differed by 8e-5 at tied pixels.  Input
    gradients therefore keep the default layout, where a map does not depend on the batch.

    Yields True when the layout was switched.
    """
    import torch
    from torch import nn

    eligible = (
        not isinstance(model, torch.jit.ScriptModule)
        and any(type(m) is nn.Conv2d for m in model.modules())
        and all(p.device.type == "cpu" for p in model.parameters())
    )
    if not eligible or model in _CHANNELS_LAST:
        yield False
        return
    swapped: list[tuple[torch.Tensor, torch.Tensor]] = []
    handle = None
    to_nhwc = _layout_function()

    def pre_hook(module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if args and isinstance(args[0], torch.Tensor) and args[0].ndim == 4:
            return (to_nhwc.apply(args[0]), *args[1:])
        return None

    try:
        for tensor in itertools.chain(model.parameters(), model.buffers()):
            if tensor.ndim == 4 and tensor.is_contiguous():
                swapped.append((tensor, tensor.data))
                tensor.data = tensor.data.contiguous(memory_format=torch.channels_last)
        handle = model.register_forward_pre_hook(pre_hook)
        _CHANNELS_LAST.add(model)
        yield True
    finally:
        _CHANNELS_LAST.discard(model)
        if handle is not None:
            handle.remove()
        for tensor, data in swapped:
            tensor.data = data


@contextlib.contextmanager
def fast_kernels(model: nn.Module) -> Iterator[int]:
    """Patch eligible pools (and the ReLUs right before them) of ``model`` inside the block.

    Yields the number of patched modules.  (Gradient passes keep the default memory layout:
    see :func:`channels_last` for why.)
    """
    import torch
    from torch import nn

    patched: list[nn.Module] = []
    try:
        if not isinstance(model, torch.jit.ScriptModule):
            kinds = {type(m) for m in model.modules()}
            replacements: dict[nn.Module, Callable[..., torch.Tensor]] = {}  # (x, relu)
            if nn.MaxPool1d in kinds:
                pool = _pool_function()
                for module in model.modules():
                    kernel = _kernel(module)
                    if kernel is not None:
                        replacements[module] = lambda x, relu, k=kernel: pool.apply(x, k, relu)
            if nn.MaxPool2d in kinds and all(p.device.type == "cpu" for p in model.parameters()):
                pool2d = _pool2d_function()
                for module in model.modules():
                    if _kernel2d(module):
                        replacements[module] = functools.partial(pool2d, module)
            if replacements:
                fused: set[nn.Module] = set()
                uses = Counter(id(m) for _, m in model.named_modules(remove_duplicate=False))
                for container in model.modules():
                    if not isinstance(container, nn.Sequential):
                        continue
                    for before, after in itertools.pairwise(container.children()):
                        if (
                            after in replacements
                            and type(before) is nn.ReLU
                            and not _busy(before)
                            and uses[id(before)] == 1
                            and uses[id(after)] == 1
                        ):
                            before.forward = lambda x: x  # type: ignore[method-assign,assignment]
                            after.forward = functools.partial(replacements[after], relu=True)
                            patched += [before, after]
                            fused.add(after)
                for module, forward in replacements.items():
                    if module not in fused:
                        module.forward = functools.partial(forward, relu=False)
                        patched.append(module)
        yield len(patched)
    finally:
        for module in patched:
            module.__dict__.pop("forward", None)

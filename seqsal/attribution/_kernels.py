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

Values, argmax on ties (the first maximum) and gradients are identical to the unpatched model;
modules with hooks are never touched.  Everything is restored in ``finally``.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from collections import Counter


@functools.cache
def _pool_function():
    import torch

    class PoolMax(torch.autograd.Function):
        """Non-overlapping max pooling over the last axis, optionally followed by a ReLU."""

        @staticmethod
        def forward(ctx, x, kernel, relu):
            length = (x.shape[-1] // kernel) * kernel
            values, index = x[..., :length].unflatten(-1, (length // kernel, kernel)).max(dim=-1)
            if relu:
                values = values.clamp_min(0)
            ctx.save_for_backward(index, values if relu else None)
            ctx.kernel, ctx.relu, ctx.length = kernel, relu, x.shape[-1]
            return values

        @staticmethod
        def backward(ctx, grad):
            index, values = ctx.saved_tensors
            if ctx.relu:
                grad = grad * (values > 0)
            kernel, pooled = ctx.kernel, index.shape[-1]
            grad_x = grad.new_zeros((*grad.shape[:-1], ctx.length))
            windows = grad_x[..., : pooled * kernel].unflatten(-1, (pooled, kernel))  # a view
            windows.scatter_(-1, index.unsqueeze(-1), grad.unsqueeze(-1))
            return grad_x, None, None

    return PoolMax


def _kernel(module):
    """The pool size of an eligible ``nn.MaxPool1d`` (kernel == stride, plain), else None."""
    from torch import nn

    if type(module) is not nn.MaxPool1d or _busy(module):
        return None

    def single(value):
        if isinstance(value, int):
            return value
        return value[0] if len(value) == 1 else None

    kernel = single(module.kernel_size)
    stride = kernel if module.stride is None else single(module.stride)
    plain = single(module.padding) == 0 and single(module.dilation) == 1
    if kernel is None or stride != kernel or not plain or module.ceil_mode or module.return_indices:
        return None
    return kernel


def _busy(module) -> bool:
    """True when patching would be visible: hooks, or a forward already replaced."""
    return bool(
        "forward" in module.__dict__
        or module._forward_hooks
        or module._forward_pre_hooks
        or module._backward_hooks
        or getattr(module, "_backward_pre_hooks", None)
    )


@contextlib.contextmanager
def fast_kernels(model):
    """Patch eligible pools (and the ReLUs right before them) of ``model`` inside the block.

    Yields the number of patched modules.
    """
    import torch
    from torch import nn

    patched = []
    try:
        if not isinstance(model, torch.jit.ScriptModule):
            pool = _pool_function()
            fused = set()
            uses = Counter(id(m) for _, m in model.named_modules(remove_duplicate=False))
            for container in model.modules():
                if not isinstance(container, nn.Sequential):
                    continue
                children = list(container.children())
                for before, after in itertools.pairwise(children):
                    kernel = _kernel(after)
                    if (
                        kernel is not None
                        and type(before) is nn.ReLU
                        and not _busy(before)
                        and uses[id(before)] == 1
                        and uses[id(after)] == 1
                    ):
                        before.forward = lambda x: x
                        after.forward = lambda x, k=kernel: pool.apply(x, k, True)
                        patched += [before, after]
                        fused.add(id(after))
            for module in model.modules():
                kernel = _kernel(module)
                if kernel is not None and id(module) not in fused:
                    module.forward = lambda x, k=kernel: pool.apply(x, k, False)
                    patched.append(module)
        yield len(patched)
    finally:
        for module in patched:
            module.__dict__.pop("forward", None)

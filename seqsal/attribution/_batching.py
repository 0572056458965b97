"""Inputs in, rows per model call out: the memory budget shared by every attribution method.

Every method flattens its work into *rows*: one row is one input-shaped tensor that goes
through the model (an example, an interpolation step of an example, a noisy copy, a
perturbed copy).  ``batch_size`` is the number of rows per model call.  When it is None, it
is chosen so that a forward and backward pass of that many rows fits in ``max_memory`` bytes,
using the activation sizes measured on one row (forward hooks on every leaf module).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from seqsal._runtime import check_positive_int
from seqsal.errors import InputError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from seqsal.attribution._types import Inputs

log = logging.getLogger(__name__)

#: Default memory budget for one model call (bytes) on a CPU: 64 MiB.  CPU throughput peaks with
#: batches that stay in cache (on the zoo CNN, tens of rows beat hundreds), and the per-call
#: Python overhead is already small at that size.
DEFAULT_MAX_MEMORY_CPU = 64 * 2**20

#: Default memory budget on an accelerator: 1 GiB; large batches keep a GPU busy.
DEFAULT_MAX_MEMORY_ACCELERATOR = 2**30

#: A backward pass keeps each activation and produces a gradient of the same size; temporaries
#: double that.  Bytes per row = FACTOR * (input + all leaf-module outputs).
ACTIVATION_FACTOR = 4

#: Rows per call never exceed this: beyond it CPU caches, not Python overhead, dominate.
MAX_ROWS = 4096


def as_input(X: Inputs, name: str = "X") -> torch.Tensor:
    """Return ``X`` as a float32 CPU torch tensor with a leading example axis.

    Parameters
    ----------
    X : numpy.ndarray or torch.Tensor, shape (n, ...)
    """
    import torch

    if isinstance(X, np.ndarray):
        X = torch.from_numpy(np.ascontiguousarray(X))
    if not isinstance(X, torch.Tensor):
        raise InputError(
            f"{name} has type {type(X).__name__}; expected a numpy array or torch tensor of shape (n, ...)"
        )
    if X.ndim < 1 or X.shape[0] == 0:
        raise InputError(f"{name} has shape {tuple(X.shape)}; expected (n, ...) with n >= 1")
    if not (
        X.is_floating_point()
        or X.dtype in (torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)
    ):
        raise InputError(f"{name} has dtype {X.dtype}; expected a real-valued array")
    return X.detach().to(device="cpu", dtype=torch.float32)


def row_bytes(model: nn.Module, row: torch.Tensor) -> int:
    """Estimate the bytes one row needs in a forward + backward pass of ``model``.

    Runs ``model`` once on ``row`` (shape ``(1, ...)``) without gradients and adds up the sizes
    of all leaf-module outputs.  Models that refuse hooks (TorchScript) fall back to a
    multiple of the input size.
    """
    import torch

    sizes: list[int] = []

    def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
        if isinstance(output, torch.Tensor):
            sizes.append(output.numel() * output.element_size())

    handles = []
    try:
        for module in model.modules():
            if not list(module.children()):
                handles.append(module.register_forward_hook(hook))
        with torch.no_grad():
            model(row)
    except (RuntimeError, AttributeError, TypeError) as err:
        log.debug("could not measure activations (%s); assuming 64x the input size", err)
        sizes = [63 * row.numel() * row.element_size()]
    finally:
        for handle in handles:
            handle.remove()
    total = row.numel() * row.element_size() + sum(sizes)
    return int(ACTIVATION_FACTOR * total)


def rows_per_call(
    model: nn.Module,
    row: torch.Tensor,
    *,
    batch_size: int | None = None,
    max_memory: int | None = None,
    n: int | None = None,
) -> int:
    """Rows per model call: ``batch_size`` if given, else what ``max_memory`` allows.

    ``max_memory`` defaults to 64 MiB on a CPU and 1 GiB on an accelerator (the device of
    ``row``); at most ``MAX_ROWS`` rows.  With ``n`` (rows to process), the budgeted size is
    evened out over the calls it needs (128 rows at 61 per call run as 43 + 43 + 42, not
    61 + 61 + 6); results never depend on it.
    """
    if batch_size is not None:
        return check_positive_int(batch_size, "batch_size")
    if max_memory is None:
        max_memory = (
            DEFAULT_MAX_MEMORY_CPU if row.device.type == "cpu" else DEFAULT_MAX_MEMORY_ACCELERATOR
        )
    max_memory = check_positive_int(max_memory, "max_memory")
    per_row = max(1, row_bytes(model, row))
    rows = int(min(MAX_ROWS, max(1, max_memory // per_row)))
    if n is not None and n > 0:
        calls = -(-int(n) // rows)
        rows = -(-int(n) // calls)
    log.debug(
        "batch_size=None: %d rows per call (%d bytes per row, max_memory=%d)",
        rows,
        per_row,
        max_memory,
    )
    return rows

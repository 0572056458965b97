"""Types of the shared attribution signature ``f(model, X, *, target, batch_size, device, ...)``.

Names for type checkers and readers only: torch is imported for type checking, never at run
time here (importing :mod:`seqsal.attribution` does not import torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    import numpy as np
    import torch

#: Inputs ``X``: a numpy array or a torch tensor of shape ``(n, ...)`` (DNA ``(n, 4, L)``,
#: images ``(n, C, H, W)``), real-valued; converted to float32 on the CPU.
Inputs: TypeAlias = "np.ndarray | torch.Tensor"

#: Where a model runs: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, a ``torch.device``, or None for
#: the device the model's parameters are on.
Device: TypeAlias = "str | torch.device | None"

"""Baselines (references) for path methods such as Integrated Gradients.

Every form the user can give is turned into one tensor of shape ``(n, k, ...)``: ``k``
references per example.  Attributions are averaged over the ``k`` references (expected
gradients with a fixed path), as DeepLIFT/SHAP-style references are used for DNA models.
"""

from __future__ import annotations

import numpy as np

from seqsal.errors import InputError


def resolve_baseline(baseline, X):
    """Return the references for ``X`` as a float32 CPU tensor of shape ``(n, k, ...)``.

    Parameters
    ----------
    baseline : "zeros", float, array or callable
        ``"zeros"`` (k = 1); a number (a constant input, k = 1); an array broadcastable to
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
        if baseline != "zeros":
            raise InputError(
                f"baseline={baseline!r}; expected 'zeros', a number, an array or a callable"
            )
        return torch.zeros(()).expand(shape[0], 1, *shape[1:])
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


def _as_references(value, shape, name):
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

"""Target resolution: which scalar per example an attribution explains.

A target turns the model's output ``(m, ...)`` into one value per row ``(m,)``.  It can be an
output index, an output name, a callable reducing the output (e.g. the sum of a predicted
profile), or a list of several of these.  A list gives every attribution a leading target
axis: ``(n_targets, n, ...)``; a single target gives the input's shape ``(n, ...)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from seqsal.errors import InputError

if TYPE_CHECKING:
    import torch
    from torch import nn

log = logging.getLogger(__name__)

#: One target: an output index, an output name, a callable reducing the output
#: ``(m, ...) -> (m,)``, or None (a model returning ``(n,)`` or ``(n, 1)``).
SingleTarget: TypeAlias = "int | str | Callable[[torch.Tensor], torch.Tensor] | None"

#: What ``target=`` accepts: one target, or a list of them (a leading target axis).
TargetLike: TypeAlias = "SingleTarget | Sequence[SingleTarget]"


@dataclass(frozen=True)
class Targets:
    """Resolved targets.

    Attributes
    ----------
    selectors : tuple
        One entry per target: an int (output column), None (the whole output of a model
        returning ``(n,)``) or a callable ``f(output) -> (m,)``.
    labels : tuple of str
        A printable name per target, for provenance and error messages.
    stacked : bool
        True when the user passed a list: results carry a leading target axis.
    """

    selectors: tuple[Any, ...]
    labels: tuple[str, ...]
    stacked: bool

    @property
    def n_targets(self) -> int:
        return len(self.selectors)

    def select(self, output: torch.Tensor, k: int) -> torch.Tensor:
        """Return target ``k`` of ``output`` as a ``(m,)`` tensor, or raise InputError."""
        return _select(output, self.selectors[k], self.labels[k])

    def select_all(self, output: torch.Tensor) -> torch.Tensor:
        """Return a ``(n_targets, m)`` tensor with every target of ``output``."""
        import torch

        return torch.stack([self.select(output, k) for k in range(self.n_targets)])

    def unstack(self, result: torch.Tensor) -> torch.Tensor:
        """Drop the leading target axis of ``result`` when a single target was asked for."""
        return result if self.stacked else result[0]


def resolve_targets(
    target: TargetLike,
    *,
    model: nn.Module | None = None,
    target_names: Sequence[str] | None = None,
) -> Targets:
    """Resolve ``target`` into a :class:`Targets`.

    Parameters
    ----------
    target : int, str, callable, None or list of these
        An output index; an output name (looked up in ``target_names``, else in the model's
        ``targets`` or ``target_names`` attribute); a callable ``f(output) -> (m,)``; None for
        a model returning ``(n,)`` or ``(n, 1)``; or a list of several (leading target axis).
    model : torch.nn.Module, optional
        Consulted for a ``targets`` / ``target_names`` attribute when a name is given.
    target_names : sequence of str, optional
        Output names, in output order.
    """
    stacked = isinstance(target, (list, tuple))
    items = list(target) if isinstance(target, (list, tuple)) else [target]
    if stacked and not items:
        raise InputError("target=[] is empty; give at least one output index, name or callable")
    names = _names(model, target_names)
    selectors, labels = [], []
    for item in items:
        selector, label = _resolve_one(item, names)
        selectors.append(selector)
        labels.append(label)
    return Targets(tuple(selectors), tuple(labels), stacked)


def _names(model: nn.Module | None, target_names: Sequence[str] | None) -> list[str] | None:
    if target_names is not None:
        return [str(name) for name in target_names]
    for attribute in ("targets", "target_names"):
        value = getattr(model, attribute, None)
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return list(value)
    return None


def _resolve_one(item: Any, names: list[str] | None) -> tuple[Any, str]:
    if isinstance(item, bool):
        raise InputError(f"target={item!r}; expected an output index, a name or a callable")
    if item is None:
        return None, "output"
    if isinstance(item, (int, np.integer)):
        if item < 0:
            raise InputError(f"target={int(item)}; output indices must be >= 0")
        label = names[int(item)] if names is not None and int(item) < len(names) else str(int(item))
        return int(item), label
    if isinstance(item, str):
        if names is None:
            raise InputError(
                f"target={item!r} is a name but no output names are known; pass "
                "target_names=[...] or an integer index"
            )
        if item not in names:
            raise InputError(f"target={item!r} is not an output name; known names: {names}")
        return names.index(item), item
    if callable(item):
        return item, getattr(item, "__name__", "callable")
    raise InputError(
        f"target={item!r} (type {type(item).__name__}); expected an int, a str, a callable or a list"
    )


def _select(output: torch.Tensor, selector: Any, label: str) -> torch.Tensor:
    if callable(selector) and not isinstance(selector, int):
        value = selector(output)
        if not hasattr(value, "shape") or tuple(value.shape) != (output.shape[0],):
            shape = tuple(getattr(value, "shape", ()))
            raise InputError(
                f"target callable {label!r} returned shape {shape}; it must reduce the model "
                f"output {tuple(output.shape)} to one value per example, shape ({output.shape[0]},)"
            )
        return value
    if output.ndim == 1:
        if selector in (None, 0):
            return output
        raise InputError(
            f"target={selector}; the model returns shape {tuple(output.shape)}, so only target=0 exists"
        )
    if output.ndim == 2:
        if selector is None:
            if output.shape[1] != 1:
                raise InputError(
                    f"target=None needs a single-output model; this one returns shape "
                    f"{tuple(output.shape)}: pass an index in [0, {output.shape[1] - 1}]"
                )
            return output[:, 0]
        if selector >= output.shape[1]:
            raise InputError(
                f"target={selector} is out of range: the model returns {output.shape[1]} outputs "
                f"(shape {tuple(output.shape)}); valid indices are 0..{output.shape[1] - 1}"
            )
        return output[:, selector]
    raise InputError(
        f"target={label!r}: the model returns shape {tuple(output.shape)}, which an index cannot "
        "reduce to one value per example; pass a callable, e.g. target=lambda out: out.sum(dim=(1, 2))"
    )

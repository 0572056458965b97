"""Target resolution: which scalar per example an attribution explains.

A target turns the model's output into one value per row ``(m,)``.  The output may be one
tensor ``(m,)``, ``(m, T)`` or ``(m, C, L')``, or several of them ("heads"): a tuple or list
(heads by index), a dict or a namedtuple (heads by name).  A target is an output index, an
output name, a :class:`Target` (head, channel, reduction over positions, position range), a
callable reducing the raw output (whatever its type), or a list of several of these.  A list
gives every attribution a leading target axis: ``(n_targets, n, ...)``; a single target gives
the input's shape ``(n, ...)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from seqsal._runtime import describe_heads, head_shape, output_heads
from seqsal.errors import InputError

if TYPE_CHECKING:
    import torch
    from torch import nn

log = logging.getLogger(__name__)

#: Reductions of a head with a position axis ``(m, C, L')`` to one value per row.
REDUCTIONS = ("sum", "mean", "profile")


@dataclass(frozen=True)
class Target:
    """One scalar per example, chosen among the model's heads, channels and positions.

    Parameters
    ----------
    output : int, str or None, default None
        The head: an index into a tuple/list output, a key of a dict output, a field name (or
        index) of a namedtuple output.  None: the only head (a model returning one tensor, or
        a one-element tuple); with several heads it is an error listing them.
    channel : int, str or None, default None
        Index (or name, from the model's ``targets``) along the head's channel axis (dim 1).
        None: a head ``(m,)`` or ``(m, 1)`` as it is; with ``reduce``, every channel of a
        ``(m, C, L')`` head (summed, averaged, or flattened with the positions for
        ``"profile"``).
    reduce : {"sum", "mean", "profile"} or None, default None
        Needed for a head with a position axis ``(m, C, L')``: ``"sum"`` / ``"mean"`` over the
        positions (and the channels when ``channel`` is None); ``"profile"``: the BPNet /
        ChromBPNet profile explanation ``sum_j (z_j - mean(z)) * stopgrad(softmax(z)_j)`` over
        the logits ``z`` of the chosen channel's positions (all channels x positions,
        flattened, when ``channel`` is None).  See docs/attribution.md.  An error on a head
        without a position axis.
    positions : (int, int) or None, default None
        ``(start, end)``, half-open, in the head's own position coordinates: only these
        positions enter the reduction.  None: all of them.

    Notes
    -----
    ``Target(channel=k)`` selects exactly what the plain index ``k`` selects; plain ints,
    names, callables and lists keep working wherever ``target=`` is accepted.
    """

    output: int | str | None = None
    channel: int | str | None = None
    reduce: str | None = None
    positions: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        for name in ("output", "channel"):
            value = getattr(self, name)
            if value is None or isinstance(value, str):
                continue
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise InputError(f"Target {name}={value!r}; expected an index >= 0, a name or None")
            object.__setattr__(self, name, int(value))
        if self.reduce is not None and self.reduce not in REDUCTIONS:
            raise InputError(
                f"Target reduce={self.reduce!r}; expected one of {list(REDUCTIONS)} or None"
            )
        if self.positions is not None:
            pos = self.positions
            ok = (
                isinstance(pos, (tuple, list))
                and len(pos) == 2
                and all(isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in pos)
                and 0 <= pos[0] < pos[1]
            )
            if not ok:
                raise InputError(
                    f"Target positions={pos!r}; expected (start, end) with 0 <= start < end"
                )
            if self.reduce is None:
                raise InputError(
                    f"Target positions={tuple(pos)!r} without reduce; positions restrict a "
                    f"reduction: choose reduce from {list(REDUCTIONS)}"
                )
            object.__setattr__(self, "positions", (int(pos[0]), int(pos[1])))

    @property
    def label(self) -> str:
        """A printable name: head, channel, reduction and positions joined by dots."""
        parts = [] if self.output is None else [str(self.output)]
        if self.channel is not None:
            parts.append(str(self.channel))
        if self.reduce is not None:
            parts.append(self.reduce)
        if self.positions is not None:
            parts.append(f"{self.positions[0]}:{self.positions[1]}")
        return ".".join(parts) or "output"


#: One target: an output index, an output name, a :class:`Target`, a callable reducing the raw
#: output ``-> (m,)``, or None (a model returning ``(n,)`` or ``(n, 1)``).
SingleTarget: TypeAlias = "int | str | Target | Callable[[Any], torch.Tensor] | None"

#: What ``target=`` accepts: one target, or a list of them (a leading target axis).
TargetLike: TypeAlias = "SingleTarget | Sequence[SingleTarget]"


@dataclass(frozen=True)
class Targets:
    """Resolved targets.

    Attributes
    ----------
    selectors : tuple
        One entry per target: an int (output column), None (the whole output of a model
        returning ``(n,)``), a :class:`Target` or a callable ``f(output) -> (m,)``.
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

    def select(self, output: Any, k: int) -> torch.Tensor:
        """Return target ``k`` of ``output`` (a tensor or heads) as ``(m,)``, or raise InputError."""
        return _select(output, self.selectors[k], self.labels[k])

    def select_all(self, output: Any) -> torch.Tensor:
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
    target : int, str, Target, callable, None or list of these
        An output index; an output name (looked up in ``target_names``, else in the model's
        ``targets`` or ``target_names`` attribute); a :class:`Target` (head, channel,
        reduction, positions); a callable ``f(output) -> (m,)`` that receives the model's raw
        output (tensor, tuple, dict); None for a model returning ``(n,)`` or ``(n, 1)``; or a
        list of several (leading target axis).
    model : torch.nn.Module, optional
        Consulted for a ``targets`` / ``target_names`` attribute when a name is given.
    target_names : sequence of str, optional
        Output names, in output order (channel names of the chosen head).
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
    if isinstance(item, Target):
        if isinstance(item.channel, str):
            if names is None or item.channel not in names:
                known = "no channel names are known" if names is None else f"known: {names}"
                raise InputError(
                    f"target channel {item.channel!r} is not a channel name ({known}); "
                    "pass an integer index"
                )
            item = Target(item.output, names.index(item.channel), item.reduce, item.positions)
            return item, item.label if item.output is not None else str(names[item.channel])
        return item, item.label
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
        f"target={item!r} (type {type(item).__name__}); expected an int, a str, a Target, "
        "a callable or a list"
    )


# --------------------------------------------------------------------------------------------
# heads


def pick_head(output: Any, key: int | str | None) -> Any:
    """The head ``key`` of ``output`` (see :func:`output_heads`), or a one-line InputError."""
    import torch

    if isinstance(output, torch.Tensor) and key in (None, 0):
        return output
    heads = output_heads(output)
    if key is None:
        if len(heads) == 1:
            return heads[0][1]
        raise InputError(
            f"output=None but the model returns {len(heads)} heads: {describe_heads(output)}; "
            "choose one with --output (Target(output=...))"
        )
    keys = [k for k, _ in heads]
    if isinstance(output, tuple) and hasattr(output, "_fields") and isinstance(key, int):
        if key < len(heads):
            return heads[key][1]
    elif key in keys:
        return heads[keys.index(key)][1]
    raise InputError(
        f"output={key!r} is not a head of the model; it returns {len(heads)} head(s): "
        f"{describe_heads(output)}"
    )


def _n_rows(output: Any) -> int:
    return int(output_heads(output)[0][1].shape[0])


# --------------------------------------------------------------------------------------------
# selection


def _select(output: Any, selector: Any, label: str) -> torch.Tensor:
    if isinstance(selector, Target):
        return _select_target(output, selector)
    if callable(selector) and not isinstance(selector, int):
        value = selector(output)
        rows = _n_rows(output)
        if not hasattr(value, "shape") or tuple(value.shape) != (rows,):
            shape = tuple(getattr(value, "shape", ()))
            raise InputError(
                f"target callable {label!r} returned shape {shape}; it must reduce the model "
                f"output ({describe_heads(output)}) to one value per example, shape ({rows},)"
            )
        return value
    output = pick_head(output, None)
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
        f"target={label!r}: the model returns shape {tuple(output.shape)}, which has a position "
        f"axis; choose a reduction, reduce from {list(REDUCTIONS)} (Target(reduce=...), "
        "--reduce), or pass a callable"
    )


def _select_target(output: Any, target: Target) -> torch.Tensor:
    head = pick_head(output, target.output)
    where = "the model output" if target.output is None else f"head {target.output!r}"
    shape = head_shape(head)
    channel = target.channel
    if head.ndim <= 2:
        if target.reduce is not None:
            raise InputError(
                f"reduce={target.reduce!r} needs a head with a position axis (n, C, L'); "
                f"{where} has shape {shape}: leave reduce unset"
            )
        if head.ndim == 1:
            if channel in (None, 0):
                return head
            raise InputError(
                f"target={channel!r}: {where} has shape {shape}, so only target 0 exists"
            )
        if channel is None:
            if head.shape[1] != 1:
                raise InputError(
                    f"target=None but {where} has shape {shape}: choose a channel in "
                    f"0..{head.shape[1] - 1} with --target"
                )
            return head[:, 0]
        _check_channel(channel, head, where)
        return head[:, channel]
    if head.ndim != 3:
        raise InputError(
            f"{where} has shape {shape}; a target needs (n,), (n, C) or (n, C, L'): pass a callable"
        )
    if target.reduce is None:
        raise InputError(
            f"{where} has a position axis, shape {shape}: choose --reduce from "
            f"{list(REDUCTIONS)} (Target(reduce=...))"
        )
    length = int(head.shape[2])
    if target.positions is not None:
        start, end = target.positions
        if end > length:
            raise InputError(
                f"positions={start}:{end} lie outside {where}, whose position axis has "
                f"{length} positions (valid: 0 <= start < end <= {length})"
            )
        head = head[:, :, start:end]
    if channel is not None:
        _check_channel(channel, head, where)
        head = head[:, int(channel) : int(channel) + 1]
    z = head.reshape(head.shape[0], -1)
    if target.reduce == "sum":
        return z.sum(dim=1)
    if target.reduce == "mean":
        return z.mean(dim=1)
    return profile_reduce(z)


def _check_channel(channel: Any, head: Any, where: str) -> None:
    if not isinstance(channel, int) or channel >= head.shape[1]:
        raise InputError(
            f"target={channel!r} is out of range: {where} has {head.shape[1]} channel(s) "
            f"(shape {head_shape(head)}); valid indices are 0..{head.shape[1] - 1}"
        )


def profile_reduce(logits: torch.Tensor) -> torch.Tensor:
    """The profile explanation of profile logits, ``(m, P) -> (m,)``.

    ``sum_j (z_j - mean(z)) * w_j`` with ``w = softmax(z)`` detached from the graph: the
    value is bpnet-lite's ``ProfileWrapper`` output, the gradient treats the softmax weights
    as constants, as ChromBPNet's ``tf.stop_gradient`` does.
    """
    import torch

    centred = logits - logits.mean(dim=1, keepdim=True)
    weights = torch.softmax(logits, dim=1).detach()
    return (centred * weights).sum(dim=1)


def target_module(model: nn.Module, target: Any, target_names: Sequence[str] | None = None) -> Any:
    """``model`` narrowed to one target: a module returning the chosen scalar, shape ``(n,)``.

    For code written for a model ``(n, T)`` with an integer target (faithfulness curves, the
    randomisation test, window-by-window scans): ``target_module(model, Target(output=1))``
    with target 0 there is ``model`` with ``Target(output=1)``.  The wrapped model is the
    module ``inner`` of the result, so its parameters and layers are the model's own.

    Parameters
    ----------
    model : torch.nn.Module
    target : int, str, Target or callable
        One target, as :func:`resolve_targets` takes it.
    target_names : sequence of str, optional
        Channel names for a string target.
    """
    from torch import nn

    targets = resolve_targets(target, model=model, target_names=target_names)
    if targets.stacked:
        raise InputError(f"target={target!r}; target_module narrows a model to one target")

    class TargetModule(nn.Module):
        def __init__(self, inner: nn.Module):
            super().__init__()
            self.inner = inner

        def forward(self, x: Any) -> Any:
            return targets.select(self.inner(x), 0)

    return TargetModule(model)

"""Input layouts of DNA models: channels first ``(n, 4, L)`` and channels last ``(n, L, 4)``.

Every seqsal function gives a DNA model one-hot sequences as ``(n, 4, L)`` (``"NCL"``, the
PyTorch convention).  Models ported from Keras usually take ``(n, L, 4)`` (``"NLC"``).  Such a
model is loaded with ``layout="NLC"`` and wrapped in :class:`ChannelsLast`, whose forward
transposes ``(n, 4, L)`` to ``(n, L, 4)`` before calling it: the loaded model takes
``(n, 4, L)`` like every other, so attribution methods, stores and exports stay ``(n, 4, L)``
and an attribution is the same number for the same base whichever layout the model has.

The wrapper adds no layer of its own: its only submodule is the model (``model``), and
attribute look-ups it cannot answer go to the model, so ``wrapped.conv1`` (and Grad-CAM's
``layer="conv1"``) is the model's ``conv1``; :func:`~torch.nn.Module.named_modules` lists the
model's layers under ``model.``.  Genome scanning's trunk reuse applies to seqsal zoo models
only, so a wrapped model is scanned window by window.

A layout that contradicts the model is found on its first run: when the model fails on zeros
in the layout given but runs in the other one, the error names the layout and the model's first
layer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch
from torch import nn

from seqsal.errors import InputError, ModelError, first_line
from seqsal.models.files import LAYOUTS
from seqsal.models.probe import PROBE_LENGTHS

#: The layout of every seqsal input.
DEFAULT_LAYOUT = "NCL"


def check_layout(layout, name: str = "layout") -> str:
    """``layout`` if it is one of ``LAYOUTS`` (``"NCL"``, ``"NLC"``), else InputError naming
    ``name`` and the choices."""
    if layout not in LAYOUTS:
        raise InputError(f"{name}={layout!r}; expected one of {', '.join(LAYOUTS)}")
    return layout


class ChannelsLast(nn.Module):
    """A channels-last model ``(n, L, 4) -> out`` as a model ``(n, 4, L) -> out``.

    Parameters
    ----------
    model : nn.Module
        Takes ``(n, L, 4)``.  Its ``input_length``, ``targets`` and ``task`` attributes (and
        every other attribute and layer) are reachable through the wrapper.
    """

    layout = "NLC"

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor):
        """``model(x.transpose(1, 2))``: ``x`` is ``(n, 4, L)``."""
        return self.model(x.transpose(1, 2))

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            modules = self.__dict__.get("_modules") or {}
            if "model" not in modules:
                raise
            return getattr(modules["model"], name)


def apply_layout(module: nn.Module, layout: str) -> nn.Module:
    """``module`` as a model that takes ``(n, 4, L)``: wrapped in :class:`ChannelsLast` for
    ``"NLC"``, as it is for ``"NCL"``."""
    return ChannelsLast(module) if check_layout(layout) == "NLC" else module


def unwrap_layout(module: nn.Module) -> tuple[nn.Module, str]:
    """The model inside a :class:`ChannelsLast` and ``"NLC"``, or ``module`` and ``"NCL"``."""
    if isinstance(module, ChannelsLast):
        return module.model, "NLC"
    return module, DEFAULT_LAYOUT


def _runs(module: nn.Module, x: torch.Tensor) -> bool:
    with torch.no_grad():
        try:
            module(x)
        except Exception:  # any failure means this layout does not fit
            return False
    return True


def _first_layer(module: nn.Module, x: torch.Tensor) -> str:
    """``name (Layer(...))`` of the first layer ``module`` calls on ``x`` (its first leaf
    module in definition order when hooks cannot say)."""
    leaves = [(n, m) for n, m in module.named_modules() if n and not list(m.children())]
    called: list[tuple[str, nn.Module]] = []
    handles = []
    try:
        for name, leaf in leaves:
            handles.append(
                leaf.register_forward_pre_hook(
                    lambda m, args, name=name: called.append((name, m)) if not called else None
                )
            )
        _runs(module, x)
    except RuntimeError:  # TorchScript modules take no Python hooks
        pass
    finally:
        for handle in handles:
            handle.remove()
    first = called[0] if called else (leaves[0] if leaves else None)
    if first is None:
        return type(module).__name__
    return f"{first[0]} ({first_line(repr(first[1]))})"


def layout_mismatch(
    module: nn.Module, layout: str, lengths: Sequence[int], source: str
) -> ModelError | None:
    """The error to raise when ``module`` (unwrapped) fails in ``layout`` but runs in the other.

    Parameters
    ----------
    module : nn.Module
        The model as loaded, before :func:`apply_layout`.
    layout : {"NCL", "NLC"}
        The layout it was given.
    lengths : sequence of int
        Input lengths L to try (the model's, or the probe's).
    source : str
        Where the model came from, named in the message.

    Returns
    -------
    ModelError or None
        None when the other layout fails too (the layout is not what is wrong).
    """
    other = "NLC" if layout == "NCL" else "NCL"
    for length in lengths:
        x = torch.zeros(2, 4, int(length))
        given, flipped = (x, x.transpose(1, 2)) if layout == "NCL" else (x.transpose(1, 2), x)
        if _runs(module, flipped) and not _runs(module, given):
            shape = tuple(given.shape)
            return ModelError(
                f"{source}: layout {layout!r} contradicts the model: its first layer "
                f"{_first_layer(module, given)} fails on input {shape}, and the model runs on "
                f"layout {other!r} {tuple(flipped.shape)}; load it with layout={other!r} "
                f"(--layout {other})"
            )
    return None


@contextlib.contextmanager
def explain_layout(
    module: nn.Module, layout: str, input_length: int | None, source: str
) -> Iterator[None]:
    """Turn a ModelError raised in the block (the first run of the wrapped ``module``) into
    :func:`layout_mismatch`'s error when the other layout runs.

    ``input_length`` None tries :data:`seqsal.models.probe.PROBE_LENGTHS`.
    """
    try:
        yield
    except ModelError as err:
        lengths = PROBE_LENGTHS if input_length is None else (input_length,)
        mismatch = layout_mismatch(module, layout, lengths, source)
        if mismatch is None:
            raise
        raise mismatch from err


__all__ = [
    "DEFAULT_LAYOUT",
    "LAYOUTS",
    "ChannelsLast",
    "apply_layout",
    "check_layout",
    "explain_layout",
    "layout_mismatch",
    "unwrap_layout",
]

"""Run a model on zeros to learn what input it takes and what it returns.

:func:`probe` is how a loaded model is checked: DNA models on ``(2, 4, L)`` (trying several
lengths when nothing says which one), image models on ``(2, C, H, W)``.  :func:`output_matrix`
is the one place that says what a model's output must be, for the probe and for prediction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch
from torch import nn

from seqsal._runtime import model_on
from seqsal.errors import ModelError, first_line

PROBE_LENGTHS = (1000, 500, 300, 250, 200, 100)
"""Window lengths tried, longest first, when a DNA model says nothing about its input length."""


@dataclasses.dataclass(frozen=True)
class Probe:
    """What running a model on zeros showed.

    Attributes
    ----------
    input_length : int or None
        L of a DNA model: the length given, or the only probe length that worked; None for
        an image model, or a DNA model that accepts several lengths.
    input_shape : tuple of int
        One example's shape that worked, ``(4, L)`` or ``(C, H, W)``.
    n_outputs : int
        T, the number of outputs per example (1 for an ``(n,)`` output).
    """

    input_length: int | None
    input_shape: tuple[int, ...]
    n_outputs: int


def output_matrix(out, n: int, source: str = "") -> torch.Tensor:
    """A model's output for ``n`` inputs as an ``(n, T)`` tensor (an ``(n,)`` output -> T = 1).

    Raises
    ------
    ModelError
        Not a tensor, or not of shape ``(n, T)`` or ``(n,)``.
    """
    where = f"{source}: " if source else ""
    if not isinstance(out, torch.Tensor):
        raise ModelError(
            f"{where}model returned a {type(out).__name__}; expected a tensor of shape (n, T) or (n,)"
        )
    if out.ndim not in (1, 2) or out.shape[0] != n:
        raise ModelError(
            f"{where}model output has shape {tuple(out.shape)} for {n} inputs; expected (n, T) or (n,)"
        )
    return out[:, None] if out.ndim == 1 else out


def _run(module: nn.Module, shape: Sequence[int]):
    with torch.no_grad():
        try:
            return module(torch.zeros(2, *shape)), None
        except Exception as err:  # any failure of a user model on the probe is reported
            return None, err


def probe(
    module: nn.Module,
    *,
    source: str,
    input_length: int | None = None,
    input_shape: Sequence[int] | None = None,
) -> Probe:
    """Run ``module`` (on the CPU, eval mode, no gradients) on two all-zero examples.

    Parameters
    ----------
    module : nn.Module
    source : str
        Where the model came from, named in error messages.
    input_length : int, optional
        L of a DNA model: probe ``(2, 4, L)``.  When neither this nor ``input_shape`` is
        given, every length of :data:`PROBE_LENGTHS` is tried; a model that takes exactly one
        of them gets that length, one that takes several gets None.
    input_shape : sequence of int, optional
        One example's shape, e.g. ``(C, H, W)`` of an image model: probe ``(2, *input_shape)``.

    Returns
    -------
    Probe

    Raises
    ------
    ModelError
        The model fails on the input, or its output is not ``(2, T)`` or ``(2,)``.
    """
    with model_on(module, "cpu"):
        if input_shape is not None:
            shape = tuple(int(d) for d in input_shape)
            out, err = _run(module, shape)
            if out is None:
                raise ModelError(
                    f"{source}: model fails on input of shape (2, {', '.join(map(str, shape))}): "
                    f"{first_line(err)}"
                )
            input_length = None
        elif input_length is not None:
            shape = (4, int(input_length))
            out, err = _run(module, shape)
            if out is None:
                raise ModelError(
                    f"{source}: model fails on input of shape (2, 4, {input_length}): {first_line(err)}"
                )
        else:
            accepted = [
                (length, out)
                for length in PROBE_LENGTHS
                for out, _ in [_run(module, (4, length))]
                if out is not None
            ]
            if not accepted:
                raise ModelError(
                    f"{source}: model fails on inputs (2, 4, L) for L in {PROBE_LENGTHS}; give its input_length"
                )
            if len(accepted) == 1:
                input_length = accepted[0][0]
            shape = (4, accepted[-1][0])
            out = accepted[-1][1]
    matrix = output_matrix(out, 2, source)
    return Probe(input_length=input_length, input_shape=shape, n_outputs=int(matrix.shape[1]))


__all__ = ["PROBE_LENGTHS", "Probe", "output_matrix", "probe"]

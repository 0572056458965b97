"""Run a model on zeros to learn what input it takes and what it returns.

:func:`probe` is how a loaded model is checked: DNA models on ``(2, 4, L)`` (trying several
lengths when nothing says which one), image models on ``(2, C, H, W)``.  :func:`output_matrix`
is the one place that says what a model's output must be, for the probe and for prediction:
one tensor or several heads (a tuple, list, dict or namedtuple of tensors), each ``(n,)``,
``(n, T)`` or ``(n, C, L')``, flattened to one column per scalar target (a head with a
position axis: the sum over positions of each channel).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch
from torch import nn

from seqsal._runtime import describe_heads, model_on, output_heads
from seqsal.errors import InputError, ModelError, first_line

PROBE_LENGTHS = (1000, 500, 300, 250, 200, 100)
"""Window lengths tried, longest first, when a DNA model says nothing about its input length."""


@dataclasses.dataclass(frozen=True)
class Head:
    """One head of a model's output.

    Attributes
    ----------
    key : int, str or None
        How ``Target(output=...)`` and ``--output`` name it: an index of a tuple/list output, a
        key of a dict, a field of a namedtuple; None when the model returns one tensor.
    shape : tuple of int
        One example's shape: ``()`` for ``(n,)``, ``(T,)`` for ``(n, T)``, ``(C, L')`` for a
        head with a position axis.
    """

    key: int | str | None
    shape: tuple[int, ...]

    @property
    def name(self) -> str:
        """The head's name in column names and messages (``output`` for a single tensor)."""
        return "output" if self.key is None else str(self.key)

    @property
    def positional(self) -> bool:
        """True for a head ``(n, C, L')``: a target needs a reduction over positions."""
        return len(self.shape) == 2

    @property
    def n_channels(self) -> int:
        """Scalar channels: 1 for ``(n,)``, T for ``(n, T)``, C for ``(n, C, L')``."""
        return int(self.shape[0]) if self.shape else 1


def column_names(heads: Sequence[Head], channel_names: Sequence[str] | None = None) -> list[str]:
    """Names of the columns :func:`output_matrix` gives, in its order.

    A single tensor keeps one name per channel (``channel_names``, default ``target_0``, ...),
    with ``.sum`` appended for a head with a position axis.  Several heads: a head ``(n,)`` or
    ``(n, 1)`` is its name (``counts``, ``1``), a head ``(n, T)`` ``name.j``, a positional
    head ``name.c.sum`` per channel (``profile.0.sum``).
    """
    if len(heads) == 1 and heads[0].key is None:
        (head,) = heads
        names = list(channel_names or [f"target_{j}" for j in range(head.n_channels)])
        return [f"{n}.sum" for n in names] if head.positional else names
    names = []
    for head in heads:
        if head.positional:
            names.extend(f"{head.name}.{c}.sum" for c in range(head.n_channels))
        elif head.n_channels == 1:
            names.append(head.name)
        else:
            names.extend(f"{head.name}.{j}" for j in range(head.n_channels))
    return names


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
        Columns of :func:`output_matrix`: T for a model returning ``(n, T)`` (1 for ``(n,)``),
        the scalar targets of every head otherwise.
    heads : tuple of Head
        The output's heads, in order (one, key None, for a model returning one tensor).
    """

    input_length: int | None
    input_shape: tuple[int, ...]
    n_outputs: int
    heads: tuple[Head, ...] = ()


def output_heads_of(out, n: int, source: str = "") -> tuple[Head, ...]:
    """The heads of a model output for ``n`` inputs, checked.

    Raises
    ------
    ModelError
        Not a tensor or heads of tensors, or a head not ``(n,)``, ``(n, T)`` or ``(n, C, L')``.
    """
    where = f"{source}: " if source else ""
    try:
        items = output_heads(out)
    except InputError as err:
        raise ModelError(f"{where}{err}") from None
    heads = []
    for key, value in items:
        if value.ndim not in (1, 2, 3) or value.shape[0] != n:
            what = "model output" if key is None else f"head {key!r} of the model output"
            raise ModelError(
                f"{where}{what} has shape {tuple(value.shape)} for {n} inputs; expected (n,), "
                f"(n, T) or (n, C, L') (the model returns {describe_heads(out)})"
            )
        heads.append(Head(key, tuple(int(d) for d in value.shape[1:])))
    return tuple(heads)


def output_matrix(out, n: int, source: str = "") -> torch.Tensor:
    """A model's output for ``n`` inputs as an ``(n, K)`` tensor, one column per scalar target.

    A tensor ``(n, T)`` is itself (an ``(n,)`` output -> K = 1).  Several heads (a tuple,
    list, dict or namedtuple of tensors) are concatenated in output order, a head with a
    position axis ``(n, C, L')`` as the sum over positions of each channel; the columns are
    named by :func:`column_names`.

    Raises
    ------
    ModelError
        Not a tensor or heads of tensors, or a head not ``(n,)``, ``(n, T)`` or ``(n, C, L')``.
    """
    output_heads_of(out, n, source)
    columns = []
    for _, value in output_heads(out):
        if value.ndim == 3:
            value = value.sum(dim=2)
        columns.append(value[:, None] if value.ndim == 1 else value)
    return columns[0] if len(columns) == 1 else torch.cat(columns, dim=1)


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
        The model fails on the input, or its output is not a tensor or heads of tensors
        ``(2,)``, ``(2, T)`` or ``(2, C, L')``.
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
    return Probe(
        input_length=input_length,
        input_shape=shape,
        n_outputs=int(matrix.shape[1]),
        heads=output_heads_of(out, 2, source),
    )


__all__ = [
    "PROBE_LENGTHS",
    "Head",
    "Probe",
    "column_names",
    "output_heads_of",
    "output_matrix",
    "probe",
]

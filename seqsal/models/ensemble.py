"""Model ensembles: several models of one kind (e.g. one per cross-validation fold) as one.

ChromBPNet users train one model per fold and average over the folds.  :func:`load_ensemble`
loads every member through :func:`seqsal.models.load.load_model` with the same options,
checks that they agree (input length, heads and their per-example shapes, target names, DNA
or image) and returns an :class:`Ensemble`: a :class:`seqsal.models.load.LoadedModel` whose
module returns the mean of the members' outputs, head by head, so every command that scores
regions takes it as a model.

Attribution is different: :func:`seqsal.dna.attribute_dna` explains an ensemble by the mean
of its members' attributions, each member attributed with the same target, references and
seeds.  That is what averaging per-fold contribution files does, and it is not the
attribution of the mean output for every method (the profile target's softmax weights, ISM
of a nonlinear target and Grad-CAM all depend on the model's own output).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from seqsal.errors import InputError, ModelError
from seqsal.models.load import LoadedModel, load_model
from seqsal.models.probe import output_matrix

#: Separator of the members' checksums in an ensemble's ``checksum`` (and so in the store
#: attribute ``model_checksum``), and of their sources in ``source``.
CHECKSUM_SEPARATOR = ","
SOURCE_SEPARATOR = " | "


def mean_output(outputs: Sequence[Any]) -> Any:
    """The mean of several model outputs of one structure, head by head.

    Parameters
    ----------
    outputs : sequence
        One output per model: tensors, or tuples, lists, namedtuples or dicts of tensors,
        all with the same structure and shapes.

    Returns
    -------
    The same structure (a namedtuple stays that namedtuple), each tensor the elementwise mean.
    """
    first = outputs[0]
    if isinstance(first, torch.Tensor):
        return torch.stack(list(outputs)).mean(dim=0)
    if isinstance(first, Mapping):
        kind: Any = type(first)
        return kind({k: mean_output([o[k] for o in outputs]) for k in first})
    if isinstance(first, tuple) and hasattr(first, "_fields"):
        return type(first)(*(mean_output([o[i] for o in outputs]) for i in range(len(first))))
    if isinstance(first, (tuple, list)):
        return type(first)(mean_output([o[i] for o in outputs]) for i in range(len(first)))
    raise ModelError(f"cannot average model outputs of type {type(first).__name__}")


class MeanOutput(nn.Module):
    """``forward(x)``: the mean of the members' outputs on ``x`` (:func:`mean_output`).

    Parameters
    ----------
    members : sequence of nn.Module
        The members' modules, each taking ``(n, 4, L)``.
    """

    def __init__(self, members: Sequence[nn.Module]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x):
        return mean_output([member(x) for member in self.members])


class MemberColumns(nn.Module):
    """``forward(x)``: one ``(n, K * (m + 1))`` matrix, the mean's columns, then each member's.

    ``select(output) -> (n, K)`` picks the columns of one output (default
    :func:`seqsal.models.probe.output_matrix`); used by :func:`seqsal.models.predict.predict`
    to predict the mean and every member in one pass over the data.
    """

    def __init__(self, mean: nn.Module, select=None):
        super().__init__()
        if not isinstance(mean, MeanOutput):
            raise ModelError(
                f"MemberColumns needs an ensemble's MeanOutput, got {type(mean).__name__}"
            )
        self.mean = mean
        self.select = select

    def forward(self, x):
        outputs = [member(x) for member in self.mean.members]
        pick = self.select or (lambda out: output_matrix(out, x.shape[0]))
        return torch.cat([pick(mean_output(outputs))] + [pick(o) for o in outputs], dim=1)


@dataclasses.dataclass
class Ensemble(LoadedModel):
    """Several loaded models that agree, used as one (see :func:`load_ensemble`).

    The LoadedModel fields describe the ensemble: ``module`` is a :class:`MeanOutput`,
    ``input_length``, ``targets``, ``heads``, ``task``, ``layout`` and ``metadata`` are the
    first member's (the members agree on them), ``checksum`` is the members' checksums in
    order joined by ``","`` and ``source`` their sources joined by ``" | "``.

    Attributes
    ----------
    members : tuple of LoadedModel
        The members, in the order given.
    """

    members: tuple[LoadedModel, ...] = ()

    @property
    def checksums(self) -> list[str]:
        """Every member's checksum, in order."""
        return [m.checksum for m in self.members]

    @property
    def sources(self) -> list[str]:
        """Every member's source, in order."""
        return [m.source for m in self.members]


def member_columns(columns: Sequence[str], n_models: int) -> list[str]:
    """Names of every member's prediction columns: ``model{i}:{column}``, i from 0, member by
    member (the columns of :class:`MemberColumns` after the mean's)."""
    return [f"model{i}:{c}" for i in range(n_models) for c in columns]


def _kind(model: LoadedModel) -> str:
    return "image" if model.input_length is None and "input_shape" in model.metadata else "DNA"


def check_agree(models: Sequence[LoadedModel]) -> None:
    """Check that every model agrees with the first: kind, input length, heads, targets.

    Raises
    ------
    ModelError
        One line naming the two models and the two values.
    """
    first = models[0]
    checks = (
        ("kind", _kind),
        ("input length", lambda m: m.input_length),
        ("heads", lambda m: ", ".join(f"{h.name} {tuple(h.shape)}" for h in m.heads)),
        ("targets", lambda m: ", ".join(m.targets)),
    )
    for other in models[1:]:
        for what, value in checks:
            a, b = value(first), value(other)
            if a != b:
                raise ModelError(
                    f"ensemble models disagree on {what}: {first.source} has {a} but "
                    f"{other.source} has {b}; every model of an ensemble must take the same "
                    "input and give the same outputs"
                )
    if _kind(first) != "DNA":
        raise ModelError(f"{first.source}: an ensemble is for DNA models; got an image model")


def ensemble_of(models: Sequence[LoadedModel]) -> Ensemble:
    """An :class:`Ensemble` of loaded models (checked with :func:`check_agree`)."""
    models = list(models)
    if not models:
        raise InputError("an ensemble needs at least one model")
    check_agree(models)
    first = models[0]
    return Ensemble(
        module=MeanOutput([m.module for m in models]),
        input_length=first.input_length,
        targets=list(first.targets),
        task=first.task,
        metadata=dict(first.metadata),
        checksum=CHECKSUM_SEPARATOR.join(m.checksum for m in models),
        arch=first.arch,
        arch_kwargs=dict(first.arch_kwargs),
        source=SOURCE_SEPARATOR.join(m.source for m in models),
        heads=first.heads,
        layout=first.layout,
        members=tuple(models),
    )


def load_ensemble(
    specs: Sequence,
    *,
    state_dicts: Sequence[str | os.PathLike] | None = None,
    **kwargs: Any,
) -> Ensemble:
    """Load several models with the same options into one :class:`Ensemble`.

    Parameters
    ----------
    specs : sequence
        Anything :func:`seqsal.models.load.load_model` takes, one per member, in order (the
        order of ``checksum``, ``source`` and the ``model{i}:`` prediction columns).
    state_dicts : sequence of path, optional
        One state dict per member (for class specs), in the order of ``specs``.
    **kwargs
        Passed to every :func:`seqsal.models.load.load_model` call (``kwargs``,
        ``trust_pickle``, ``input_length``, ``layout``, ...).

    Returns
    -------
    Ensemble

    Raises
    ------
    InputError
        No specs, or a number of state dicts other than one per model.
    ModelError
        A member cannot be loaded, or the members disagree (:func:`check_agree`).
    """
    specs = list(specs)
    if not specs:
        raise InputError("an ensemble needs at least one model")
    if state_dicts is None:
        dicts: list = [None] * len(specs)
    else:
        dicts = list(state_dicts)
        if len(dicts) != len(specs):
            raise InputError(
                f"{len(dicts)} state dict(s) for {len(specs)} models; give one state dict per "
                "model, in the order of the models"
            )
    return ensemble_of(
        [load_model(spec, state_dict=sd, **kwargs) for spec, sd in zip(specs, dicts, strict=True)]
    )


__all__ = [
    "CHECKSUM_SEPARATOR",
    "SOURCE_SEPARATOR",
    "Ensemble",
    "MeanOutput",
    "MemberColumns",
    "check_agree",
    "ensemble_of",
    "load_ensemble",
    "mean_output",
    "member_columns",
]

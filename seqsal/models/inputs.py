"""The inputs a model's ``forward`` takes besides the sequence.

seqsal calls every model as ``model(X)``: one tensor, the one-hot sequences ``(n, 4, L)`` (or
an image batch).  Models from elsewhere often take more: bpnet-lite's ``forward(X,
X_ctl=None)`` takes a control track.  An input with a default keeps it (bpnet-lite's BPNet
without control tracks runs on ``X`` alone); an input without a default cannot be given, so
such a model is refused before any work, naming the input.  A model that fails when an
optional input keeps its default (a BPNet built with control tracks needs ``X_ctl``) gets the
same explanation added to its error.

The signature is read with :func:`inspect.signature` for a Python module and from the
TorchScript schema (``module.forward.schema``) for a scripted one; a traced module takes only
the inputs it was traced with.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
from collections.abc import Iterator

from torch import nn

from seqsal.errors import ModelError


@dataclasses.dataclass(frozen=True)
class ForwardInputs:
    """What ``forward`` takes after its first input.

    Attributes
    ----------
    required : tuple of str
        Names of further inputs without a default (seqsal cannot call such a model).
    optional : tuple of str
        Further inputs with a default, written ``name=default``; they keep their defaults.
    """

    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()


def forward_inputs(module: nn.Module) -> ForwardInputs:
    """The further inputs of ``module.forward`` (nothing when the signature cannot be read).

    ``*args`` and ``**kwargs`` count as neither: they take nothing when nothing is given.
    """
    schema = getattr(getattr(module, "forward", None), "schema", None)
    if schema is not None:  # TorchScript: the first argument is ``self``
        arguments = list(schema.arguments)[2:]
        return ForwardInputs(
            required=tuple(a.name for a in arguments if not a.has_default_value()),
            optional=tuple(
                f"{a.name}={a.default_value!r}" for a in arguments if a.has_default_value()
            ),
        )
    try:
        signature = inspect.signature(module.forward)
    except (TypeError, ValueError):
        return ForwardInputs()
    named = [
        p
        for p in signature.parameters.values()
        if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    further = named[1:]
    return ForwardInputs(
        required=tuple(p.name for p in further if p.default is inspect.Parameter.empty),
        optional=tuple(
            f"{p.name}={p.default!r}" for p in further if p.default is not inspect.Parameter.empty
        ),
    )


def check_forward_inputs(module: nn.Module, source: str) -> ForwardInputs:
    """:func:`forward_inputs`, refusing a model whose forward needs a further input.

    Raises
    ------
    ModelError
        ``forward`` has a further input without a default; the message names it and says that
        seqsal passes only the sequence.
    """
    inputs = forward_inputs(module)
    if inputs.required:
        names = ", ".join(repr(n) for n in inputs.required)
        raise ModelError(
            f"{source}: the model's forward needs input {names} besides the sequence; seqsal "
            "passes only the sequence (n, 4, L), so wrap the model in a module whose forward(X) "
            "supplies it"
        )
    return inputs


@contextlib.contextmanager
def explain_optional_inputs(inputs: ForwardInputs) -> Iterator[None]:
    """Add to a ModelError raised in the block that the optional inputs kept their defaults.

    Wraps the first run of a model: a failure there may mean that the model needs one of them.
    """
    try:
        yield
    except ModelError as err:
        if not inputs.optional:
            raise
        kept = "it kept its default" if len(inputs.optional) == 1 else "they kept their defaults"
        raise ModelError(
            f"{err}; the model's forward also takes {', '.join(inputs.optional)}, and seqsal "
            f"passes only the sequence, so {kept}: if the model needs it (e.g. a control "
            "track), wrap the model in a module whose forward(X) supplies it"
        ) from err


__all__ = ["ForwardInputs", "check_forward_inputs", "explain_optional_inputs", "forward_inputs"]

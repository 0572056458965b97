"""Save and load models: seqsal model folders, TorchScript, class + state dict, pickles.

Loading is two steps, so each kind of model source adds one branch to the first:

1. :func:`read_model` turns a spec (a folder, a file, ``"package.module:Class"``, a module)
   into a module and what its files say (:class:`seqsal.models.files.ModelFiles`);
2. :func:`check_model` probes the module (:func:`seqsal.models.probe.probe`) on DNA
   ``(2, 4, L)`` or, for an image model, ``(2, C, H, W)``, and fills in what the files did
   not say.

:func:`load_model` does both.  The files themselves are read and written only by
:mod:`seqsal.models.files`.

Loading is safe by default: weights are read with ``weights_only=True`` (tensors only, no
arbitrary objects) and their checksum is verified; a full pickled ``nn.Module`` runs arbitrary
code when unpickled and is refused unless ``trust_pickle=True``.  A TorchScript file is not an
arbitrary pickle, but it is a program: a model file from elsewhere is code, so load only models
whose source you trust.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from seqsal._runtime import check_positive_int, model_on
from seqsal.errors import InputError, ModelError, first_line
from seqsal.io.checksum import sha256_file
from seqsal.models.classes import import_class, is_class_spec, is_file_spec
from seqsal.models.files import (
    IMAGE_KIND,
    MODEL_JSON,
    ModelFiles,
    image_normalisation,
    is_torchscript,
    model_folder,
    quiet_jit_deprecation,
    read_model_folder,
    read_state_dict,
    read_torchscript,
    write_model_files,
    write_torchscript,
)
from seqsal.models.inputs import check_forward_inputs, explain_optional_inputs
from seqsal.models.layout import (
    DEFAULT_LAYOUT,
    apply_layout,
    check_layout,
    explain_layout,
    unwrap_layout,
)
from seqsal.models.probe import Head, column_names, probe
from seqsal.models.zoo import ARCHITECTURES, build

log = logging.getLogger(__name__)


@dataclasses.dataclass
class LoadedModel:
    """A model ready to call, with what seqsal knows about it.

    Attributes
    ----------
    module : nn.Module
        ``module(X)`` maps ``(n, 4, L)`` (an image model: ``(n, C, H, W)``) to ``(n, T)``
        (or ``(n,)`` when T = 1).
    input_length : int or None
        Window length L the model expects; None for an image model, or when the model accepts
        several lengths and nothing says which one it was trained on.
    targets : list of str
        One name per output (``"target_0"``, ... when nothing names them; ``"class_0"``, ...
        for an image model).
    task : str
        ``"regression"``, ``"classification"`` (outputs are logits) or ``"unknown"``.
    metadata : dict
        Training metadata (metrics, data, settings) as saved; empty when there is none.  An
        image model's always holds ``input_kind``, ``input_shape`` ``[C, H, W]``,
        ``normalisation`` ``{"mean": [...], "std": [...]}`` and ``class_names``.
    checksum : str
        sha256 of the weights (seqsal folder or state dict) or of the model file.
    arch : str or None
        Zoo name (``"cnn"``), ``"package.module:Class"``, ``"torchscript"`` or ``"pickle"``.
    arch_kwargs : dict
        Keyword arguments the architecture was built with.
    source : str
        Where it was loaded from.
    heads : tuple of seqsal.models.probe.Head
        The heads of the model's output, as probed: one (key None) for a model returning one
        tensor; several for a tuple, list, dict or namedtuple output, each with its key and
        its shape per example (``()``, ``(T,)`` or ``(C, L')``).  Empty when not probed.
    layout : {"NCL", "NLC"}
        The input layout of the model as loaded; ``module`` takes ``(n, 4, L)`` either way (an
        ``"NLC"`` model is wrapped in :class:`seqsal.models.layout.ChannelsLast`).
    """

    module: nn.Module
    input_length: int | None
    targets: list[str]
    task: str
    metadata: dict
    checksum: str
    arch: str | None = None
    arch_kwargs: dict = dataclasses.field(default_factory=dict)
    source: str = ""
    heads: tuple[Head, ...] = ()
    layout: str = DEFAULT_LAYOUT

    @property
    def n_targets(self) -> int:
        return len(self.targets)

    @property
    def single_head(self) -> bool:
        """True when the model returns one tensor (``targets`` then name its channels)."""
        return len(self.heads) <= 1 and all(h.key is None for h in self.heads)

    @property
    def columns(self) -> list[str]:
        """One name per column of :func:`seqsal.models.predict.predict`: ``targets`` for a
        model returning ``(n, T)``, ``name.sum`` per channel of an ``(n, C, L')`` output, and
        for several heads :func:`seqsal.models.probe.column_names` (``counts``,
        ``profile.0.sum``, ...)."""
        if self.single_head and any(h.positional for h in self.heads):
            return column_names(self.heads, self.targets)
        return list(self.targets)

    def target_index(self, target: int | str) -> int:
        """Index of ``target`` given as an index or a name."""
        if isinstance(target, str):
            if target in self.targets:
                return self.targets.index(target)
            raise InputError(
                f"target={target!r}; this model's targets are {', '.join(self.targets)}"
            )
        if (
            isinstance(target, bool)
            or not isinstance(target, int)
            or not -len(self.targets) <= target < len(self.targets)
        ):
            raise InputError(
                f"target={target!r}; expected a name or an index below {len(self.targets)}"
            )
        return target % len(self.targets)


@dataclasses.dataclass
class ModelSource:
    """A module as read from its source, before it is checked (:func:`read_model`).

    Attributes
    ----------
    module : nn.Module
    files : ModelFiles
        What the model's files (or the in-memory object) say about it.
    hints : dict
        Keyword arguments the module was built with (class specs): their ``input_length``
        counts when the files record none.
    """

    module: nn.Module
    files: ModelFiles
    hints: dict = dataclasses.field(default_factory=dict)


# --------------------------------------------------------------------------- saving


def save_model(
    model: nn.Module,
    path: str | os.PathLike,
    *,
    arch: str,
    arch_kwargs: Mapping,
    input_length: int | None,
    targets: list[str],
    task: str,
    metadata: Mapping | None = None,
    layout: str | None = None,
) -> Path:
    """Save ``model`` as a seqsal model folder, atomically.

    Parameters
    ----------
    model : nn.Module
        Its ``state_dict()`` is saved (moved to the CPU).
    path : str or os.PathLike
        The folder to create (replaced if it is already a seqsal model folder).
    arch : str
        A zoo name (``"cnn"``, ``"dilated"``) or an importable ``"package.module:Class"``: how
        to rebuild the module before loading the weights.
    arch_kwargs : mapping
        JSON-serializable keyword arguments of the architecture (for zoo names, besides
        ``input_length``, ``n_targets`` and ``task``; for a class, all of them).
    input_length : int or None
        Window length L.
    targets : list of str
        One name per output.
    task : {"regression", "classification"}
    metadata : mapping, optional
        JSON-serializable training metadata and metrics, returned as ``LoadedModel.metadata``.
    layout : {"NCL", "NLC"}, optional
        The input layout ``model`` takes: ``"NLC"`` for a channels-last model ``(n, L, 4)``
        (recorded as ``layout`` in ``model.json``, so :func:`load_model` wraps it again); not
        recorded when None.  Give the model itself, not the wrapper of a loaded model.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    InputError
        ``arch`` is ``"path/to/file.py:Class"``: a folder names only a zoo architecture or an
        importable ``"package.module:Class"``, so that it does not break when the file moves
        and loading it runs no file from disk.  Make the file part of an installed package, or
        save the model with :func:`save_torchscript`.
    """
    if is_file_spec(str(arch)):
        raise InputError(
            f"arch={arch!r} names a Python file; a model folder records only a zoo name or an "
            "importable 'package.module:Class' (a folder must not depend on a file outside it): "
            "install the file as a package, or use save_torchscript"
        )
    if layout is not None:
        check_layout(layout)
    with model_folder(path) as tmp:
        write_model_files(
            tmp,
            model,
            arch=arch,
            arch_kwargs=arch_kwargs,
            input_length=input_length,
            targets=targets,
            task=task,
            metadata=metadata,
            layout=layout,
        )
    log.info("saved model to %s", path)
    return Path(path)


def save_torchscript(
    model: nn.Module,
    path: str | os.PathLike,
    *,
    input_length: int,
    targets: list[str],
    task: str,
    metadata: Mapping | None = None,
) -> Path:
    """Trace ``model`` on a ``(1, 4, input_length)`` input and save it as TorchScript, atomically.

    Input length, targets, task and metadata travel inside the file (as the extra file
    ``seqsal.json``), so :func:`load_model` recovers them.  A model may return a tensor, a
    tuple or a dict of tensors (a dict is traced with ``strict=False``: its keys must not
    depend on the input).

    Raises
    ------
    ModelError
        The model cannot be traced on that input.
    """
    with model_on(model, "cpu"), torch.no_grad(), quiet_jit_deprecation():
        x = torch.zeros(1, 4, int(input_length))
        try:
            try:
                traced = torch.jit.trace(model, x, check_trace=False)
            except RuntimeError as err:
                if "dict at the output of the tracer" not in str(err):
                    raise
                traced = torch.jit.trace(model, x, check_trace=False, strict=False)
        except Exception as err:  # any tracing failure of a user model is reported in one line
            raise ModelError(
                f"cannot trace {type(model).__name__} on input (1, 4, {int(input_length)}) for "
                f"TorchScript: {first_line(err)}"
            ) from err
    return write_torchscript(
        traced, path, input_length=input_length, targets=targets, task=task, metadata=metadata
    )


# --------------------------------------------------------------------------- loading


def load_model(
    spec,
    *,
    state_dict: str | os.PathLike | None = None,
    kwargs: Mapping | str | None = None,
    trust_pickle: bool = False,
    input_length: int | None = None,
    targets: list[str] | None = None,
    input_shape: Sequence[int] | None = None,
    layout: str | None = None,
) -> LoadedModel:
    """Load a model from a seqsal folder, a TorchScript file or a class + state dict.

    Parameters
    ----------
    spec : str, os.PathLike, nn.Module or LoadedModel
        * a seqsal model folder (``model.json`` + ``weights.pt``; checksum verified); an image
          model's folder (its metadata records ``input_shape``) is checked on
          ``(2, C, H, W)``;
        * a TorchScript file (``.pt``/``.pth``), loaded with ``torch.jit.load``;
        * ``"package.module:Class"``, ``"path/to/file.py:Class"`` (the file is imported, its
          sibling files importable from it; :mod:`seqsal.models.classes`) or a zoo name
          (``"cnn"``), with ``state_dict`` and ``kwargs``: the class is imported, built with
          ``kwargs`` and given the weights;
        * a file holding a full pickled ``nn.Module``, only with ``trust_pickle=True``;
        * an ``nn.Module`` already in memory (wrapped, probed) or a ``LoadedModel`` (returned
          as it is unless ``input_shape`` is given).
    state_dict : path, optional
        State dict file for a class spec, read with ``torch.load(weights_only=True)``.
    kwargs : dict or JSON string or path to a JSON file, optional
        Keyword arguments of the class (for a zoo name they must include ``input_length`` and
        ``n_targets``).
    trust_pickle : bool, default False
        Allow unpickling a full module.  Unpickling runs arbitrary code from the file: only for
        files you made or whose source you trust.
    input_length : int, optional
        Window length, when nothing about the model says it (its files, ``kwargs`` or a
        ``.input_length`` attribute): a TorchScript file saved without seqsal, a pickle, a
        user class.  The model is checked at this length, and it becomes
        ``LoadedModel.input_length``.
    targets : list of str, optional
        Target names, when the model files do not record them.
    input_shape : (C, H, W), optional
        Load an image model whose files do not record its input shape.
    layout : {"NCL", "NLC"}, optional
        The input layout of a DNA model: ``"NLC"`` for a channels-last model ``(n, L, 4)``
        (a Keras port), which is then wrapped to take ``(n, 4, L)``
        (:mod:`seqsal.models.layout`).  Default: the layout its files record, else
        ``"NCL"``; one that contradicts the recorded layout is an error.

    Returns
    -------
    LoadedModel
        The module is in eval mode on the CPU.  Input length: from the model's files, else
        ``kwargs``, else a ``.input_length`` attribute, else ``input_length``, else probed.

    Raises
    ------
    ModelError
        Missing file, checksum mismatch, state dict keys that do not fit, an output that is not
        ``(n, T)`` or ``(n,)``, a pickle without ``trust_pickle``.
    """
    if isinstance(spec, LoadedModel) and input_shape is None and layout is None:
        return spec
    if input_length is not None:
        input_length = check_positive_int(input_length, "input_length")
    source = read_model(spec, state_dict=state_dict, kwargs=kwargs, trust_pickle=trust_pickle)
    return check_model(
        source, input_length=input_length, input_shape=input_shape, targets=targets, layout=layout
    )


def read_model(
    spec,
    *,
    state_dict: str | os.PathLike | None = None,
    kwargs: Mapping | str | None = None,
    trust_pickle: bool = False,
) -> ModelSource:
    """The module a spec names and what its files say, not yet checked on any input.

    Parameters are those of :func:`load_model`.  Use :func:`check_model` on the result (or
    :func:`load_model` for both).

    Returns
    -------
    ModelSource
    """
    if isinstance(spec, LoadedModel):
        module, layout = unwrap_layout(spec.module)
        return ModelSource(
            module,
            ModelFiles(
                source=spec.source,
                input_length=spec.input_length,
                targets=list(spec.targets),
                task=spec.task,
                metadata=dict(spec.metadata),
                checksum=spec.checksum,
                arch=spec.arch,
                arch_kwargs=dict(spec.arch_kwargs),
                layout=None if layout == DEFAULT_LAYOUT else layout,
            ),
        )
    kwargs = _parse_kwargs(kwargs)
    if isinstance(spec, nn.Module):
        return ModelSource(
            spec, _nothing_recorded(type(spec).__name__, _state_checksum(spec)), kwargs
        )
    text = os.fspath(spec)
    path = Path(text)
    if not path.exists() and (text in ARCHITECTURES or is_class_spec(text)):
        return _read_class(text, state_dict, kwargs)
    if state_dict is not None:
        raise InputError(
            f"state_dict={os.fspath(state_dict)!r} given, but model {text!r} is not "
            "'package.module:Class', 'path/to/file.py:Class' or a zoo name"
        )
    if not path.exists():
        raise ModelError(
            f"model {text!r} not found: expected a seqsal model folder, a TorchScript file, "
            "'package.module:Class' or 'path/to/file.py:Class'"
        )
    if path.is_dir():
        return _read_folder(path)
    return _read_file(path, trust_pickle=trust_pickle)


def check_model(
    source: ModelSource,
    *,
    input_length: int | None = None,
    input_shape: Sequence[int] | None = None,
    targets: list[str] | None = None,
    layout: str | None = None,
) -> LoadedModel:
    """Probe a module read by :func:`read_model` and describe it as a :class:`LoadedModel`.

    What the files record wins over the arguments, which count only where the files are
    silent (see :func:`load_model`).  A model whose files record an ``input_shape``, or given
    ``input_shape``, is an image model: probed on ``(2, C, H, W)``, with ``input_length``
    None and its image metadata completed (normalisation mean 0, std 1 when not recorded).
    A channels-last DNA model (``layout="NLC"``, given or recorded) is wrapped to take
    ``(n, 4, L)`` before the probe.

    Raises
    ------
    ModelError
        The module's forward needs a further input besides the sequence
        (:mod:`seqsal.models.inputs`); it fails on the probe input (the message then names the
        optional inputs that kept their defaults) or returns something other than ``(n, T)``
        or ``(n,)``; the number of target names does not match T.
        A layout that contradicts the model (it fails in that layout and runs in the other).
    InputError
        ``input_length``, ``input_shape`` or ``layout`` is not valid, or ``layout`` contradicts
        the layout the model's files record.
    """
    module, recorded = source.module, source.files
    where = recorded.source
    if not isinstance(module, nn.Module):
        raise ModelError(f"{where}: loaded a {type(module).__name__}, expected a torch.nn.Module")
    module = module.cpu().eval()
    inputs = check_forward_inputs(module, where)
    layout = _layout(layout, recorded.layout, where)
    shape = input_shape if input_shape is not None else recorded.input_shape
    metadata = dict(recorded.metadata)
    if shape is not None:
        shape = _check_image_shape(shape)
        if layout != DEFAULT_LAYOUT:
            raise InputError(
                f"{where}: layout={layout!r} is for DNA models; an image model takes (n, C, H, W)"
            )
        with explain_optional_inputs(inputs):
            probed = probe(module, source=where, input_shape=shape)
        length = None
    else:
        length = recorded.input_length
        if length is None:
            length = source.hints.get("input_length")
        if length is None:
            length = getattr(module, "input_length", None)
        if length is None:
            length = input_length
        if length is not None and (
            isinstance(length, bool) or not isinstance(length, int) or length < 1
        ):
            raise ModelError(f"{where}: input_length={length!r}; expected a positive integer")
        wrapped = apply_layout(module, layout)
        with explain_optional_inputs(inputs), explain_layout(module, layout, length, where):
            probed = probe(wrapped, source=where, input_length=length)
        module = wrapped
        length = probed.input_length
    names = recorded.targets or targets
    if names is None:
        names = getattr(module, "targets", None)
    single = len(probed.heads) == 1 and probed.heads[0].key is None
    # One tensor: a name per channel.  Several heads: a name per predicted column.
    n_names = probed.heads[0].n_channels if single else probed.n_outputs
    if names is None:
        stem = "class" if shape is not None else "target"
        names = [f"{stem}_{i}" for i in range(n_names)] if single else column_names(probed.heads)
    names = [str(t) for t in names]
    if len(names) != n_names:
        what = "outputs" if single else "columns (one per head channel)"
        raise ModelError(
            f"{where}: model has {n_names} {what} but {len(names)} target names ({', '.join(names[:5])})"
        )
    task = recorded.task
    if task is None:
        task = getattr(module, "task", "unknown")
    if shape is not None:
        recorded_norm = metadata.get("normalisation") or {}
        metadata.update(
            input_kind=IMAGE_KIND,
            input_shape=shape,
            normalisation=image_normalisation(
                recorded_norm.get("mean"), recorded_norm.get("std"), shape[0], where
            ),
            class_names=names,
        )
    return LoadedModel(
        module=module,
        input_length=length,
        targets=names,
        task=str(task),
        metadata=metadata,
        checksum=recorded.checksum,
        arch=recorded.arch,
        arch_kwargs=dict(recorded.arch_kwargs),
        source=where,
        heads=probed.heads,
        layout=layout,
    )


def _layout(given, recorded, where: str) -> str:
    """The layout to load with: ``given`` (checked) or ``recorded``, else ``"NCL"``."""
    if given is None:
        return recorded or DEFAULT_LAYOUT
    given = check_layout(given)
    if recorded is not None and given != recorded:
        raise InputError(f"layout={given!r}, but {where} records layout {recorded!r}")
    return given


def _check_image_shape(shape) -> list[int]:
    try:
        checked = [check_positive_int(d, "input_shape") for d in shape]
    except (InputError, TypeError) as err:
        raise InputError(f"input_shape={shape!r}; expected three positive ints (C, H, W)") from err
    if len(checked) != 3:
        raise InputError(f"input_shape={shape!r}; expected (C, H, W)")
    return checked


def _nothing_recorded(source: str, checksum: str, *, arch=None, arch_kwargs=None, task=None):
    return ModelFiles(
        source=source,
        input_length=None,
        targets=None,
        task=task,
        metadata={},
        checksum=checksum,
        arch=arch,
        arch_kwargs=dict(arch_kwargs or {}),
    )


def _parse_kwargs(kwargs) -> dict:
    if kwargs is None:
        return {}
    if isinstance(kwargs, Mapping):
        return dict(kwargs)
    if isinstance(kwargs, (str, os.PathLike)):
        text = os.fspath(kwargs)
        source = "kwargs"
        if not text.lstrip().startswith("{") and Path(text).is_file():
            source = text
            text = Path(text).read_text()
        try:
            value = json.loads(text)
        except json.JSONDecodeError as err:
            raise InputError(f"{source} is not valid JSON: {err}") from err
        if not isinstance(value, dict):
            raise InputError(
                f"{source} must be a JSON object of keyword arguments, got {type(value).__name__}"
            )
        return value
    raise InputError(
        f"kwargs must be a dict, a JSON string or a JSON file, got {type(kwargs).__name__}"
    )


def _read_folder(path: Path) -> ModelSource:
    recorded = read_model_folder(path)
    arch, arch_kwargs = recorded.arch, recorded.arch_kwargs
    if arch in ARCHITECTURES:
        try:
            module = build(
                arch,
                input_length=recorded.input_length,
                n_targets=len(recorded.targets),
                task=recorded.task,
                seed=None,
                **arch_kwargs,
            )
        except InputError as err:
            raise ModelError(
                f"{path / MODEL_JSON}: cannot rebuild architecture {arch!r}: {err}"
            ) from err
    elif isinstance(arch, str) and is_file_spec(arch):
        raise ModelError(
            f"{path / MODEL_JSON}: arch {arch!r} names a Python file; a model folder names only a "
            "zoo architecture or an installed 'package.module:Class', so that loading it runs no "
            "file from disk"
        )
    elif isinstance(arch, str) and is_class_spec(arch):
        module = _instantiate(arch, arch_kwargs)
    else:
        raise ModelError(
            f"{path / MODEL_JSON}: unknown arch {arch!r}; expected a zoo name or 'package.module:Class'"
        )
    _load_state(module, recorded.state, recorded.weights)
    recorded.state = None  # the module holds the weights now
    return ModelSource(module, recorded)


def _read_file(path: Path, *, trust_pickle: bool) -> ModelSource:
    if is_torchscript(path):
        recorded = read_torchscript(path)
        module, recorded.module = recorded.module, None
        return ModelSource(module, recorded)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # anything weights_only refuses holds more than tensors
        if not trust_pickle:
            raise ModelError(
                f"{path}: not a TorchScript file or a plain state dict; it looks like a pickled Python "
                "object, and unpickling runs arbitrary code from the file. If you made it or trust its "
                "source, pass trust_pickle=True (--trust-pickle); better, save a state dict and load it "
                "with 'package.module:Class'"
            ) from err
        return ModelSource(
            _unpickle_module(path), _nothing_recorded(str(path), sha256_file(path), arch="pickle")
        )
    if isinstance(obj, Mapping):
        raise ModelError(
            f"{path}: holds a state dict (weights only); also give the architecture: "
            "'package.module:Class' (or a zoo name) with state_dict= and kwargs="
        )
    raise ModelError(
        f"{path}: holds a {type(obj).__name__}; expected a TorchScript model or a state dict"
    )


def _read_class(spec: str, state_dict, kwargs: dict) -> ModelSource:
    if state_dict is None:
        raise InputError(
            f"model {spec!r} is a class; also give its weights with state_dict= (--state-dict)"
        )
    path = Path(state_dict)
    state = read_state_dict(path)
    if spec in ARCHITECTURES:
        missing = [k for k in ("input_length", "n_targets") if k not in kwargs]
        if missing:
            raise InputError(f"zoo model {spec!r} needs {', '.join(missing)} in kwargs")
        try:
            module = build(spec, seed=None, **kwargs)
        except InputError as err:
            raise ModelError(f"zoo model {spec!r}: {err}") from err
    else:
        module = _instantiate(spec, kwargs)
    _load_state(module, state, path)
    recorded = _nothing_recorded(
        f"{spec} + {path}",
        sha256_file(path),
        arch=spec,
        arch_kwargs=kwargs,
        task=kwargs.get("task"),
    )
    return ModelSource(module, recorded, kwargs)


def _unpickle_module(path: Path) -> nn.Module:
    """Unpickle a full module: runs code from the file, so only called with trust_pickle=True."""
    log.warning(
        "%s: unpickling a full model (trust_pickle=True); this runs code from the file", path
    )
    try:
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # report any unpickling failure as a model error
        raise ModelError(f"{path}: cannot unpickle: {first_line(err)}") from err
    if not isinstance(obj, nn.Module):
        raise ModelError(f"{path}: unpickled a {type(obj).__name__}, expected a torch.nn.Module")
    return obj


def _instantiate(spec: str, kwargs: dict) -> nn.Module:
    cls = import_class(spec)
    try:
        module = cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ModelError(
            f"model class {spec!r} cannot be built with kwargs {kwargs!r}: {err}"
        ) from err
    if not isinstance(module, nn.Module):
        raise ModelError(
            f"model class {spec!r} built a {type(module).__name__}, expected a torch.nn.Module"
        )
    return module


def _load_state(module: nn.Module, state: dict, path: Path) -> None:
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:3])})")
        raise ModelError(f"{path}: state dict keys do not fit the model: {'; '.join(parts)}")
    shapes = [
        f"{k}: {tuple(state[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if state[k].shape != v.shape
    ]
    if shapes:
        raise ModelError(f"{path}: state dict shapes do not fit the model: {'; '.join(shapes[:3])}")
    module.load_state_dict(state, strict=True)


def _state_checksum(module: nn.Module) -> str:
    """sha256 over a module's state dict (names and tensor bytes), for a module in memory."""
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


__all__ = [
    "LoadedModel",
    "ModelSource",
    "check_model",
    "load_model",
    "read_model",
    "save_model",
    "save_torchscript",
]

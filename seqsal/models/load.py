"""Save and load models: seqsal model directories, TorchScript, class + state dict, pickles.

A seqsal model is one directory::

    model.json   format version, architecture and its keyword arguments, input length,
                 target names, task, sha256 of the weights, seqsal and torch versions,
                 training metadata and metrics
    weights.pt   the state dict, read back with ``torch.load(weights_only=True)``

Loading is safe by default: weights are read with ``weights_only=True`` (tensors only, no
arbitrary objects) and their checksum is verified; a full pickled ``nn.Module`` runs arbitrary
code when unpickled and is refused unless ``trust_pickle=True``.  A TorchScript file is not an
arbitrary pickle, but it is a program: a model file from elsewhere is code, so load only models
whose source you trust.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib
import json
import logging
import os
import re
import warnings
import zipfile
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import torch
from torch import nn

from seqsal import __version__
from seqsal._runtime import model_on
from seqsal.errors import InputError, ModelError
from seqsal.io.atomic import atomic_directory as _atomic_directory
from seqsal.models import zoo

log = logging.getLogger(__name__)

FORMAT = "seqsal-model"
FORMAT_VERSION = 1
MODEL_JSON = "model.json"
WEIGHTS = "weights.pt"
TORCHSCRIPT_METADATA = "seqsal.json"
_CLASS_SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
# Lengths tried when a model says nothing about its input length.
_PROBE_LENGTHS = (1000, 500, 300, 250, 200, 100)


@dataclasses.dataclass
class LoadedModel:
    """A model ready to call, with what seqsal knows about it.

    Attributes
    ----------
    module : nn.Module
        ``module(X)`` maps ``(n, 4, L)`` to ``(n, T)`` (or ``(n,)`` when T = 1).
    input_length : int or None
        Window length L the model expects; None when the model accepts several lengths and
        nothing says which one it was trained on.
    targets : list of str
        One name per output (``"target_0"``, ... when nothing names them).
    task : str
        ``"regression"``, ``"classification"`` (outputs are logits) or ``"unknown"``.
    metadata : dict
        Training metadata (metrics, data, settings) as saved; empty when there is none.
    checksum : str
        sha256 of the weights (seqsal directory or state dict) or of the model file.
    arch : str or None
        Zoo name (``"cnn"``), ``"package.module:Class"``, ``"torchscript"`` or ``"pickle"``.
    arch_kwargs : dict
        Keyword arguments the architecture was built with.
    source : str
        Where it was loaded from.
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

    @property
    def n_targets(self) -> int:
        return len(self.targets)

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


# --------------------------------------------------------------------------- saving


@contextlib.contextmanager
def _quiet_jit_deprecation() -> Iterator[None]:
    """Silence torch's TorchScript deprecation warning inside the block (not globally).

    TorchScript is deprecated in recent torch but still the portable way to ship a model as
    one file, and the contract (DESIGN.md) names it.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*torch\.jit.*")
        yield


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_output_folder(path: str | os.PathLike) -> Path:
    """Raise InputError unless ``path`` is absent, an empty folder or a seqsal model folder."""
    final = Path(path)
    if final.exists():
        if not final.is_dir():
            raise InputError(f"output {str(final)!r} exists and is not a folder")
        if any(final.iterdir()) and not (final / MODEL_JSON).exists():
            raise InputError(
                f"output folder {str(final)!r} exists and is not a seqsal model folder; choose another path"
            )
    return final


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """:func:`seqsal.io.atomic.atomic_directory`, refusing to replace anything but an empty
    folder or a seqsal model directory (holds ``model.json``): InputError before any work."""
    final = check_output_folder(path)
    with _atomic_directory(final) as tmp:
        yield tmp


def write_model_files(
    folder: str | os.PathLike,
    model: nn.Module,
    *,
    arch: str,
    arch_kwargs: Mapping,
    input_length: int | None,
    targets: list[str],
    task: str,
    metadata: Mapping | None = None,
) -> dict:
    """Write ``model.json`` and ``weights.pt`` into an existing ``folder`` (not atomic).

    Use :func:`save_model` unless you are assembling a larger output folder inside
    :func:`atomic_directory`.  Returns the content of ``model.json``.
    """
    folder = Path(folder)
    targets = [str(t) for t in targets]
    if arch in zoo.ARCHITECTURES:
        # Every option, defaults included, so a later change of a default cannot change
        # what this folder rebuilds.
        arch_kwargs = {**zoo.default_kwargs(arch), **dict(arch_kwargs)}
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    torch.save(state, folder / WEIGHTS)
    try:
        json.dumps(dict(arch_kwargs))
        json.dumps(dict(metadata or {}))
    except TypeError as err:
        raise InputError(f"arch_kwargs and metadata must be JSON-serializable: {err}") from err
    info = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "seqsal_version": __version__,
        "torch_version": torch.__version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "arch": arch,
        "arch_kwargs": dict(arch_kwargs),
        "input_length": None if input_length is None else int(input_length),
        "targets": targets,
        "task": task,
        "weights": WEIGHTS,
        "weights_sha256": sha256_file(folder / WEIGHTS),
        "metadata": dict(metadata or {}),
    }
    (folder / MODEL_JSON).write_text(json.dumps(info, indent=2) + "\n")
    return info


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
) -> Path:
    """Save ``model`` as a seqsal model directory, atomically.

    Parameters
    ----------
    model : nn.Module
        Its ``state_dict()`` is saved (moved to the CPU).
    path : str or os.PathLike
        The directory to create (replaced if it is already a seqsal model directory).
    arch : str
        A zoo name (``"cnn"``, ``"dilated"``) or ``"package.module:Class"``: how to rebuild the
        module before loading the weights.
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

    Returns
    -------
    Path
        ``path``.
    """
    with atomic_directory(path) as tmp:
        write_model_files(
            tmp,
            model,
            arch=arch,
            arch_kwargs=arch_kwargs,
            input_length=input_length,
            targets=targets,
            task=task,
            metadata=metadata,
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
    ``seqsal.json``), so :func:`load_model` recovers them.
    """
    from seqsal.io.atomic import atomic_path

    info = {"input_length": int(input_length), "targets": [str(t) for t in targets], "task": task}
    info["metadata"] = dict(metadata or {})
    with model_on(model, "cpu"), torch.no_grad(), _quiet_jit_deprecation():
        traced = torch.jit.trace(model, torch.zeros(1, 4, int(input_length)), check_trace=False)
    with atomic_path(path) as tmp, _quiet_jit_deprecation():
        torch.jit.save(traced, str(tmp), _extra_files={TORCHSCRIPT_METADATA: json.dumps(info)})
    return Path(path)


# --------------------------------------------------------------------------- loading


def load_model(
    spec,
    *,
    state_dict: str | os.PathLike | None = None,
    kwargs: Mapping | str | None = None,
    trust_pickle: bool = False,
    input_length: int | None = None,
    targets: list[str] | None = None,
) -> LoadedModel:
    """Load a model from a seqsal directory, a TorchScript file or a class + state dict.

    Parameters
    ----------
    spec : str, os.PathLike, nn.Module or LoadedModel
        * a seqsal model directory (``model.json`` + ``weights.pt``; checksum verified);
          an image model's folder (its metadata records ``input_shape``) is loaded by
          :func:`seqsal.models.images.load_image_model` and checked on ``(2, C, H, W)``;
        * a TorchScript file (``.pt``/``.pth``), loaded with ``torch.jit.load``;
        * ``"package.module:Class"`` or a zoo name (``"cnn"``), with ``state_dict`` and
          ``kwargs``: the class is imported, built with ``kwargs`` and given the weights;
        * a file holding a full pickled ``nn.Module``, only with ``trust_pickle=True``;
        * an ``nn.Module`` already in memory (wrapped, probed) or a ``LoadedModel`` (returned).
    state_dict : path, optional
        State dict file for a class spec, read with ``torch.load(weights_only=True)``.
    kwargs : dict or JSON string or path to a JSON file, optional
        Keyword arguments of the class (for a zoo name they must include ``input_length`` and
        ``n_targets``).
    trust_pickle : bool, default False
        Allow unpickling a full module.  Unpickling runs arbitrary code from the file: only for
        files you made or whose source you trust.
    input_length : int, optional
        Window length, when the model files do not record it.
    targets : list of str, optional
        Target names, when the model files do not record them.

    Returns
    -------
    LoadedModel
        The module is in eval mode on the CPU.  Input length: from the model's metadata, else
        ``input_length``/``kwargs``, else a ``.input_length`` attribute, else probed.

    Raises
    ------
    ModelError
        Missing file, checksum mismatch, state dict keys that do not fit, an output that is not
        ``(n, T)`` or ``(n,)``, a pickle without ``trust_pickle``.
    """
    if isinstance(spec, LoadedModel):
        return spec
    kwargs = _parse_kwargs(kwargs)
    if isinstance(spec, nn.Module):
        return _finish(
            spec,
            source=type(spec).__name__,
            arch=None,
            arch_kwargs={},
            checksum=_state_checksum(spec),
            input_length=input_length,
            targets=targets,
            task=None,
            metadata={},
            hint_kwargs=kwargs,
        )
    text = os.fspath(spec)
    path = Path(text)
    if not path.exists() and (text in zoo.ARCHITECTURES or _CLASS_SPEC.match(text)):
        return _load_class(text, state_dict, kwargs, input_length=input_length, targets=targets)
    if state_dict is not None:
        raise InputError(
            f"state_dict={os.fspath(state_dict)!r} given, but model {text!r} is not 'package.module:Class' or a zoo name"
        )
    if not path.exists():
        raise ModelError(
            f"model {text!r} not found: expected a seqsal model folder, a TorchScript file or 'package.module:Class'"
        )
    if path.is_dir():
        if _is_image_folder(path):
            from seqsal.models.images import load_image_model

            return load_image_model(path, targets=targets)
        return _load_directory(path, input_length=input_length, targets=targets)
    return _load_file(path, trust_pickle=trust_pickle, input_length=input_length, targets=targets)


def _is_image_folder(path: Path) -> bool:
    """True for a model folder whose metadata records an image input (``input_shape``)."""
    try:
        info = json.loads((path / MODEL_JSON).read_text())
    except (OSError, ValueError):
        return False  # _load_directory gives the error
    metadata = info.get("metadata") if isinstance(info, dict) else None
    return isinstance(metadata, dict) and (
        metadata.get("input_kind") == "image" or "input_shape" in metadata
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


def _load_directory(path: Path, *, input_length, targets) -> LoadedModel:
    info_path = path / MODEL_JSON
    if not info_path.is_file():
        raise ModelError(
            f"model folder {str(path)!r} has no {MODEL_JSON}; it is not a seqsal model folder"
        )
    try:
        info = json.loads(info_path.read_text())
    except json.JSONDecodeError as err:
        raise ModelError(f"{info_path}: not valid JSON ({err})") from err
    if info.get("format") != FORMAT:
        raise ModelError(f"{info_path}: format {info.get('format')!r}; expected {FORMAT!r}")
    if info.get("format_version", 0) > FORMAT_VERSION:
        raise ModelError(
            f"{info_path}: format version {info.get('format_version')} is newer than this seqsal reads "
            f"({FORMAT_VERSION}); upgrade seqsal"
        )
    for key in ("arch", "arch_kwargs", "targets", "task", "weights_sha256"):
        if key not in info:
            raise ModelError(f"{info_path}: missing key {key!r}")
    weights = path / info.get("weights", WEIGHTS)
    if not weights.is_file():
        raise ModelError(f"model folder {str(path)!r}: weights file {weights.name!r} is missing")
    checksum = sha256_file(weights)
    if checksum != info["weights_sha256"]:
        raise ModelError(
            f"{weights}: sha256 {checksum[:12]}... does not match {info['weights_sha256'][:12]}... recorded in "
            f"{MODEL_JSON}; the weights were changed or corrupted"
        )
    arch, arch_kwargs = info["arch"], dict(info["arch_kwargs"])
    n_targets = len(info["targets"])
    state = _read_state_dict(weights)
    if arch == "cnn" and "pool_modes" not in arch_kwargs:
        arch_kwargs["pool_modes"] = _saved_cnn_pool_modes(state)
    if arch in zoo.ARCHITECTURES:
        try:
            module = zoo.build(
                arch,
                input_length=info["input_length"],
                n_targets=n_targets,
                task=info["task"],
                seed=None,
                **arch_kwargs,
            )
        except InputError as err:
            raise ModelError(f"{info_path}: cannot rebuild architecture {arch!r}: {err}") from err
    elif _CLASS_SPEC.match(arch):
        module = _instantiate(arch, arch_kwargs)
    else:
        raise ModelError(
            f"{info_path}: unknown arch {arch!r}; expected a zoo name or 'package.module:Class'"
        )
    _load_state(module, state, weights)
    return _finish(
        module,
        source=str(path),
        arch=arch,
        arch_kwargs=arch_kwargs,
        checksum=checksum,
        input_length=info.get("input_length") or input_length,
        targets=info["targets"] or targets,
        task=info["task"],
        metadata=info.get("metadata", {}),
        hint_kwargs={},
    )


def _saved_cnn_pool_modes(state: dict) -> list[str]:
    """Global pooling of a ``cnn`` folder whose ``model.json`` does not name it.

    Folders written before every architecture option was recorded hold only the options the
    user gave, and ``CompactCNN`` pooled by ("mean", "max") then; today's default is
    ("mean",).  The head's first dense layer takes ``channels x modes`` inputs, so the
    weights say which it was.
    """
    dense, last_conv = state.get("head.1.weight"), None
    for key, value in state.items():
        if key.startswith("trunk.") and key.endswith(".weight") and value.ndim == 3:
            last_conv = value
    if dense is None or last_conv is None or dense.ndim != 2:
        return ["mean"]
    return ["mean", "max"] if dense.shape[1] == 2 * last_conv.shape[0] else ["mean"]


def _is_torchscript(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(
            name.endswith("/constants.pkl") or name == "constants.pkl"
            for name in archive.namelist()
        )


def _load_file(path: Path, *, trust_pickle: bool, input_length, targets) -> LoadedModel:
    checksum = sha256_file(path)
    if _is_torchscript(path):
        extra = {TORCHSCRIPT_METADATA: ""}
        try:
            with _quiet_jit_deprecation():
                module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
        except RuntimeError as err:
            raise ModelError(f"{path}: cannot load TorchScript model: {_first_line(err)}") from err
        info = {}
        if extra[TORCHSCRIPT_METADATA]:
            try:
                info = json.loads(extra[TORCHSCRIPT_METADATA])
            except json.JSONDecodeError:
                log.warning(
                    "%s: ignoring unreadable %s inside the TorchScript file",
                    path,
                    TORCHSCRIPT_METADATA,
                )
        return _finish(
            module,
            source=str(path),
            arch="torchscript",
            arch_kwargs={},
            checksum=checksum,
            input_length=info.get("input_length") or input_length,
            targets=info.get("targets") or targets,
            task=info.get("task"),
            metadata=info.get("metadata", {}),
            hint_kwargs={},
        )
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
        obj = None
    if obj is None:
        return _finish(
            _unpickle_module(path),
            source=str(path),
            arch="pickle",
            arch_kwargs={},
            checksum=checksum,
            input_length=input_length,
            targets=targets,
            task=None,
            metadata={},
            hint_kwargs={},
        )
    if isinstance(obj, Mapping):
        raise ModelError(
            f"{path}: holds a state dict (weights only); also give the architecture: "
            "'package.module:Class' (or a zoo name) with state_dict= and kwargs="
        )
    raise ModelError(
        f"{path}: holds a {type(obj).__name__}; expected a TorchScript model or a state dict"
    )


def _unpickle_module(path: Path) -> nn.Module:
    """Unpickle a full module: runs code from the file, so only called with trust_pickle=True."""
    log.warning(
        "%s: unpickling a full model (trust_pickle=True); this runs code from the file", path
    )
    try:
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # report any unpickling failure as a model error
        raise ModelError(f"{path}: cannot unpickle: {_first_line(err)}") from err
    if not isinstance(obj, nn.Module):
        raise ModelError(f"{path}: unpickled a {type(obj).__name__}, expected a torch.nn.Module")
    return obj


def _import_class(spec: str):
    module_name, _, attr = spec.partition(":")
    try:
        obj = importlib.import_module(module_name)
    except ImportError as err:
        raise ModelError(
            f"model class {spec!r}: cannot import module {module_name!r}: {err}"
        ) from err
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ModelError(
                f"model class {spec!r}: module {module_name!r} has no attribute {attr!r}"
            )
        obj = getattr(obj, part)
    if not (isinstance(obj, type) and issubclass(obj, nn.Module)) and not callable(obj):
        raise ModelError(f"model class {spec!r} is not a torch.nn.Module class")
    return obj


def _instantiate(spec: str, kwargs: dict) -> nn.Module:
    cls = _import_class(spec)
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


def _read_state_dict(path: Path) -> dict:
    if not path.is_file():
        raise ModelError(f"state dict {str(path)!r} not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ModelError(
            f"{path}: not a plain state dict of tensors (torch.load with weights_only=True refused it: "
            f"{_first_line(err)})"
        ) from err
    if (
        isinstance(state, Mapping)
        and "state_dict" in state
        and isinstance(state["state_dict"], Mapping)
    ):
        state = state["state_dict"]
    if not isinstance(state, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise ModelError(
            f"{path}: expected a state dict (a mapping of names to tensors), got {type(state).__name__}"
        )
    return dict(state)


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


def _load_class(spec: str, state_dict, kwargs: dict, *, input_length, targets) -> LoadedModel:
    if state_dict is None:
        raise InputError(
            f"model {spec!r} is a class; also give its weights with state_dict= (--state-dict)"
        )
    path = Path(state_dict)
    state = _read_state_dict(path)
    if spec in zoo.ARCHITECTURES:
        missing = [k for k in ("input_length", "n_targets") if k not in kwargs]
        if missing:
            raise InputError(f"zoo model {spec!r} needs {', '.join(missing)} in kwargs")
        try:
            module = zoo.build(spec, seed=None, **kwargs)
        except InputError as err:
            raise ModelError(f"zoo model {spec!r}: {err}") from err
    else:
        module = _instantiate(spec, kwargs)
    _load_state(module, state, path)
    return _finish(
        module,
        source=f"{spec} + {path}",
        arch=spec,
        arch_kwargs=kwargs,
        checksum=sha256_file(path),
        input_length=input_length,
        targets=targets,
        task=kwargs.get("task"),
        metadata={},
        hint_kwargs=kwargs,
    )


def _state_checksum(module: nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _try_forward(module: nn.Module, length: int):
    with torch.no_grad():
        try:
            return module(torch.zeros(2, 4, length)), None
        except Exception as err:
            return None, err


def _finish(
    module,
    *,
    source,
    arch,
    arch_kwargs,
    checksum,
    input_length,
    targets,
    task,
    metadata,
    hint_kwargs,
):
    """Probe the module, fill in what the files did not say, check the output shape."""
    if not isinstance(module, nn.Module):
        raise ModelError(f"{source}: loaded a {type(module).__name__}, expected a torch.nn.Module")
    module = module.cpu().eval()
    if input_length is None:
        input_length = hint_kwargs.get("input_length")
    if input_length is None:
        input_length = getattr(module, "input_length", None)
    if input_length is not None and (
        isinstance(input_length, bool) or not isinstance(input_length, int) or input_length < 1
    ):
        raise ModelError(f"{source}: input_length={input_length!r}; expected a positive integer")
    with model_on(module, "cpu"):
        if input_length is not None:
            out, err = _try_forward(module, input_length)
            if out is None:
                raise ModelError(
                    f"{source}: model fails on input of shape (2, 4, {input_length}): {_first_line(err)}"
                )
        else:
            accepted = [
                (L, out)
                for L in _PROBE_LENGTHS
                for out, _ in [_try_forward(module, L)]
                if out is not None
            ]
            if not accepted:
                raise ModelError(
                    f"{source}: model fails on inputs (2, 4, L) for L in {_PROBE_LENGTHS}; give its input_length"
                )
            if len(accepted) == 1:
                input_length = accepted[0][0]
            out = accepted[-1][1]
    if not isinstance(out, torch.Tensor):
        raise ModelError(
            f"{source}: model returned a {type(out).__name__}; expected a tensor of shape (n, T) or (n,)"
        )
    if out.ndim not in (1, 2) or out.shape[0] != 2:
        raise ModelError(
            f"{source}: model output has shape {tuple(out.shape)} for 2 inputs; expected (n, T) or (n,)"
        )
    n_out = 1 if out.ndim == 1 else int(out.shape[1])
    if targets is None:
        targets = getattr(module, "targets", None)
    if targets is None:
        targets = [f"target_{i}" for i in range(n_out)]
    targets = [str(t) for t in targets]
    if len(targets) != n_out:
        raise ModelError(
            f"{source}: model has {n_out} outputs but {len(targets)} target names ({', '.join(targets[:5])})"
        )
    if task is None:
        task = getattr(module, "task", "unknown")
    return LoadedModel(
        module=module,
        input_length=input_length,
        targets=targets,
        task=str(task),
        metadata=dict(metadata or {}),
        checksum=checksum,
        arch=arch,
        arch_kwargs=dict(arch_kwargs),
        source=source,
    )

"""The seqsal model folder and TorchScript's seqsal metadata: the one reader and writer.

A seqsal model is one folder::

    model.json    format, format version, architecture and its keyword arguments, input
                  length, target names, task, sha256 of the weights, seqsal and torch
                  versions, metadata (training settings and metrics)
    weights.pt    the state dict, read back with ``torch.load(weights_only=True)``
    metrics.json, history.tsv
                  written beside them by training (the metrics are also in model.json)

An image model is the same folder with ``input_length`` null and, in ``metadata``,
``input_kind: "image"``, ``input_shape: [C, H, W]`` and ``normalisation: {"mean": [...],
"std": [...]}`` (per channel; the model's input is ``(pixel / 255 - mean) / std``).

A channels-last model (input ``(n, L, 4)``, e.g. a Keras port) has ``layout: "NLC"`` in
``model.json``; a folder without the key holds a channels-first model (``(n, 4, L)``).

A TorchScript file carries the same facts as the extra file ``seqsal.json``:
``{"input_length", "targets", "task", "metadata"}`` and, optionally, ``"layout"``.

Every function that opens these files lives here; building a module from what they say and
checking it on an input is :mod:`seqsal.models.load`'s job.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import warnings
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import torch
from torch import nn

from seqsal import __version__
from seqsal.errors import InputError, ModelError, first_line
from seqsal.io.atomic import atomic_directory, atomic_path
from seqsal.io.checksum import sha256_file
from seqsal.models.zoo import ARCHITECTURES, default_kwargs

log = logging.getLogger(__name__)

FORMAT = "seqsal-model"
FORMAT_VERSION = 1
MODEL_JSON = "model.json"
WEIGHTS = "weights.pt"
METRICS_JSON = "metrics.json"
HISTORY_TSV = "history.tsv"
TORCHSCRIPT_METADATA = "seqsal.json"
#: ``metadata["input_kind"]`` of an image model.
IMAGE_KIND = "image"
#: Keys every ``model.json`` holds (besides the format itself).
REQUIRED_KEYS = ("arch", "arch_kwargs", "targets", "task", "weights_sha256")
HISTORY_COLUMNS = ("epoch", "lr", "train_loss", "val_loss", "seconds", "best")


@dataclasses.dataclass
class ModelFiles:
    """What a model folder or a TorchScript file says about its model, checked.

    Attributes
    ----------
    source : str
        The folder or file.
    input_length : int or None
        As recorded (None: not recorded, or an image model).
    targets : list of str or None
        Output names as recorded (None: not recorded).
    task : str or None
    metadata : dict
        Training metadata and, for image models, ``input_kind``, ``input_shape`` and
        ``normalisation``.
    checksum : str
        sha256 of the weights file (folder) or of the TorchScript file.
    arch : str or None
        Zoo name or ``"package.module:Class"`` (folder), ``"torchscript"`` (file), None
        when nothing names it (a module in memory).
    arch_kwargs : dict
        The architecture's keyword arguments (empty for TorchScript).
    state : dict or None
        The verified state dict of a folder.
    weights : Path or None
        The folder's weights file.
    module : nn.Module or None
        The TorchScript module of a file.
    layout : str or None
        ``"NCL"`` or ``"NLC"``: the input layout the model takes, as recorded (None: not
        recorded, i.e. channels first unless the loader is told otherwise).
    """

    source: str
    input_length: int | None
    targets: list[str] | None
    task: str | None
    metadata: dict
    checksum: str
    arch: str | None
    arch_kwargs: dict = dataclasses.field(default_factory=dict)
    state: dict | None = None
    weights: Path | None = None
    module: nn.Module | None = None
    layout: str | None = None

    @property
    def input_shape(self) -> list | None:
        """``[C, H, W]`` of an image model, else None."""
        return image_input_shape(self.metadata)


# --------------------------------------------------------------------------- TorchScript


@contextlib.contextmanager
def quiet_jit_deprecation() -> Iterator[None]:
    """Silence torch's TorchScript deprecation warning inside the block (not globally).

    TorchScript is deprecated in recent torch but still the portable way to ship a model as
    one file, and the model contract (DESIGN.md) names it.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*torch\.jit.*")
        yield


def is_torchscript(path: str | os.PathLike) -> bool:
    """True when ``path`` is a zip archive laid out as ``torch.jit.save`` writes it."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(
            name.endswith("/constants.pkl") or name == "constants.pkl"
            for name in archive.namelist()
        )


def write_torchscript(
    module: torch.jit.ScriptModule,
    path: str | os.PathLike,
    *,
    input_length: int | None,
    targets: Sequence[str],
    task: str,
    metadata: Mapping | None = None,
) -> Path:
    """Save a scripted or traced module with its facts in ``seqsal.json``, atomically."""
    info = {
        "input_length": None if input_length is None else int(input_length),
        "targets": [str(t) for t in targets],
        "task": task,
        "metadata": _json_ready(metadata, "metadata"),
    }
    with atomic_path(path) as tmp, quiet_jit_deprecation():
        torch.jit.save(module, str(tmp), _extra_files={TORCHSCRIPT_METADATA: json.dumps(info)})
    return Path(path)


def read_torchscript(path: str | os.PathLike) -> ModelFiles:
    """Load a TorchScript file (on the CPU) and what its ``seqsal.json`` records.

    A file without ``seqsal.json`` (saved by plain ``torch.jit.save``) records nothing: every
    fact is None.  ``input_shape`` and ``normalisation`` written at the top level of
    ``seqsal.json`` count as metadata.

    Raises
    ------
    ModelError
        Not a TorchScript file, or torch cannot load it.
    """
    path = Path(path)
    if not is_torchscript(path):
        raise ModelError(f"{path}: not a TorchScript file")
    extra = {TORCHSCRIPT_METADATA: ""}
    try:
        with quiet_jit_deprecation():
            module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    except RuntimeError as err:
        raise ModelError(f"{path}: cannot load TorchScript model: {first_line(err)}") from err
    info: dict = {}
    if extra[TORCHSCRIPT_METADATA]:
        try:
            info = json.loads(extra[TORCHSCRIPT_METADATA])
        except json.JSONDecodeError:
            info = None
        if not isinstance(info, dict):
            log.warning(
                "%s: ignoring unreadable %s inside the TorchScript file",
                path,
                TORCHSCRIPT_METADATA,
            )
            info = {}
    metadata = dict(info.get("metadata") or {})
    for key in ("input_shape", "normalisation"):
        if key in info and key not in metadata:
            metadata[key] = info[key]
    return ModelFiles(
        source=str(path),
        input_length=info.get("input_length"),
        targets=info.get("targets"),
        task=info.get("task"),
        metadata=metadata,
        checksum=sha256_file(path),
        arch="torchscript",
        module=module,
        layout=_checked_layout(
            info.get("layout"), f"{path}: {TORCHSCRIPT_METADATA} layout", model=True
        ),
    )


# --------------------------------------------------------------------------- model folders


def is_model_folder(path: str | os.PathLike) -> bool:
    """True when ``path`` is a folder holding a ``model.json`` (not yet verified)."""
    return (Path(path) / MODEL_JSON).is_file()


def check_output_folder(path: str | os.PathLike) -> Path:
    """Raise InputError unless ``path`` is absent, an empty folder or a seqsal model folder.

    Call it before long work (training) so a bad output path fails at once.
    """
    final = Path(path)
    if final.exists():
        if not final.is_dir():
            raise InputError(f"output {str(final)!r} exists and is not a folder")
        if any(final.iterdir()) and not is_model_folder(final):
            raise InputError(
                f"output folder {str(final)!r} exists and is not a seqsal model folder; choose another path"
            )
    return final


@contextlib.contextmanager
def model_folder(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary folder that replaces ``path`` when the block completes.

    :func:`seqsal.io.atomic.atomic_directory`, refusing (InputError, before any work) to
    replace anything but an empty folder or a seqsal model folder.
    """
    final = check_output_folder(path)
    with atomic_directory(final) as tmp:
        yield tmp


def write_model_files(
    folder: str | os.PathLike,
    model: nn.Module,
    *,
    arch: str,
    arch_kwargs: Mapping,
    input_length: int | None,
    targets: Sequence[str],
    task: str,
    metadata: Mapping | None = None,
    layout: str | None = None,
) -> dict:
    """Write ``model.json`` and ``weights.pt`` into an existing ``folder`` (not atomic).

    Use :func:`seqsal.models.save_model` unless you assemble a larger output folder inside
    :func:`model_folder`.  For a zoo architecture every option is recorded, defaults
    included, so a later change of a default cannot change what the folder rebuilds.
    ``layout`` (``"NCL"`` or ``"NLC"``, the input layout the model takes) is written as the
    key ``layout`` when given; a folder without it holds a channels-first model.

    Returns
    -------
    dict
        The content of ``model.json``.
    """
    folder = Path(folder)
    if arch in ARCHITECTURES:
        arch_kwargs = {**default_kwargs(arch), **dict(arch_kwargs)}
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    torch.save(state, folder / WEIGHTS)
    arch_kwargs = _json_ready(arch_kwargs, "arch_kwargs")
    metadata = _json_ready(metadata, "metadata")
    info = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "seqsal_version": __version__,
        "torch_version": torch.__version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "arch": arch,
        "arch_kwargs": arch_kwargs,
        "input_length": None if input_length is None else int(input_length),
        "targets": [str(t) for t in targets],
        "task": task,
        "weights": WEIGHTS,
        "weights_sha256": sha256_file(folder / WEIGHTS),
        "metadata": metadata,
    }
    if layout is not None:
        info["layout"] = _checked_layout(layout, "layout")
    (folder / MODEL_JSON).write_text(json.dumps(info, indent=2) + "\n")
    return info


def write_training_files(folder: str | os.PathLike, metrics: Mapping, history: Sequence) -> None:
    """Write ``metrics.json`` and ``history.tsv`` (one row per epoch) into ``folder``.

    ``history`` rows hold ``epoch``, ``lr``, ``train_loss``, ``val_loss``, ``seconds`` and
    ``best`` (as :func:`seqsal.models.train.fit` returns them).
    """
    folder = Path(folder)
    (folder / METRICS_JSON).write_text(json.dumps(dict(metrics), indent=2) + "\n")
    lines = ["\t".join(HISTORY_COLUMNS)]
    lines += [
        f"{r['epoch']}\t{r['lr']:.3g}\t{r['train_loss']}\t{r['val_loss']}\t{r['seconds']}\t{int(r['best'])}"
        for r in history
    ]
    (folder / HISTORY_TSV).write_text("\n".join(lines) + "\n")


def read_model_json(folder: str | os.PathLike, *, check: bool = True) -> dict:
    """The content of a model folder's ``model.json``.

    Parameters
    ----------
    folder : str or os.PathLike
    check : bool, default True
        Also check the format name, that the version is one this seqsal reads and that the
        required keys are there; False only parses (a report shows whatever is there).

    Raises
    ------
    ModelError
        No ``model.json``, not valid JSON, not a JSON object, or (``check``) another format,
        a newer version, a missing key.
    """
    folder = Path(folder)
    path = folder / MODEL_JSON
    if not path.is_file():
        raise ModelError(
            f"model folder {str(folder)!r} has no {MODEL_JSON}; it is not a seqsal model folder"
        )
    info = _read_json(path)
    if not check:
        return info
    if info.get("format") != FORMAT:
        raise ModelError(f"{path}: format {info.get('format')!r}; expected {FORMAT!r}")
    version = info.get("format_version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise ModelError(f"{path}: format_version {version!r}; expected an integer")
    if version > FORMAT_VERSION:
        raise ModelError(
            f"{path}: format version {version} is newer than this seqsal reads "
            f"({FORMAT_VERSION}); upgrade seqsal"
        )
    for key in REQUIRED_KEYS:
        if key not in info:
            raise ModelError(f"{path}: missing key {key!r}")
    if not isinstance(info["arch_kwargs"], dict) or not isinstance(info["targets"], list):
        raise ModelError(f"{path}: arch_kwargs must be an object and targets a list")
    return info


def read_metrics(folder: str | os.PathLike) -> dict | None:
    """The content of a model folder's ``metrics.json``, or None when there is none.

    Raises
    ------
    ModelError
        ``metrics.json`` is not a valid JSON object.
    """
    path = Path(folder) / METRICS_JSON
    return _read_json(path) if path.is_file() else None


def folder_files(folder: str | os.PathLike) -> list[Path]:
    """The model folder's files that exist, in the order ``model.json``, ``metrics.json``,
    ``weights.pt``, ``history.tsv``."""
    folder = Path(folder)
    names = (MODEL_JSON, METRICS_JSON, WEIGHTS, HISTORY_TSV)
    return [folder / name for name in names if (folder / name).exists()]


def read_model_folder(folder: str | os.PathLike) -> ModelFiles:
    """Read and verify a seqsal model folder: ``model.json``, then the weights.

    The weights' sha256 must match the one ``model.json`` records, and the file must be a plain
    state dict (read with ``weights_only=True``).  A ``cnn`` folder written before every
    architecture option was recorded gets its global pooling back from the weights.

    Raises
    ------
    ModelError
        See :func:`read_model_json`; a missing weights file, a checksum mismatch, weights that
        are not a state dict.
    """
    folder = Path(folder)
    info = read_model_json(folder)
    weights = folder / info.get("weights", WEIGHTS)
    if not weights.is_file():
        raise ModelError(f"model folder {str(folder)!r}: weights file {weights.name!r} is missing")
    checksum = sha256_file(weights)
    if checksum != info["weights_sha256"]:
        raise ModelError(
            f"{weights}: sha256 {checksum[:12]}... does not match {info['weights_sha256'][:12]}... recorded in "
            f"{MODEL_JSON}; the weights were changed or corrupted"
        )
    state = read_state_dict(weights)
    arch, arch_kwargs = info["arch"], dict(info["arch_kwargs"])
    if arch == "cnn" and "pool_modes" not in arch_kwargs:
        arch_kwargs["pool_modes"] = _saved_cnn_pool_modes(state)
    return ModelFiles(
        source=str(folder),
        input_length=info.get("input_length"),
        targets=info["targets"],
        task=info["task"],
        metadata=dict(info.get("metadata") or {}),
        checksum=checksum,
        arch=arch,
        arch_kwargs=arch_kwargs,
        state=state,
        weights=weights,
        layout=_checked_layout(info.get("layout"), f"{folder / MODEL_JSON}: layout", model=True),
    )


def _saved_cnn_pool_modes(state: dict) -> list[str]:
    """Global pooling of a ``cnn`` folder whose ``model.json`` does not name it.

    Such folders hold only the options the user gave, and ``CompactCNN`` pooled by
    ("mean", "max") when they were written; today's default is ("mean",).  The head's first
    dense layer takes ``channels x modes`` inputs, so the weights say which it was.
    """
    dense, last_conv = state.get("head.1.weight"), None
    for key, value in state.items():
        if key.startswith("trunk.") and key.endswith(".weight") and value.ndim == 3:
            last_conv = value
    if dense is None or last_conv is None or dense.ndim != 2:
        return ["mean"]
    return ["mean", "max"] if dense.shape[1] == 2 * last_conv.shape[0] else ["mean"]


def read_state_dict(path: str | os.PathLike) -> dict:
    """A state dict file, read with ``torch.load(weights_only=True)`` onto the CPU.

    A checkpoint that nests the weights under ``"state_dict"`` (as Lightning writes it) gives
    those.

    Raises
    ------
    ModelError
        Missing file, or anything but a mapping of names to tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"state dict {str(path)!r} not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # anything weights_only refuses holds more than tensors
        raise ModelError(
            f"{path}: not a plain state dict of tensors (torch.load with weights_only=True refused it: "
            f"{first_line(err)})"
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


# --------------------------------------------------------------------------- image metadata


def image_input_shape(metadata: Mapping | None) -> list | None:
    """``metadata["input_shape"]`` when the metadata describes an image model, else None."""
    if not isinstance(metadata, Mapping):
        return None
    if metadata.get("input_kind") == IMAGE_KIND or "input_shape" in metadata:
        return metadata.get("input_shape")
    return None


def image_normalisation(mean, std, channels: int, source: str) -> dict:
    """Per-channel ``{"mean": [...], "std": [...]}`` of an image model.

    Parameters
    ----------
    mean, std : float, sequence of float or None
        None gives 0 and 1; one value is repeated over the channels.
    channels : int
        C.
    source : str
        Named in the error message.

    Raises
    ------
    InputError
        Not ``channels`` values each, or a std that is not positive.
    """
    mean = [0.0] * channels if mean is None else [float(v) for v in _as_list(mean)]
    std = [1.0] * channels if std is None else [float(v) for v in _as_list(std)]
    if len(mean) == 1:
        mean = mean * channels
    if len(std) == 1:
        std = std * channels
    if len(mean) != channels or len(std) != channels or not all(s > 0 for s in std):
        raise InputError(
            f"{source}: normalisation mean={mean}, std={std}; expected {channels} values each, "
            "std > 0"
        )
    return {"mean": mean, "std": std}


def _as_list(value) -> list:
    if isinstance(value, (str, bytes)):
        raise InputError(f"normalisation value {value!r}; expected numbers")
    if hasattr(value, "tolist"):
        value = value.tolist()
    return list(value) if isinstance(value, (list, tuple)) else [value]


# --------------------------------------------------------------------------- helpers


def _read_json(path: Path) -> dict:
    try:
        content = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(content, dict):
        raise ModelError(f"{path}: holds a JSON {type(content).__name__}; expected an object")
    return content


#: Input layouts a model file may record (:mod:`seqsal.models.layout` wraps them).
LAYOUTS = ("NCL", "NLC")


def _checked_layout(layout, name: str, *, model: bool = False) -> str | None:
    """``layout`` (None passes) if it is one of :data:`LAYOUTS`; else InputError, or
    ModelError when ``model`` (a file records it)."""
    if layout is None or layout in LAYOUTS:
        return layout
    error = ModelError if model else InputError
    raise error(f"{name}={layout!r}; expected one of {', '.join(LAYOUTS)}")


def _json_ready(value: Mapping | None, name: str) -> dict:
    value = dict(value or {})
    try:
        json.dumps(value)
    except TypeError as err:
        raise InputError(f"{name} must be JSON-serializable: {err}") from err
    return value


__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "HISTORY_TSV",
    "IMAGE_KIND",
    "LAYOUTS",
    "METRICS_JSON",
    "MODEL_JSON",
    "TORCHSCRIPT_METADATA",
    "WEIGHTS",
    "ModelFiles",
    "check_output_folder",
    "folder_files",
    "image_input_shape",
    "image_normalisation",
    "is_model_folder",
    "is_torchscript",
    "model_folder",
    "read_metrics",
    "read_model_folder",
    "read_model_json",
    "read_state_dict",
    "read_torchscript",
    "write_model_files",
    "write_torchscript",
]

"""Image classifiers: the bundled digits data, training, saving and loading image models.

An image model is any ``nn.Module`` mapping float32 ``(n, C, H, W)`` to ``(n, T)`` logits.
seqsal saves it as its usual model folder (:mod:`seqsal.models.files`) with ``input_length``
null and, in ``model.json``'s ``metadata``::

    "input_kind":    "image"
    "input_shape":   [C, H, W]        the shape the model was trained on
    "normalisation": {"mean": [m_1, ..., m_C], "std": [s_1, ..., s_C]}
                     the model's input is (pixel / 255 - mean) / std per channel

:func:`seqsal.io.images.read_images` takes that ``metadata`` dict and returns images ready for
the model (size, channels and normalisation).  Image models load through
:func:`seqsal.models.load_model` like every other model, checked on ``(2, C, H, W)``;
:func:`load_image_model` also takes the input shape and normalisation of a model whose files
do not record them.

The demo model (:func:`train_digits_demo`) is trained by seqsal on scikit-learn's bundled
``load_digits`` (1,797 grey 8 x 8 handwritten digits), so nothing is downloaded.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from seqsal._runtime import check_positive_int, check_seed, model_on, rng
from seqsal.errors import InputError, ModelError
from seqsal.models.files import IMAGE_KIND, check_output_folder, image_normalisation
from seqsal.models.load import LoadedModel, check_model, read_model, save_model
from seqsal.models.train import fit
from seqsal.models.zoo import IMAGE_ARCHITECTURES, build

log = logging.getLogger(__name__)


class DigitsData(NamedTuple):
    """The digits images.

    Attributes
    ----------
    X : numpy.ndarray, float32, shape (n, 1, size, size)
        Grey values in [0, 1] (0 = background, 1 = ink).
    y : numpy.ndarray, int64, shape (n,)
        Class index 0..9.
    class_names : list of str
        ``["0", "1", ..., "9"]``.
    """

    X: np.ndarray
    y: np.ndarray
    class_names: list[str]


def digits_dataset(size: int = 32, *, seed: int | None = 0) -> DigitsData:
    """scikit-learn's bundled handwritten digits as images, upsampled to ``size`` x ``size``.

    The 8 x 8 originals (values 0-16) are divided by 16 and resized with bilinear
    interpolation (``torch.nn.functional.interpolate``, ``align_corners=False``, no
    antialiasing), which keeps values in [0, 1]; ``size=8`` returns them unchanged.

    Parameters
    ----------
    size : int, default 32
        Output height and width in pixels.
    seed : int or None, default 0
        Order of the examples: None keeps scikit-learn's order, an int shuffles them with
        that seed (the same seed gives the same order).

    Returns
    -------
    DigitsData
        ``X`` float32 ``(1797, 1, size, size)``, ``y`` int64 ``(1797,)``, ``class_names``.
    """
    import torch.nn.functional as F
    from sklearn.datasets import load_digits

    size = check_positive_int(size, "size")
    digits = load_digits()
    images = torch.from_numpy(digits.images.astype(np.float32) / 16.0).unsqueeze(1)
    if size != images.shape[-1]:
        images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    X = images.clamp_(0.0, 1.0).numpy()
    y = digits.target.astype(np.int64)
    if seed is not None:
        order = rng(seed).permutation(len(y))
        X, y = X[order], y[order]
    return DigitsData(np.ascontiguousarray(X), y, [str(int(c)) for c in digits.target_names])


class ImageTrainResult(NamedTuple):
    """What :func:`train_image_classifier` returns.

    Attributes
    ----------
    model : nn.Module
        Trained, in eval mode, on the CPU (best validation epoch).
    metrics : dict
        ``train_accuracy``, ``val_accuracy``, ``test_accuracy`` (held out: never used for
        training or early stopping), ``n_train``, ``n_val``, ``n_test``, ``best_epoch``,
        ``seconds``.
    history : list of dict
        One row per epoch (as :func:`seqsal.models.train.fit` returns it).
    metadata : dict
        The image metadata to save with the model: ``input_kind``, ``input_shape``,
        ``normalisation``, ``class_names``, ``metrics``, ``history`` and the settings.
    arch_kwargs : dict
        The architecture's keyword arguments (besides ``n_targets`` and ``task``).
    split : dict of numpy.ndarray
        Indices into ``X`` of the ``train``, ``val`` and ``test`` examples.
    """

    model: nn.Module
    metrics: dict
    history: list
    metadata: dict
    arch_kwargs: dict
    split: dict


def _stratified_split(y: np.ndarray, val_fraction: float, test_fraction: float, seed: int):
    """Per class, shuffle (seeded) and cut test, then val, then train: fractions hold per class."""
    generator = rng(seed)
    parts: dict[str, list] = {"train": [], "val": [], "test": []}
    for label in np.unique(y):
        idx = generator.permutation(np.flatnonzero(y == label))
        n_test = round(test_fraction * len(idx))
        n_val = round(val_fraction * len(idx))
        parts["test"].append(idx[:n_test])
        parts["val"].append(idx[n_test : n_test + n_val])
        parts["train"].append(idx[n_test + n_val :])
    return {k: np.sort(np.concatenate(v)).astype(np.int64) for k, v in parts.items()}


def _check_fraction(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise InputError(f"{name}={value!r}; expected a fraction in [0, 1)")
    return float(value)


def accuracy(model: nn.Module, X, y, *, batch_size: int = 256, device=None) -> float:
    """Fraction of ``X`` whose arg-max logit is ``y``.

    Parameters
    ----------
    model : nn.Module
        ``(n, C, H, W) -> (n, T)``.
    X : numpy.ndarray or torch.Tensor, shape (n, C, H, W)
    y : array of int, shape (n,)
    """
    X = torch.as_tensor(np.asarray(X, dtype=np.float32))
    y = np.asarray(y)
    if len(y) == 0:
        return float("nan")
    predicted = []
    with model_on(model, device) as dev, torch.no_grad():
        for start in range(0, X.shape[0], batch_size):
            predicted.append(model(X[start : start + batch_size].to(dev)).argmax(dim=1).cpu())
    return float((torch.cat(predicted).numpy() == y).mean())


def train_image_classifier(
    X,
    y,
    *,
    class_names: Sequence[str] | None = None,
    arch: str = "imagecnn",
    arch_kwargs: Mapping | None = None,
    normalise: bool = False,
    epochs: int = 12,
    batch_size: int = 64,
    lr: float = 3e-3,
    weight_decay: float = 0.0,
    patience: int = 4,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
    device=None,
    progress=None,
) -> ImageTrainResult:
    """Train a zoo image classifier on ``(n, C, H, W)`` images with integer labels.

    Uses seqsal's training loop (:func:`seqsal.models.train.fit`: AdamW, learning-rate cuts
    and early stopping on the validation loss, best epoch restored) with a sigmoid
    cross-entropy (``BCEWithLogitsLoss``) on one-hot labels; the logits' arg-max is the
    predicted class, and a softmax over them gives class probabilities.  The split is
    stratified and seeded; the test part is used only to report accuracy.  The same inputs
    and seed give the same weights (single process, CPU).

    Parameters
    ----------
    X : numpy.ndarray, float, shape (n, C, H, W)
        Images as the model will see them (already normalised unless ``normalise``).
    y : array of int, shape (n,)
        Class indices ``0..T-1``.
    class_names : list of str, optional
        One name per class; default ``"0"``, ``"1"``, ...
    arch : str, default "imagecnn"
        A zoo image architecture (:data:`seqsal.models.zoo.IMAGE_ARCHITECTURES`).
    arch_kwargs : mapping, optional
        Architecture options, e.g. ``{"channels": [8, 16, 32]}``; ``in_channels`` is taken
        from ``X``.
    normalise : bool, default False
        Standardise each channel with the training split's mean and std (recorded in the
        metadata); False records mean 0 and std 1, so the model sees ``X`` as it is and a
        zero ("black") baseline stays black.
    epochs, batch_size, lr, weight_decay, patience
        As in :func:`seqsal.models.train.fit`.
    val_fraction : float, default 0.15
        Share of each class used for early stopping.
    test_fraction : float, default 0.15
        Share of each class held out for the reported ``test_accuracy``.
    seed : int, default 0
        Seeds the split, the initial weights and the batch order.
    device, progress
        As everywhere in seqsal.

    Returns
    -------
    ImageTrainResult
    """
    began = time.perf_counter()
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y)
    if X.ndim != 4 or X.shape[0] == 0:
        raise InputError(f"X has shape {X.shape}; expected images (n, C, H, W) with n >= 1")
    if y.shape != (X.shape[0],) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise InputError(
            f"y has shape {y.shape} and dtype {y.dtype}; expected {X.shape[0]} non-negative class indices"
        )
    if arch not in IMAGE_ARCHITECTURES:
        raise InputError(f"arch={arch!r}; expected one of {', '.join(IMAGE_ARCHITECTURES)}")
    check_seed(seed, allow_none=False)
    val_fraction = _check_fraction(val_fraction, "val_fraction")
    test_fraction = _check_fraction(test_fraction, "test_fraction")
    if val_fraction + test_fraction >= 1:
        raise InputError(
            f"val_fraction + test_fraction = {val_fraction + test_fraction}; must be below 1"
        )
    n_classes = int(y.max()) + 1
    if class_names is None:
        class_names = [str(i) for i in range(n_classes)]
    class_names = [str(c) for c in class_names]
    if len(class_names) < n_classes:
        raise InputError(
            f"class_names has {len(class_names)} names but y has labels up to {n_classes - 1}"
        )
    n_classes = len(class_names)
    split = _stratified_split(y, val_fraction, test_fraction, int(seed))
    if len(split["val"]) == 0:
        raise InputError(
            f"val_fraction={val_fraction} leaves no validation images; give more images or a larger fraction"
        )
    channels = X.shape[1]
    if normalise:
        train_images = X[split["train"]]
        mean = train_images.mean(axis=(0, 2, 3)).astype(np.float64)
        std = train_images.std(axis=(0, 2, 3)).astype(np.float64)
        std[std == 0] = 1.0
    else:
        mean, std = np.zeros(channels), np.ones(channels)
    Xn = ((X - mean.reshape(1, -1, 1, 1)) / std.reshape(1, -1, 1, 1)).astype(np.float32)
    onehot = np.eye(n_classes, dtype=np.float32)[y]
    kwargs = {"in_channels": int(channels), **dict(arch_kwargs or {})}
    model = build(arch, n_targets=n_classes, task="classification", seed=int(seed), **kwargs)
    history = fit(
        model,
        Xn[split["train"]],
        onehot[split["train"]],
        Xn[split["val"]],
        onehot[split["val"]],
        task="classification",
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        patience=patience,
        rc_augment=False,
        seed=int(seed),
        device=device,
        progress=progress,
    )
    model = model.cpu().eval()
    metrics = {
        f"{part}_accuracy": round(accuracy(model, Xn[idx], y[idx]), 6)
        for part, idx in split.items()
    }
    metrics.update({f"n_{part}": len(idx) for part, idx in split.items()})
    metrics["best_epoch"] = next((row["epoch"] for row in history if row.get("best")), None)
    metrics["seconds"] = round(time.perf_counter() - began, 3)
    log.info(
        "image classifier: test accuracy %.4f (%d held-out images)",
        metrics["test_accuracy"],
        metrics["n_test"],
    )
    metadata = {
        "input_kind": IMAGE_KIND,
        "input_shape": [int(d) for d in X.shape[1:]],
        "normalisation": {"mean": [float(v) for v in mean], "std": [float(v) for v in std]},
        "class_names": class_names,
        "metrics": metrics,
        "history": history,
        "settings": {
            "epochs": epochs,
            "batch_size": batch_size,
            "lr": lr,
            "weight_decay": weight_decay,
            "patience": patience,
            "val_fraction": val_fraction,
            "test_fraction": test_fraction,
            "seed": int(seed),
            "loss": "BCEWithLogitsLoss on one-hot labels",
        },
    }
    return ImageTrainResult(model, metrics, history, metadata, kwargs, split)


def save_image_model(
    model: nn.Module,
    path: str | os.PathLike,
    *,
    arch: str,
    arch_kwargs: Mapping,
    class_names: Sequence[str],
    input_shape: Sequence[int],
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    task: str = "classification",
    metadata: Mapping | None = None,
) -> Path:
    """Save an image model as a seqsal model directory (atomically), with its image metadata.

    Parameters
    ----------
    model : nn.Module
    path : str or os.PathLike
    arch : str
        ``"imagecnn"`` or ``"package.module:Class"`` (as :func:`seqsal.models.save_model`).
    arch_kwargs : mapping
        JSON-serializable architecture options (for a zoo name besides ``n_targets`` and
        ``task``).
    class_names : list of str
        One name per output.
    input_shape : (C, H, W)
    mean, std : list of float, optional
        Per-channel normalisation; default 0 and 1 (the model takes pixels / 255 as they are).
    task : str, default "classification"
    metadata : mapping, optional
        More JSON-serializable metadata (metrics, history, data).

    Returns
    -------
    Path
    """
    info = dict(metadata or {})
    shape = [check_positive_int(d, "input_shape") for d in input_shape]
    if len(shape) != 3:
        raise InputError(f"input_shape={list(input_shape)!r}; expected (C, H, W)")
    info["input_kind"] = IMAGE_KIND
    info["input_shape"] = shape
    info["normalisation"] = image_normalisation(mean, std, shape[0], "save_image_model")
    return save_model(
        model,
        path,
        arch=arch,
        arch_kwargs=arch_kwargs,
        input_length=None,
        targets=list(class_names),
        task=task,
        metadata=info,
    )


def train_digits_demo(
    out_dir: str | os.PathLike,
    *,
    seed: int = 0,
    size: int = 32,
    epochs: int = 12,
    progress=None,
) -> Path:
    """Train the demo digits classifier and save it as a seqsal model directory.

    An :class:`~seqsal.models.zoo.ImageCNN` (``channels=(16, 32, 64, 64)``, Grad-CAM layers
    ``"features.conv4"`` (last, 4 x 4) or ``"features.conv3"`` (8 x 8)) on
    :func:`digits_dataset` (``size`` x ``size`` grey images in [0, 1], no normalisation:
    mean 0, std 1), 70/15/15 stratified split.  The held-out accuracy is recorded in
    ``metadata["metrics"]["test_accuracy"]`` (docs/models.md gives the demo's figures).  The
    same seed gives the same weights.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Model directory to create (replaced if it already is a seqsal model directory).
    seed : int, default 0
    size : int, default 32
        Image height and width.
    epochs : int, default 12
    progress : bool, optional

    Returns
    -------
    Path
        ``out_dir``; load it with :func:`load_image_model`.
    """
    check_output_folder(out_dir)
    data = digits_dataset(size, seed=None)
    result = train_image_classifier(
        data.X,
        data.y,
        class_names=data.class_names,
        epochs=epochs,
        seed=seed,
        progress=progress,
    )
    metadata = dict(result.metadata)
    metadata["data"] = (
        f"sklearn.datasets.load_digits (1,797 images 8 x 8, /16), bilinear upsampling to {size} x {size}"
    )
    return save_image_model(
        result.model,
        out_dir,
        arch="imagecnn",
        arch_kwargs=result.arch_kwargs,
        class_names=data.class_names,
        input_shape=metadata["input_shape"],
        mean=metadata["normalisation"]["mean"],
        std=metadata["normalisation"]["std"],
        metadata=metadata,
    )


def load_image_model(
    spec,
    *,
    input_shape: Sequence[int] | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    targets: Sequence[str] | None = None,
) -> LoadedModel:
    """Load an image model: a seqsal model folder, a TorchScript file or an ``nn.Module``.

    The files are read and verified as :func:`seqsal.models.load_model` reads them (format,
    sha256 of the weights, state dict keys), and the model is checked on ``(2, C, H, W)``.
    Use this rather than ``load_model`` when the files may not record the input shape or
    normalisation (a TorchScript file saved by ``torch.jit.save``, a module in memory).

    Parameters
    ----------
    spec : str, os.PathLike, nn.Module or LoadedModel
        A seqsal model folder saved by :func:`save_image_model` / :func:`train_digits_demo`;
        a TorchScript file (its ``seqsal.json`` extra file may hold ``metadata`` with
        ``input_shape`` and ``normalisation``); a module in memory.
    input_shape : (C, H, W), optional
        Required when the files do not record it.
    mean, std : list of float, optional
        Per-channel normalisation, replacing the recorded one (default: as recorded, else 0
        and 1).
    targets : list of str, optional
        Output names when the files do not record them.

    Returns
    -------
    LoadedModel
        ``input_length`` is None; ``metadata["input_shape"]`` ``[C, H, W]`` and
        ``metadata["normalisation"]`` ``{"mean": [...], "std": [...]}`` are always set (pass
        ``metadata`` to :func:`seqsal.io.images.read_images`).

    Raises
    ------
    ModelError
        Missing or corrupt files, no input shape recorded or given, a model that fails on
        ``(2, C, H, W)`` or does not return ``(2, T)``.
    """
    source = read_model(spec)
    shape = input_shape if input_shape is not None else source.files.input_shape
    if shape is None:
        raise ModelError(
            f"{source.files.source}: the model files do not record the image input shape; "
            "give input_shape=(C, H, W)"
        )
    loaded = check_model(
        source, input_shape=shape, targets=None if targets is None else list(targets)
    )
    if mean is not None or std is not None:
        recorded = loaded.metadata["normalisation"]
        loaded.metadata["normalisation"] = image_normalisation(
            recorded["mean"] if mean is None else mean,
            recorded["std"] if std is None else std,
            len(recorded["mean"]),
            loaded.source,
        )
    return loaded

"""Train a zoo model on BED target columns, with whole chromosomes held out.

The recipe, and why:

* **Data**: every region is resized to one window width, centred on the region, strand-aware,
  padded with N past chromosome ends.  The default width is the regions' own width (their
  median when they differ) plus ``context`` bases of flanking genome on each side, by default
  half the first convolution's kernel: the trunk's convolutions are unpadded, so without
  flanks a site at a region's edge fits the first layer's kernel in only one placement, and a
  filter that learned the site in another placement never sees it.  Targets are numeric BED
  columns (default: all of them).
* **Split by chromosome**: validation and test regions come from chromosomes the model never
  trains on (default: the last two chromosomes, in FASTA order, that hold regions: the one
  before last for validation, the last for test), so test metrics measure generalization to
  new sequence, not memorized neighbours.
* **Task**: classification (logits, binary cross-entropy) when every target holds only 0 and
  1, else regression (mean squared error).
* **Standardized regression targets**: the model fits ``(y - mean) / std`` (training
  chromosomes' mean and standard deviation, per target); afterwards both are written into the
  model's output transform, so the saved model predicts in the original units.
* **Reverse-complement augmentation**: each training example is reverse-complemented with
  probability 1/2 in each epoch (targets unchanged), teaching the strand symmetry that
  transcription factor binding has.
* **Early stopping**: after each epoch the validation loss is measured; training stops when it
  has not improved for ``patience`` epochs and the best epoch's weights are restored.
* **Determinism**: initial weights come from ``seed`` and the batch order and augmentation from
  a numpy generator seeded by ``seed``; deterministic torch algorithms are switched on for the
  run (and restored afterwards).  The same inputs and seed give identical weights on the CPU.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import math
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from seqsal import __version__
from seqsal._runtime import (
    check_non_negative_int,
    check_positive_int,
    check_seed,
    model_on,
    progress_bar,
    resolve_device,
    rng,
    torch_seed,
)
from seqsal.errors import InputError
from seqsal.models.files import (
    HISTORY_TSV,
    METRICS_JSON,
    MODEL_JSON,
    WEIGHTS,
    check_output_folder,
    model_folder,
    write_model_files,
    write_training_files,
)
from seqsal.models.metrics import evaluate_predictions
from seqsal.models.predict import predict
from seqsal.models.zoo import ARCHITECTURES, TASKS, build, default_kwargs

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- data


@dataclasses.dataclass
class TrainingData:
    """One-hot windows and targets of every region, with the split.

    Attributes
    ----------
    X : np.ndarray, shape (n, 4, L), float32
    Y : np.ndarray, shape (n, T), float32
    windows : pandas.DataFrame
        The windows used (BED columns of each window, ``pad_left``/``pad_right``, extras).
    targets : list of str
    split : np.ndarray of str, shape (n,)
        ``"train"``, ``"val"``, ``"test"`` or ``""`` (region on no chosen chromosome: unused).
    chroms : dict
        ``{"train": [...], "val": [...], "test": [...]}`` chromosome names.
    """

    X: np.ndarray
    Y: np.ndarray
    windows: object
    targets: list[str]
    split: np.ndarray
    chroms: dict


def _parse_chroms(value, name: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [c for c in (part.strip() for part in value.split(",")) if c]
    value = [str(c) for c in value]
    if not value:
        raise InputError(f"{name} is empty; give at least one chromosome")
    return value


def choose_split(
    region_chroms: Sequence[str],
    fasta_order: Sequence[str],
    *,
    val_chroms=None,
    test_chroms=None,
) -> dict[str, list[str]]:
    """Pick validation and test chromosomes; the rest holding regions are for training.

    Defaults: the last chromosome (in FASTA order) that holds regions for test, the one before
    it for validation.  Raises InputError when a split would be empty or the lists overlap.
    """
    present = set(region_chroms)
    ordered = [c for c in fasta_order if c in present]
    val = _parse_chroms(val_chroms, "val_chroms")
    test = _parse_chroms(test_chroms, "test_chroms")
    for name, chosen in (("val_chroms", val), ("test_chroms", test)):
        if chosen is None:
            continue
        unknown = [c for c in chosen if c not in present]
        if unknown:
            raise InputError(
                f"{name}: {', '.join(unknown)} holds no region; chromosomes with regions: {', '.join(ordered[:10])}"
                + (" ..." if len(ordered) > 10 else "")
            )
    if test is None or val is None:
        free = [c for c in ordered if c not in (val or []) and c not in (test or [])]
        needed = (test is None) + (val is None)
        if len(free) < needed + 1:
            raise InputError(
                f"regions lie on {len(ordered)} chromosome(s) ({', '.join(ordered[:5])}); the default hold-out needs "
                "one for test, one for validation and at least one for training; give val_chroms and test_chroms"
            )
        if test is None:
            test = [free.pop()]
        if val is None:
            val = [free.pop()]
    overlap = sorted(set(val) & set(test))
    if overlap:
        raise InputError(
            f"val_chroms and test_chroms share {', '.join(overlap)}; they must be disjoint"
        )
    train_chroms = [c for c in ordered if c not in val and c not in test]
    if not train_chroms:
        raise InputError(
            "no chromosome with regions is left for training after val_chroms and test_chroms"
        )
    return {"train": train_chroms, "val": val, "test": test}


def default_context(arch: str, arch_kwargs: Mapping | None = None) -> int:
    """Flanking bases per side that :func:`train` adds to the regions' width by default:
    ``(kernel_size - 1) // 2`` of the architecture's first convolution (0 if it has none)."""
    options = {**default_kwargs(arch), **dict(arch_kwargs or {})}
    kernel = options.get("kernel_size", 1)
    if isinstance(kernel, bool) or not isinstance(kernel, (int, np.integer)) or kernel < 1:
        return 0  # the model's own check reports the bad value
    return (int(kernel) - 1) // 2


def load_training_data(
    fasta,
    regions,
    *,
    targets: Sequence[str] | str | None = None,
    width: int | None = None,
    context: int = 0,
    val_chroms=None,
    test_chroms=None,
) -> TrainingData:
    """Read regions and targets, extract one-hot windows, split by chromosome.

    Parameters are as in :func:`train`, except ``context``: bases added to each side of the
    default width (ignored when ``width`` is given); 0 here, resolved by :func:`train`.
    """
    import pandas as pd

    context = check_non_negative_int(context, "context")

    from seqsal.io.bed import read_bed
    from seqsal.io.fasta import Genome, open_genome
    from seqsal.sequence.windows import extract_onehot, make_windows

    genome = fasta if isinstance(fasta, Genome) else open_genome(fasta)
    try:
        table = (
            regions
            if isinstance(regions, pd.DataFrame)
            else read_bed(regions, chrom_sizes=genome.chrom_sizes)
        )
        source = table.attrs.get("source", "regions")
        if len(table) == 0:
            raise InputError(f"{source}: no regions to train on")
        target_names = _choose_targets(table, targets, source)
        values = table[target_names].to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            column = target_names[int(np.flatnonzero(bad.any(axis=0))[0])]
            raise InputError(
                f"{source}: target column {column!r} has {int(bad.sum())} missing or non-finite value(s); "
                "remove those regions or fill them"
            )
        if width is None:
            lengths = (table["end"] - table["start"]).to_numpy()
            width = int(lengths[0]) if (lengths == lengths[0]).all() else int(np.median(lengths))
            if not (lengths == lengths[0]).all():
                log.info("regions have different widths; using their median, %d bp", width)
            width += 2 * context
        width = check_positive_int(width, "width")
        split_chroms = choose_split(
            table["chrom"].astype(str).tolist(),
            list(genome.chrom_sizes),
            val_chroms=val_chroms,
            test_chroms=test_chroms,
        )
        windows = make_windows(table, width, chrom_sizes=genome.chrom_sizes, out_of_bounds="pad")
        X = extract_onehot(genome, windows)
    finally:
        if genome is not fasta:
            genome.close()
    chrom = windows["chrom"].astype(str).to_numpy()
    split = np.full(len(windows), "", dtype=object)
    for name in ("train", "val", "test"):
        split[np.isin(chrom, split_chroms[name])] = name
    Y = windows[target_names].to_numpy(dtype=np.float32)
    return TrainingData(
        X=X,
        Y=Y,
        windows=windows,
        targets=target_names,
        split=split.astype(str),
        chroms=split_chroms,
    )


def _choose_targets(table, targets, source) -> list[str]:
    import pandas as pd

    if targets is None:
        names = list(table.attrs.get("targets") or [])
        if not names:
            raise InputError(
                f"{source}: no numeric target columns; give the BED a header row naming extra numeric "
                "columns (e.g. '#chrom start end name score strand activity') or pass targets"
            )
        return names
    names = (
        [t.strip() for t in targets.split(",")]
        if isinstance(targets, str)
        else [str(t) for t in targets]
    )
    names = [t for t in names if t]
    if not names:
        raise InputError("targets is empty; give at least one column name")
    extra = [c for c in table.columns if c not in ("chrom", "start", "end", "name", "strand")]
    for name in names:
        if name not in table.columns:
            raise InputError(
                f"{source}: no target column {name!r}; columns available: {', '.join(extra) or 'none'}"
            )
        if not pd.api.types.is_numeric_dtype(table[name]):
            raise InputError(f"{source}: target column {name!r} is not numeric")
    if len(set(names)) != len(names):
        raise InputError(f"targets lists a column twice: {', '.join(names)}")
    return names


def infer_task(Y: np.ndarray) -> str:
    """``"classification"`` when every value is 0 or 1, else ``"regression"``."""
    return "classification" if np.isin(Y, (0.0, 1.0)).all() else "regression"


# --------------------------------------------------------------------------- training


@dataclasses.dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    model : ZooModel
        Trained, best-epoch weights, output transform set (regression outputs in original
        units), eval mode, on the CPU.
    metrics : dict
        As written to ``metrics.json``: per-split n and chromosomes, per-target metrics on val
        and test, epochs run, best epoch, seed, seconds.
    history : list of dict
        One per epoch: ``epoch``, ``train_loss``, ``val_loss``, ``seconds``.
    paths : dict of str to Path
        ``out_dir``, ``model_json``, ``weights``, ``metrics``, ``history`` (empty without
        ``out_dir``).
    """

    model: nn.Module
    metrics: dict
    history: list[dict]
    paths: dict[str, Path]


@contextlib.contextmanager
def _deterministic_algorithms():
    """Switch on torch's deterministic algorithms for the block, restoring the setting after."""
    enabled = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        torch.use_deterministic_algorithms(True, warn_only=True)
        yield
    finally:
        torch.use_deterministic_algorithms(enabled, warn_only=warn_only)


def _loss_function(task: str) -> nn.Module:
    return nn.MSELoss() if task == "regression" else nn.BCEWithLogitsLoss()


def _mean_loss(model, X: torch.Tensor, Y: torch.Tensor, loss_fn, batch_size: int, dev) -> float:
    """Mean loss over all examples, in batches (eval mode, no gradients)."""
    total = 0.0
    with torch.no_grad():
        for start in range(0, X.shape[0], batch_size):
            xb = X[start : start + batch_size].to(dev)
            yb = Y[start : start + batch_size].to(dev)
            total += float(loss_fn(model(xb), yb)) * xb.shape[0]
    return total / max(X.shape[0], 1)


def _check_lr(lr) -> None:
    if (
        isinstance(lr, bool)
        or not isinstance(lr, (int, float))
        or not math.isfinite(lr)
        or not lr > 0
    ):
        raise InputError(f"lr={lr!r}; must be a positive number")


def _check_weight_decay(value) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise InputError(f"weight_decay={value!r}; must be a non-negative number")


def fit(
    model: nn.Module,
    X_train: np.ndarray,
    Y_train: np.ndarray,
    X_val: np.ndarray,
    Y_val: np.ndarray,
    *,
    task: str,
    epochs: int = 30,
    batch_size: int = 64,
    lr: float = 3e-3,
    weight_decay: float = 0.0,
    patience: int = 5,
    rc_augment: bool = True,
    seed: int = 0,
    device=None,
    progress=None,
) -> list[dict]:
    """Fit ``model`` in place with AdamW and early stopping; restore the best epoch's weights.

    The learning rate is cut to 0.3x when the validation loss has not improved for
    ``max(1, patience // 2)`` epochs (so it is lowered before training gives up).

    ``Y_train``/``Y_val`` are what the model should output (already standardized for
    regression).  Returns the per-epoch history.  Batch order and reverse-complement flips come
    from a generator seeded by ``seed``.
    """
    from seqsal.sequence.onehot import reverse_complement

    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    patience = check_positive_int(patience, "patience")
    lr_patience = max(1, patience // 2)
    _check_lr(lr)
    generator = rng(seed)
    loss_fn = _loss_function(task)
    Xt, Yt = torch.from_numpy(X_train), torch.from_numpy(Y_train)
    Xv, Yv = torch.from_numpy(X_val), torch.from_numpy(Y_val)
    history: list[dict] = []
    n = Xt.shape[0]
    n_batches = math.ceil(n / batch_size)
    best_loss, best_state, best_epoch, waited = math.inf, None, 0, 0
    with model_on(model, device, train=True, requires_grad=True) as dev:
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=0.3, patience=lr_patience
        )
        bar = progress_bar(total=epochs * n_batches, desc="train", unit="batch", progress=progress)
        try:
            for epoch in range(1, epochs + 1):
                began = time.perf_counter()
                model.train()
                order = torch.from_numpy(generator.permutation(n))
                flips = torch.from_numpy(generator.random(n) < 0.5) if rc_augment else None
                running = 0.0
                for start in range(0, n, batch_size):
                    idx = order[start : start + batch_size]
                    xb = Xt[idx]
                    if flips is not None:
                        flip = flips[idx]
                        if flip.any():
                            xb[flip] = reverse_complement(xb[flip])
                    xb, yb = xb.to(dev), Yt[idx].to(dev)
                    optimizer.zero_grad(set_to_none=True)
                    loss = loss_fn(model(xb), yb)
                    loss.backward()
                    optimizer.step()
                    running += float(loss.detach()) * xb.shape[0]
                    bar.update(1)
                model.eval()
                val_loss = _mean_loss(model, Xv, Yv, loss_fn, max(batch_size, 256), dev)
                row = {
                    "epoch": epoch,
                    "lr": optimizer.param_groups[0]["lr"],
                    "train_loss": round(running / n, 6),
                    "val_loss": round(val_loss, 6),
                    "seconds": round(time.perf_counter() - began, 3),
                }
                history.append(row)
                bar.set_postfix(epoch=epoch, val_loss=f"{val_loss:.4f}")
                log.info(
                    "epoch %d: train loss %.4f, val loss %.4f", epoch, row["train_loss"], val_loss
                )
                scheduler.step(val_loss)
                if val_loss < best_loss:
                    best_loss, best_epoch, waited = val_loss, epoch, 0
                    best_state = copy.deepcopy(model.state_dict())
                else:
                    waited += 1
                    if waited >= patience:
                        log.info("early stop: val loss has not improved for %d epochs", patience)
                        break
        finally:
            bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    for row in history:
        row["best"] = row["epoch"] == best_epoch
    return history


def train(
    fasta,
    regions,
    *,
    targets: Sequence[str] | str | None = None,
    arch: str = "cnn",
    arch_kwargs: Mapping | None = None,
    task: str | None = None,
    width: int | None = None,
    context: int | None = None,
    val_chroms=None,
    test_chroms=None,
    epochs: int = 30,
    batch_size: int = 64,
    lr: float = 3e-3,
    weight_decay: float = 0.0,
    patience: int = 5,
    rc_augment: bool = True,
    seed: int = 0,
    device=None,
    progress=None,
    out_dir: str | os.PathLike | None = None,
) -> TrainResult:
    """Train a zoo model on the numeric columns of a BED file.

    Parameters
    ----------
    fasta : str, os.PathLike or Genome
        Genome FASTA.
    regions : str, os.PathLike or pandas.DataFrame
        BED file with a header row naming extra numeric target columns (or a table from
        :func:`seqsal.io.bed.read_bed`).
    targets : list of str or comma-separated str, optional
        Target columns; default all numeric extra columns of the BED header.
    arch : {"cnn", "dilated"}, default "cnn"
        Zoo architecture.
    arch_kwargs : mapping, optional
        Architecture options (e.g. ``{"filters": 128}``).
    task : {"regression", "classification"}, optional
        Default: classification when every target value is 0 or 1, else regression.
    width : int, optional
        Window length L; default the regions' width (their median if they differ) plus
        ``context`` on each side.
    context : int, optional
        Bases of flanking genome added to each side of the default window (only when ``width``
        is not given).  Default ``(kernel_size - 1) // 2`` of the first convolution (9 for the
        CNN, 10 for the dilated model): the unpadded first layer then sees a site anywhere in
        the region, up to its edges, in every placement within its kernel (docs/models.md
        says what that changes).  0 trains on the regions' own width.
    val_chroms, test_chroms : list of str or comma-separated str, optional
        Held-out chromosomes; default the one before last and the last chromosome (FASTA
        order) holding regions.
    epochs : int, default 30
        Most epochs; early stopping usually ends sooner.
    batch_size : int, default 64
        Small batches generalize better on a few thousand regions.
    lr : float, default 3e-3
        AdamW learning rate, cut to 0.3x when the validation loss stalls (see :func:`fit`).
    weight_decay : float, default 0.0
        AdamW's decoupled weight decay.
    patience : int, default 5
        Epochs without a better validation loss before stopping; best weights are restored.
    rc_augment : bool, default True
        Reverse-complement each training example with probability 1/2 per epoch.
    seed : int, default 0
        Seed of initial weights, batch order and augmentation.
    device : str or torch.device, optional
        Default CPU.
    progress : bool, optional
        Progress bar; default only on a terminal.
    out_dir : path, optional
        Where to write the model folder (``model.json``, ``weights.pt``) with ``metrics.json``
        and ``history.tsv`` beside them; written atomically at the end.  Must not exist, be
        empty, or be a seqsal model folder (replaced).

    Returns
    -------
    TrainResult
    """
    began = time.perf_counter()
    if out_dir is not None:
        check_output_folder(out_dir)
    if task is not None and task not in TASKS:
        raise InputError(f"task={task!r}; expected one of {', '.join(TASKS)}")
    if arch not in ARCHITECTURES:
        raise InputError(f"arch={arch!r}; expected one of {', '.join(sorted(ARCHITECTURES))}")
    check_seed(seed, allow_none=False)
    resolve_device(device)
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("patience", patience)):
        check_positive_int(value, name)
    _check_lr(lr)
    _check_weight_decay(weight_decay)
    arch_kwargs = dict(arch_kwargs or {})
    if width is not None and context is not None:
        raise InputError(
            f"width={width!r} and context={context!r}; give one: width is the whole window, "
            "context widens the regions' own width"
        )
    if context is None:
        context = 0 if width is not None else default_context(arch, arch_kwargs)
    data = load_training_data(
        fasta,
        regions,
        targets=targets,
        width=width,
        context=context,
        val_chroms=val_chroms,
        test_chroms=test_chroms,
    )
    inferred = infer_task(data.Y)
    if task is None:
        task = inferred
    elif task == "classification" and inferred != "classification":
        raise InputError(
            "task='classification' needs targets holding only 0 and 1; these hold other values"
        )
    masks = {name: data.split == name for name in ("train", "val", "test")}
    counts = {name: int(mask.sum()) for name, mask in masks.items()}
    for name in ("train", "val"):
        if counts[name] == 0:
            raise InputError(f"no {name} regions")
    Y = data.Y
    if task == "regression":
        mean = Y[masks["train"]].mean(axis=0)
        std = Y[masks["train"]].std(axis=0)
        constant = [t for t, s in zip(data.targets, std, strict=True) if not s > 0]
        if constant:
            raise InputError(
                f"target(s) {', '.join(constant)} are constant on the training chromosomes"
            )
    else:
        mean = np.zeros(Y.shape[1], dtype=np.float32)
        std = np.ones(Y.shape[1], dtype=np.float32)
    fit_Y = ((Y - mean) / std).astype(np.float32)
    L = data.X.shape[-1]
    log.info(
        "training %s (%s) on %d regions (%s), validating on %d (%s), testing on %d (%s); width %d, targets %s",
        arch,
        task,
        counts["train"],
        ",".join(data.chroms["train"]),
        counts["val"],
        ",".join(data.chroms["val"]),
        counts["test"],
        ",".join(data.chroms["test"]),
        L,
        ",".join(data.targets),
    )
    with torch_seed(seed), _deterministic_algorithms():
        model = build(
            arch, input_length=L, n_targets=len(data.targets), task=task, seed=seed, **arch_kwargs
        )
        history = fit(
            model,
            data.X[masks["train"]],
            fit_Y[masks["train"]],
            data.X[masks["val"]],
            fit_Y[masks["val"]],
            task=task,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            weight_decay=weight_decay,
            patience=patience,
            rc_augment=rc_augment,
            seed=seed,
            device=device,
            progress=progress,
        )
    model = model.cpu().eval()
    model.targets = list(data.targets)  # so load_model(model) names the outputs
    with torch.no_grad():
        model.head[-1].scale.copy_(torch.as_tensor(std, dtype=torch.float32))
        model.head[-1].shift.copy_(torch.as_tensor(mean, dtype=torch.float32))
    metrics: dict = {
        "task": task,
        "targets": list(data.targets),
        "arch": arch,
        "width": L,
        "context": None if width is not None else int(context),  # validated by the loader
        "splits": {
            name: {"n": counts[name], "chroms": data.chroms[name]}
            for name in ("train", "val", "test")
        },
    }
    for name in ("val", "test"):
        if counts[name]:
            pred = predict(
                model, data.X[masks[name]], batch_size=256, device=device, progress=False
            )
            metrics[name] = evaluate_predictions(Y[masks[name]], pred, data.targets, task)
    best = next((row for row in history if row.get("best")), history[-1])
    metrics.update(
        {
            "epochs_run": len(history),
            "best_epoch": best["epoch"],
            "best_val_loss": best["val_loss"],
            "seed": int(seed),
            "seconds": round(time.perf_counter() - began, 2),
            "seqsal_version": __version__,
        }
    )
    settings = {
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "weight_decay": weight_decay,
        "patience": patience,
        "rc_augment": bool(rc_augment),
        "seed": int(seed),
        "val_chroms": data.chroms["val"],
        "test_chroms": data.chroms["test"],
        "fasta": _describe(fasta),
        "regions": _describe(regions),
    }
    if task == "regression":
        settings["target_mean"] = [float(v) for v in mean]
        settings["target_std"] = [float(v) for v in std]
    paths: dict[str, Path] = {}
    if out_dir is not None:
        paths = _write_outputs(
            out_dir, model, arch, arch_kwargs, L, data.targets, task, metrics, settings, history
        )
    return TrainResult(model=model, metrics=metrics, history=history, paths=paths)


def _describe(source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return str(
        getattr(source, "path", None)
        or getattr(source, "attrs", {}).get("source", type(source).__name__)
    )


def _write_outputs(
    out_dir, model, arch, arch_kwargs, L, targets, task, metrics, settings, history
) -> dict[str, Path]:
    final = Path(out_dir)
    with model_folder(final) as tmp:
        write_model_files(
            tmp,
            model,
            arch=arch,
            arch_kwargs=arch_kwargs,
            input_length=L,
            targets=targets,
            task=task,
            metadata={"metrics": metrics, "training": settings},
        )
        write_training_files(tmp, metrics, history)
    log.info("wrote model, %s and %s to %s", METRICS_JSON, HISTORY_TSV, final)
    return {
        "out_dir": final,
        "model_json": final / MODEL_JSON,
        "weights": final / WEIGHTS,
        "metrics": final / METRICS_JSON,
        "history": final / HISTORY_TSV,
    }

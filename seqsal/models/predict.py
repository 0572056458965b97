"""Batched prediction: arrays in, arrays out; FASTA + BED in, a table out.

Results never depend on ``batch_size`` (beyond float rounding of the backend) and come back on
the CPU as numpy; the model's device and train/eval mode are restored afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import numpy as np
import torch
from torch import nn

from seqsal._runtime import batch_slices, check_positive_int, model_on, progress_bar
from seqsal.errors import InputError, ModelError, first_line
from seqsal.models.ensemble import Ensemble, MemberColumns, member_columns
from seqsal.models.load import LoadedModel, load_model
from seqsal.models.probe import output_matrix

log = logging.getLogger(__name__)


def _module_of(model) -> nn.Module:
    if isinstance(model, LoadedModel):
        return model.module
    if isinstance(model, nn.Module):
        return model
    raise InputError(
        f"model must be a torch.nn.Module or a LoadedModel, got {type(model).__name__}"
    )


def _as_tensor(batch, what: str) -> torch.Tensor:
    if isinstance(batch, np.ndarray):
        batch = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
    elif isinstance(batch, torch.Tensor):
        batch = batch.detach().float()
    else:
        raise InputError(
            f"{what} must be a numpy array or torch tensor of shape (n, 4, L) or (n, ...), "
            f"got {type(batch).__name__}"
        )
    if batch.ndim < 2:
        raise InputError(
            f"{what} has shape {tuple(batch.shape)}; expected (n, 4, L) one-hot, or (n, ...) "
            "input of any other model (e.g. images (n, C, H, W))"
        )
    return batch


def predict_batch(
    module: nn.Module, x: torch.Tensor, device: torch.device, select: Callable | None = None
) -> np.ndarray:
    """``module(x)`` for one batch (moved to ``device``), as a float32 ``(n, K)`` numpy array.

    The caller puts the model on ``device`` in eval mode under ``torch.no_grad`` (as
    :func:`predict` does); the result is on the CPU.  The columns are
    :func:`seqsal.models.probe.output_matrix`'s (one per scalar target of every head), or
    ``select(output)`` (the raw output in, an ``(n, K)`` tensor out) when given.
    An input that does not fit the model is an InputError; an output that is not a tensor or
    heads of tensors ``(n,)``, ``(n, T)``, ``(n, C, L')`` a ModelError.
    """
    try:
        out = module(x.to(device))
    except (RuntimeError, IndexError, ValueError) as err:
        raise InputError(
            f"X batch of shape {tuple(x.shape)} does not fit the model: {first_line(err)}"
        ) from err
    matrix = output_matrix(out, x.shape[0]) if select is None else select(out)
    return matrix.detach().float().cpu().numpy()


def predict(
    model, X, *, batch_size: int = 256, device=None, progress=None, select: Callable | None = None
) -> np.ndarray:
    """Run ``model`` on one-hot sequences (or any other inputs) in batches, without gradients.

    Parameters
    ----------
    model : nn.Module or LoadedModel
        Maps ``(n, 4, L)`` (or the model's own input, e.g. images ``(n, C, H, W)``) to
        ``(n, T)`` or ``(n,)``, or to several heads (a tuple, list, dict or namedtuple of
        ``(n,)``, ``(n, T)``, ``(n, C, L')`` tensors).  For classification zoo models the
        outputs are logits.
    X : np.ndarray or torch.Tensor, shape (n, 4, L) or (n, ...), or an iterable of such batches
        An iterable (e.g. ``seqsal.sequence.windows.iter_onehot``) is streamed: one batch in
        memory at a time, each cut further to ``batch_size``.
    batch_size : int, default 256
        Sequences per forward pass; results do not depend on it.
    device : str or torch.device, optional
        Where to run; default the model's own device.
    progress : bool, optional
        Progress bar on stderr; default only on a terminal.
    select : callable, optional
        ``select(output) -> (n, K)`` tensor: the columns wanted from the raw output (e.g. the
        chosen targets, ``resolve_targets(...).select_all(output).T``).  Default: one column
        per scalar target of every head (:func:`seqsal.models.probe.output_matrix`; a head
        with a position axis gives the sum over positions of each channel).

    Returns
    -------
    np.ndarray, shape (n, K), float32
        On the CPU; a ``(n,)`` model output becomes ``(n, 1)``.
    """
    module = _module_of(model)
    batch_size = check_positive_int(batch_size, "batch_size")
    if isinstance(X, (np.ndarray, torch.Tensor)):
        X = _as_tensor(X, "X")
        chunks: Iterable = [X]
        total = X.shape[0]
    elif isinstance(X, Iterable) and not isinstance(X, (str, bytes)):
        chunks, total = X, None
    else:
        raise InputError(
            f"X must be an array (n, 4, L) or an iterable of such batches, got {type(X).__name__}"
        )
    outputs: list[np.ndarray] = []
    with model_on(module, device) as dev, torch.no_grad():
        bar = progress_bar(total=total, desc="predict", unit="seq", progress=progress)
        try:
            for i, chunk in enumerate(chunks):
                chunk = _as_tensor(chunk, "X" if total is not None else f"batch {i} of X")
                for sl in batch_slices(chunk.shape[0], batch_size):
                    outputs.append(predict_batch(module, chunk[sl], dev, select))
                    bar.update(sl.stop - sl.start)
        finally:
            bar.close()
    if not outputs:
        return np.zeros((0, _n_outputs(model)), dtype=np.float32)
    widths = {o.shape[1] for o in outputs}
    if len(widths) > 1:
        raise ModelError(
            f"model returned different numbers of outputs across batches: {sorted(widths)}"
        )
    return np.concatenate(outputs, axis=0)


def _n_outputs(model) -> int:
    return len(model.columns) if isinstance(model, LoadedModel) else 0


def predict_regions(
    model,
    fasta,
    regions,
    *,
    width: int | None = None,
    batch_size: int = 256,
    device=None,
    progress=None,
    out_of_bounds: str = "pad",
    skip_missing: bool = False,
    select: Callable | None = None,
    columns: list[str] | None = None,
):
    """Predict every region of a BED file and return a table.

    Each region is resized to a window of the model's input length centred on the region
    (a ``-`` strand region is read as the reverse complement), extracted from the genome and
    predicted in streamed batches.

    Parameters
    ----------
    model : str, os.PathLike, nn.Module or LoadedModel
        Anything :func:`seqsal.models.load.load_model` takes.
    fasta : str, os.PathLike or Genome
        Genome FASTA (indexed on the fly).
    regions : str, os.PathLike or pandas.DataFrame
        BED file or a table from :func:`seqsal.io.bed.read_bed`.
    width : int, optional
        Window length; default the model's input length (required when the model does not
        record one; a model loaded here from a file that records none is checked at it).
    batch_size, device, progress
        As in :func:`predict`.
    out_of_bounds : {"pad", "drop", "error"}, default "pad"
        Windows past a chromosome end: padded with N (flagged in ``pad_left``/``pad_right``),
        dropped, or an error.
    skip_missing : bool, default False
        Skip regions on chromosomes absent from the FASTA instead of raising.
    select, columns : callable and list of str, optional
        Predict only the columns ``select(output) -> (n, K)`` gives (see :func:`predict`),
        named ``columns``; default every scalar target of every head, named by
        ``LoadedModel.columns``.

    Returns
    -------
    pandas.DataFrame
        The windows actually used (``chrom, start, end, name, score, strand``, ``pad_left``,
        ``pad_right`` and the BED's extra columns) plus one column per scalar target (a model
        returning ``(n, T)``: its target names; several heads: ``counts``, ``profile.0.sum``,
        ... see docs/formats.md), named ``pred_<name>`` when the BED already has a column of
        that name.  An :class:`seqsal.models.ensemble.Ensemble` gives these columns for the
        mean prediction, then the same columns of each member, named ``model{i}:<name>``
        (i from 0, in the members' order).
        ``attrs["nonfinite_regions"]``: names of the regions with a NaN or infinite
        prediction; they are kept in the table (NaN stays visible there, unlike in an
        attribution store) and a warning names the first of them.
    """
    import pandas as pd

    from seqsal.io.bed import read_bed
    from seqsal.io.fasta import Genome, open_genome
    from seqsal.sequence.windows import iter_onehot, make_windows

    if width is not None:
        width = check_positive_int(width, "width")
    loaded = load_model(model, input_length=width)
    if width is None:
        width = loaded.input_length
    if width is None:
        raise InputError("the model does not record its input length; give width= (--width)")
    if loaded.input_length is not None and width != loaded.input_length:
        log.warning("width=%d differs from the model's input length %d", width, loaded.input_length)
    genome = fasta if isinstance(fasta, Genome) else open_genome(fasta)
    try:
        if isinstance(regions, pd.DataFrame):
            table = regions
        else:
            table = read_bed(regions, chrom_sizes=genome.chrom_sizes, skip_missing=skip_missing)
        windows = make_windows(
            table, width, chrom_sizes=genome.chrom_sizes, out_of_bounds=out_of_bounds
        )
        runner: LoadedModel | nn.Module = loaded
        run_select = select
        if isinstance(loaded, Ensemble):
            # the mean's columns, then every member's, in one pass over the windows
            runner, run_select = MemberColumns(loaded.module, select), _identity
        values = predict(
            runner,
            iter_onehot(genome, windows, batch_size=max(batch_size, 1024)),
            batch_size=batch_size,
            device=device,
            progress=progress,
            select=run_select,
        )
    finally:
        if genome is not fasta:
            genome.close()
    if values.shape[0] != len(windows):
        raise ModelError(f"got {values.shape[0]} predictions for {len(windows)} windows")
    result = windows.reset_index(drop=True).copy()
    nonfinite = _nonfinite_regions(result, values)
    names = loaded.columns if select is None else list(columns or [])
    if isinstance(loaded, Ensemble):
        names = names + member_columns(names, len(loaded.members))
    if len(names) != values.shape[1]:
        raise InputError(
            f"columns={names!r} names {len(names)} column(s) but the model gave {values.shape[1]}"
        )
    for j, name in enumerate(names):
        column = name if name not in result.columns else f"pred_{name}"
        result[column] = values[:, j]
    result.attrs = dict(windows.attrs)
    result.attrs["prediction_columns"] = [c for c in result.columns[-len(names) :]]
    result.attrs["nonfinite_regions"] = nonfinite
    return result


def _identity(matrix):
    return matrix


def write_predictions(table, path) -> None:
    """Write a :func:`predict_regions` table as TSV, atomically.

    One header line, tab-separated, every field verbatim (a region name holding a quote is
    written as it came, not CSV-quoted; :func:`seqsal.io.bed.write_rows`), floats with 6
    significant digits and a non-finite prediction as an empty field.

    Raises
    ------
    seqsal.errors.InputError
        A field holds a tab or a line break (it would split the line).
    """
    from seqsal.io.atomic import atomic_open
    from seqsal.io.bed import check_fields, write_rows

    check_fields(table, path=path)
    with atomic_open(path, "w", newline="") as handle:
        handle.write("\t".join(map(str, table.columns)) + "\n")
        write_rows(handle, table, float_format="%.6g", na_rep="")


# Regions named in the non-finite warning; the count covers the rest.
_NAMED_REGIONS = 3


def _nonfinite_regions(windows, values: np.ndarray) -> list[str]:
    """Names of the windows with a NaN or infinite prediction; a warning names the first."""
    from seqsal.sequence.geometry import window_geometry

    bad = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if not bad.size:
        return []
    geometry = window_geometry(windows, what="windows")
    log.warning(
        "the model gave NaN or infinite predictions for %d of %d regions: %s%s",
        bad.size,
        len(windows),
        ", ".join(geometry.describe(int(i)) for i in bad[:_NAMED_REGIONS]),
        ", ..." if bad.size > _NAMED_REGIONS else "",
    )
    return [str(windows["name"].iloc[i]) for i in bad]


__all__ = ["predict", "predict_batch", "predict_regions"]

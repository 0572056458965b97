"""Genome scanning: score every window of the model's input length along chromosomes.

:func:`scan` tiles each chosen stretch (whole chromosomes, or the merged regions of a BED file)
with windows of the model's input length L, starting at the stretch's start and moving by
``stride``; only windows that fit entirely inside the stretch are scored.  Windows with more
than ``max_n`` of their bases N are skipped (absent from the output); the others are scored
with N as all-zero columns.  Each window is scored on both strands (the reverse complement is
the ``-`` strand read) and the two are combined by ``strand``: their ``"mean"``, their
``"max"``, or ``"forward"`` only (the reverse strand is then not computed).

Sequence is read from the indexed FASTA chunk by chunk (never a whole chromosome), so memory
does not grow with chromosome length; results come back as an iterator of table chunks.

Two ways to compute the same scores (equal to float tolerance; ``Scan.method`` says which):

* ``"trunk"``, for zoo models (:mod:`seqsal.models.zoo`), whose ``trunk`` is a stack of
  unpadded convolutions, ReLU, residual blocks and max pooling.  The part of the trunk before
  the first pooling layer is translation-equivariant at every shift, so it runs ONCE over a
  long chunk; the rest (pooling and what follows) is equivariant only at multiples of the
  trunk stride s, so it runs once per *phase*, i.e. per residue of the window offsets modulo s
  (at most s passes, ``s / gcd(stride, s)`` in fact, each shared by every window of that
  phase).  Each window then takes its slice of the trunk output and goes through the head; when
  the head starts with the zoo's global pooling, the pooled features of all windows come from
  one sliding max/mean over the trunk output.  The reverse strand does the same on the reverse
  complement of the chunk.  Cost per chunk: about one trunk pass over the chunk's bases per
  strand (plus the phases' pooling), instead of L / stride passes.
* ``"windows"``, for every other model (TorchScript, user classes): windows are cut out of
  the chunk and predicted in batches.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from seqsal._runtime import check_positive_int, model_on, progress_bar
from seqsal.errors import InputError, ModelError
from seqsal.models.load import LoadedModel, load_model
from seqsal.models.predict import predict_batch
from seqsal.models.probe import Head
from seqsal.models.zoo import DilatedResidualBlock, GlobalPool, ZooModel
from seqsal.sequence.onehot import reverse_complement

log = logging.getLogger(__name__)

STRANDS = ("mean", "max", "forward")
"""How the two strand scores of a window combine into its score."""

METHODS = ("auto", "trunk", "windows")
"""``"auto"``: trunk reuse when the model allows it, else window by window."""

COLUMNS = ["chrom", "start", "end", "score", "forward", "reverse"]
"""Columns of every scores table (window coordinates 0-based half-open, + strand)."""

DEFAULT_CHUNK_SIZE = 1 << 17
"""Bases of sequence per chunk on the trunk path (about 50 MB of trunk output for the zoo
CNN's 96 channels); the windows path reads ``batch_size`` windows (at least 4,096) per chunk."""

_REGION = re.compile(r"^(?P<chrom>.+):(?P<start>[\d,_]+)-(?P<end>[\d,_]+)$")


# --------------------------------------------------------------------------- strands


def check_strand(strand: str) -> str:
    """Return ``strand`` if it is one of :data:`STRANDS`, else an InputError."""
    if strand not in STRANDS:
        raise InputError(f"strand={strand!r}; expected one of {', '.join(STRANDS)}")
    return strand


def combine_strands(forward: np.ndarray, reverse: np.ndarray | None, strand: str) -> np.ndarray:
    """Score of each window from its two strand scores.

    Parameters
    ----------
    forward, reverse : np.ndarray, shape (n,)
        Scores of the window and of its reverse complement (``reverse`` unused, may be None,
        for ``strand="forward"``).
    strand : {"mean", "max", "forward"}

    Returns
    -------
    np.ndarray, shape (n,)
    """
    check_strand(strand)
    if strand == "forward":
        return np.asarray(forward)
    if strand == "mean":
        return (np.asarray(forward, dtype=np.float64) + reverse) / 2
    return np.maximum(forward, reverse)


def score_windows(
    model, X, *, strand: str = "mean", target=0, batch_size: int = 256, device=None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Score one-hot windows on both strands, window by window (the reference computation).

    Parameters
    ----------
    model : nn.Module or LoadedModel
    X : np.ndarray or torch.Tensor, shape (n, 4, L)
    strand : {"mean", "max", "forward"}, default "mean"
        ``"forward"`` skips the reverse strand.
    target : int, str, Target or callable, default 0
        Output scored (index, or name for a LoadedModel; a
        :class:`seqsal.attribution.Target` for a model with several heads or a position axis).
    batch_size : int, default 256
    device : str or torch.device, optional

    Returns
    -------
    forward : np.ndarray, shape (n,), float32
    reverse : np.ndarray, shape (n,), float32, or None for ``strand="forward"``
    """
    check_strand(strand)
    X = torch.as_tensor(np.asarray(X, dtype=np.float32) if isinstance(X, np.ndarray) else X)
    loaded, index = narrow_to_target(load_model(model, input_length=int(X.shape[-1])), target)
    batch_size = check_positive_int(batch_size, "batch_size")
    with model_on(loaded.module, device) as dev, torch.no_grad():
        forward = _predict_windows(loaded.module, X, index, batch_size, dev)
        reverse = None
        if strand != "forward":
            reverse = _predict_windows(loaded.module, reverse_complement(X), index, batch_size, dev)
    return forward, reverse


def narrow_to_target(loaded: LoadedModel, target) -> tuple[LoadedModel, int]:
    """``loaded`` and the column index of ``target`` in its ``(n, T)`` output.

    A plain index or name of a model returning ``(n, T)`` is looked up as it is (the model is
    unchanged, so the trunk path stays open).  A :class:`seqsal.attribution.Target` or a
    callable, or any target of a model with several heads or a position axis, narrows the
    model to that one output (:func:`seqsal.attribution.target_module`; column 0), which is
    scored window by window.
    """
    from seqsal.attribution import resolve_targets, target_module

    plain = isinstance(target, (int, str)) and not isinstance(target, bool)
    if plain and loaded.single_head and not any(h.positional for h in loaded.heads):
        return loaded, loaded.target_index(target)
    names = loaded.targets if loaded.single_head else None
    label = resolve_targets(target, target_names=names).labels[0]
    module = target_module(loaded.module, target, target_names=names)
    narrowed = dataclasses.replace(
        loaded, module=module, targets=[label], heads=(Head(key=None, shape=()),)
    )
    return narrowed, 0


def _predict_windows(module, X: torch.Tensor, index: int, batch_size: int, dev) -> np.ndarray:
    out = np.empty(X.shape[0], dtype=np.float32)
    for lo in range(0, X.shape[0], batch_size):
        values = predict_batch(module, X[lo : lo + batch_size].float(), dev)
        if index >= values.shape[1]:
            raise ModelError(
                f"model has {values.shape[1]} outputs; target index {index} is past them"
            )
        out[lo : lo + batch_size] = values[:, index]
    return out


# --------------------------------------------------------------------------- trunk reuse


def _conv_is_plain(layer: nn.Conv1d) -> bool:
    return (
        layer.stride == (1,)
        and layer.padding in ((0,), "valid")
        and layer.groups >= 1
        and layer.padding_mode == "zeros"
    )


def _pool_is_plain(layer: nn.MaxPool1d) -> bool:
    kernel = layer.kernel_size if isinstance(layer.kernel_size, int) else layer.kernel_size[0]
    stride = layer.stride if isinstance(layer.stride, int) else layer.stride[0]
    padding = layer.padding if isinstance(layer.padding, int) else layer.padding[0]
    dilation = layer.dilation if isinstance(layer.dilation, int) else layer.dilation[0]
    return kernel == stride and padding == 0 and dilation == 1 and not layer.ceil_mode


class _TrunkPlan:
    """How to score many windows of one chunk from shared trunk passes (see module docstring).

    ``shared``: the trunk layers before the first pooling (equivariant at every shift), run
    once per chunk and strand; ``phased``: the rest, run once per phase; ``trunk_stride``: the
    product of the pooling sizes; ``length_out``: trunk output length of one window.
    """

    def __init__(self, module, input_length: int):
        layers = list(module.trunk)
        shared: list[nn.Module] = []
        phased: list[nn.Module] = []
        trunk_stride = 1
        for layer in layers:
            if isinstance(layer, nn.MaxPool1d) and _pool_is_plain(layer):
                size = layer.stride if isinstance(layer.stride, int) else layer.stride[0]
                trunk_stride *= size
                phased.append(_BlockMax(size))
            elif type(layer) is nn.ReLU and (shared or phased):
                # in place: its input is a fresh output of the layer before, used nowhere else
                (phased if phased else shared).append(nn.ReLU(inplace=True))
            elif isinstance(layer, (nn.ReLU, DilatedResidualBlock)) or (
                isinstance(layer, nn.Conv1d) and _conv_is_plain(layer)
            ):
                (phased if phased else shared).append(layer)
            else:
                raise _NotReusable(f"trunk layer {type(layer).__name__} is not known to shift")
        if trunk_stride != getattr(module, "trunk_stride", trunk_stride):
            raise _NotReusable(
                f"trunk_stride {module.trunk_stride} differs from the pooling product {trunk_stride}"
            )
        self.shared = nn.Sequential(*shared)
        self.phased = nn.Sequential(*phased)
        self.trunk_stride = trunk_stride
        self.input_length = input_length
        head = list(module.head) if isinstance(module.head, nn.Sequential) else [module.head]
        if head and type(head[0]) is GlobalPool:
            self.pool_modes = head[0].modes
            self.head_rest = nn.Sequential(*head[1:])
        else:
            self.pool_modes = None
            self.head_rest = module.head
        with torch.no_grad():
            probe = torch.zeros(1, 4, input_length, device=_module_device(module))
            try:
                self.length_out = int(module.trunk(probe).shape[-1])
            except RuntimeError as err:
                raise ModelError(f"the model's trunk fails on one window: {err}") from err
        if self.length_out < 1:
            raise ModelError(f"the model's trunk gives no output for input_length={input_length}")

    def phases(self, stride: int) -> int:
        return self.trunk_stride // math.gcd(stride, self.trunk_stride)

    def scores(
        self, X: torch.Tensor, n: int, stride: int, index: int, batch_size: int
    ) -> torch.Tensor:
        """Output ``index`` of the windows at offsets ``0, stride, ..., (n-1)*stride`` of X.

        X : (1, 4, Lc) with Lc >= (n - 1) * stride + L.  Returns (n,) float32.
        """
        s = self.trunk_stride
        g = math.gcd(stride, s)
        every = s // g  # window index step between windows of one phase
        step = stride // g  # trunk-output step between those windows
        shared = self.shared(X)
        out = torch.empty(n, dtype=torch.float32, device=X.device)
        for first in range(min(every, n)):
            rows = torch.arange(first, n, every, device=X.device)
            residue = (first * stride) % s
            begin = (first * stride - residue) // s
            trunk = self.phased(shared[:, :, residue:])[:, :, begin:]
            need = (rows.numel() - 1) * step + self.length_out
            if trunk.shape[-1] < need:
                raise ModelError(
                    f"trunk output of a chunk is {trunk.shape[-1]} long; expected >= {need} "
                    "(is the trunk translation-equivariant?)"
                )
            values = self._head(trunk[:, :, :need], rows.numel(), step, batch_size)
            out[rows] = values[:, index].float()
        return out

    def _head(self, trunk: torch.Tensor, k: int, step: int, batch_size: int) -> torch.Tensor:
        width = self.length_out
        if self.pool_modes is not None:
            parts = []
            for mode in self.pool_modes:
                if mode == "max":
                    parts.append(_sliding_max(trunk, width, step, k)[0])
                else:
                    parts.append(_sliding_mean(trunk[0], width, step, k))
            features = torch.cat(parts, dim=0).T.contiguous()  # (k, C * modes)
            rows = max(batch_size, 4096)  # the dense layers are cheap: larger calls
            values = [self.head_rest(features[lo : lo + rows]) for lo in range(0, k, rows)]
        else:
            sliding = trunk[0].unfold(-1, width, step).permute(1, 0, 2)  # (k, C, width) view
            values = [
                self.head_rest(sliding[lo : lo + batch_size].contiguous())
                for lo in range(0, k, batch_size)
            ]
        out = torch.cat(values, dim=0)
        return out[:, None] if out.ndim == 1 else out


def _running_max(x: torch.Tensor, q: int) -> torch.Tensor:
    """``max(x[..., j : j + q])`` for every j (length n - q + 1), by doubling: exact, and
    O(n log q) instead of the O(n q) of ``max_pool1d`` with a wide kernel."""
    span, m = 1, x
    while 2 * span <= q:
        m = torch.maximum(m[..., :-span], m[..., span:])
        span *= 2
    if span == q:
        return m
    return torch.maximum(m[..., : m.shape[-1] - (q - span)], m[..., q - span :])


def _block_max(x: torch.Tensor, size: int) -> torch.Tensor:
    """``max_pool1d(x, size)`` (kernel = stride = size, floor) as a reduction over a strided
    view: the same values, several times faster on CPU, and no copy of a sliced input."""
    return x.unfold(-1, size, size).amax(dim=-1)


def _sliding_max(x: torch.Tensor, width: int, step: int, k: int) -> torch.Tensor:
    """``max(x[..., j*step : j*step + width])`` for j < k: maxima of step-wide blocks, the
    running max over ``width // step`` blocks, and the remainder (exact)."""
    q, rem = divmod(width, step)
    if q == 0:
        return x.unfold(-1, width, step)[..., :k, :].amax(dim=-1)
    blocks = _block_max(x, step) if step > 1 else x
    out = _running_max(blocks, q)[..., :k]
    if rem:
        tail = x[..., q * step :].unfold(-1, rem, step)[..., :k, :].amax(dim=-1)
        out = torch.maximum(out, tail)
    return out


def _sliding_mean(x: torch.Tensor, width: int, step: int, k: int) -> torch.Tensor:
    """Mean of ``x[:, j*step : j*step + width]`` for j < k, from float64 sums of step-wide
    blocks, their running sum and the remainder (equal to the direct mean to float32
    rounding).  x: (C, n); returns (C, k)."""
    q, rem = divmod(width, step)
    if q == 0:
        sums = x.unfold(-1, width, step)[:, :k, :].sum(dim=-1, dtype=torch.float64)
    else:
        blocks = x.unfold(-1, step, step).sum(dim=-1, dtype=torch.float64) if step > 1 else x
        total = blocks.cumsum(dim=-1, dtype=torch.float64)
        sums = total[:, q - 1 : q - 1 + k].clone()
        sums[:, 1:] -= total[:, : k - 1]
        if rem:
            tail = x[:, q * step :].unfold(-1, rem, step)[:, :k, :]
            sums += tail.sum(dim=-1, dtype=torch.float64)
    return (sums / width).to(x.dtype)


class _BlockMax(nn.Module):
    """``nn.MaxPool1d(size)`` (kernel = stride, no padding) computed by :func:`_block_max`."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _block_max(x, self.size)


class _NotReusable(Exception):
    """Why a model cannot take the trunk path (internal; turned into a log line)."""


def _module_device(module: nn.Module) -> torch.device:
    for p in module.parameters():
        return p.device
    return torch.device("cpu")


def trunk_plan_for(module, input_length: int) -> tuple[_TrunkPlan | None, str]:
    """The trunk-reuse plan of ``module``, or None and the reason it does not apply."""
    if not isinstance(module, ZooModel):
        return None, f"{type(module).__name__} is not a zoo model with a trunk and a head"
    if not isinstance(module.trunk, nn.Sequential):
        return None, "the trunk is not an nn.Sequential"
    try:
        return _TrunkPlan(module, input_length), ""
    except _NotReusable as err:
        return None, str(err)


# --------------------------------------------------------------------------- spans


def parse_region(region) -> tuple[str, int, int]:
    """``"chr1:0-2000000"`` (commas allowed) or ``(chrom, start, end)`` -> a tuple."""
    if isinstance(region, str):
        match = _REGION.match(region.strip())
        if not match:
            raise InputError(f"region={region!r}; expected chrom:start-end, e.g. chr1:0-2000000")
        chrom = match["chrom"]
        start = int(match["start"].replace(",", "").replace("_", ""))
        end = int(match["end"].replace(",", "").replace("_", ""))
    else:
        try:
            chrom, start, end = region
            start, end = int(start), int(end)
        except (TypeError, ValueError) as err:
            raise InputError(
                f"region={region!r}; expected 'chrom:start-end' or (chrom, start, end)"
            ) from err
    if not 0 <= start < end:
        raise InputError(f"region={region!r}; expected 0 <= start < end")
    return str(chrom), start, end


def _spans(
    chrom_sizes: Mapping[str, int], chroms, regions, source: str
) -> list[tuple[str, int, int]]:
    """Stretches to tile, in genome order: whole chromosomes or merged BED regions."""
    import pandas as pd

    if chroms is not None and regions is not None:
        raise InputError("give chroms or regions, not both")
    if regions is None:
        if chroms is None:
            names = list(chrom_sizes)
        else:
            names = [chroms] if isinstance(chroms, str) else list(chroms)
            names = [c.strip() for name in names for c in str(name).split(",") if c.strip()]
            if not names:
                raise InputError(f"chroms={chroms!r}; expected chromosome names")
            missing = [c for c in names if c not in chrom_sizes]
            if missing:
                shown = ", ".join(list(chrom_sizes)[:5])
                raise InputError(
                    f"chromosome(s) {', '.join(missing)} not in the FASTA {source} (it has {shown}"
                    f"{', ...' if len(chrom_sizes) > 5 else ''})"
                )
            order = {c: i for i, c in enumerate(chrom_sizes)}
            names = sorted(dict.fromkeys(names), key=order.__getitem__)
        return [(c, 0, chrom_sizes[c]) for c in names]
    if isinstance(regions, pd.DataFrame):
        table = regions
    else:
        from seqsal.io.bed import read_bed

        table = read_bed(regions, chrom_sizes=chrom_sizes, unique_names=False)
    missing = sorted(set(table["chrom"]) - set(chrom_sizes))
    if missing:
        raise InputError(f"regions on chromosome(s) not in the FASTA {source}: {missing[:5]}")
    order = {c: i for i, c in enumerate(chrom_sizes)}
    rows = sorted(
        (order[c], int(s), min(int(e), chrom_sizes[c]), c)
        for c, s, e in zip(table["chrom"], table["start"], table["end"], strict=True)
    )
    spans: list[list] = []
    for _, start, end, chrom in rows:
        if end <= start:
            continue
        if spans and spans[-1][0] == chrom and start <= spans[-1][2]:
            spans[-1][2] = max(spans[-1][2], end)
        else:
            spans.append([chrom, start, end])
    return [tuple(s) for s in spans]


# --------------------------------------------------------------------------- scan


@dataclasses.dataclass
class Scan:
    """A planned scan; iterate it for the scores, one ``pandas.DataFrame`` chunk at a time.

    Each chunk has the columns :data:`COLUMNS`: ``chrom, start, end`` (the window, 0-based
    half-open, + strand), ``score`` (the strands combined by ``strand``), ``forward`` and
    ``reverse`` (the two strand scores; ``reverse`` is NaN for ``strand="forward"``).  Chunks
    come in genome order (chromosomes in FASTA order, starts ascending); skipped windows are
    absent.  :meth:`to_frame` concatenates them.

    Attributes
    ----------
    method : str
        ``"trunk"`` (shared trunk passes) or ``"windows"`` (window by window).
    reason : str
        Why the windows path was taken ("" on the trunk path).
    window_length, stride : int
    strand : str
    target : str
        Name of the output scored.
    spans : list of (chrom, start, end)
        The stretches tiled (windows start at ``start``, ``start + stride``, ...).
    n_windows : int
        Windows planned (inside ``region`` when given), before skipping.
    n_scored, n_skipped : int
        Counted while iterating: windows scored, and skipped for having more than ``max_n`` N.
    """

    method: str
    reason: str
    window_length: int
    stride: int
    strand: str
    target: str
    spans: list
    n_windows: int
    n_scored: int = 0
    n_skipped: int = 0
    _run: object = dataclasses.field(default=None, repr=False)

    def __iter__(self) -> Iterator:
        self.n_scored = self.n_skipped = 0
        yield from self._run(self)

    def to_frame(self):
        """All chunks as one DataFrame (empty with :data:`COLUMNS` when nothing was scored)."""
        import pandas as pd

        parts = list(self)
        if not parts:
            return _frame([], np.zeros(0, np.int64), 0, np.zeros(0), np.zeros(0), None, "mean")
        return pd.concat(parts, ignore_index=True)


def write_scores(chunks, path: str | os.PathLike) -> int:
    """Write a scores table (a :class:`Scan`, or any iterable of :data:`COLUMNS` chunks).

    Tab-separated with one header line, every field verbatim
    (:func:`seqsal.io.bed.write_rows`): floats with 7 significant digits, a missing
    ``reverse`` (``strand="forward"``) as ``NA``.  gzip (level 4) when ``path`` ends ``.gz``.
    The file appears only when complete; :func:`seqsal.scan.candidates.read_scores` reads it.

    Returns
    -------
    int
        Rows (windows) written.
    """
    import gzip
    import io

    from seqsal.io.atomic import atomic_path

    with atomic_path(path) as tmp:
        if str(path).endswith(".gz"):
            with (
                gzip.open(tmp, "wb", compresslevel=4) as raw,
                io.TextIOWrapper(raw, encoding="ascii", newline="\n") as handle,
            ):
                return _write_score_rows(chunks, handle)
        with open(tmp, "w", encoding="ascii", newline="\n") as handle:
            return _write_score_rows(chunks, handle)


def _write_score_rows(chunks, handle) -> int:
    from seqsal.io.bed import write_rows

    handle.write("\t".join(COLUMNS) + "\n")
    rows = 0
    for chunk in chunks:
        write_rows(handle, chunk, float_format="%.7g", na_rep="NA")
        rows += len(chunk)
    return rows


def _frame(chroms, starts, length, score, forward, reverse, strand):
    import pandas as pd

    n = len(starts)
    return pd.DataFrame(
        {
            "chrom": chroms if not isinstance(chroms, str) else [chroms] * n,
            "start": starts.astype(np.int64),
            "end": starts.astype(np.int64) + length,
            "score": np.asarray(score, dtype=np.float64),
            "forward": np.asarray(forward, dtype=np.float64),
            "reverse": np.full(n, np.nan) if reverse is None else np.asarray(reverse, np.float64),
        },
        columns=COLUMNS,
    )


def _window_range(span, length: int, stride: int, region) -> tuple[int, int]:
    """Indices [lo, hi) of the windows of ``span`` (and inside ``region`` by start)."""
    chrom, start, end = span
    n = (end - start - length) // stride + 1 if end - start >= length else 0
    lo, hi = 0, n
    if region is not None:
        r_chrom, r_start, r_end = region
        if r_chrom != chrom:
            return 0, 0
        lo = max(lo, -(-(r_start - start) // stride))
        hi = min(hi, max(0, -(-(r_end - start) // stride)))
    return lo, max(lo, hi)


def scan(
    model,
    genome,
    *,
    chroms: str | Sequence[str] | None = None,
    regions=None,
    region=None,
    stride: int = 10,
    strand: str = "mean",
    max_n: float = 0.5,
    target=0,
    batch_size: int = 256,
    device=None,
    progress=None,
    method: str = "auto",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    width: int | None = None,
) -> Scan:
    """Score every window of the model's input length along chromosomes or regions.

    Parameters
    ----------
    model : str, os.PathLike, nn.Module or LoadedModel
        Anything :func:`seqsal.models.load.load_model` takes; it must know its input length,
        or ``width`` must be given.
    genome : str, os.PathLike or Genome
        Indexed FASTA; read chunk by chunk.
    chroms : str or list of str, optional
        Chromosomes to scan whole (a comma-separated string works); default all of them.
    regions : path or pandas.DataFrame, optional
        BED regions to scan instead (not with ``chroms``).  They are sorted and overlapping or
        touching ones merged, then each merged stretch is tiled from its start; windows must
        fit inside the stretch, so a stretch shorter than L gives none.
    region : str or (chrom, start, end), optional
        Keep only windows whose START lies in this span, e.g. ``"chr1:0-2000000"``: the windows
        grid stays anchored at the stretch start, so shards by ``region`` never double count and
        their union is the whole scan.
    stride : int, default 10
        Bases between consecutive window starts.
    strand : {"mean", "max", "forward"}, default "mean"
        Window score: mean or max of the window and its reverse complement, or the window
        alone (reverse strand not computed).
    max_n : float, default 0.5
        Windows with more than this fraction of N bases are skipped; the others are scored with
        N as all-zero columns.
    target : int, str, Target or callable, default 0
        Output scored (index or name; a :class:`seqsal.attribution.Target` for a model with
        several heads or a position axis, scored window by window: see
        :func:`narrow_to_target`).
    batch_size : int, default 256
        Windows per forward pass on the windows path, and per head call on the trunk path;
        results do not depend on it.
    device : str or torch.device, optional
    progress : bool, optional
        Progress bar (windows); default only on a terminal.
    method : {"auto", "trunk", "windows"}, default "auto"
        ``"auto"`` takes the trunk path whenever the model allows it; ``"trunk"`` raises
        ModelError when it does not; ``"windows"`` forces window-by-window scoring.
    chunk_size : int, default 131072
        Bases per chunk on the trunk path (bounds memory; results do not depend on it).
    width : int, optional
        Window length; default the model's input length.  Required for a model that does not
        record one (a TorchScript file saved without seqsal): it is loaded and checked at this
        length.  A width other than the recorded length is used, with a warning.

    Returns
    -------
    Scan
        Lazy: the scores come from iterating it (chunks of a DataFrame) or from
        ``.to_frame()``.  Arguments are checked here, before any scoring.
    """
    from seqsal.io.fasta import Genome, open_genome

    if width is not None:
        width = check_positive_int(width, "width")
    loaded = load_model(model, input_length=width)
    length = width if width is not None else loaded.input_length
    if length is None:
        raise InputError(
            "the model does not record its input length; scanning needs it: give width= (--width)"
        )
    if loaded.input_length is not None and length != loaded.input_length:
        log.warning(
            "width=%d differs from the model's input length %d", length, loaded.input_length
        )
    length = int(length)
    stride = check_positive_int(stride, "stride")
    check_strand(strand)
    if isinstance(max_n, bool) or not isinstance(max_n, (int, float)) or not 0 <= max_n <= 1:
        raise InputError(f"max_n={max_n!r}; expected a fraction between 0 and 1")
    batch_size = check_positive_int(batch_size, "batch_size")
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    if method not in METHODS:
        raise InputError(f"method={method!r}; expected one of {', '.join(METHODS)}")
    loaded, index = narrow_to_target(loaded, target)
    if region is not None:
        region = parse_region(region)

    owned = not isinstance(genome, Genome)
    opened = open_genome(genome) if owned else genome
    try:
        chrom_sizes = dict(opened.chrom_sizes)
    finally:
        if owned:
            opened.close()
    source = os.fspath(opened.path)
    if region is not None and region[0] not in chrom_sizes:
        raise InputError(f"region {region[0]}:{region[1]}-{region[2]}: chromosome not in {source}")
    spans = _spans(chrom_sizes, chroms, regions, source)
    if region is not None and not any(c == region[0] for c, _, _ in spans):
        raise InputError(
            f"region {region[0]}:{region[1]}-{region[2]} is on a chromosome that is not scanned"
        )
    n_windows = 0
    for span in spans:
        lo, hi = _window_range(span, length, stride, region)
        n_windows += hi - lo

    plan, reason = (None, "method='windows' was asked for")
    if method != "windows":
        plan, reason = trunk_plan_for(loaded.module, length)
        if plan is None and method == "trunk":
            raise ModelError(f"method='trunk' cannot be used: {reason}")
    kind = "trunk" if plan is not None else "windows"
    if plan is not None:
        log.info(
            "scan: trunk reuse (%s, trunk stride %d, %d phase(s) per strand, %d windows)",
            type(loaded.module).__name__,
            plan.trunk_stride,
            plan.phases(stride),
            n_windows,
        )
    else:
        log.info("scan: window by window (%s; %d windows)", reason, n_windows)
    short = sum(1 for _, s, e in spans if e - s < length)
    if short:
        log.warning(
            "%d of %d stretches are shorter than the window (%d bp): no windows there",
            short,
            len(spans),
            length,
        )

    settings = dict(
        loaded=loaded,
        genome=genome if not owned else opened.path,
        owned=owned,
        plan=plan,
        length=length,
        stride=stride,
        strand=strand,
        max_n=float(max_n),
        index=index,
        batch_size=batch_size,
        device=device,
        progress=progress,
        chunk_size=chunk_size,
        region=region,
    )

    def run(state: Scan):
        yield from _iterate(state, **settings)

    return Scan(
        method=kind,
        reason=reason if plan is None else "",
        window_length=length,
        stride=stride,
        strand=strand,
        target=loaded.targets[index],
        spans=list(spans),
        n_windows=n_windows,
        _run=run,
    )


def _iterate(
    state: Scan,
    *,
    loaded,
    genome,
    owned,
    plan,
    length,
    stride,
    strand,
    max_n,
    index,
    batch_size,
    device,
    progress,
    chunk_size,
    region,
):
    from seqsal.io.fasta import open_genome
    from seqsal.sequence.onehot import codes, onehot_from_codes

    module = loaded.module
    per_chunk = max(1, chunk_size // stride) if plan is not None else max(batch_size, 4096)
    limit = max_n * length
    opened = open_genome(genome) if owned else genome
    bar = progress_bar(total=state.n_windows, desc="scan", unit="win", progress=progress)
    try:
        with model_on(module, device) as dev, torch.no_grad():
            for span in state.spans:
                chrom, span_start, _ = span
                lo, hi = _window_range(span, length, stride, region)
                for first in range(lo, hi, per_chunk):
                    n = min(per_chunk, hi - first)
                    begin = span_start + first * stride
                    seq_end = begin + (n - 1) * stride + length
                    code = codes(opened.fetch(chrom, begin, seq_end))
                    offsets = np.arange(n, dtype=np.int64) * stride
                    n_count = np.concatenate(([0], np.cumsum(code == 4, dtype=np.int64)))
                    keep = (n_count[offsets + length] - n_count[offsets]) <= limit
                    bar.update(n)
                    state.n_skipped += int(n - keep.sum())
                    if not keep.any():
                        continue
                    if plan is not None:
                        forward, reverse = _trunk_chunk(
                            plan, code, n, stride, strand, index, batch_size, dev
                        )
                        forward, reverse = forward[keep], None if reverse is None else reverse[keep]
                    else:
                        windows = code[offsets[keep, None] + np.arange(length)]
                        X = torch.from_numpy(onehot_from_codes(windows))
                        forward = _predict_windows(module, X, index, batch_size, dev)
                        reverse = None
                        if strand != "forward":
                            reverse = _predict_windows(
                                module, reverse_complement(X), index, batch_size, dev
                            )
                    starts = begin + offsets[keep]
                    state.n_scored += int(keep.sum())
                    yield _frame(
                        chrom,
                        starts,
                        length,
                        combine_strands(forward, reverse, strand),
                        forward,
                        reverse,
                        strand,
                    )
    finally:
        bar.close()
        if owned:
            opened.close()
    log.info(
        "scan: %d windows scored, %d skipped (more than %.0f%% N)",
        state.n_scored,
        state.n_skipped,
        100 * max_n,
    )


def _trunk_chunk(plan, code, n, stride, strand, index, batch_size, dev):
    """Forward and reverse scores (numpy, (n,)) of the n windows of one chunk's codes."""
    from seqsal.sequence.onehot import onehot_from_codes

    X = torch.from_numpy(onehot_from_codes(code))[None].to(dev)
    forward = plan.scores(X, n, stride, index, batch_size).cpu().numpy()
    reverse = None
    if strand != "forward":
        # The reverse complement of window i is the window at offset (n - 1 - i) * stride
        # of the reverse-complemented chunk (whose length is exactly (n - 1) * stride + L).
        rc = reverse_complement(X)
        reverse = plan.scores(rc, n, stride, index, batch_size).cpu().numpy()[::-1].copy()
    return forward, reverse


__all__ = [
    "COLUMNS",
    "STRANDS",
    "Scan",
    "combine_strands",
    "narrow_to_target",
    "parse_region",
    "scan",
    "score_windows",
]

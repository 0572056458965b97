"""Candidate enhancers from a genome scan: threshold windows, merge them into regions, rank.

Input is the table :func:`seqsal.scan.genome.scan` makes (``chrom, start, end, score,
forward, reverse``, possibly from several shards).  A window passes by score quantile, or by
an empirical false discovery rate against a null of dinucleotide-shuffled windows scored by the
same model (:func:`null_scores`, :func:`q_values`).  Passing windows that overlap or lie
within ``merge_gap`` bases merge into one region whose score is the maximum window score in it;
regions are ranked by that score and written as BED6 plus named columns
(:func:`write_candidates`; the columns are described in ``docs/scan.md``).
"""

from __future__ import annotations

import csv
import dataclasses
import logging
import math
import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from seqsal._runtime import check_non_negative_int, check_positive_int, check_seed, rng
from seqsal.errors import InputError
from seqsal.io.atomic import atomic_open
from seqsal.models.load import load_model
from seqsal.scan.genome import COLUMNS, check_strand, combine_strands, score_windows
from seqsal.stats import benjamini_hochberg

log = logging.getLogger(__name__)

CANDIDATE_COLUMNS = [
    "chrom",
    "start",
    "end",
    "name",
    "score",
    "strand",
    "max_score",
    "rank",
    "q_value",
    "n_windows",
    "peak_start",
    "peak_end",
]
"""Columns of ``candidates.bed`` (BED6, then the named extra columns)."""


# --------------------------------------------------------------------------- reading


_EMPTY_DTYPES = {
    "chrom": object,
    "start": np.int64,
    "end": np.int64,
    "score": np.float64,
    "forward": np.float64,
    "reverse": np.float64,
}


def read_scores(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    chrom_sizes: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """Read one or more score tables from ``seqsal scan`` into one, in genome order.

    Parameters
    ----------
    paths : path or list of paths
        Tables with the header ``chrom start end score forward reverse`` (gzip ok); shards of
        one scan.
    chrom_sizes : mapping, optional
        Genome order of chromosomes (``Genome.chrom_sizes``); windows on other chromosomes or
        past a chromosome end are an error.  Without it, chromosomes keep their first-seen order.

    Returns
    -------
    pandas.DataFrame
        :data:`~seqsal.scan.genome.COLUMNS`, sorted by chromosome then start.

    Raises
    ------
    InputError
        A missing or malformed file, different window lengths, or a window present twice
        (overlapping shards).
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise InputError("no score tables given")
    parts = []
    for path in paths:
        if not os.path.isfile(path):
            raise InputError("score table not found", path=path)
        try:
            part = pd.read_csv(
                path,
                sep="\t",
                dtype={"chrom": str},
                na_values=["NA"],
                keep_default_na=False,
            )
        except (OSError, EOFError, ValueError, pd.errors.ParserError) as err:
            raise InputError(f"cannot read score table: {err}", path=path) from err
        if list(part.columns) != COLUMNS:
            raise InputError(
                f"header is {list(part.columns)}; expected {' '.join(COLUMNS)} (seqsal scan output)",
                path=path,
            )
        if part.empty:
            # A shard with no scored window (e.g. a chunk that is all N) is a valid shard.
            continue
        for column in ("start", "end"):
            if not pd.api.types.is_integer_dtype(part[column]):
                raise InputError(f"column {column} is not integer", path=path)
        for column in ("score", "forward"):
            if not pd.api.types.is_numeric_dtype(part[column]) or part[column].isna().any():
                raise InputError(f"column {column} has missing or non-numeric values", path=path)
        part["reverse"] = pd.to_numeric(part["reverse"], errors="coerce")
        parts.append(part)
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _EMPTY_DTYPES.items()})
    table = pd.concat(parts, ignore_index=True)
    lengths = np.unique(table["end"].to_numpy() - table["start"].to_numpy())
    if lengths.size != 1 or lengths[0] < 1:
        raise InputError(f"score tables hold windows of different lengths {lengths[:5].tolist()}")
    if chrom_sizes is not None:
        unknown = sorted(set(table["chrom"]) - set(chrom_sizes))
        if unknown:
            raise InputError(f"score tables hold chromosome(s) not in the FASTA: {unknown[:5]}")
        past = table["end"].to_numpy() > table["chrom"].map(chrom_sizes).to_numpy()
        if past.any():
            row = table[past].iloc[0]
            raise InputError(
                f"window {row.chrom}:{row.start}-{row.end} runs past the chromosome end "
                "(scores from another genome?)"
            )
        order = {c: i for i, c in enumerate(chrom_sizes)}
    else:
        order = {c: i for i, c in enumerate(dict.fromkeys(table["chrom"]))}
    key = table["chrom"].map(order).to_numpy()
    rows = np.lexsort((table["start"].to_numpy(), key))
    table = table.iloc[rows].reset_index(drop=True)
    same = (table["chrom"].to_numpy()[1:] == table["chrom"].to_numpy()[:-1]) & (
        table["start"].to_numpy()[1:] == table["start"].to_numpy()[:-1]
    )
    if same.any():
        row = table.iloc[int(np.flatnonzero(same)[0])]
        raise InputError(
            f"window {row.chrom}:{row.start}-{row.end} appears twice in the score tables "
            f"({int(same.sum())} duplicates): shards must not overlap"
        )
    return table


def infer_strand(table: pd.DataFrame) -> str:
    """The scan's ``strand`` option, read from a score table.

    ``reverse`` all missing: ``"forward"``; else ``score`` equal to the larger strand score
    wherever the strands differ: ``"max"``; else ``"mean"``.
    """
    if table.empty or table["reverse"].isna().all():
        return "forward"
    forward = table["forward"].to_numpy(np.float64)
    reverse = table["reverse"].to_numpy(np.float64)
    score = table["score"].to_numpy(np.float64)
    differ = np.abs(forward - reverse) > 1e-5 * (1 + np.abs(forward))
    if not differ.any():
        return "mean"
    tol = 1e-5 * (1 + np.abs(score[differ]))
    if np.all(np.abs(score[differ] - np.maximum(forward, reverse)[differ]) <= tol):
        return "max"
    return "mean"


# --------------------------------------------------------------------------- null and q-values


def null_scores(
    model,
    genome,
    windows: pd.DataFrame,
    *,
    n: int = 20000,
    strand: str = "mean",
    target=0,
    seed=0,
    batch_size: int = 256,
    device=None,
) -> np.ndarray:
    """Scores of dinucleotide-shuffled windows: the empirical null of window scores.

    ``n`` windows are drawn at random (without replacement; when the table has fewer, each is
    shuffled several times) from ``windows``, read from the genome, dinucleotide-shuffled
    (:func:`seqsal.sequence.shuffle.shuffle_codes`: exact dinucleotide counts, N in place) and
    scored like the scan (same target, same strand option).

    Parameters
    ----------
    model : anything :func:`seqsal.models.load.load_model` takes
    genome : path or Genome
    windows : pandas.DataFrame
        ``chrom, start, end`` of scanned windows (a score table).
    n : int, default 20000
    strand : {"mean", "max", "forward"}, default "mean"
    target : int, str or Target, default 0
        The output scored, as in :func:`seqsal.scan.genome.scan`.
    seed : int, default 0
        Seeds both the draw of windows and the shuffles.
    batch_size, device
        As in :func:`seqsal.scan.genome.score_windows`.

    Returns
    -------
    np.ndarray, shape (n,), float64
    """
    from seqsal.io.fasta import Genome, open_genome
    from seqsal.sequence.onehot import codes, onehot_from_codes
    from seqsal.sequence.shuffle import shuffle_codes

    n = check_positive_int(n, "null_windows")
    check_strand(strand)
    if windows.empty:
        raise InputError("no scanned windows to draw null windows from")
    model = load_model(model, input_length=int(windows["end"].iloc[0] - windows["start"].iloc[0]))
    generator = rng(seed)
    m = len(windows)
    n_drawn = min(n, m)
    per_window = math.ceil(n / n_drawn)
    rows = np.sort(generator.choice(m, size=n_drawn, replace=False))
    chosen = windows.iloc[rows]
    shuffle_seed = int(generator.integers(0, 2**31))
    owned = not isinstance(genome, Genome)
    opened = open_genome(genome) if owned else genome
    out: list[np.ndarray] = []
    try:
        block = max(1, 4096 // per_window)
        for lo in range(0, n_drawn, block):
            part = chosen.iloc[lo : lo + block]
            code_rows = np.stack(
                [
                    codes(opened.fetch(c, int(s), int(e)))
                    for c, s, e in zip(part["chrom"], part["start"], part["end"], strict=True)
                ]
            )
            shuffled = shuffle_codes(code_rows, n=per_window, seed=shuffle_seed + lo)
            X = onehot_from_codes(shuffled.reshape(-1, shuffled.shape[-1]))
            forward, reverse = score_windows(
                model, X, strand=strand, target=target, batch_size=batch_size, device=device
            )
            out.append(np.asarray(combine_strands(forward, reverse, strand), dtype=np.float64))
    finally:
        if owned:
            opened.close()
    values = np.concatenate(out)
    if values.size > n:  # several shuffles per window: keep n, spread over the windows
        values = values.reshape(n_drawn, per_window).T.reshape(-1)[:n]
    return values


def q_values(scores: np.ndarray, null: np.ndarray) -> np.ndarray:
    """Empirical q-values of observed scores against null scores (high scores significant).

    Each score gets the empirical p-value ``p(t) = (1 + #{null >= t}) / (1 + n_null)``, and
    the p-values are corrected by Benjamini-Hochberg
    (:func:`seqsal.stats.benjamini_hochberg`): ``q(t_i) = min over t <= t_i of
    min(1, p(t) * m / R(t))``, with m the number of observed scores and R(t) those >= t, so q
    never rises with the score.

    Parameters
    ----------
    scores : np.ndarray, shape (m,)
    null : np.ndarray, shape (n_null,)

    Returns
    -------
    np.ndarray, shape (m,), float64 in (0, 1]
    """
    scores = np.asarray(scores, dtype=np.float64)
    null = np.sort(np.asarray(null, dtype=np.float64))
    if null.size == 0:
        raise InputError("null holds no scores")
    if scores.size == 0:
        return np.zeros(0)
    n_null_above = null.size - np.searchsorted(null, scores, side="left")
    return benjamini_hochberg((1.0 + n_null_above) / (1.0 + null.size))


# --------------------------------------------------------------------------- merge and rank


def merge_windows(windows: pd.DataFrame, *, merge_gap: int = 0) -> pd.DataFrame:
    """Merge windows that overlap or lie within ``merge_gap`` bases into regions.

    Parameters
    ----------
    windows : pandas.DataFrame
        ``chrom, start, end, score`` (and optionally ``q_value``), in genome order (as
        :func:`read_scores` gives).
    merge_gap : int, default 0
        Windows whose start is at most ``merge_gap`` bases after the region's end so far join
        it (0: overlapping or touching windows).

    Returns
    -------
    pandas.DataFrame
        One row per region, in genome order: ``chrom, start, end`` (union of its windows),
        ``max_score`` (the highest window score), ``q_value`` (the lowest window q-value,
        NaN without one), ``n_windows``, ``peak_start, peak_end`` (the best window; the first
        of ties).
    """
    merge_gap = check_non_negative_int(merge_gap, "merge_gap")
    columns = ["chrom", "start", "end", "max_score", "q_value", "n_windows"]
    columns += ["peak_start", "peak_end"]
    if windows.empty:
        return pd.DataFrame({c: [] for c in columns})
    chrom = windows["chrom"].to_numpy()
    start = windows["start"].to_numpy(np.int64)
    end = windows["end"].to_numpy(np.int64)
    score = windows["score"].to_numpy(np.float64)
    q = (
        windows["q_value"].to_numpy(np.float64)
        if "q_value" in windows
        else np.full(len(start), np.nan)
    )
    new_chrom = np.concatenate(([True], chrom[1:] != chrom[:-1]))
    # running end of the region so far, restarted on each chromosome
    group_chrom = np.cumsum(new_chrom) - 1
    reach = pd.Series(end).groupby(group_chrom).cummax().to_numpy()
    breaks = new_chrom.copy()
    breaks[1:] |= start[1:] > reach[:-1] + merge_gap
    region = np.cumsum(breaks) - 1
    frame = pd.DataFrame({"region": region, "start": start, "end": end, "score": score, "q": q})
    grouped = frame.groupby("region", sort=True)
    best = grouped["score"].idxmax().to_numpy()
    out = pd.DataFrame(
        {
            "chrom": chrom[breaks],
            "start": grouped["start"].min().to_numpy(),
            "end": grouped["end"].max().to_numpy(),
            "max_score": grouped["score"].max().to_numpy(),
            "q_value": grouped["q"].min().to_numpy(),
            "n_windows": grouped.size().to_numpy(),
            "peak_start": start[best],
            "peak_end": end[best],
        }
    )
    return out


@dataclasses.dataclass
class Candidates:
    """Result of :func:`call_candidates`.

    Attributes
    ----------
    regions : pandas.DataFrame
        :data:`CANDIDATE_COLUMNS`, in rank order.
    threshold : float
        The lowest window score that passed (inf when none did).
    mode : str
        ``"fdr"`` or ``"quantile"``.
    strand : str
        The scan's strand option (as inferred from the table, or given).
    n_windows, n_passing : int
        Windows in the table; windows that passed.
    null : np.ndarray or None
        The null scores (FDR or when a model was given).
    """

    regions: pd.DataFrame
    threshold: float
    mode: str
    strand: str
    n_windows: int
    n_passing: int
    null: np.ndarray | None = None


def call_candidates(
    table: pd.DataFrame,
    *,
    model=None,
    genome=None,
    fdr: float | None = None,
    quantile: float | None = None,
    null_windows: int = 20000,
    seed=0,
    merge_gap: int = 0,
    top: int | None = None,
    strand: str | None = None,
    target=0,
    batch_size: int = 256,
    device=None,
    width: int | None = None,
) -> Candidates:
    """Threshold, merge and rank scanned windows into candidate regions.

    Parameters
    ----------
    table : pandas.DataFrame
        A score table (:func:`read_scores` or ``scan(...).to_frame()``), in genome order.
    model, genome
        The scanning model and the FASTA: needed for ``fdr`` (the null), optional for
        ``quantile`` (then q-values are computed too).
    fdr : float, optional
        Windows with an empirical q-value (:func:`q_values`) at most this pass.
    quantile : float, optional
        Windows with a score at or above this quantile of all window scores pass.  Exactly one
        of ``fdr`` and ``quantile``.
    null_windows : int, default 20000
        Shuffled windows in the null (:func:`null_scores`).
    seed : int, default 0
    merge_gap : int, default 0
        See :func:`merge_windows`.
    top : int, optional
        Keep the ``top`` best regions.
    strand : {"mean", "max", "forward"}, optional
        The scan's strand option, for scoring the null; default read from the table
        (:func:`infer_strand`).
    target : int, str or Target, default 0
        Must be the output the scan scored.
    batch_size, device
        For scoring the null.
    width : int, optional
        The window length the scan used (``scan(width=...)``), when it is not the model's
        recorded input length or the model records none; must match the tables' windows.
        Without it, a model that records an input length must have scanned windows of that
        length.

    Returns
    -------
    Candidates
    """
    if (fdr is None) == (quantile is None):
        raise InputError("give exactly one of fdr and quantile")
    for name, value in (("fdr", fdr), ("quantile", quantile)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1
        ):
            raise InputError(f"{name}={value!r}; expected a number between 0 and 1 (exclusive)")
    if top is not None:
        top = check_positive_int(top, "top")
    check_seed(seed)
    if fdr is not None and (model is None or genome is None):
        raise InputError("fdr needs the model and the genome (to score shuffled windows)")
    strand = infer_strand(table) if strand is None else check_strand(strand)
    scores = table["score"].to_numpy(np.float64)
    null = None
    q = np.full(scores.size, np.nan)
    if width is not None:
        width = check_positive_int(width, "width")
    if model is not None and genome is not None and scores.size:
        length = int(table["end"].iloc[0] - table["start"].iloc[0])
        if width is not None and width != length:
            raise InputError(
                f"width={width}, but the score tables hold {length} bp windows: scores from "
                "another scan?"
            )
        loaded = load_model(model, input_length=width)
        if width is None and loaded.input_length is not None and loaded.input_length != length:
            raise InputError(
                f"the score tables hold {length} bp windows but the model's input length is "
                f"{loaded.input_length}: scores from another model? (give width= if the scan did)"
            )
        null = null_scores(
            loaded,
            genome,
            table,
            n=null_windows,
            strand=strand,
            target=target,
            seed=seed,
            batch_size=batch_size,
            device=device,
        )
        q = q_values(scores, null)
    if fdr is not None:
        passing = q <= fdr
        if not passing.any() and scores.size:
            top_null = int(np.sum(null >= scores.max()))
            log.warning(
                "no window reaches q <= %g (best q %.3g)%s",
                fdr,
                float(q.min()),
                f"; no null window scores as high as the best window, so the q-values are "
                f"limited by the null's size ({null.size}) against {scores.size} windows: "
                "raise null_windows"
                if top_null == 0
                else "",
            )
    else:
        cut = float(np.quantile(scores, quantile)) if scores.size else math.inf
        passing = scores >= cut
    threshold = float(scores[passing].min()) if passing.any() else math.inf
    chosen = table.loc[passing, ["chrom", "start", "end", "score"]].copy()
    chosen["q_value"] = q[passing]
    regions = merge_windows(chosen, merge_gap=merge_gap)
    regions = rank_regions(regions, top=top)
    log.info(
        "candidates: %d of %d windows pass (%s), %d region(s)",
        int(passing.sum()),
        scores.size,
        f"q <= {fdr}" if fdr is not None else f"score >= quantile {quantile}",
        len(regions),
    )
    return Candidates(
        regions=regions,
        threshold=threshold,
        mode="fdr" if fdr is not None else "quantile",
        strand=strand,
        n_windows=int(scores.size),
        n_passing=int(passing.sum()),
        null=null,
    )


def rank_regions(regions: pd.DataFrame, *, top: int | None = None) -> pd.DataFrame:
    """Rank merged regions by ``max_score`` (ties: genome order), name them, scale a BED score.

    Returns :data:`CANDIDATE_COLUMNS` in rank order; ``name`` = ``candidate_<rank>``; BED
    ``score`` = ``round(1000 * (max_score - lowest) / (highest - lowest))`` over the regions
    kept (1000 when they all tie).
    """
    order = np.argsort(-regions["max_score"].to_numpy(np.float64), kind="stable")
    ranked = regions.iloc[order].reset_index(drop=True)
    if top is not None:
        ranked = ranked.iloc[:top].copy()
    n = len(ranked)
    ranked["rank"] = np.arange(1, n + 1)
    ranked["name"] = [f"candidate_{i}" for i in range(1, n + 1)]
    values = ranked["max_score"].to_numpy(np.float64)
    if n:
        lo, hi = values.min(), values.max()
        scaled = np.full(n, 1000.0) if hi == lo else 1000 * (values - lo) / (hi - lo)
    else:
        scaled = np.zeros(0)
    ranked["score"] = np.rint(scaled).astype(np.int64)
    ranked["strand"] = "."
    for column in ("start", "end", "n_windows", "peak_start", "peak_end"):
        ranked[column] = ranked[column].astype(np.int64)
    return ranked[CANDIDATE_COLUMNS]


def write_candidates(regions: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ranked candidates as BED6 + named columns with a ``#`` header line, atomically.

    ``q_value`` is written as ``NA`` when missing; scores with 7 significant digits.
    """
    missing = [c for c in CANDIDATE_COLUMNS if c not in regions.columns]
    if missing:
        raise InputError(f"candidate regions lack column(s) {missing}")
    with atomic_open(path, "w", newline="\n") as handle:
        handle.write("#" + "\t".join(CANDIDATE_COLUMNS) + "\n")
        regions[CANDIDATE_COLUMNS].to_csv(
            handle,
            sep="\t",
            header=False,
            index=False,
            float_format="%.7g",
            na_rep="NA",
            lineterminator="\n",
            quoting=csv.QUOTE_NONE,
        )


def bigwig_intervals(table: pd.DataFrame, stride: int | None = None) -> pd.DataFrame:
    """One bigWig interval per window: ``stride`` bases centred on the window centre.

    ``[start + L//2 - stride//2, ... + stride)``, clipped at 0 and to the next window's
    interval start, so intervals never overlap.  ``stride`` defaults to the smallest distance
    between consecutive window starts on a chromosome (the scan's stride).

    Returns ``chrom, start, end, value`` in the table's (genome) order.
    """
    if table.empty:
        return pd.DataFrame({"chrom": [], "start": [], "end": [], "value": []})
    chrom = table["chrom"].to_numpy()
    start = table["start"].to_numpy(np.int64)
    end = table["end"].to_numpy(np.int64)
    same = chrom[1:] == chrom[:-1]
    if stride is None:
        gaps = (start[1:] - start[:-1])[same]
        gaps = gaps[gaps > 0]
        stride = int(gaps.min()) if gaps.size else int(end[0] - start[0])
    stride = check_positive_int(stride, "stride")
    centre = start + (end - start) // 2
    lo = np.maximum(centre - stride // 2, 0)
    hi = lo + stride
    nxt = np.concatenate((lo[1:], [np.iinfo(np.int64).max]))
    last = np.concatenate((~same, [True]))
    hi = np.where(last, hi, np.minimum(hi, nxt))
    keep = hi > lo
    return pd.DataFrame(
        {
            "chrom": chrom[keep],
            "start": lo[keep],
            "end": hi[keep],
            "value": table["score"].to_numpy(np.float64)[keep],
        }
    )


__all__ = [
    "CANDIDATE_COLUMNS",
    "Candidates",
    "bigwig_intervals",
    "call_candidates",
    "infer_strand",
    "merge_windows",
    "null_scores",
    "q_values",
    "rank_regions",
    "read_scores",
    "write_candidates",
]

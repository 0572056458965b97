"""Find every instance of each motif across all attributed regions, with the attribution it carries.

Rule (docs/motifs.md, "Instances"): a window is an instance of a motif when

1. **sequence**: the log-odds score of the motif's core PWM (the PPM trimmed by contribution,
   as in annotation) has a p-value at most ``p_threshold`` on either strand (memelite FIMO,
   uniform background), and
2. **attribution**: the projected attribution summed over the window has the motif's sign
   and is extreme among all windows of that width in the attributed regions: its empirical
   p-value, the fraction of all same-width windows whose sign-adjusted sum is at least as
   large, is at most ``attribution_p_threshold``.

A sequence match that the model ignores fails (2); attribution without the motif's bases
fails (1).  Either test can be switched off (``attribution_p_threshold=None`` keeps every
sequence match and still reports its attribution; ``p_threshold=1`` makes every window a
candidate).  Overlapping sequence matches of one motif (more than half the core) count as one
site, the best-scoring.  The CWM similarity of each instance is reported, not used for
filtering.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from seqsal.errors import InputError
from seqsal.io.bed import write_table
from seqsal.motifs.match import query_matrix
from seqsal.motifs.types import TRIM_THRESHOLD, Motif
from seqsal.sequence.geometry import WindowGeometry, window_geometry

log = logging.getLogger(__name__)

#: Added to each probability before the log-odds (then renormalised): a base never seen among
#: a motif's seqlets costs about -4.7 bits instead of minus infinity.
SCAN_PSEUDOCOUNT = 0.01

#: Columns of :func:`scan`'s table, in order.
HIT_COLUMNS = [
    "chrom",
    "start",
    "end",
    "motif",
    "score",
    "strand",
    "region",
    "region_index",
    "offset",
    "window_strand",
    "sign",
    "pwm_score",
    "p_value",
    "attribution",
    "attribution_p_value",
    "cwm_similarity",
    "trim_start",
    "trim_end",
]


def _as_array(value, name: str) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.number):
        raise InputError(f"{name} has dtype {array.dtype}; expected numbers")
    return array


def _check_inputs(X, projected):
    X = _as_array(X, "X")
    if X.ndim != 3 or X.shape[1] != 4:
        raise InputError(f"X has shape {X.shape}; expected one-hot (n, 4, L)")
    projected = _as_array(projected, "projected").astype(np.float64, copy=False)
    if projected.ndim == 2:
        per_base = projected
    elif projected.ndim == 3 and projected.shape[1] == 4:
        per_base = projected.sum(axis=1)
    else:
        raise InputError(
            f"projected has shape {projected.shape}; expected (n, 4, L) or per-base sums (n, L)"
        )
    if per_base.shape != (X.shape[0], X.shape[2]):
        raise InputError(
            f"projected has shape {projected.shape} but X has shape {X.shape}; expected the same n and L"
        )
    if not np.isfinite(per_base).all():
        raise InputError("projected contains NaN or infinite values")
    # The (4, L) profile for CWM similarity: given, or the per-base sum on the observed base.
    profile = projected if projected.ndim == 3 else X.astype(np.float64) * per_base[:, None, :]
    return np.ascontiguousarray(X, dtype=np.float32), per_base, profile


def _geometry(coords, n: int, L: int) -> WindowGeometry:
    """The windows' geometry; without coords, regions ``seq0..`` placed at 0..L of themselves."""
    if coords is None:
        names = [f"seq{i}" for i in range(n)]
        coords = pd.DataFrame({"chrom": names, "start": 0, "end": L, "strand": "+", "name": names})
    return window_geometry(coords, L, n=n, what="coords")


def _best_non_overlapping(region: np.ndarray, offset: np.ndarray, width: int) -> np.ndarray:
    """Greedy suppression: walk hits in the given (best-first) order and keep one unless it
    overlaps a kept hit of the same region by more than half of ``width``.  Returns a mask."""
    keep = np.zeros(len(region), dtype=bool)
    kept: dict[int, list[int]] = {}
    limit = width - width // 2  # starts closer than this overlap by more than half the core
    for k, (r, o) in enumerate(zip(region.tolist(), offset.tolist(), strict=True)):
        others = kept.setdefault(r, [])
        if all(abs(o - other) >= limit for other in others):
            others.append(o)
            keep[k] = True
    return keep


def _empirical_upper_tail(null_sorted: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Fraction of ``null_sorted`` (ascending) that is >= each value."""
    n_ge = null_sorted.size - np.searchsorted(null_sorted, values, side="left")
    return n_ge / null_sorted.size


def scan(
    motifs: Motif | Sequence[Motif],
    X,
    projected,
    *,
    coords: pd.DataFrame | None = None,
    p_threshold: float = 1e-3,
    attribution_p_threshold: float | None = 0.05,
    trim=True,
    trim_threshold: float = TRIM_THRESHOLD,
) -> pd.DataFrame:
    """Find the instances of motifs in all attributed regions (both strands).

    Parameters
    ----------
    motifs : Motif or sequence of Motif
        Discovered (or database) motifs; ``sign`` says which attribution sign counts.
    X : np.ndarray or torch.Tensor, shape (n, 4, L)
        One-hot sequences as the model saw them (N = zero column, never matched).
    projected : np.ndarray or torch.Tensor, shape (n, 4, L) or (n, L)
        Projected attributions (hypothetical x one-hot), or their per-base sums.
    coords : pandas.DataFrame, optional
        The n windows (``chrom, start, end``, optional ``strand, name, pad_left,
        pad_right``, as ``make_windows`` gives them).  Without it regions are named
        ``seq0..`` with coordinates in the window.
    p_threshold : float, default 1e-3
        FIMO p-value cut for the core PWM.  Looser than FIMO's 1e-4 because the attribution
        test is a second, independent filter, and because a 6-column core's best possible
        p-value is 4^-6 = 2.4e-4.
    attribution_p_threshold : float or None, default 0.05
        Keep instances whose sign-adjusted attribution sum is in the top
        ``attribution_p_threshold`` fraction of all same-width windows; None keeps every
        sequence match.
    trim, trim_threshold
        Which span of each motif is scanned, as in :func:`seqsal.motifs.match.match`
        (default: the PPM trimmed by contribution at 0.3 of the peak).

    Returns
    -------
    pandas.DataFrame
        One row per instance, columns :data:`HIT_COLUMNS`, sorted by chrom and start:
        ``chrom, start, end`` (genome BED span of the motif core; on a window padded past a
        chromosome end, clipped to the bases read), ``motif`` (its id),
        ``score`` (BED score, ``min(1000, round(-100 log10 p))``), ``strand`` (the motif's
        orientation on the genome), ``region`` / ``region_index``, ``offset`` (first window
        base of the instance), ``window_strand`` (orientation within the window as the model
        read it), ``sign``, ``pwm_score`` (log-odds, bits), ``p_value`` (FIMO),
        ``attribution`` (sum of projected attributions over the instance),
        ``attribution_p_value``, ``cwm_similarity`` (cosine of the core CWM, oriented like
        the instance, with the instance's projected attributions; NaN without a CWM),
        ``trim_start, trim_end`` (the core's span within the motif).
    """
    from memelite import fimo

    if isinstance(motifs, Motif):
        motifs = [motifs]
    motifs = list(motifs)
    if not motifs:
        raise InputError("motifs is empty; expected at least one Motif to scan")
    for i, motif in enumerate(motifs):
        if not isinstance(motif, Motif):
            raise InputError(
                f"motifs[{i}] is a {type(motif).__name__}; expected seqsal.motifs.Motif"
            )
    if not 0 < p_threshold <= 1:
        raise InputError(f"p_threshold={p_threshold!r}; expected a p-value in (0, 1]")
    if attribution_p_threshold is not None and not 0 < attribution_p_threshold <= 1:
        raise InputError(
            f"attribution_p_threshold={attribution_p_threshold!r}; expected a fraction in (0, 1] or None"
        )
    X, per_base, profile = _check_inputs(X, projected)
    n, _, L = X.shape
    geometry = _geometry(coords, n, L)

    cores, spans = [], []
    for motif in motifs:
        ppm, span = query_matrix(motif, trim, trim_threshold)[:2]
        if ppm.shape[1] > L:
            raise InputError(
                f"motif {motif.id!r} core is {ppm.shape[1]} wide, longer than the regions ({L})"
            )
        ppm = (ppm + SCAN_PSEUDOCOUNT) / (1 + 4 * SCAN_PSEUDOCOUNT)
        cores.append(np.ascontiguousarray(ppm))
        spans.append(span)
    # Keys are indices: motif names need not be unique, and memelite reads them as labels only.
    hits_per_motif = fimo({str(i): core for i, core in enumerate(cores)}, X, threshold=p_threshold)

    cumulative = np.zeros((n, L + 1))
    np.cumsum(per_base, axis=1, out=cumulative[:, 1:])
    null_cache: dict[tuple[int, int], np.ndarray] = {}
    tables = []
    for mi, (motif, hits) in enumerate(zip(motifs, hits_per_motif, strict=True)):
        w = cores[mi].shape[1]
        if len(hits) == 0:
            continue
        region = hits["sequence_name"].to_numpy(np.int64)
        offset = hits["start"].to_numpy(np.int64)
        window_strand = hits["strand"].astype(str).to_numpy()
        attribution = cumulative[region, offset + w] - cumulative[region, offset]

        key = (w, motif.sign)
        if key not in null_cache:
            sums = cumulative[:, w:] - cumulative[:, :-w]
            null_cache[key] = np.sort((motif.sign * sums).ravel())
        attribution_p = _empirical_upper_tail(null_cache[key], motif.sign * attribution)

        cwm = motif.cwm[:, spans[mi].start : spans[mi].end] if motif.cwm is not None else None
        if cwm is not None:
            # cwm[::-1, ::-1] is the reverse complement as a view: the similarity sums run
            # in the same order as for the forward strand.
            oriented = np.where(
                window_strand[:, None, None] == "-", cwm[::-1, ::-1][None], cwm[None]
            )
            windows = profile[
                region[:, None], :, offset[:, None] + np.arange(w)[None, :]
            ]  # (h, w, 4)
            windows = np.transpose(windows, (0, 2, 1))
            dot = (oriented * windows).sum(axis=(1, 2))
            norm = np.linalg.norm(oriented, axis=(1, 2)) * np.linalg.norm(windows, axis=(1, 2))
            similarity = np.where(norm > 0, dot / np.where(norm > 0, norm, 1.0), 0.0)
        else:
            similarity = np.full(len(hits), np.nan)

        table = pd.DataFrame(
            {
                "motif": motif.id,
                "region_index": region,
                "offset": offset,
                "window_strand": window_strand,
                "sign": motif.sign,
                "pwm_score": hits["score"].to_numpy(np.float64),
                "p_value": hits["p-value"].to_numpy(np.float64),
                "attribution": attribution,
                "attribution_p_value": attribution_p,
                "cwm_similarity": similarity,
                "trim_start": spans[mi].start,
                "trim_end": spans[mi].end,
                "_width": w,
            }
        )
        # One site is reported once: a palindromic core matches both strands at one position,
        # and a self-similar core matches again a few bases away.  Of hits of this motif in
        # one region that overlap by more than half the core, the best PWM score is kept.
        table = table.sort_values(
            ["pwm_score", "window_strand"], ascending=[False, True], kind="stable"
        )
        table = table[
            _best_non_overlapping(table["region_index"].to_numpy(), table["offset"].to_numpy(), w)
        ]
        if attribution_p_threshold is not None:
            table = table[table["attribution_p_value"] <= attribution_p_threshold]
        tables.append(table)

    if not tables or all(len(t) == 0 for t in tables):
        log.info("scanned %d motifs over %d regions: no instances", len(motifs), n)
        return pd.DataFrame({c: pd.Series(dtype=object) for c in HIT_COLUMNS})
    hits = pd.concat(tables, ignore_index=True)
    region = hits["region_index"].to_numpy(np.int64)
    offset = hits["offset"].to_numpy(np.int64)
    # The genome span of each instance: the bases read, never the N padding past a
    # chromosome end (a core that reaches into padding is clipped; one wholly in it dropped).
    start, end = geometry.clip(region, offset, offset + hits["_width"].to_numpy(np.int64))
    g_start, g_end = geometry.to_genome(region, start, end)
    placed = end > start
    if not placed.all():
        hits, region, g_start, g_end = hits[placed], region[placed], g_start[placed], g_end[placed]
    forward = hits["window_strand"].to_numpy() == "+"
    hits["chrom"] = geometry.chrom[region]
    hits["start"] = g_start
    hits["end"] = g_end
    hits["strand"] = np.where(forward != geometry.minus[region], "+", "-")
    hits["region"] = geometry.name[region]
    p = np.clip(hits["p_value"].to_numpy(np.float64), 1e-300, 1.0)
    hits["score"] = np.minimum(1000, np.round(-100 * np.log10(p))).astype(np.int64)
    hits = hits.sort_values(["chrom", "start", "end", "motif"], kind="stable").reset_index(
        drop=True
    )
    hits = hits[HIT_COLUMNS]
    log.info("scanned %d motifs over %d regions: %d instances", len(motifs), n, len(hits))
    return hits


def write_hits_bed(hits: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write :func:`scan`'s table as BED6+ with a ``#``-prefixed header row (atomically).

    Columns: ``chrom start end name score strand`` (``name`` is the motif id), then
    ``region offset window_strand sign pwm_score p_value attribution attribution_p_value
    cwm_similarity trim_start trim_end``.  Fields are written verbatim (no quoting), so a
    region name is the string of the regions BED.
    """
    missing = [c for c in HIT_COLUMNS if c not in hits.columns]
    if missing:
        raise InputError(f"hits lacks columns {missing}; expected the output of seqsal.motifs.scan")
    table = hits.rename(columns={"motif": "name"})
    columns = ["chrom", "start", "end", "name", "score", "strand"] + [
        c
        for c in HIT_COLUMNS
        if c not in ("chrom", "start", "end", "motif", "score", "strand", "region_index")
    ]
    write_table(table[columns], path, float_format="%.6g", na_rep="NaN")
    log.info("wrote %d motif instances to %s", len(table), path)
    return Path(path)

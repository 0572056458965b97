"""Annotate motifs with the known transcription factors they resemble (TOMTOM via memelite).

Each query motif is compared with every database motif by memelite's TOMTOM (complete-score
Euclidean distance between probability columns, both strands of the target, p-values from
the database's own column background).  For each query the database-wide p-values are
corrected by Benjamini-Hochberg, and the ``top`` matches are written one row each, marked
significant or not; nothing is dropped in silence.  See docs/motifs.md for the table.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from seqsal._runtime import check_positive_int
from seqsal.errors import InputError
from seqsal.io.atomic import atomic_open
from seqsal.motifs.database import load_database
from seqsal.motifs.types import TRIM_THRESHOLD, Motif, TrimSpan
from seqsal.stats import benjamini_hochberg

log = logging.getLogger(__name__)

#: Columns of the annotation table, in order (docs/motifs.md defines each).
ANNOTATION_COLUMNS = [
    "motif",
    "sign",
    "n_seqlets",
    "matched_matrix",
    "trim_start",
    "trim_end",
    "query_width",
    "rank",
    "match_id",
    "match_name",
    "family",
    "tf_class",
    "p_value",
    "q_value",
    "e_value",
    "orientation",
    "offset",
    "overlap",
    "significant",
    "status",
    "database",
]


class QueryMatrix(NamedTuple):
    """The matrix matched (and scanned) for a motif: ``ppm`` (4, w'), its ``span`` in the
    untrimmed motif and the ``label`` written to the table's ``matched_matrix`` column."""

    ppm: np.ndarray
    span: TrimSpan
    label: str


def query_matrix(motif: Motif, trim=True, trim_threshold: float = TRIM_THRESHOLD) -> QueryMatrix:
    """The PPM that is matched for ``motif``, its span and a label for the table.

    Parameters
    ----------
    motif : Motif
    trim : bool or "motif", default True
        True: trim by contribution (:meth:`Motif.contribution_span` with ``trim_threshold``;
        information content for motifs without a CWM).  ``"motif"``: the motif's own
        ``trim`` span.  False: the whole PPM.
    trim_threshold : float, default 0.3

    Returns
    -------
    QueryMatrix
        ``ppm`` (np.ndarray, shape (4, w')), ``span`` (TrimSpan) and ``label``:
        ``"ppm_trimmed_by_cwm"``, ``"ppm_trimmed_by_ic"``, ``"ppm_trimmed_by_motif"`` or ``"ppm"``.
    """
    if trim is True:
        span = motif.contribution_span(trim_threshold)
        label = f"ppm_trimmed_by_{span.basis}"
    elif trim == "motif":
        span = TrimSpan(*motif.trim, "motif")
        label = "ppm_trimmed_by_motif" if tuple(motif.trim) != (0, motif.width) else "ppm"
    elif trim is False:
        span = TrimSpan(0, motif.width, "none")
        label = "ppm"
    else:
        raise InputError(
            f"trim={trim!r}; expected True (by contribution), 'motif' (the motif's own span) or False"
        )
    return QueryMatrix(
        np.ascontiguousarray(motif.ppm[:, span.start : span.end], dtype=np.float64), span, label
    )


def _run_tomtom(queries: list[np.ndarray], targets: list[np.ndarray], n_jobs: int):
    from memelite import tomtom

    # memelite compiles one kernel per array layout and dtype: always float64, C-ordered.
    p, _scores, offsets, overlaps, strands = tomtom(
        queries, targets, n_nearest=None, reverse_complement=True, n_jobs=n_jobs
    )
    return p, offsets, overlaps, strands


def match(
    motifs: Motif | Sequence[Motif],
    database=None,
    *,
    top: int = 5,
    trim=True,
    trim_threshold: float = TRIM_THRESHOLD,
    alpha: float = 0.05,
    n_jobs: int = -1,
) -> pd.DataFrame:
    """Annotate motifs with their best matches in a motif database (TOMTOM).

    Parameters
    ----------
    motifs : Motif or sequence of Motif
        The query motifs, typically from ``seqsal.motifs.discover``.
    database : None, str, os.PathLike or list of Motif, optional
        What to match against (:func:`seqsal.motifs.database.load_database`): None for
        JASPAR2026 CORE vertebrates, a spec such as ``"JASPAR2024:CORE:insects"``, a MEME
        file or a list of Motif.  TOMTOM's p-values use the database's columns as their
        background, so use a whole database (at least 50 motifs), not a handful.
    top : int, default 5
        Matches reported per query, best p-value first.
    trim : bool or "motif", default True
        Which matrix is matched: the PPM trimmed by contribution (True), by the motif's own
        ``trim`` span ("motif"), or untrimmed (False); see :func:`query_matrix`.  Trimming
        removes the low-contribution flanks that discovery keeps around a core, which
        otherwise dilute the match.
    trim_threshold : float, default 0.3
        Positions with absolute contribution below this fraction of the peak are trimmed
        from the ends.
    alpha : float, default 0.05
        A match is ``significant`` when its q-value is below ``alpha``.
    n_jobs : int, default -1
        numba threads for TOMTOM (-1: all).

    Returns
    -------
    pandas.DataFrame
        One row per (motif, match) with columns :data:`ANNOTATION_COLUMNS`; a motif whose
        every alignment scores no better than chance (p = 1) gets one row with status
        ``no_match``.  ``offset`` is the column of the (``orientation``-oriented) database
        motif aligned with the first column of the matched query matrix (negative: the
        query starts before it); ``orientation`` "-" means the query matches the reverse
        complement of the database motif.  ``df.attrs`` holds ``database`` (its size and
        source), ``alpha`` and ``trim_threshold``.
    """
    if isinstance(motifs, Motif):
        motifs = [motifs]
    motifs = list(motifs)
    if not motifs:
        raise InputError("motifs is empty; expected at least one Motif to annotate")
    for i, motif in enumerate(motifs):
        if not isinstance(motif, Motif):
            raise InputError(
                f"motifs[{i}] is a {type(motif).__name__}; expected seqsal.motifs.Motif"
            )
    top = check_positive_int(top, "top")
    if not 0 < alpha <= 1:
        raise InputError(f"alpha={alpha!r}; expected a level in (0, 1]")
    db = load_database(database)
    if len(db) < 50:
        log.warning(
            "matching against %d database motifs: TOMTOM's p-values use the database as their background "
            "and are unreliable for small databases (use a whole database, 50 motifs or more)",
            len(db),
        )
    db_source = db[0].source if len({m.source for m in db}) == 1 else "mixed"

    queries, spans, labels = [], [], []
    for motif in motifs:
        chosen = query_matrix(motif, trim, trim_threshold)
        queries.append(chosen.ppm)
        spans.append(chosen.span)
        labels.append(chosen.label)
    targets = [np.ascontiguousarray(m.ppm, dtype=np.float64) for m in db]
    p, offsets, overlaps, strands = _run_tomtom(queries, targets, n_jobs)

    n_db = len(db)
    rows = []
    for qi, motif in enumerate(motifs):
        p_row = np.clip(p[qi], 0.0, 1.0)
        q_row = benjamini_hochberg(p_row)
        order = np.argsort(p_row, kind="stable")[: min(top, n_db)]
        order = order[p_row[order] < 1.0]
        base = {
            "motif": motif.id,
            "sign": motif.sign,
            "n_seqlets": motif.n_seqlets,
            "matched_matrix": labels[qi],
            "trim_start": spans[qi].start,
            "trim_end": spans[qi].end,
            "query_width": spans[qi].end - spans[qi].start,
            "database": db_source,
        }
        if len(order) == 0:
            rows.append(
                {
                    **base,
                    "rank": 0,
                    "match_id": "",
                    "match_name": "",
                    "family": "",
                    "tf_class": "",
                    "p_value": 1.0,
                    "q_value": 1.0,
                    "e_value": float(n_db),
                    "orientation": "",
                    "offset": 0,
                    "overlap": 0,
                    "significant": False,
                    "status": "no_match",
                }
            )
            continue
        for rank, ti in enumerate(order, start=1):
            target = db[ti]
            significant = bool(q_row[ti] < alpha)
            rows.append(
                {
                    **base,
                    "rank": rank,
                    "match_id": target.id,
                    "match_name": target.name,
                    "family": target.family or "",
                    "tf_class": target.tf_class or "",
                    "p_value": float(p_row[ti]),
                    "q_value": float(q_row[ti]),
                    "e_value": float(p_row[ti] * n_db),
                    "orientation": "-" if strands[qi, ti] > 0.5 else "+",
                    "offset": int(offsets[qi, ti]),
                    "overlap": int(overlaps[qi, ti]),
                    "significant": significant,
                    "status": "significant" if significant else "not_significant",
                }
            )
    table = pd.DataFrame(rows, columns=ANNOTATION_COLUMNS)
    table.attrs["database"] = {"source": db_source, "n_motifs": n_db}
    table.attrs["alpha"] = alpha
    table.attrs["trim_threshold"] = trim_threshold
    n_sig = int(table.loc[table["rank"] == 1, "significant"].sum())
    log.info(
        "matched %d motifs against %d database motifs; %d with a significant best match",
        len(motifs),
        n_db,
        n_sig,
    )
    return table


def best_matches(table: pd.DataFrame) -> pd.DataFrame:
    """The rank-1 row of each motif of an annotation table (including ``no_match`` rows)."""
    return table[table["rank"] <= 1].reset_index(drop=True)


def write_annotation(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write an annotation table as tab-separated text with a header row (atomically).

    p-, q- and E-values keep full precision (``%.6g``).  Fields are written verbatim
    (:func:`seqsal.io.bed.write_rows`): a motif or database name holding a quote is not
    CSV-quoted.
    """
    from seqsal.io.bed import check_fields, write_rows

    missing = [c for c in ANNOTATION_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(
            f"annotation table lacks columns {missing}; expected the output of seqsal.motifs.match"
        )
    check_fields(table, path=path)
    with atomic_open(path, "w", newline="") as handle:
        handle.write("\t".join(map(str, table.columns)) + "\n")
        write_rows(handle, table, float_format="%.6g")
    log.info("wrote %d annotation rows to %s", len(table), path)
    return Path(path)


def read_annotation(path: str | os.PathLike) -> pd.DataFrame:
    """Read a table written by :func:`write_annotation` back into a DataFrame."""
    try:
        table = pd.read_csv(
            path, sep="\t", keep_default_na=False, na_values=[], quoting=csv.QUOTE_NONE
        )
    except (OSError, pd.errors.ParserError) as err:
        raise InputError(f"cannot read annotation table: {err}", path=path) from err
    missing = [c for c in ANNOTATION_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"annotation table lacks columns {missing}", path=path)
    table["significant"] = table["significant"].astype(str).str.lower().eq("true")
    return table

"""Motif databases to annotate against: JASPAR (bundled with pyjaspar, offline) or a MEME file.

JASPAR stores counts; they become probabilities with a pseudocount of one site spread over
the four bases by the uniform background, ``ppm = (counts + 0.25) / (nsites + 1)``, so a
matrix built from 20 sites never holds a hard zero (which would make any log-odds score
minus infinity) while a matrix from thousands of sites is unchanged to 4 decimals.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

import numpy as np

from seqsal.errors import InputError
from seqsal.io.jaspar import check_release, read_jaspar
from seqsal.motifs.types import Motif

log = logging.getLogger(__name__)

DEFAULT_RELEASE = "JASPAR2026"
DEFAULT_COLLECTION = "CORE"
DEFAULT_TAX_GROUP = "vertebrates"

#: Total pseudocount (in sites) added to each JASPAR count column, spread uniformly.
JASPAR_PSEUDOCOUNT = 1.0


def counts_to_ppm(counts: np.ndarray, pseudocount: float = JASPAR_PSEUDOCOUNT) -> np.ndarray:
    """Counts (4, w) -> probabilities (4, w): ``(counts + pseudocount / 4) / (column sum + pseudocount)``."""
    counts = np.asarray(counts, dtype=np.float64)
    padded = counts + pseudocount / 4.0
    return padded / padded.sum(axis=0, keepdims=True)


@functools.lru_cache(maxsize=8)
def _load_jaspar_cached(release: str, collection: str, tax_group: str | None) -> tuple[Motif, ...]:
    source = ":".join(v for v in (release, collection, tax_group) if v)
    motifs = []
    for record in read_jaspar(release, collection, tax_group):
        counts = record.counts
        motifs.append(
            Motif(
                name="".join(str(record.name).split()) or record.matrix_id,
                ppm=counts_to_ppm(counts),
                n_seqlets=round(counts[:, 0].sum()),
                source=source,
                matrix_id=record.matrix_id,
                family="; ".join(record.family) or None,
                tf_class="; ".join(record.tf_class) or None,
            )
        )
    return tuple(motifs)


def load_jaspar(
    release: str = DEFAULT_RELEASE,
    collection: str = DEFAULT_COLLECTION,
    tax_group: str | None = DEFAULT_TAX_GROUP,
) -> list[Motif]:
    """Load JASPAR matrices from the sqlite files that ship inside pyjaspar (no network).

    The latest version of each matrix is returned (JASPAR's own rule, as pyjaspar's
    ``fetch_motifs`` applies it).  Loaded once per process per selection
    (:func:`seqsal.io.jaspar.read_jaspar`) and cached; callers get a fresh list of the same
    Motif objects (treat them as read-only).

    Parameters
    ----------
    release : str, default "JASPAR2026"
        One of :func:`seqsal.io.jaspar.jaspar_releases`.
    collection : str, default "CORE"
        JASPAR collection (``CORE``, ``UNVALIDATED``, ...).
    tax_group : str or None, default "vertebrates"
        Taxonomic group (``vertebrates``, ``insects``, ``plants``, ...); None for all.

    Returns
    -------
    list of Motif
        ``matrix_id`` (``MA0139.2``), ``name`` (``CTCF``), ``family``, ``tf_class``,
        ``n_seqlets`` (number of sites), ``ppm`` from counts with a pseudocount of 1 site.
    """
    check_release(release, "release")
    collection = str(collection).upper()
    tax_group = str(tax_group).lower() if tax_group else None
    motifs = list(_load_jaspar_cached(release, collection, tax_group))
    if not motifs:
        raise InputError(
            f"JASPAR selection release={release!r}, collection={collection!r}, tax_group={tax_group!r} "
            "holds no motifs; check the collection and taxonomic group names"
        )
    log.info(
        "loaded %d motifs from %s %s %s", len(motifs), release, collection, tax_group or "all taxa"
    )
    return motifs


def load_database(spec=None) -> list[Motif]:
    """Resolve a motif database from a spec.

    Parameters
    ----------
    spec : str, os.PathLike, list of Motif or None
        None: JASPAR2026 CORE vertebrates.  A string ``"JASPAR2026:CORE:vertebrates"``
        (release, then optional collection and taxonomic group; ``"all"`` as the group takes
        every taxon).  A path to a MEME file.  A list of Motif is returned as is.

    Returns
    -------
    list of Motif
    """
    from seqsal.motifs.meme import read_meme

    if spec is None:
        return load_jaspar()
    if isinstance(spec, (list, tuple)):
        if not spec or not all(isinstance(m, Motif) for m in spec):
            raise InputError(
                "database given as a list must be a non-empty list of seqsal.motifs.Motif"
            )
        return list(spec)
    if not isinstance(spec, (str, os.PathLike)):
        raise InputError(
            f"database={spec!r}; expected a MEME file path, a 'JASPAR2026:CORE:vertebrates' spec or Motif list"
        )
    text = os.fspath(spec)
    if text.upper().startswith("JASPAR") and not Path(text).exists():
        parts = text.split(":")
        if len(parts) > 3:
            raise InputError(f"database={text!r}; expected 'RELEASE[:COLLECTION[:TAX_GROUP]]'")
        release = parts[0].upper()
        collection = parts[1] if len(parts) > 1 and parts[1] else DEFAULT_COLLECTION
        tax_group = parts[2] if len(parts) > 2 and parts[2] else DEFAULT_TAX_GROUP
        if tax_group.lower() == "all":
            tax_group = None
        return load_jaspar(release, collection, tax_group)
    if not Path(text).exists():
        raise InputError(
            f"database={text!r} is neither an existing MEME file nor a JASPAR spec like 'JASPAR2026:CORE:vertebrates'"
        )
    return read_meme(text)

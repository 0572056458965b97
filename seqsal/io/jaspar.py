"""JASPAR count matrices from the sqlite files that ship inside pyjaspar (offline).

The one place seqsal reads JASPAR: the motif database (:mod:`seqsal.motifs.database`) selects
a collection and taxonomic group to annotate against, and the simulator
(:mod:`seqsal.sequence.synthetic`) fetches the matrices it plants by id.  Both get
:class:`JasparMatrix` records with the counts as JASPAR stores them; turning counts into
probabilities (with or without a pseudocount) is the caller's choice.

The sqlite file is read with a few bulk queries rather than through pyjaspar's ``jaspardb``,
which builds one Biopython object per matrix, slow for a whole collection; the selection
rules are pyjaspar's, and tests/test_io_jaspar.py checks that both agree.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np

from seqsal.errors import InputError


class JasparMatrix(NamedTuple):
    """One JASPAR matrix.

    Attributes
    ----------
    matrix_id : str
        Base id and version, ``"MA0139.2"``.
    name : str
        The TF name as JASPAR writes it (``"CTCF"``, ``"FOS::JUN"``).
    counts : np.ndarray, float64, shape (4, w)
        Site counts, rows A, C, G, T.
    family, tf_class : tuple of str
        JASPAR's structural family and class annotations, in the database's order (a
        heterodimer has several).
    """

    matrix_id: str
    name: str
    counts: np.ndarray
    family: tuple[str, ...]
    tf_class: tuple[str, ...]


def jaspar_releases() -> list[str]:
    """The JASPAR releases the installed pyjaspar ships (``JASPAR2014``..``JASPAR2026``)."""
    import pyjaspar

    return sorted(pyjaspar.jaspar_releases)


def check_release(release: str, argument: str = "release") -> str:
    """Return ``release`` if pyjaspar ships it, else raise an InputError naming ``argument``."""
    releases = jaspar_releases()
    if release not in releases:
        raise InputError(
            f"{argument}={release!r} is not shipped with pyjaspar; expected one of "
            f"{', '.join(releases)}"
        )
    return release


@contextlib.contextmanager
def _connect(release: str) -> Iterator[sqlite3.Connection]:
    import pyjaspar
    from pyjaspar.utils import get_jaspardb_path

    db_path = get_jaspardb_path(pyjaspar.jaspar_releases[check_release(release)])
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
        yield conn


def _records(conn: sqlite3.Connection, matrices: list[tuple]) -> list[JasparMatrix]:
    """The JasparMatrix of each ``(internal id, base id, version, name)``, in that order."""
    ids = list(dict.fromkeys(row[0] for row in matrices))
    counts: dict[int, dict[str, dict[int, float]]] = {i: {b: {} for b in "ACGT"} for i in ids}
    annotations: dict[int, dict[str, list[str]]] = {i: {"family": [], "class": []} for i in ids}
    for chunk in range(0, len(ids), 500):
        part = ids[chunk : chunk + 500]
        marks = ",".join("?" * len(part))
        for matrix, base, col, value in conn.execute(
            f"SELECT ID, row, col, val FROM MATRIX_DATA WHERE ID IN ({marks})", part
        ):
            counts[matrix][base.upper()][int(col)] = float(value)
        for matrix, tag, value in conn.execute(
            f"SELECT ID, TAG, VAL FROM MATRIX_ANNOTATION WHERE TAG IN ('family', 'class') AND ID IN ({marks}) "
            "ORDER BY LOCAL_ID",
            part,
        ):
            annotations[matrix][tag].append(value)
    records = []
    for matrix, base_id, version, name in matrices:
        columns = sorted(counts[matrix]["A"])
        records.append(
            JasparMatrix(
                matrix_id=f"{base_id}.{version}",
                name=name,
                counts=np.array(
                    [[counts[matrix][b][c] for c in columns] for b in "ACGT"], dtype=np.float64
                ),
                family=tuple(annotations[matrix]["family"]),
                tf_class=tuple(annotations[matrix]["class"]),
            )
        )
    return records


def read_jaspar(release: str, collection: str, tax_group: str | None) -> list[JasparMatrix]:
    """The matrices of one collection (and taxonomic group) of a release, by internal id.

    The selection is pyjaspar's ``fetch_motifs`` rule: collection and taxonomic group compared
    case-insensitively, and of each base id only the latest version in the whole release.

    Parameters
    ----------
    release : str
        One of :func:`jaspar_releases`.
    collection : str
        ``"CORE"``, ``"UNVALIDATED"``, ...
    tax_group : str or None
        ``"vertebrates"``, ``"insects"``, ...; None for every taxon.

    Returns
    -------
    list of JasparMatrix
        Empty when nothing matches.
    """
    with _connect(release) as conn:
        everything = conn.execute(
            "SELECT ID, BASE_ID, VERSION, COLLECTION, NAME FROM MATRIX ORDER BY ID"
        ).fetchall()
        latest: dict[str, int] = {}
        for _, base_id, version, _, _ in everything:
            latest[base_id] = max(latest.get(base_id, version), version)
        if tax_group is not None:
            in_group = {
                row[0]
                for row in conn.execute(
                    "SELECT ID FROM MATRIX_ANNOTATION WHERE TAG = 'tax_group' AND lower(VAL) = ?",
                    (tax_group.lower(),),
                )
            }
        matrices = [
            (matrix, base_id, version, name)
            for matrix, base_id, version, coll, name in everything
            if str(coll).upper() == collection.upper()
            and version == latest[base_id]
            and (tax_group is None or matrix in in_group)
        ]
        return _records(conn, matrices)


def fetch_jaspar(release: str, matrix_ids: Sequence[str]) -> list[JasparMatrix | None]:
    """Matrices by id, in any collection: ``"MA0139.2"``, or ``"MA0139"`` for the latest version.

    The id rule is pyjaspar's ``fetch_motif_by_id``: an id with one ``.`` is a base id and a
    version, anything else a base id.

    Parameters
    ----------
    release : str
        One of :func:`jaspar_releases`.
    matrix_ids : sequence of str

    Returns
    -------
    list of JasparMatrix or None
        One per id, in order; None where the release holds no such matrix.
    """
    with _connect(release) as conn:
        rows: list[tuple | None] = []
        for given in matrix_ids:
            parts = str(given).split(".")
            base_id, version = (parts[0], parts[1]) if len(parts) == 2 else (str(given), "")
            if version:
                try:
                    number = int(version)
                except ValueError:
                    rows.append(None)
                    continue
                found = conn.execute(
                    "SELECT ID, BASE_ID, VERSION, NAME FROM MATRIX WHERE BASE_ID = ? AND VERSION = ?",
                    (base_id, number),
                ).fetchone()
            else:
                found = conn.execute(
                    "SELECT ID, BASE_ID, VERSION, NAME FROM MATRIX WHERE BASE_ID = ? "
                    "ORDER BY VERSION DESC LIMIT 1",
                    (base_id,),
                ).fetchone()
            rows.append(found)
        records = iter(_records(conn, [row for row in rows if row is not None]))
        return [None if row is None else next(records) for row in rows]


__all__ = ["JasparMatrix", "check_release", "fetch_jaspar", "jaspar_releases", "read_jaspar"]

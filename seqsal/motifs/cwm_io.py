"""Discovered motifs <-> HDF5: everything a MEME file cannot hold (CWMs, sign, trim, members).

The layout is TF-MoDISco's (``modisco motifs`` output), so tools that read modisco results
(``modisco report``, Fi-NeMo) read seqsal's too; matrices are stored ``(w, 4)`` there as
modisco does::

    pos_patterns/pattern_0/sequence               (w, 4)  PPM
    pos_patterns/pattern_0/contrib_scores         (w, 4)  CWM
    pos_patterns/pattern_0/hypothetical_contribs  (w, 4)  hypothetical CWM
    pos_patterns/pattern_0/seqlets/{n_seqlets, example_idx, start, end, is_revcomp}
    neg_patterns/...

seqsal's extras: each pattern group's attributes ``name, sign, n_seqlets, trim_start,
trim_end, source, matrix_id, family, tf_class``; the full member table as one dataset per
column under ``pattern_k/members/``; the file attribute ``seqsal_order`` (names in order).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from seqsal.errors import InputError, first_line
from seqsal.io.atomic import atomic_path
from seqsal.motifs.types import Motif

log = logging.getLogger(__name__)

FORMAT = "seqsal.motifs/1"


def _group_name(motif: Motif, counters: dict) -> str:
    kind = "pos_patterns" if motif.sign > 0 else "neg_patterns"
    i = counters.get(kind, 0)
    counters[kind] = i + 1
    return f"{kind}/pattern_{i}"


def _write_table(group, table: pd.DataFrame) -> None:
    import h5py

    group.attrs["columns"] = np.array(list(table.columns), dtype=h5py.string_dtype())
    for column in table.columns:
        values = table[column].to_numpy()
        if values.dtype.kind in "biuf":
            group.create_dataset(column, data=values)
        elif values.dtype.kind == "b":
            group.create_dataset(column, data=values.astype(np.int8))
        else:
            group.create_dataset(
                column, data=np.array([str(v) for v in values], dtype=h5py.string_dtype())
            )


def _read_table(group) -> pd.DataFrame:
    columns = [c.decode() if isinstance(c, bytes) else str(c) for c in group.attrs["columns"]]
    data = {}
    for column in columns:
        dataset = group[column]
        if dataset.dtype.kind == "O" or dataset.dtype.kind == "S":
            data[column] = dataset.asstr()[:]
        else:
            data[column] = dataset[:]
    return pd.DataFrame(data, columns=columns)


def write_motifs(motifs: Iterable[Motif], path: str | os.PathLike) -> Path:
    """Write motifs (with CWMs, sign, trim and member seqlets) to HDF5, atomically.

    Parameters
    ----------
    motifs : iterable of Motif
        Typically :func:`seqsal.motifs.discover.discover`'s output; ``id`` values must be
        unique.  A motif without a CWM gets zero contribution matrices.
    path : str or os.PathLike
        The ``.h5`` file, written under a temporary name and renamed when complete.

    Returns
    -------
    pathlib.Path
    """
    import h5py

    motifs = list(motifs)
    seen = set()
    for i, motif in enumerate(motifs):
        if not isinstance(motif, Motif):
            raise InputError(
                f"motifs[{i}] is a {type(motif).__name__}; expected seqsal.motifs.Motif"
            )
        if motif.id in seen:
            raise InputError(f"motifs[{i}] repeats the id {motif.id!r}; ids must be unique")
        seen.add(motif.id)
    counters: dict = {}
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["seqsal_order"] = np.array([m.id for m in motifs], dtype=h5py.string_dtype())
        for kind in ("pos_patterns", "neg_patterns"):
            f.create_group(kind)
        for motif in motifs:
            group = f.create_group(_group_name(motif, counters))
            zeros = np.zeros_like(motif.ppm)
            group.create_dataset("sequence", data=motif.ppm.T)
            group.create_dataset(
                "contrib_scores", data=(motif.cwm if motif.cwm is not None else zeros).T
            )
            group.create_dataset(
                "hypothetical_contribs",
                data=(motif.hypothetical_cwm if motif.hypothetical_cwm is not None else zeros).T,
            )
            group.attrs.update(
                {
                    "name": motif.name,
                    "sign": motif.sign,
                    "n_seqlets": motif.n_seqlets,
                    "trim_start": motif.trim[0],
                    "trim_end": motif.trim[1],
                    "source": motif.source,
                    "matrix_id": motif.matrix_id or "",
                    "family": motif.family or "",
                    "tf_class": motif.tf_class or "",
                    "has_cwm": motif.cwm is not None,
                    "has_hypothetical_cwm": motif.hypothetical_cwm is not None,
                }
            )
            seqlets = group.create_group("seqlets")
            members = motif.seqlets
            n = 0 if members is None else len(members)
            seqlets.create_dataset("n_seqlets", data=np.array([n]))
            if members is not None and {"example_idx", "offset", "orientation"} <= set(
                members.columns
            ):
                offset = members["offset"].to_numpy(np.int64)
                seqlets.create_dataset("example_idx", data=members["example_idx"].to_numpy())
                seqlets.create_dataset("start", data=offset)
                seqlets.create_dataset("end", data=offset + motif.width)
                seqlets.create_dataset("is_revcomp", data=members["orientation"].to_numpy() == "-")
            if members is not None:
                _write_table(group.create_group("members"), members)
    log.info("wrote %d motifs to %s", len(motifs), path)
    return Path(path)


def _read_groups(f, path: Path) -> tuple[list[Motif], list[str]]:
    """The motifs of an open motifs file and the order it records (empty when none)."""
    if "pos_patterns" not in f and "neg_patterns" not in f:
        raise InputError("not a motifs file: no pos_patterns or neg_patterns group", path=path)
    motifs = []
    for kind, sign in (("pos_patterns", 1), ("neg_patterns", -1)):
        if kind not in f:
            continue
        names = sorted(f[kind].keys(), key=lambda s: int(s.rsplit("_", 1)[-1]))
        for name in names:
            group = f[kind][name]
            a = dict(group.attrs)
            ppm = group["sequence"][:].T
            if "members" in group:
                members = _read_table(group["members"])
            elif "seqlets" in group and "example_idx" in group["seqlets"]:
                s = group["seqlets"]
                members = pd.DataFrame(
                    {
                        "example_idx": s["example_idx"][:],
                        "offset": s["start"][:],
                        "orientation": np.where(s["is_revcomp"][:], "-", "+"),
                    }
                )
            else:
                members = None
            fallback = f"{kind[:3]}_{name}"
            n_seqlets = int(a.get("n_seqlets", 0 if members is None else len(members)))
            motifs.append(
                Motif(
                    name=str(a.get("name", fallback)),
                    ppm=ppm,
                    cwm=group["contrib_scores"][:].T if a.get("has_cwm", True) else None,
                    hypothetical_cwm=group["hypothetical_contribs"][:].T
                    if a.get("has_hypothetical_cwm", True)
                    else None,
                    sign=int(a.get("sign", sign)),
                    n_seqlets=n_seqlets,
                    trim=(int(a["trim_start"]), int(a["trim_end"])) if "trim_start" in a else None,
                    seqlets=members,
                    source=str(a.get("source", "modisco")),
                    matrix_id=str(a.get("matrix_id", "")) or None,
                    family=str(a.get("family", "")) or None,
                    tf_class=str(a.get("tf_class", "")) or None,
                )
            )
    order = [str(v) for v in f.attrs.get("seqsal_order", [])]
    return motifs, order


def read_motifs(path: str | os.PathLike) -> list[Motif]:
    """Read motifs written by :func:`write_motifs` (or a ``modisco motifs`` HDF5 file).

    A modisco file has no seqsal attributes: motifs are named ``pos_pattern_0`` ... with sign
    from the group, trim the whole width and members from ``seqlets/`` (``example_idx``,
    ``offset`` = ``start``, ``orientation``).

    Returns
    -------
    list of Motif
        In the written order (positive then negative for a modisco file).
    """
    import h5py

    path = Path(path)
    if not path.exists():
        raise InputError("no such motifs file", path=path)
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise InputError(
            f"not an HDF5 file, or a damaged one ({first_line(err)})", path=path
        ) from None
    with f:
        try:
            motifs, order = _read_groups(f, path)
        except InputError:
            raise
        except (OSError, RuntimeError, KeyError, ValueError, TypeError) as err:
            raise InputError(
                "cannot read the motifs: the HDF5 file is damaged, incomplete or not a motifs "
                f"file ({first_line(err)}); write it again",
                path=path,
            ) from None
    if order:
        rank = {name: i for i, name in enumerate(order)}
        motifs.sort(key=lambda m: rank.get(m.id, len(rank)))
    log.info("read %d motifs from %s", len(motifs), path)
    return motifs

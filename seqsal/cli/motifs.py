"""``seqsal motifs``: seqlets -> motifs -> JASPAR annotation -> instances, into one folder."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from seqsal.cli._options import add_progress_option
from seqsal.errors import InputError

log = logging.getLogger(__name__)

HELP = "discover motifs from seqlets, annotate them (TOMTOM vs JASPAR) and scan for instances"
DESCRIPTION = (
    "Cluster the seqlets of --seqlets (the BED written by 'seqsal seqlets' on the same "
    "store) into positive and negative motifs, aligned on both strands; match each motif's "
    "PPM, trimmed by contribution, against a motif database with TOMTOM (Benjamini-Hochberg "
    "q-values over the database); and find every instance of each motif in all regions of "
    "the store. Writes into --out: motifs.meme (MEME v4 PPMs), motifs.h5 (CWMs, hypothetical "
    "CWMs, sign, trim and member seqlets; TF-MoDISco's layout), motifs.tsv (annotation), "
    "hits.bed (instances, genome coordinates) and seqlets.bed (the input seqlets with the "
    "motif each joined)."
)


def add_arguments(parser) -> None:
    parser.add_argument("--store", required=True, metavar="H5", help="attribution store (.h5)")
    parser.add_argument(
        "--seqlets",
        required=True,
        metavar="BED",
        help="seqlets BED from 'seqsal seqlets' on the same store",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--database",
        default="JASPAR2026:CORE:vertebrates",
        metavar="DB",
        help="RELEASE[:COLLECTION[:TAX_GROUP]] from pyjaspar (offline), or a MEME file",
    )
    parser.add_argument("--top", type=int, default=5, help="matches reported per motif")
    parser.add_argument(
        "--min-seqlets", type=int, default=20, help="fewest member seqlets of a motif"
    )
    parser.add_argument(
        "--alpha", type=float, default=0.05, help="q-value below which a match is significant"
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="seed (subsampling of very large seqlet sets)"
    )
    add_progress_option(parser)


def seqlets_to_rows(bed: pd.DataFrame, coords: pd.DataFrame, *, path=None) -> pd.DataFrame:
    """Map a seqlets BED (region name + window offset) to rows and offsets of a store.

    Returns the BED with ``example_idx``, ``core_start`` and ``core_end`` (window offsets of
    the reported span) added.  Raises InputError naming the first region not in the store.
    """
    needed = {"region", "offset", "sign", "start", "end"}
    missing = sorted(needed - set(bed.columns))
    if missing:
        raise InputError(
            f"seqlets BED lacks columns {missing}; expected the BED written by 'seqsal seqlets'",
            path=path,
        )
    names = coords["name"].astype(str).to_numpy()
    if len(set(names)) != len(names):
        raise InputError(
            "the store's window names are not unique, so seqlets cannot be mapped to windows"
        )
    index = pd.Series(np.arange(len(names)), index=names)
    region = bed["region"].astype(str)
    known = region.isin(index.index)
    if not known.all():
        first = region[~known].iloc[0]
        raise InputError(
            f"seqlet region {first!r} is not a window of the store "
            f"({int((~known).sum())} seqlets unmatched); were the seqlets called on this store?",
            path=path,
        )
    out = bed.copy()
    out["example_idx"] = index.loc[region].to_numpy()
    out["core_start"] = out["offset"].astype(np.int64)
    out["core_end"] = out["core_start"] + (out["end"] - out["start"]).astype(np.int64)
    length = int((coords["end"] - coords["start"]).max()) if len(coords) else 0
    if "pad_left" in coords:
        length = int(
            (coords["end"] - coords["start"] + coords["pad_left"] + coords["pad_right"]).max()
        )
    bad = (out["core_start"] < 0) | (out["core_end"] > length)
    if bad.any():
        raise InputError(
            f"seqlet offsets outside the window (length {length}) in {int(bad.sum())} rows",
            path=path,
        )
    return out


def run(args) -> int:
    from seqsal.io.meme import write_meme
    from seqsal.io.store import open_store
    from seqsal.motifs.cwm_io import write_motifs
    from seqsal.motifs.database import load_database
    from seqsal.motifs.discover import discover
    from seqsal.motifs.match import ANNOTATION_COLUMNS, match, write_annotation
    from seqsal.motifs.scan import HIT_COLUMNS, scan, write_hits_bed
    from seqsal.seqlets.call import BED_COLUMNS, read_seqlets_bed

    began = time.perf_counter()
    progress = args.progress
    if args.top < 1:
        raise InputError(f"--top {args.top}; expected a positive integer")
    if args.min_seqlets < 1:
        raise InputError(f"--min-seqlets {args.min_seqlets}; expected a positive integer")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError("--out exists and is not a folder", path=out)
    if not Path(args.seqlets).exists():
        raise InputError("no such seqlets BED", path=args.seqlets)
    database = load_database(args.database)  # a bad database fails before any output
    with open_store(args.store) as store:
        X = np.asarray(store.raw[:], dtype=np.float32)
        hypothetical = np.asarray(store.hypothetical[:], dtype=np.float32)
        projected = np.asarray(store.projected[:], dtype=np.float32)
        coords = store.coords.copy()
    if X.shape[0] == 0:
        raise InputError("the attribution store holds no windows", path=args.store)
    bed = read_seqlets_bed(args.seqlets)
    table = seqlets_to_rows(bed, coords, path=args.seqlets)

    motifs = discover(
        table,
        X,
        hypothetical,
        projected,
        coords=coords,
        min_seqlets=args.min_seqlets,
        seed=args.seed,
        progress=progress,
    )
    out.mkdir(parents=True, exist_ok=True)
    write_meme(motifs, out / "motifs.meme")
    write_motifs(motifs, out / "motifs.h5")
    if motifs:
        annotation = match(motifs, database, top=args.top, alpha=args.alpha)
        hits = scan(motifs, X, projected, coords=coords)
    else:
        log.warning("no motif has %d or more seqlets; the outputs are empty", args.min_seqlets)
        annotation = pd.DataFrame(columns=ANNOTATION_COLUMNS)
        hits = pd.DataFrame(columns=HIT_COLUMNS)
    write_annotation(annotation, out / "motifs.tsv")
    write_hits_bed(hits, out / "hits.bed")

    assignment = np.full(len(table), ".", dtype=object)
    for motif in motifs:
        assignment[motif.seqlets["seqlet"].to_numpy()] = motif.id
    seqlet_bed = bed.copy()
    seqlet_bed["motif"] = assignment
    _write_seqlet_bed(seqlet_bed[[c for c in BED_COLUMNS if c in seqlet_bed]], out / "seqlets.bed")

    n_pos = sum(m.sign > 0 for m in motifs)
    n_neg = len(motifs) - n_pos
    best = annotation[annotation["rank"] <= 1] if len(annotation) else annotation
    n_sig = int(best["significant"].astype(bool).sum()) if len(best) else 0
    print(
        f"seqsal motifs: {len(table)} seqlets -> {len(motifs)} motifs ({n_pos} positive, "
        f"{n_neg} negative), {n_sig} with a significant match (q < {args.alpha:g}), "
        f"{len(hits)} instances in {len(X)} regions in {time.perf_counter() - began:.1f} s "
        f"-> {out}",
        file=sys.stderr,
    )
    return 0


def _write_seqlet_bed(table: pd.DataFrame, path: Path) -> None:
    from seqsal.io.atomic import atomic_open

    with atomic_open(path, "w") as handle:
        handle.write("#" + "\t".join(table.columns) + "\n")
        table.to_csv(handle, sep="\t", header=False, index=False, float_format="%.6g")

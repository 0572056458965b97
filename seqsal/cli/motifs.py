"""``seqsal motifs``: seqlets -> motifs -> JASPAR annotation -> instances, into one folder."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from seqsal.cli._options import (
    add_out_option,
    add_progress_option,
    add_seed_option,
    add_store_option,
    one_line_errors,
    positive_int,
)
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
    one_line_errors(parser)
    add_store_option(parser)
    parser.add_argument(
        "--seqlets",
        required=True,
        metavar="BED",
        help="seqlets BED from 'seqsal seqlets' on the same store",
    )
    add_out_option(parser, metavar="DIR", help="output folder (created; files written into it)")
    parser.add_argument(
        "--database",
        default="JASPAR2026:CORE:vertebrates",
        metavar="DB",
        help="RELEASE[:COLLECTION[:TAX_GROUP]] from pyjaspar (offline), or a MEME file",
    )
    parser.add_argument(
        "--top-matches",
        type=positive_int,
        default=5,
        metavar="N",
        help="database matches reported per motif (the N best)",
    )
    parser.add_argument(
        "--min-seqlets", type=positive_int, default=20, help="fewest member seqlets of a motif"
    )
    parser.add_argument(
        "--alpha", type=float, default=0.05, help="q-value below which a match is significant"
    )
    add_seed_option(parser)
    add_progress_option(parser)


def run(args) -> int:
    from seqsal.io.atomic import check_writable
    from seqsal.io.store import open_store
    from seqsal.motifs.cwm_io import write_motifs
    from seqsal.motifs.database import load_database
    from seqsal.motifs.discover import discover
    from seqsal.motifs.match import ANNOTATION_COLUMNS, match, write_annotation
    from seqsal.motifs.meme import write_meme
    from seqsal.motifs.scan import HIT_COLUMNS, scan, write_hits_bed
    from seqsal.seqlets.bed import read_seqlets_bed, write_seqlets_bed
    from seqsal.sequence.geometry import window_geometry

    began = time.perf_counter()
    progress = args.progress
    out = check_writable(args.out, kind="folder-in-place")
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
    windows = window_geometry(coords, X.shape[2], n=X.shape[0], what=f"{args.store} coords")
    table = read_seqlets_bed(args.seqlets, windows=windows)

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
        annotation = match(motifs, database, top=args.top_matches, alpha=args.alpha)
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
    write_seqlets_bed(table.assign(motif=assignment), out / "seqlets.bed")

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

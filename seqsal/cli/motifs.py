"""``seqsal motifs``: seqlets -> motifs -> JASPAR annotation -> instances, into one folder."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from seqsal.cli._options import (
    add_null_option,
    add_out_option,
    add_progress_option,
    add_seed_option,
    add_seqlet_length_options,
    add_store_option,
    one_line_errors,
    positive_int,
)
from seqsal.errors import InputError

log = logging.getLogger(__name__)

HELP = "discover motifs from seqlets, annotate them (TOMTOM vs JASPAR) and scan for instances"
DESCRIPTION = (
    "Call discovery seqlets from the store at --discovery-fdr (default 0.2, looser than the "
    "0.05 of the reported seqlets, so motifs are built from more instances) against --null, "
    "or take them from --seqlets (a BED written by 'seqsal seqlets' on the same store); "
    "cluster them into positive and negative motifs, aligned on both strands; match each motif's "
    "PPM, trimmed by contribution, against a motif database with TOMTOM (Benjamini-Hochberg "
    "q-values over the database); and find every instance of each motif in all regions of "
    "the store. Writes into --out: motifs.meme (MEME v4 PPMs), motifs.h5 (CWMs, hypothetical "
    "CWMs, sign, trim and member seqlets; TF-MoDISco's layout), motifs.tsv (annotation), "
    "hits.bed (instances, genome coordinates), seqlets.bed (the discovery seqlets with the "
    "motif each joined) and discovery.json (which seqlets motifs were built from)."
)

#: Discovery FDR without --seqlets: modisco-lite's seqlet FDR, looser than the reported
#: seqlets' 0.05, so weakly attributed instances of a motif still join it (docs/motifs.md).
DISCOVERY_FDR = 0.2
#: Options of the discovery call without a default, and so refused with --seqlets.
CALL_OPTIONS = ("discovery_fdr", "null")


def _open_fraction(text: str) -> float:
    """argparse ``type=``: a number strictly between 0 and 1 (a false discovery rate)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}; expected a number between 0 and 1, exclusive")
    return value


def add_arguments(parser) -> None:
    one_line_errors(parser)
    add_store_option(parser)
    parser.add_argument(
        "--seqlets",
        default=None,
        metavar="BED",
        help="discover from this seqlets BED ('seqsal seqlets' on the same store) instead of "
        "calling discovery seqlets (not with --discovery-fdr or --null; --min-length and "
        "--max-length then do not apply)",
    )
    add_null_option(parser)
    parser.add_argument(
        "--discovery-fdr",
        type=_open_fraction,
        default=None,
        metavar="F",
        help=f"target false discovery rate of the discovery seqlets, per sign (default "
        f"{DISCOVERY_FDR:g}; the reported seqlets of 'seqsal seqlets' use 0.05)",
    )
    add_seqlet_length_options(parser)
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


def _check_source(args) -> None:
    """Refuse --seqlets together with an option of the discovery call (ambiguous)."""
    if args.seqlets is None:
        return
    given = [
        f"--{name.replace('_', '-')}" for name in CALL_OPTIONS if getattr(args, name) is not None
    ]
    if given:
        raise InputError(
            f"--seqlets {args.seqlets!r} with {', '.join(given)}: --seqlets gives the discovery "
            "seqlets, --discovery-fdr and --null call them from the store; give one or the "
            "other"
        )
    if not Path(args.seqlets).exists():
        raise InputError("no such seqlets BED", path=args.seqlets)


def _call_discovery_seqlets(args, progress) -> tuple[pd.DataFrame, dict]:
    """Discovery seqlets called from ``--store`` (and ``--null``), placed in their windows.

    Returns the table :func:`seqsal.seqlets.read_seqlets_bed` would give for the BED of the
    same call (BED columns plus ``example_idx``, ``core_start``, ``core_end``; rows in the
    BED's order), and the ``discovery.json`` record.
    """
    from seqsal.io.store import read_position_contributions
    from seqsal.seqlets import call_seqlets, seqlets_to_bed

    fdr = DISCOVERY_FDR if args.discovery_fdr is None else args.discovery_fdr
    min_length, max_length = args.min_length, args.max_length
    projected, coords = read_position_contributions(args.store, progress=progress)
    null = None
    if args.null is not None:
        null, _ = read_position_contributions(args.null, progress=progress)
        if null.shape[0] == 0:
            raise InputError("the null store holds no windows", path=args.null)
    called = call_seqlets(
        projected,
        null=null,
        coords=coords,
        min_length=min_length,
        max_length=max_length,
        fdr=fdr,
        seed=args.seed,
        progress=progress,
    )
    table = seqlets_to_bed(called)
    table["example_idx"] = called.table["example_idx"].to_numpy(np.int64)
    table["core_start"] = called.table["start"].to_numpy(np.int64)
    table["core_end"] = called.table["end"].to_numpy(np.int64)
    table = table.sort_values(["chrom", "start", "end"], kind="stable").reset_index(drop=True)
    record = {
        "source": "called",
        "fdr": fdr,
        "null": "shuffled" if null is not None else "gaussian",
        "n_seqlets": len(table),
        "min_length": min_length,
        "max_length": max_length,
    }
    return table, record


def run(args) -> int:
    from seqsal.io.atomic import atomic_open, check_writable
    from seqsal.io.store import open_store
    from seqsal.motifs.cwm_io import write_motifs
    from seqsal.motifs.database import load_database
    from seqsal.motifs.discover import discover
    from seqsal.motifs.match import ANNOTATION_COLUMNS, match, write_annotation
    from seqsal.motifs.meme import write_meme
    from seqsal.motifs.scan import HIT_COLUMNS, scan, write_hits_bed
    from seqsal.seqlets import check_control_store, read_seqlets_bed, write_seqlets_bed
    from seqsal.sequence.geometry import window_geometry

    began = time.perf_counter()
    progress = args.progress
    _check_source(args)
    out = check_writable(args.out, kind="folder-in-place")
    if args.null is not None:
        with open_store(args.store) as observed, open_store(args.null) as control:
            check_control_store(observed, control)
    database = load_database(args.database)  # a bad database fails before any output
    with open_store(args.store) as store:
        X = np.asarray(store.raw[:], dtype=np.float32)
        hypothetical = np.asarray(store.hypothetical[:], dtype=np.float32)
        projected = np.asarray(store.projected[:], dtype=np.float32)
        coords = store.coords.copy()
    if X.shape[0] == 0:
        raise InputError("the attribution store holds no windows", path=args.store)
    windows = window_geometry(coords, X.shape[2], n=X.shape[0], what=f"{args.store} coords")
    if args.seqlets is None:
        table, record = _call_discovery_seqlets(args, progress)
        source = f"{len(table)} discovery seqlets at FDR {record['fdr']:g} ({record['null']} null)"
    else:
        table = read_seqlets_bed(args.seqlets, windows=windows)
        record = {
            "source": str(args.seqlets),
            "fdr": None,
            "null": None,
            "n_seqlets": len(table),
            "min_length": None,
            "max_length": None,
        }
        source = f"{len(table)} discovery seqlets from {args.seqlets}"

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
    with atomic_open(out / "discovery.json", encoding="utf-8") as handle:
        json.dump(record, handle, indent=2)
        handle.write("\n")

    n_pos = sum(m.sign > 0 for m in motifs)
    n_neg = len(motifs) - n_pos
    best = annotation[annotation["rank"] <= 1] if len(annotation) else annotation
    n_sig = int(best["significant"].astype(bool).sum()) if len(best) else 0
    print(
        f"seqsal motifs: {source} -> {len(motifs)} motifs ({n_pos} positive, "
        f"{n_neg} negative), {n_sig} with a significant match (q < {args.alpha:g}), "
        f"{len(hits)} instances in {len(X)} regions in {time.perf_counter() - began:.1f} s "
        f"-> {out}",
        file=sys.stderr,
    )
    return 0

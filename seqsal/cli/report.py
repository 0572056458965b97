"""``seqsal report``: the self-contained HTML motif report of a run."""

from __future__ import annotations

import argparse
import logging
import sys

from seqsal.cli._options import (
    add_out_option,
    add_store_option,
    non_negative_int,
    one_line_errors,
    positive_int,
)

log = logging.getLogger(__name__)

HELP = "write the self-contained HTML motif report (logos, matches, regions, provenance)"
DESCRIPTION = (
    "Gather a run's outputs into one HTML file that opens from disk with no server and no "
    "network: run summary and provenance (inputs with SHA-256, model and metrics, method and "
    "settings, versions), a sortable table of positive and negative motifs with CWM logos, "
    "their database matches with logos and q-values, seqlet and hit counts, per-motif hit "
    "positions, attribution distributions and example seqlets, a gallery of the most salient "
    "regions with attribution logos and marks, and links to every output file."
)


def _fdr(text: str) -> float:
    """argparse ``type=``: a false discovery rate, in (0, 1]."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r}; expected a number in (0, 1]")
    return value


def add_arguments(parser) -> None:
    one_line_errors(parser)
    add_store_option(parser, required=False)
    parser.add_argument(
        "--motifs",
        default=None,
        metavar="DIR",
        help="output folder of 'seqsal motifs' (motifs.h5/.meme, motifs.tsv, hits.bed, seqlets.bed)",
    )
    parser.add_argument(
        "--seqlets",
        default=None,
        metavar="BED",
        help="seqlets BED (default: DIR/seqlets.bed, which carries the motif assignment)",
    )
    parser.add_argument(
        "--seqlets-fdr",
        type=_fdr,
        default=None,
        metavar="F",
        help="FDR the reported seqlets were called at ('seqsal seqlets --fdr'), said in the "
        "report beside the FDR of the seqlets the motifs were built from",
    )
    parser.add_argument(
        "--model",
        default=None,
        metavar="DIR",
        help="seqsal model folder (model.json, metrics.json)",
    )
    add_out_option(parser, metavar="HTML", help="report file to write")
    parser.add_argument("--title", default="seqsal motif report", help="page title")
    parser.add_argument(
        "--gallery-regions",
        type=non_negative_int,
        default=12,
        metavar="N",
        help="regions shown in the gallery (the N most salient; 0: no gallery)",
    )
    parser.add_argument(
        "--jobs",
        type=positive_int,
        default=2,
        help="processes rendering logos (1: no process pool)",
    )
    parser.add_argument(
        "--no-checksums", action="store_true", help="skip SHA-256 of inputs and outputs"
    )


def _check_inputs(args) -> None:
    """Refuse a missing or unreadable input before anything is written."""
    from pathlib import Path

    from seqsal.errors import InputError
    from seqsal.io.store import open_store

    if args.store is not None:
        open_store(args.store).close()
    for option, path, folder in (
        ("--motifs", args.motifs, True),
        ("--model", args.model, True),
        ("--seqlets", args.seqlets, False),
    ):
        if path is not None and not (Path(path).is_dir() if folder else Path(path).is_file()):
            raise InputError(f"{option} {str(path)!r}: no such {'folder' if folder else 'file'}")


def run(args) -> int:
    from seqsal.io.atomic import check_writable
    from seqsal.plot.report import write_report

    check_writable(args.out)
    _check_inputs(args)
    result = write_report(
        args.out,
        store=args.store,
        motifs_dir=args.motifs,
        seqlets=args.seqlets,
        model_dir=args.model,
        seqlets_fdr=args.seqlets_fdr,
        title=args.title,
        n_regions=args.gallery_regions,
        checksums=not args.no_checksums,
        n_jobs=args.jobs,
    )
    print(
        f"seqsal report: {result.n_motifs} motifs, {result.n_regions} regions, "
        f"{result.n_images} logos, {result.size / 1024:.0f} KiB in {result.seconds:.1f} s "
        f"-> {result.path}",
        file=sys.stderr,
    )
    return 0

"""``seqsal report``: the self-contained HTML motif report of a run."""

from __future__ import annotations

import logging
import sys

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


def add_arguments(parser) -> None:
    parser.add_argument("--store", default=None, metavar="H5", help="attribution store (.h5)")
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
        "--model",
        default=None,
        metavar="DIR",
        help="seqsal model folder (model.json, metrics.json)",
    )
    parser.add_argument("--out", required=True, metavar="HTML", help="report file to write")
    parser.add_argument("--title", default="seqsal motif report", help="page title")
    parser.add_argument(
        "--n-regions", type=int, default=12, help="regions in the gallery (most salient first)"
    )
    parser.add_argument(
        "--jobs", type=int, default=2, help="processes rendering logos (1: no process pool)"
    )
    parser.add_argument(
        "--no-checksums", action="store_true", help="skip SHA-256 of inputs and outputs"
    )


def run(args) -> int:
    from seqsal.plot.report import write_report

    result = write_report(
        args.out,
        store=args.store,
        motifs_dir=args.motifs,
        seqlets=args.seqlets,
        model_dir=args.model,
        title=args.title,
        n_regions=args.n_regions,
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

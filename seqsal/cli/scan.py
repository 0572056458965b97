"""``seqsal scan``: score every window along chromosomes or regions; write a scores table."""

from __future__ import annotations

import logging
import sys
import time

from seqsal.cli._options import (
    add_batch_size_option,
    add_device_option,
    add_fasta_option,
    add_model_options,
    add_out_option,
    add_progress_option,
    add_target_option,
    add_width_option,
    batch_size_or,
    load_model_from_args,
    one_line_errors,
    positive_int,
    target_from_args,
)
from seqsal.errors import InputError

log = logging.getLogger(__name__)

HELP = "scan chromosomes with a model: one score per window (both strands) to a TSV"
DESCRIPTION = (
    "Slide windows of the model's input length (or --width) along whole chromosomes "
    "(--chroms, default all) or BED regions (--regions) with --stride, score each window and its reverse complement, "
    "and write a tab-separated table with a header: chrom, start, end (the window, 0-based "
    "half-open), score (the strands combined by --strand), forward, reverse (NA with "
    "--strand forward). Windows with more than --max-n N are left out. Zoo models reuse one "
    "trunk pass across overlapping windows (docs/scan.md). The table (gzip when the name ends "
    ".gz) appears only when complete. A model file from elsewhere is code: load only models "
    "whose source you trust."
)


def add_arguments(parser) -> None:
    from seqsal.scan.genome import STRANDS

    one_line_errors(parser)
    add_model_options(parser)
    add_fasta_option(parser)
    add_width_option(parser)
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--chroms",
        default=None,
        metavar="C1,C2",
        help="comma-separated chromosomes to scan whole; if not given: all",
    )
    where.add_argument(
        "--regions",
        default=None,
        metavar="R",
        help="BED file of stretches to scan instead (merged, each tiled from its start)",
    )
    parser.add_argument(
        "--region",
        default=None,
        metavar="CHR:START-END",
        help="keep only windows whose start lies in this span (for shards: the union of "
        "shards is the whole scan, nothing counted twice)",
    )
    parser.add_argument(
        "--stride", type=positive_int, default=10, metavar="S", help="bases between window starts"
    )
    parser.add_argument(
        "--strand",
        choices=list(STRANDS),
        default="mean",
        help="window score: mean or max of the two strands, or the forward strand only",
    )
    parser.add_argument(
        "--max-n",
        type=float,
        default=0.5,
        metavar="F",
        help="skip windows with more than this fraction of N bases",
    )
    add_target_option(parser)
    add_batch_size_option(parser)
    add_device_option(parser)
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        metavar="N",
        help="torch CPU threads; if not given: torch's default",
    )
    parser.add_argument(
        "--strategy",
        choices=["auto", "trunk", "windows"],
        default="auto",
        help="how windows are scored: auto: trunk reuse when the model allows it; trunk: "
        "require it (error otherwise); windows: window by window",
    )
    add_out_option(
        parser,
        metavar="TSV",
        help="scores table (tab-separated with a header; gzip when the name ends .gz)",
    )
    add_progress_option(parser)


def set_threads(threads) -> None:
    """``torch.set_num_threads`` for --threads (None leaves torch's default)."""
    if threads is None:
        return
    if threads < 1:
        raise InputError(f"--threads {threads}; must be a positive integer")
    import torch

    torch.set_num_threads(threads)


def run(args) -> int:
    from seqsal.io.atomic import check_writable
    from seqsal.scan.genome import scan, write_scores

    began = time.perf_counter()
    check_writable(args.out)
    set_threads(args.threads)
    model = load_model_from_args(args)
    result = scan(
        model,
        args.fasta,
        chroms=args.chroms,
        regions=args.regions,
        region=args.region,
        stride=args.stride,
        strand=args.strand,
        max_n=args.max_n,
        target=target_from_args(args),
        batch_size=batch_size_or(args, 256),
        device=args.device,
        progress=args.progress,
        method=args.strategy,
        width=args.width,
    )
    rows = write_scores(result, args.out)
    how = "trunk reuse" if result.method == "trunk" else f"window by window: {result.reason}"
    print(
        f"seqsal scan: {rows} windows of {result.window_length} bp scored (stride "
        f"{result.stride}, strand {result.strand}, target {result.target}), "
        f"{result.n_skipped} skipped for N, on {len(result.spans)} stretch(es) in "
        f"{time.perf_counter() - began:.1f} s ({how}); wrote {args.out}",
        file=sys.stderr,
    )
    return 0

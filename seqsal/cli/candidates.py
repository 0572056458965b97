"""``seqsal candidates``: candidate enhancers from scan scores (threshold, merge, rank)."""

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
    add_seed_option,
    add_target_option,
    add_width_option,
    batch_size_or,
    one_line_errors,
    positive_int,
)
from seqsal.errors import InputError

log = logging.getLogger(__name__)

HELP = "call candidate regions from seqsal scan scores: threshold, merge, rank; BED (+ bigWig)"
DESCRIPTION = (
    "Read one or more score tables from seqsal scan (shards of one scan), keep windows by "
    "score quantile (--quantile) or by an empirical FDR against dinucleotide-shuffled windows "
    "scored with the same model (--fdr), merge overlapping passing windows into regions "
    "(region score = best window score), rank them and write candidates.bed: BED6 (name "
    "candidate_<rank>, score scaled 0-1000) + max_score, rank, q_value, n_windows, peak_start, "
    "peak_end, with a header line. --bigwig also writes every window score as a bigWig track. "
    "Outputs appear only when complete (docs/scan.md)."
)


def add_arguments(parser) -> None:
    one_line_errors(parser)
    add_model_options(parser)
    parser.add_argument(
        "--scores",
        required=True,
        nargs="+",
        metavar="TSV",
        help="score tables from seqsal scan (gzip ok); shards must not overlap",
    )
    add_fasta_option(parser)
    add_width_option(parser)
    how = parser.add_mutually_exclusive_group(required=True)
    how.add_argument(
        "--fdr",
        type=float,
        default=None,
        metavar="F",
        help="keep windows with empirical q-value <= F (null: shuffled windows)",
    )
    how.add_argument(
        "--quantile",
        type=float,
        default=None,
        metavar="Q",
        help="keep windows scoring at or above the Q-quantile of all window scores",
    )
    parser.add_argument(
        "--null-windows",
        type=int,
        default=20000,
        metavar="N",
        help="dinucleotide-shuffled windows scored for the null",
    )
    add_seed_option(parser)
    parser.add_argument(
        "--merge-gap",
        type=int,
        default=0,
        metavar="BP",
        help="merge passing windows at most this far apart (0: overlapping or touching)",
    )
    parser.add_argument(
        "--top", type=positive_int, default=None, metavar="N", help="keep the N best regions"
    )
    parser.add_argument(
        "--strand",
        choices=["mean", "max", "forward"],
        default=None,
        help="the scan's strand option, for the null; if not given: read from the scores",
    )
    add_target_option(parser)
    add_batch_size_option(parser)
    add_device_option(parser)
    add_out_option(parser, metavar="BED", help="candidates BED file")
    parser.add_argument(
        "--bigwig", default=None, metavar="BW", help="also write window scores as a bigWig"
    )


def run(args) -> int:
    from seqsal.cli._options import load_model_from_args, target_from_args
    from seqsal.io.atomic import atomic_path, check_writable
    from seqsal.io.bigwig import write_interval_bigwig
    from seqsal.io.fasta import open_genome
    from seqsal.scan.candidates import (
        bigwig_intervals,
        call_candidates,
        read_scores,
        write_candidates,
    )

    began = time.perf_counter()
    if args.bigwig is not None and str(args.bigwig) == str(args.out):
        raise InputError("--bigwig and --out name the same file")
    check_writable(args.out)
    if args.bigwig is not None:
        check_writable(args.bigwig, option="--bigwig")
    with open_genome(args.fasta) as genome:
        model = load_model_from_args(args)
        table = read_scores(args.scores, chrom_sizes=genome.chrom_sizes)
        if table.empty:
            raise InputError(f"the score tables {', '.join(args.scores)} hold no windows")
        result = call_candidates(
            table,
            model=model,
            genome=genome,
            fdr=args.fdr,
            quantile=args.quantile,
            null_windows=args.null_windows,
            seed=args.seed,
            merge_gap=args.merge_gap,
            top=args.top,
            strand=args.strand,
            target=target_from_args(args),
            batch_size=batch_size_or(args, 256),
            device=args.device,
            width=args.width,
        )
        intervals = bigwig_intervals(table) if args.bigwig is not None else None
        # both outputs, or neither: the BED is renamed into place only after the bigWig is
        with atomic_path(args.out) as bed_tmp:
            write_candidates(result.regions, bed_tmp)
            if intervals is not None:
                write_interval_bigwig(intervals, args.bigwig, genome.chrom_sizes)
    how = (
        f"q <= {args.fdr}" if args.fdr is not None else f"score >= quantile {args.quantile}"
    ) + f", null of {result.null.size} shuffled windows"

    print(
        f"seqsal candidates: {len(result.regions)} region(s) from {result.n_passing} of "
        f"{result.n_windows} windows ({how}; strand {result.strand}) in "
        f"{time.perf_counter() - began:.1f} s; wrote {args.out}"
        + (f" and {args.bigwig}" if args.bigwig else ""),
        file=sys.stderr,
    )
    return 0

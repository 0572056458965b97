"""``seqsal candidates``: candidate enhancers from scan scores (threshold, merge, rank)."""

from __future__ import annotations

import logging
import sys
import time

from seqsal.cli._options import add_model_options, add_width_option
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
    add_model_options(parser)
    parser.add_argument(
        "--scores",
        required=True,
        nargs="+",
        metavar="TSV",
        help="score tables from seqsal scan (gzip ok); shards must not overlap",
    )
    parser.add_argument(
        "--fasta", required=True, metavar="G", help="genome FASTA (chromosome sizes, null windows)"
    )
    add_width_option(
        parser,
        help="the window length seqsal scan used (its --width); if not given: the model's "
        "input length",
    )
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
    parser.add_argument("--seed", type=int, default=0, help="seed of the null windows and shuffles")
    parser.add_argument(
        "--merge-gap",
        type=int,
        default=0,
        metavar="BP",
        help="merge passing windows at most this far apart (0: overlapping or touching)",
    )
    parser.add_argument(
        "--top", type=int, default=None, metavar="N", help="keep the N best regions"
    )
    parser.add_argument(
        "--strand",
        choices=["mean", "max", "forward"],
        default=None,
        help="the scan's strand option, for the null; if not given: read from the scores",
    )
    parser.add_argument(
        "--target", default="0", metavar="T", help="model output the scan scored (index or name)"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=256,
        metavar="B",
        help="windows per forward pass for the null (does not change results)",
    )
    parser.add_argument("--device", default=None, help="cpu, cuda or cuda:N; if not given: cpu")
    parser.add_argument("--out", required=True, metavar="BED", help="candidates BED file")
    parser.add_argument(
        "--bigwig", default=None, metavar="BW", help="also write window scores as a bigWig"
    )


def run(args) -> int:
    from seqsal.cli._options import load_model_from_args
    from seqsal.cli.scan import parse_target
    from seqsal.io.atomic import atomic_path
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
            target=parse_target(args.target),
            batch_size=args.batch_size,
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

"""``seqsal extract``: fixed-width windows from a FASTA + BED, as one-hot (.npz) or FASTA."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from seqsal.cli._options import (
    add_chunk_size_option,
    add_fasta_option,
    add_out_option,
    add_regions_option,
    add_window_options,
    one_line_errors,
    positive_int,
)
from seqsal.errors import InputError
from seqsal.io.npz import ONEHOT_DTYPES

log = logging.getLogger(__name__)

HELP = "extract fixed-width windows around BED regions as one-hot (.npz) or FASTA"
DESCRIPTION = (
    "Read regions from a BED file, centre a window of --width bases on each region's middle "
    "(or its summit), and write the windows from the FASTA as a one-hot array (.npz: X of "
    "shape (n, 4, L) float32 or --dtype, rows A,C,G,T, plus chrom/start/end/strand/name/pad_left/pad_right) "
    "or as sequences (.fa/.fasta, named name::chrom:start-end(strand)). A '-' strand region is "
    "the reverse complement. Outputs appear only when complete."
)

ONEHOT_SUFFIXES = (".npz",)
FASTA_SUFFIXES = (".fa", ".fasta", ".fna")


def add_arguments(parser) -> None:
    one_line_errors(parser)
    add_fasta_option(parser)
    add_regions_option(parser)
    parser.add_argument(
        "--width",
        required=True,
        type=positive_int,
        metavar="W",
        help="window length in bases (required: there is no model to take it from)",
    )
    parser.add_argument(
        "--summit-column",
        default=None,
        metavar="N",
        help="centre on start + this column (1-based number, e.g. 10 for narrowPeak, or a header name) "
        "instead of the region middle; -1 in it means no summit (middle used)",
    )
    add_window_options(parser)
    add_chunk_size_option(parser, default=4096)
    parser.add_argument(
        "--dtype",
        choices=list(ONEHOT_DTYPES),
        default="float32",
        help="type of the one-hot array X in a .npz: float32 (default, what models take), "
        "float16, int8 or uint8 (same 0/1 values, a half or a quarter of the bytes); "
        "ignored for FASTA output",
    )
    add_out_option(
        parser,
        metavar="OUT",
        help="output: .npz (one-hot + coordinates) or .fa/.fasta (sequences)",
    )
    parser.add_argument(
        "--windows-bed",
        default=None,
        metavar="B",
        help="also write the windows actually used as BED (with header)",
    )


def run(args) -> int:
    from seqsal.io.atomic import check_writable
    from seqsal.io.bed import read_bed, write_bed
    from seqsal.io.fasta import open_genome, write_windows_fasta
    from seqsal.io.npz import write_windows_npz
    from seqsal.sequence.windows import iter_onehot, iter_sequences, make_windows

    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in ONEHOT_SUFFIXES + FASTA_SUFFIXES:
        raise InputError(
            f"--out {args.out!r} has suffix {out.suffix!r}; expected .npz (one-hot) or {'/'.join(FASTA_SUFFIXES)} (sequences)"
        )
    if args.dtype not in ONEHOT_DTYPES:
        raise InputError(f"--dtype {args.dtype!r}; expected one of {', '.join(ONEHOT_DTYPES)}")
    check_writable(out)
    if args.windows_bed:
        if Path(args.windows_bed).resolve() == out.resolve():
            raise InputError("--windows-bed and --out name the same file")
        check_writable(args.windows_bed, option="--windows-bed")

    with open_genome(args.fasta) as genome:
        regions = read_bed(
            args.regions, chrom_sizes=genome.chrom_sizes, skip_missing=args.skip_missing
        )
        windows = make_windows(
            regions,
            args.width,
            summit_column=args.summit_column,
            chrom_sizes=genome.chrom_sizes,
            out_of_bounds=args.out_of_bounds,
        )
        n = len(windows)
        if suffix in ONEHOT_SUFFIXES:
            write_windows_npz(
                windows,
                iter_onehot(genome, windows, batch_size=args.chunk_size, dtype=args.dtype),
                out,
                width=args.width,
                dtype=args.dtype,
            )
        else:
            write_windows_fasta(
                windows, iter_sequences(genome, windows, batch_size=args.chunk_size), out
            )
    if args.windows_bed:
        write_bed(windows, args.windows_bed, header=True)

    padded = int(((windows["pad_left"] > 0) | (windows["pad_right"] > 0)).sum())
    dropped = len(regions) - n
    print(
        f"seqsal extract: {n} windows of {args.width} bp ({padded} padded, {dropped} dropped) -> {out}",
        file=sys.stderr,
    )
    return 0

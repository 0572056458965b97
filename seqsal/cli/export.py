"""``seqsal export``: an attribution store as modisco-lite npz files or a bigWig track."""

from __future__ import annotations

import logging
import sys

from seqsal.cli._options import (
    add_fasta_option,
    add_out_option,
    add_store_option,
    one_line_errors,
)

log = logging.getLogger(__name__)

HELP = "export an attribution store: modisco (npz for modisco motifs -s/-a) or bigwig"
DESCRIPTION = (
    "modisco: write PREFIX_seq.npz (one-hot) and PREFIX_attr.npz (hypothetical contributions), "
    "each with arr_0 of shape (n, 4, L), as 'modisco motifs -s PREFIX_seq.npz -a "
    "PREFIX_attr.npz' reads them. bigwig: write the per-base sum of projected contributions "
    "in + strand genome coordinates ('-' windows reversed back), the mean where windows "
    "overlap. Outputs appear only when complete."
)


def add_arguments(parser) -> None:
    one_line_errors(parser)
    sub = parser.add_subparsers(
        dest="format", metavar="FORMAT", required=True, help="what to export: modisco or bigwig"
    )
    modisco = sub.add_parser(
        "modisco", help="npz pair for modisco motifs -s/-a", description=DESCRIPTION
    )
    one_line_errors(modisco)
    add_store_option(modisco)
    add_out_option(modisco, metavar="PREFIX", help="writes PREFIX_seq.npz and PREFIX_attr.npz")
    modisco.add_argument(
        "--compress", action="store_true", help="deflate the npz files (smaller, slower)"
    )
    bigwig = sub.add_parser(
        "bigwig", help="per-base projected contributions as bigWig", description=DESCRIPTION
    )
    one_line_errors(bigwig)
    add_store_option(bigwig)
    sizes = bigwig.add_mutually_exclusive_group(required=True)
    add_fasta_option(sizes, required=False)
    sizes.add_argument(
        "--chrom-sizes", metavar="TSV", help="two-column file: chromosome, size (UCSC chrom.sizes)"
    )
    add_out_option(bigwig, metavar="BW", help="bigWig file (.bw)")


def run(args) -> int:
    from seqsal.errors import InputError
    from seqsal.io.atomic import check_writable
    from seqsal.io.store import open_store

    if args.format == "modisco":
        for suffix in ("_seq.npz", "_attr.npz"):
            check_writable(f"{args.out}{suffix}")
    else:
        if not str(args.out).lower().endswith((".bw", ".bigwig")):
            raise InputError(f"--out {args.out!r}; expected a .bw file")
        check_writable(args.out)
    with open_store(args.store) as store:
        if args.format == "modisco":
            from seqsal.io.modisco import export_modisco_npz

            files = export_modisco_npz(store, args.out, compress=args.compress)
            print(
                f"seqsal export: {store.n} windows of {store.length} bp -> {files.sequences}, "
                f"{files.attributions}",
                file=sys.stderr,
            )
            return 0
        from seqsal.io.bigwig import export_bigwig

        if args.fasta:
            from seqsal.io.fasta import open_genome

            with open_genome(args.fasta) as genome:
                sizes = dict(genome.chrom_sizes)
        else:
            from seqsal.io.fasta import read_chrom_sizes

            sizes = read_chrom_sizes(args.chrom_sizes)
        out = export_bigwig(store, args.out, sizes)
        print(f"seqsal export: {store.n} windows -> {out}", file=sys.stderr)
    return 0

"""``seqsal import``: attributions computed elsewhere, with their BED, as an attribution store."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from seqsal.cli._options import (
    add_chunk_size_option,
    add_out_option,
    add_regions_option,
    one_line_errors,
    positive_int,
)
from seqsal.errors import InputError

log = logging.getLogger(__name__)

HELP = (
    "import attributions computed elsewhere (ChromBPNet h5, modisco-lite npz, npy, pt) as a store"
)
DESCRIPTION = (
    "Write an attribution store from contributions another tool computed: a ChromBPNet "
    "contribution h5 (raw/seq, shap/seq, projected_shap/seq), or an array of contributions "
    "(modisco-lite/bpnet-lite npz arr_0, npy, torch pt) with the one-hot sequences (--sequences), "
    "either (n, 4, L) or (n, L, 4). Row i of the arrays is row i of --regions; each region "
    "becomes the window of the arrays' length centred on its middle (or --summit-column), as "
    "tangermeme/bpnet-lite, ChromBPNet and seqsal attribute cut them. seqlets, motifs and "
    "report then run on the store. With --control the arrays are the dinucleotide-shuffled "
    "controls: the store is a --null for seqsal seqlets. The store appears only when complete."
)


def add_arguments(parser) -> None:
    one_line_errors(parser)
    parser.add_argument(
        "--contributions",
        required=True,
        metavar="FILE",
        help="ChromBPNet h5 (.h5: sequences and contributions), or contributions as .npz "
        "(arr_0), .npy or .pt",
    )
    parser.add_argument(
        "--sequences",
        default=None,
        metavar="FILE",
        help="one-hot sequences (.npz arr_0, .npy, .pt; rows A C G T); required unless "
        "--contributions is an h5 file",
    )
    add_regions_option(parser)
    add_out_option(parser, metavar="H5", help="attribution store to write (.h5)")
    parser.add_argument(
        "--kind",
        choices=["hypothetical", "projected"],
        default="hypothetical",
        help="what the contributions array holds; projected ones alone are stored as both "
        "shap/seq and projected_shap/seq (hypothetical ones cannot be recovered)",
    )
    parser.add_argument(
        "--layout",
        choices=["auto", "NCL", "NLC"],
        default="auto",
        help="axis order of the arrays: (n, 4, L), (n, L, 4), or auto (the axis of length 4)",
    )
    parser.add_argument(
        "--key", default=None, help="npz member or pt dict key of the contributions (default arr_0)"
    )
    parser.add_argument(
        "--sequences-key",
        default=None,
        metavar="KEY",
        help="npz member or pt dict key of the sequences (default arr_0, or the only array)",
    )
    parser.add_argument(
        "--width",
        type=positive_int,
        default=None,
        metavar="W",
        help="the window length the arrays must have (a check; default: theirs)",
    )
    parser.add_argument(
        "--summit-column",
        default=None,
        metavar="N",
        help="centre on start + this column (1-based number, e.g. 10 for narrowPeak, or a header name) "
        "instead of the region middle; -1 in it means no summit (middle used)",
    )
    parser.add_argument(
        "--rows",
        default=None,
        metavar="NPY",
        help="the BED rows the arrays hold when some were left out: a boolean mask with one "
        "entry per BED row (bpnet-lite's attributions.idx.npy) or 0-based row numbers",
    )
    parser.add_argument(
        "--stranded",
        action="store_true",
        help="arrays of '-' strand regions are reverse complements (as seqsal attribute "
        "extracts them); default: all read along + (tangermeme, ChromBPNet), strand stored '.'",
    )
    parser.add_argument(
        "--control",
        action="store_true",
        help="the arrays are dinucleotide-shuffled controls: write a null store for "
        "seqsal seqlets --null",
    )
    parser.add_argument(
        "--source-method",
        default="imported",
        help="how the contributions were computed (recorded; a null must state the same)",
    )
    parser.add_argument(
        "--source-target",
        default="none",
        help="which model output they explain (recorded; a null must state the same)",
    )
    parser.add_argument(
        "--source-model",
        default="unknown",
        metavar="SHA256",
        help="checksum of the model they came from (recorded; a null must state the same)",
    )
    add_chunk_size_option(parser, default=1024)


def run(args) -> int:
    from seqsal.io.atomic import check_writable
    from seqsal.io.imports import import_attributions
    from seqsal.io.store import open_store

    if Path(args.out).suffix.lower() not in (".h5", ".hdf5"):
        raise InputError(f"--out {args.out!r}; expected an .h5 file")
    inputs = [args.contributions, args.sequences, args.regions]
    if any(p is not None and Path(p).resolve() == Path(args.out).resolve() for p in inputs):
        raise InputError(f"--out {args.out!r} is one of the inputs")
    check_writable(args.out)
    out = import_attributions(
        args.out,
        args.contributions,
        args.regions,
        sequences=args.sequences,
        kind=args.kind,
        layout=args.layout,
        key=args.key,
        sequences_key=args.sequences_key,
        width=args.width,
        summit_column=args.summit_column,
        rows=args.rows,
        stranded=args.stranded,
        control=args.control,
        method=args.source_method,
        target=args.source_target,
        model_checksum=args.source_model,
        chunk_size=args.chunk_size,
    )
    with open_store(out) as store:
        n, length, fmt = store.n, store.length, store.attrs.get("import_format")
    control = " (shuffled controls)" if args.control else ""
    print(
        f"seqsal import: {n} windows of {length} bp from {fmt}{control} -> {out}",
        file=sys.stderr,
    )
    return 0

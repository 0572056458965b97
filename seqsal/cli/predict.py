"""``seqsal predict``: predict every region of a BED file with a model, to a table."""

from __future__ import annotations

import logging
import time

from seqsal.cli._options import (
    add_model_options,
    add_progress_option,
    add_width_option,
    add_window_options,
    load_model_from_args,
)

log = logging.getLogger(__name__)

HELP = "predict BED regions with a model; write a table of BED columns + one column per target"
DESCRIPTION = (
    "Centre a window of the model's input length (or --width) on each region (a '-' strand "
    "region is read as the reverse complement), predict in batches, and write a "
    "tab-separated table: the "
    "window actually used (chrom, start, end, name, score, strand, pad_left, pad_right), the "
    "BED's extra columns, then one column per target (pred_<name> if the BED has a column of "
    "that name). Classification models give logits. The table appears only when complete. "
    "A model file from elsewhere is code: load only models whose source you trust."
)


def add_arguments(parser) -> None:
    add_model_options(parser)
    parser.add_argument("--fasta", required=True, metavar="G", help="genome FASTA")
    parser.add_argument("--regions", required=True, metavar="R", help="BED file of regions")
    parser.add_argument(
        "--out", required=True, metavar="TSV", help="output table (tab-separated, with header)"
    )
    add_width_option(parser)
    add_window_options(parser)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=256,
        metavar="B",
        help="sequences per forward pass (does not change results)",
    )
    parser.add_argument("--device", default=None, help="cpu, cuda or cuda:N; if not given: cpu")
    add_progress_option(parser)


def run(args) -> int:
    from seqsal.io.atomic import atomic_path
    from seqsal.models.predict import predict_regions

    began = time.perf_counter()
    model = load_model_from_args(args)
    table = predict_regions(
        model,
        args.fasta,
        args.regions,
        width=args.width,
        batch_size=args.batch_size,
        device=args.device,
        progress=args.progress,
        out_of_bounds=args.out_of_bounds,
        skip_missing=args.skip_missing,
    )
    with atomic_path(args.out) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    print(
        f"seqsal predict: {len(table)} regions x {model.n_targets} target(s) "
        f"({', '.join(model.targets)}) in {time.perf_counter() - began:.1f} s; wrote {args.out}"
    )
    return 0

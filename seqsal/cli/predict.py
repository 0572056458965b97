"""``seqsal predict``: predict every region of a BED file with a model, to a table."""

from __future__ import annotations

import logging
import time

log = logging.getLogger(__name__)

HELP = "predict BED regions with a model; write a table of BED columns + one column per target"
DESCRIPTION = (
    "Centre a window of the model's input length on each region (a '-' strand region is read "
    "as the reverse complement), predict in batches, and write a tab-separated table: the "
    "window actually used (chrom, start, end, name, score, strand, pad_left, pad_right), the "
    "BED's extra columns, then one column per target (pred_<name> if the BED has a column of "
    "that name). Classification models give logits. The table appears only when complete. "
    "A model file from elsewhere is code: load only models whose source you trust."
)


def add_arguments(parser) -> None:
    parser.add_argument(
        "--model",
        required=True,
        metavar="M",
        help="seqsal model folder, TorchScript file, or package.module:Class with --state-dict",
    )
    parser.add_argument(
        "--state-dict",
        default=None,
        metavar="PT",
        help="weights for a package.module:Class model (read with weights_only)",
    )
    parser.add_argument(
        "--model-kwargs",
        default=None,
        metavar="JSON",
        help="keyword arguments of a package.module:Class model (JSON object or file)",
    )
    parser.add_argument(
        "--trust-pickle",
        action="store_true",
        help="allow loading a fully pickled model, which runs code from the file; only for files you trust",
    )
    parser.add_argument("--fasta", required=True, metavar="G", help="genome FASTA")
    parser.add_argument("--regions", required=True, metavar="R", help="BED file of regions")
    parser.add_argument(
        "--out", required=True, metavar="TSV", help="output table (tab-separated, with header)"
    )
    parser.add_argument(
        "--width",
        type=int,
        default=None,
        metavar="W",
        help="window length; if not given: the model's input length",
    )
    parser.add_argument(
        "--out-of-bounds",
        choices=["pad", "drop", "error"],
        default="pad",
        help="windows past a chromosome end: pad with N, drop, or stop with an error",
    )
    parser.add_argument(
        "--skip-missing",
        action="store_true",
        help="drop regions on chromosomes not in the FASTA instead of stopping",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=256,
        metavar="B",
        help="sequences per forward pass (does not change results)",
    )
    parser.add_argument("--device", default=None, help="cpu, cuda or cuda:N; if not given: cpu")
    parser.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        default=None,
        help="no progress bar (shown by default only on a terminal)",
    )


def run(args) -> int:
    from seqsal.io.atomic import atomic_path
    from seqsal.models.load import load_model
    from seqsal.models.predict import predict_regions

    began = time.perf_counter()
    model = load_model(
        args.model,
        state_dict=args.state_dict,
        kwargs=args.model_kwargs,
        trust_pickle=args.trust_pickle,
    )
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

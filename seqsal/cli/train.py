"""``seqsal train``: train a zoo model on BED target columns, whole chromosomes held out."""

from __future__ import annotations

import json
import logging

from seqsal.cli._options import (
    add_device_option,
    add_fasta_option,
    add_out_option,
    add_progress_option,
    add_regions_option,
    add_seed_option,
    one_line_errors,
    positive_int,
)
from seqsal.errors import InputError

log = logging.getLogger(__name__)

HELP = "train a CNN on the numeric columns of a BED file (chromosome hold-out, early stopping)"
DESCRIPTION = (
    "Train a zoo model (compact CNN or BPNet-like dilated CNN) to predict numeric BED columns "
    "from the sequence of each region. Validation and test regions come from held-out "
    "chromosomes (default: the one before last and the last chromosome, in FASTA order, that "
    "hold regions). Regression targets are standardized for training and the saved model "
    "predicts in the original units; classification (0/1 targets) models output logits. "
    "Writes OUT/ (model.json, weights.pt, metrics.json, history.tsv) only when training "
    "completes; use OUT as --model for predict, attribute and scan."
)


def add_arguments(parser) -> None:
    one_line_errors(parser)
    add_fasta_option(parser)
    add_regions_option(parser)
    add_out_option(
        parser,
        metavar="DIR",
        help="output model folder (must not exist, or be empty, or hold a seqsal model)",
    )
    parser.add_argument(
        "--targets",
        default=None,
        metavar="A,B",
        help="comma-separated target columns, named in the BED's header line; if not given: "
        "every numeric extra column of the header",
    )
    parser.add_argument(
        "--arch",
        choices=["cnn", "dilated"],
        default="cnn",
        help="architecture: compact CNN or BPNet-like dilated residual CNN",
    )
    parser.add_argument(
        "--arch-kwargs",
        default=None,
        metavar="JSON",
        help="architecture options as a JSON object, e.g. '{\"filters\": 128}'",
    )
    parser.add_argument(
        "--task",
        choices=["auto", "regression", "classification"],
        default="auto",
        help="auto: classification when every target is 0/1, else regression",
    )
    parser.add_argument(
        "--width",
        type=positive_int,
        default=None,
        metavar="W",
        help="window length in bases; if not given: the regions' width (or their median) plus --context "
        "on each side",
    )
    parser.add_argument(
        "--context",
        type=int,
        default=None,
        metavar="C",
        help="flanking bases added to each side of the regions' width when --width is not "
        "given; default half the first convolution's kernel (9 for cnn, 10 for dilated), so "
        "that sites at a region's edge are seen in full",
    )
    parser.add_argument(
        "--val-chroms",
        default=None,
        metavar="C1,C2",
        help="validation chromosomes; if not given: the one before last holding regions",
    )
    parser.add_argument(
        "--test-chroms",
        default=None,
        metavar="C1,C2",
        help="test chromosomes; if not given: the last holding regions",
    )
    parser.add_argument(
        "--epochs", type=int, default=30, help="most epochs (early stopping usually ends sooner)"
    )
    parser.add_argument(
        "--train-batch-size",
        type=positive_int,
        default=64,
        metavar="B",
        help="regions per optimiser step (changes the training, unlike --batch-size elsewhere, "
        "which only splits model calls)",
    )
    parser.add_argument("--lr", type=float, default=3e-3, help="AdamW learning rate")
    parser.add_argument(
        "--weight-decay", type=float, default=0.0, help="AdamW decoupled weight decay"
    )
    parser.add_argument(
        "--patience",
        type=int,
        default=5,
        help="epochs without a better validation loss before stopping",
    )
    parser.add_argument(
        "--no-rc-augment",
        dest="rc_augment",
        action="store_false",
        help="turn off reverse-complement augmentation (on by default)",
    )
    add_seed_option(parser)
    add_device_option(parser)
    add_progress_option(parser)


def _summary(metrics: dict) -> str:
    split = "test" if "test" in metrics else "val"
    scores = metrics.get(split, {})
    names = [k for k in scores if k != "n"][:2]
    parts = []
    for name in names:
        values = ", ".join(
            f"{t} {v:.3f}" if v is not None else f"{t} n/a" for t, v in scores[name].items()
        )
        parts.append(f"{name} {values}")
    return (
        f"{split} ({scores.get('n', 0)} regions on {','.join(metrics['splits'][split]['chroms'])}): "
        + "; ".join(parts)
        + f"; {metrics['epochs_run']} epochs (best {metrics['best_epoch']}), {metrics['seconds']:.0f} s"
    )


def run(args) -> int:
    from seqsal.io.atomic import check_writable
    from seqsal.models.files import check_output_folder
    from seqsal.models.train import train

    check_writable(args.out, kind="folder")
    try:
        check_output_folder(args.out)
    except InputError as err:
        raise InputError(f"--out: {err}") from None
    arch_kwargs = None
    if args.arch_kwargs:
        try:
            arch_kwargs = json.loads(args.arch_kwargs)
        except json.JSONDecodeError as err:
            raise InputError(f"--arch-kwargs is not valid JSON: {err}") from err
        if not isinstance(arch_kwargs, dict):
            raise InputError("--arch-kwargs must be a JSON object, e.g. '{\"filters\": 128}'")
    result = train(
        args.fasta,
        args.regions,
        targets=args.targets,
        arch=args.arch,
        arch_kwargs=arch_kwargs,
        task=None if args.task == "auto" else args.task,
        width=args.width,
        context=args.context,
        val_chroms=args.val_chroms,
        test_chroms=args.test_chroms,
        epochs=args.epochs,
        batch_size=args.train_batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        patience=args.patience,
        rc_augment=args.rc_augment,
        seed=args.seed,
        device=args.device,
        progress=args.progress,
        out_dir=args.out,
    )
    print(f"seqsal train: {_summary(result.metrics)}; wrote {args.out}")
    return 0

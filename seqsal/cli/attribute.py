"""``seqsal attribute``: attributions of BED regions, streamed to an HDF5 attribution store."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from seqsal.cli._options import (
    add_model_options,
    add_progress_option,
    add_window_options,
    load_model_from_args,
)
from seqsal.errors import InputError

log = logging.getLogger(__name__)

HELP = "attribute BED regions with a model; write hypothetical/projected contributions to HDF5"
DESCRIPTION = (
    "Centre a window of the model's input length (or --width) on each region (a '-' strand "
    "region is read as the reverse complement), compute attributions chunk by chunk and "
    "stream them to an HDF5 store with the keys ChromBPNet writes (raw/seq, shap/seq = "
    "hypothetical, projected_shap/seq), coordinates and provenance (docs/formats.md). "
    "modisco-lite reads the store as it is (modisco motifs -i). The store appears only when "
    "complete. A model file from elsewhere is code: load only models whose source you trust."
)


def add_arguments(parser) -> None:
    from seqsal.dna import METHODS

    add_model_options(parser)
    parser.add_argument("--fasta", required=True, metavar="G", help="genome FASTA")
    parser.add_argument("--regions", required=True, metavar="R", help="BED file of regions")
    parser.add_argument("--out", required=True, metavar="H5", help="attribution store (.h5)")
    parser.add_argument(
        "--method",
        choices=list(METHODS),
        default="ig",
        help="ig: Integrated Gradients; saliency / grad_x_input: one gradient; smoothgrad: "
        "gradient averaged over noisy copies; ism: in-silico saturation mutagenesis (3 L passes per region)",
    )
    parser.add_argument(
        "--target",
        default="0",
        metavar="T",
        help="model output to explain: an index or a target name",
    )
    parser.add_argument(
        "--width",
        type=int,
        default=None,
        metavar="W",
        help="window length (default: the model's input length)",
    )
    parser.add_argument("--steps", type=int, default=32, help="IG quadrature points per reference")
    parser.add_argument(
        "--rule",
        default="riemann_middle",
        help="IG quadrature rule: riemann_left/right/middle/trapezoid or gausslegendre",
    )
    parser.add_argument(
        "--baseline",
        default="shuffle:10",
        help="IG references: shuffle:K (K dinucleotide shuffles per region), zeros or uniform",
    )
    parser.add_argument(
        "--no-correction",
        dest="correction",
        action="store_false",
        help="keep the raw gradients (default: subtract the per-position mean over bases, Majdandzic et al. 2023)",
    )
    parser.add_argument(
        "--rc-average",
        action="store_true",
        help="also attribute the reverse complement and average the two (mapped back)",
    )
    parser.add_argument(
        "--n-samples", type=int, default=25, help="smoothgrad: noisy copies per region"
    )
    parser.add_argument(
        "--noise",
        type=float,
        default=0.15,
        help="smoothgrad: noise standard deviation (fraction of 0-1)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        metavar="B",
        help="rows per model call (default: chosen from a 512 MiB budget); does not change results",
    )
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=256,
        metavar="C",
        help="regions attributed and written at a time; bounds memory, does not change results",
    )
    parser.add_argument(
        "--float16", action="store_true", help="store attributions as float16 (half the disk)"
    )
    add_window_options(parser)
    parser.add_argument(
        "--shuffle-control",
        action="store_true",
        help="attribute one dinucleotide-shuffled copy of each window instead (same model, "
        "method and settings): the null store for `seqsal seqlets --null`",
    )
    parser.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cpu)")
    parser.add_argument(
        "--seed", type=int, default=0, help="seeds shuffled references and smoothgrad noise"
    )
    add_progress_option(parser)


def _check(args) -> None:
    for name in ("steps", "chunk_size", "n_samples"):
        value = getattr(args, name)
        if value < 1:
            raise InputError(f"--{name.replace('_', '-')} {value}; must be a positive integer")
    if args.batch_size is not None and args.batch_size < 1:
        raise InputError(f"--batch-size {args.batch_size}; must be a positive integer")
    if args.width is not None and args.width < 1:
        raise InputError(f"--width {args.width}; must be a positive integer")
    if args.seed < 0:
        raise InputError(f"--seed {args.seed}; must be a non-negative integer")
    if Path(args.out).suffix.lower() not in (".h5", ".hdf5"):
        raise InputError(f"--out {args.out!r}; expected an .h5 file")
    from seqsal.attribution import RULES
    from seqsal.dna import parse_baseline

    if args.rule not in RULES:
        raise InputError(f"--rule {args.rule!r}; expected one of {', '.join(RULES)}")
    parse_baseline(args.baseline)


def run(args) -> int:
    from seqsal.dna import attribute_to_store
    from seqsal.io.bed import read_bed
    from seqsal.io.fasta import open_genome
    from seqsal.sequence.windows import make_windows

    _check(args)
    model = load_model_from_args(args)
    width = args.width if args.width is not None else model.input_length
    if width is None:
        raise InputError("the model does not record its input length; give --width")
    if model.input_length is not None and width != model.input_length:
        log.warning(
            "--width %d differs from the model's input length %d", width, model.input_length
        )
    target = model.target_index(
        int(args.target) if args.target.lstrip("-").isdigit() else args.target
    )
    with open_genome(args.fasta) as genome:
        regions = read_bed(
            args.regions, chrom_sizes=genome.chrom_sizes, skip_missing=args.skip_missing
        )
        windows = make_windows(
            regions, width, chrom_sizes=genome.chrom_sizes, out_of_bounds=args.out_of_bounds
        )
        summary = attribute_to_store(
            model,
            genome,
            windows,
            args.out,
            method=args.method,
            target=target,
            chunk_size=args.chunk_size,
            float16=args.float16,
            provenance={
                "fasta": str(args.fasta),
                "regions": str(args.regions),
                "width": int(width),
            },
            progress=args.progress,
            steps=args.steps,
            rule=args.rule,
            baseline=args.baseline,
            correction=args.correction,
            rc_average=args.rc_average,
            n_samples=args.n_samples,
            noise=args.noise,
            batch_size=args.batch_size,
            device=args.device,
            seed=args.seed,
            shuffle_control=args.shuffle_control,
        )
    delta = (
        f", median |completeness delta| {summary.median_abs_delta:.3g}"
        if summary.median_abs_delta is not None
        else ""
    )
    print(
        f"seqsal attribute: {summary.n_regions} regions, method {summary.method}{delta}, "
        f"{summary.seconds:.1f} s -> {summary.path}",
        file=sys.stderr,
    )
    return 0

"""``seqsal attribute``: attributions of BED regions, streamed to an HDF5 attribution store."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from seqsal.cli._options import (
    add_batch_size_option,
    add_chunk_size_option,
    add_device_option,
    add_fasta_option,
    add_gradient_method_options,
    add_model_options,
    add_out_option,
    add_progress_option,
    add_regions_option,
    add_seed_option,
    add_target_option,
    add_width_option,
    add_window_options,
    load_model_from_args,
    one_line_errors,
    target_from_args,
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
    "complete. Several --model values (a fold ensemble) store the mean of the models' "
    "attributions, each computed with the same target, references and seed, and record every "
    "model's checksum. A model file from elsewhere is code: load only models whose source you "
    "trust."
)


def add_arguments(parser) -> None:
    from seqsal.dna import METHODS

    one_line_errors(parser)
    add_model_options(parser)
    add_fasta_option(parser)
    add_regions_option(parser)
    add_out_option(parser, metavar="H5", help="attribution store (.h5)")
    parser.add_argument(
        "--method",
        choices=list(METHODS),
        default="auto",
        help="auto (default): deepshap when every module of the model has a DeepLIFT rule, else "
        "ig (a warning says why; chosen by measurement, docs/attribution.md); "
        "ig: Integrated Gradients; deepshap: DeepLIFT averaged over the --baseline "
        "references (one gradient pass per reference); saliency / grad_x_input: one gradient; "
        "smoothgrad: gradient averaged over noisy copies; ism: in-silico saturation mutagenesis "
        "(3 L passes per region)",
    )
    add_target_option(parser)
    add_width_option(parser)
    add_gradient_method_options(parser)
    parser.add_argument(
        "--rule",
        default="riemann_middle",
        help="IG quadrature rule: riemann_left/right/middle/trapezoid or gausslegendre",
    )
    parser.add_argument(
        "--baseline",
        default=None,
        help="IG and DeepSHAP references: shuffle:K (K dinucleotide shuffles per region), "
        "zeros or uniform (default: shuffle:20 for deepshap, shuffle:10 for ig)",
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
    add_batch_size_option(parser)
    add_chunk_size_option(parser, default=256)
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
    parser.add_argument(
        "--skip-nonfinite",
        action="store_true",
        help="leave out regions whose model output or attributions are NaN or infinite, "
        "listing them beside the store (attr.h5 -> attr.skipped.tsv); default: stop, naming "
        "them, and write nothing",
    )
    add_device_option(parser)
    add_seed_option(parser)
    add_progress_option(parser)


def _check(args) -> None:
    from seqsal.attribution import RULES
    from seqsal.dna import parse_baseline, skipped_regions_path
    from seqsal.io.atomic import check_writable

    if Path(args.out).suffix.lower() not in (".h5", ".hdf5"):
        raise InputError(f"--out {args.out!r}; expected an .h5 file")
    if args.rule not in RULES:
        raise InputError(f"--rule {args.rule!r}; expected one of {', '.join(RULES)}")
    if not args.noise >= 0:
        raise InputError(f"--noise {args.noise}; expected a non-negative fraction, e.g. 0.15")
    if args.baseline is not None:
        parse_baseline(args.baseline)
    check_writable(args.out)
    if skipped_regions_path(args.out).is_dir():
        raise InputError(
            f"--out {args.out!r}: {str(skipped_regions_path(args.out))!r}, where skipped regions "
            "are listed, is a folder"
        )


def run(args) -> int:
    from seqsal.dna import attribute_to_store, skipped_regions_path
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
    target = target_from_args(args, model)
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
            nonfinite="skip" if args.skip_nonfinite else "error",
        )
    delta = (
        f", median |completeness delta| {summary.median_abs_delta:.3g}"
        if summary.median_abs_delta is not None
        else ""
    )
    skipped = (
        f", {summary.n_skipped} left out for NaN/inf (listed in "
        f"{skipped_regions_path(summary.path)})"
        if summary.n_skipped
        else ""
    )
    print(
        f"seqsal attribute: {summary.n_regions} regions{skipped}, method {summary.method}{delta}, "
        f"{summary.seconds:.1f} s -> {summary.path}",
        file=sys.stderr,
    )
    return 0

"""``seqsal predict``: predict every region of a BED file with a model, to a table."""

from __future__ import annotations

import logging
import time

from seqsal.cli._options import (
    add_batch_size_option,
    add_device_option,
    add_fasta_option,
    add_model_options,
    add_out_option,
    add_progress_option,
    add_regions_option,
    add_target_option,
    add_width_option,
    add_window_options,
    batch_size_or,
    load_model_from_args,
    one_line_errors,
    target_from_args,
)

log = logging.getLogger(__name__)

HELP = "predict BED regions with a model; write a table of BED columns + one column per target"
DESCRIPTION = (
    "Centre a window of the model's input length (or --width) on each region (a '-' strand "
    "region is read as the reverse complement), predict in batches, and write a "
    "tab-separated table: the "
    "window actually used (chrom, start, end, name, score, strand, pad_left, pad_right), the "
    "BED's extra columns, then one column per target (pred_<name> if the BED has a column of "
    "that name): a model with several heads gives one per scalar target of every head (a head "
    "with a position axis: the sum over positions per channel; docs/formats.md), --target / "
    "--output / --reduce / --positions give the one column chosen. Several --model values (a "
    "fold ensemble) give the mean's columns, then each model's, named model<i>:<column> (i "
    "from 0). Classification models give logits. The table appears only when complete. "
    "A model file from elsewhere is code: load only models whose source you trust."
)


def add_arguments(parser) -> None:
    one_line_errors(parser)
    add_model_options(parser)
    add_fasta_option(parser)
    add_regions_option(parser)
    add_out_option(parser, metavar="TSV", help="output table (tab-separated, with header)")
    add_target_option(parser)
    add_width_option(parser)
    add_window_options(parser)
    add_batch_size_option(parser)
    add_device_option(parser)
    add_progress_option(parser)


def run(args) -> int:
    from seqsal.io.atomic import check_writable
    from seqsal.models.predict import predict_regions, write_predictions

    began = time.perf_counter()
    check_writable(args.out)
    model = load_model_from_args(args)
    select, columns = None, None
    if any(getattr(args, k) is not None for k in ("target", "output", "reduce", "positions")):
        from seqsal.attribution import resolve_targets

        names = model.targets if model.single_head else None
        targets = resolve_targets(target_from_args(args, model), target_names=names)
        columns = list(targets.labels)

        def select(output):
            return targets.select_all(output).T

    table = predict_regions(
        model,
        args.fasta,
        args.regions,
        width=args.width,
        batch_size=batch_size_or(args, 256),
        device=args.device,
        progress=args.progress,
        out_of_bounds=args.out_of_bounds,
        skip_missing=args.skip_missing,
        select=select,
        columns=columns,
    )
    write_predictions(table, args.out)
    nonfinite = table.attrs.get("nonfinite_regions", [])
    shown = columns if columns is not None else model.columns
    flagged = (
        f", {len(nonfinite)} with non-finite predictions (written as empty)" if nonfinite else ""
    )
    print(
        f"seqsal predict: {len(table)} regions x {len(shown)} target(s) "
        f"({', '.join(shown)}){flagged} in {time.perf_counter() - began:.1f} s; "
        f"wrote {args.out}"
    )
    return 0

"""``seqsal seqlets``: call positive and negative seqlets from an attribution store."""

from __future__ import annotations

import argparse
import logging
import sys
import time

import numpy as np

from seqsal.cli._options import (
    add_null_option,
    add_out_option,
    add_progress_option,
    add_seed_option,
    add_seqlet_length_options,
    add_store_option,
    one_line_errors,
)
from seqsal.errors import InputError

log = logging.getLogger(__name__)

HELP = "call seqlets (salient stretches, both signs) at a target FDR; write BED6+"
DESCRIPTION = (
    "Read projected attributions (projected_shap/seq) and window coordinates from an "
    "attribution store, score every span of --min-length to --max-length positions by its "
    "attribution sum, and call non-overlapping positive and negative seqlets at a target false "
    "discovery rate estimated against --null, the attributions of dinucleotide-shuffled copies "
    "through the same model and method. Without --null a Gaussian null fitted to the central "
    "mass of the span sums is used (weaker). Output: BED6+ in genome coordinates (both "
    "strands) with region, offset, sign, attribution, p_value, q_value and motif columns."
)


def _grow_value(text: str) -> float | None:
    """``--grow`` value: a non-negative number, or ``none``."""
    if text.strip().lower() == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}; expected a non-negative number or 'none'"
        ) from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r}; expected a non-negative number or 'none'")
    return value


def add_arguments(parser) -> None:
    one_line_errors(parser)
    add_store_option(parser)
    add_null_option(parser)
    add_out_option(parser, metavar="BED", help="output seqlets BED6+")
    parser.add_argument(
        "--fdr", type=float, default=0.05, help="target false discovery rate, per sign"
    )
    add_seqlet_length_options(parser)
    parser.add_argument(
        "--flank",
        type=int,
        default=0,
        help="positions added to each side of a reported seqlet (the call is unchanged)",
    )
    parser.add_argument(
        "--grow",
        type=_grow_value,
        default=1.0,
        metavar="SD",
        help="widen each seqlet over neighbours carrying more than SD null standard deviations "
        "per position on balance, absorbing a split neighbour whole (docs/seqlets.md); "
        "'none' keeps the tested span",
    )
    parser.add_argument(
        "--sign",
        choices=["both", "positive", "negative"],
        default="both",
        help="which seqlets to call (a repressor shows up as a negative seqlet)",
    )
    add_seed_option(parser)
    add_progress_option(parser)


def run(args) -> int:
    from seqsal.io.atomic import check_writable
    from seqsal.io.store import open_store, read_position_contributions
    from seqsal.seqlets import call_seqlets, check_control_store, write_seqlets_bed

    began = time.perf_counter()
    progress = args.progress
    check_writable(args.out)
    if args.null is not None:
        with open_store(args.store) as observed, open_store(args.null) as control:
            check_control_store(observed, control)
    projected, coords = read_position_contributions(args.store, progress=progress)
    if projected.shape[0] == 0:
        raise InputError("the attribution store holds no windows", path=args.store)
    null = None
    if args.null is not None:
        null, _ = read_position_contributions(args.null, progress=progress)
        if null.shape[0] == 0:
            raise InputError("the null store holds no windows", path=args.null)
    seqlets = call_seqlets(
        projected,
        null=null,
        coords=coords,
        min_length=args.min_length,
        max_length=args.max_length,
        flank=args.flank,
        fdr=args.fdr,
        sign=args.sign,
        grow=args.grow,
        seed=args.seed,
        progress=progress,
    )
    write_seqlets_bed(seqlets, args.out)
    thresholds = ", ".join(
        f"{'+' if s > 0 else '-'} p<={p:.3g}" if np.isfinite(p) else f"{'+' if s > 0 else '-'} none"
        for s, p in seqlets.p_threshold.items()
    )
    print(
        f"seqsal seqlets: {seqlets.n_regions} regions, {seqlets.n_called.get(1, 0)} positive "
        f"and {seqlets.n_called.get(-1, 0)} negative seqlets at FDR {seqlets.fdr:g} "
        f"({seqlets.null} null; {thresholds}) in {time.perf_counter() - began:.1f} s -> {args.out}",
        file=sys.stderr,
    )
    return 0

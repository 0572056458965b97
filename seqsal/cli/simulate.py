"""``seqsal simulate``: write a planted-motif data set (genome, regions, instances, truth)."""

from __future__ import annotations

import argparse
import sys

from seqsal.cli._options import add_out_option, add_seed_option, one_line_errors, positive_int
from seqsal.errors import InputError

HELP = "simulate a genome with real JASPAR motifs planted under a known grammar"
DESCRIPTION = (
    "Write genome.fa, regions.bed (activity + label), planted.bed (every motif instance) and "
    "truth.tsv (one row per motif) to --out.  Background: a dinucleotide Markov model with "
    "human-like GC and CpG depletion, soft-masked stretches and N runs.  Each region gets "
    "Poisson numbers of instances sampled from the JASPAR matrices on random strands; "
    "activity = sum of motif effects (activators > 0, repressors < 0) + a cooperative bonus + "
    "Gaussian noise; label = activity > threshold.  Same seed, same files."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    one_line_errors(parser)
    add_out_option(parser, metavar="DIR", help="output folder (created; files written into it)")
    parser.add_argument(
        "--n-regions", type=positive_int, default=8000, metavar="N", help="number of regions"
    )
    parser.add_argument(
        "--region-length",
        type=positive_int,
        default=300,
        metavar="L",
        help="length of each region (bp)",
    )
    parser.add_argument(
        "--chromosomes",
        type=positive_int,
        default=5,
        metavar="K",
        help="number of chromosomes chr1..chrK (hold whole ones out for validation and test)",
    )
    parser.add_argument(
        "--activators",
        default=None,
        metavar="ID,ID,...",
        help="JASPAR matrix ids of the activators (e.g. MA0139.2; MA0139 = latest version); "
        "default: CTCF MA0139.2, CEBPB MA0466.4, Spi1 MA0080.7, HNF1B MA0153.2, TP53 MA0106.3",
    )
    parser.add_argument(
        "--repressors",
        default=None,
        metavar="ID,...",
        help="JASPAR matrix ids of the repressors; default (also when --activators is given): "
        "REST MA0138.3; 'none' for none",
    )
    parser.add_argument(
        "--cooperative",
        default="auto",
        metavar="ID,ID,BONUS",
        help="cooperative pair and the bonus added to a region holding both; 'auto' = "
        "CEBPB MA0466.4 + Spi1 MA0080.7, 0.6 when both are planted; 'none' for none",
    )
    parser.add_argument(
        "--rate", type=float, default=0.4, help="mean instances of each motif per non-empty region"
    )
    parser.add_argument(
        "--noise-sd", type=float, default=0.3, help="standard deviation of the activity noise"
    )
    parser.add_argument(
        "--label-threshold",
        type=float,
        default=1.0,
        help="label = 1 where activity is above this",
    )
    parser.add_argument(
        "--clean-background",
        action="store_true",
        help="redraw region background until no window outside the planted instances scores "
        "as a site (min relative score 0.7) for a planted motif, on either strand",
    )
    add_seed_option(parser)
    parser.add_argument(
        "--jaspar-release",
        default="JASPAR2026",
        metavar="R",
        help="JASPAR release shipped by pyjaspar (offline), e.g. JASPAR2024",
    )


def _ids(text: str | None) -> list[str] | None:
    if text is None:
        return None
    if text.strip().lower() == "none":
        return []
    return [part.strip() for part in text.split(",")]


def _cooperative(text: str):
    lowered = text.strip().lower()
    if lowered in {"auto", "none"}:
        return lowered if lowered == "auto" else None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3:
        raise InputError(f"--cooperative {text!r}; expected ID,ID,BONUS, 'auto' or 'none'")
    try:
        bonus = float(parts[2])
    except ValueError as err:
        raise InputError(f"--cooperative {text!r}; the bonus {parts[2]!r} is not a number") from err
    return (parts[0], parts[1], bonus)


def run(args: argparse.Namespace) -> int:
    from seqsal.io.atomic import check_writable
    from seqsal.sequence.synthetic import simulate

    check_writable(args.out, kind="folder-in-place")
    sim = simulate(
        args.out,
        n_regions=args.n_regions,
        region_length=args.region_length,
        n_chromosomes=args.chromosomes,
        motifs=_ids(args.activators),
        repressors=_ids(args.repressors),
        cooperative=_cooperative(args.cooperative),
        rate=args.rate,
        noise_sd=args.noise_sd,
        label_threshold=args.label_threshold,
        clean_background=args.clean_background,
        seed=args.seed,
        jaspar_release=args.jaspar_release,
    )
    motifs = ", ".join(
        f"{m.name} {m.matrix_id} ({m.role[0]}, {sim.n_instances[m.matrix_id]})" for m in sim.motifs
    )
    print(
        f"seqsal simulate: {args.n_regions} regions x {args.region_length} bp on "
        f"{len(sim.chromosomes)} chromosomes, {sum(sim.n_instances.values())} instances of "
        f"{len(sim.motifs)} motifs [{motifs}], seed {sim.seed}, {sim.jaspar_release} -> {sim.out_dir}",
        file=sys.stderr,
    )
    return 0

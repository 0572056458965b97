"""``seqsal evaluate``: faithfulness (deletion/insertion) and sanity of a DNA attribution store."""

from __future__ import annotations

import logging
import sys

from seqsal.cli._options import (
    add_batch_size_option,
    add_chunk_size_option,
    add_device_option,
    add_faithfulness_options,
    add_head_options,
    add_model_options,
    add_out_option,
    add_progress_option,
    add_seed_option,
    add_store_option,
    load_model_from_args,
    model_specs,
    one_line_errors,
    parse_target,
    positive_int,
    target_from_args,
)
from seqsal.errors import InputError

log = logging.getLogger(__name__)

HELP = "score a DNA attribution store: deletion/insertion curves (RISE) and the randomisation test"
DESCRIPTION = (
    "Read the windows and projected contributions of an attribution store (seqsal attribute), "
    "remove (deletion) or insert (insertion) positions in the order of their contribution and "
    "record the model's score after each step, against random orderings (Petsiuk et al. 2018). "
    "Positions become, or start as, one dinucleotide-shuffled copy of each window by default. "
    "With --sanity, also re-run the store's attribution method on models whose layers were "
    "re-initialised from the top down (Adebayo et al. 2018). Writes into --out: curves.tsv, "
    "auc.tsv, summary.json, curves.png, and sanity.tsv, sanity.png; the folder appears only "
    "when complete."
)


def add_arguments(parser) -> None:
    from seqsal.dna import METHODS
    from seqsal.store_evaluation import REDUCTIONS, REFERENCES, SCORES

    one_line_errors(parser)
    add_store_option(parser)
    add_model_options(parser)
    add_out_option(parser, metavar="DIR", help="output folder (replaced as a whole when complete)")
    parser.add_argument(
        "--target",
        default=None,
        metavar="T",
        help="model output scored: an index or a name (default: the store's target); with "
        "--output, a channel of that head",
    )
    add_head_options(parser)
    parser.add_argument(
        "--score",
        choices=list(SCORES),
        default="auto",
        help="score of the target on each curve point; auto: sigmoid for classification "
        "models (independent logits), raw output otherwise",
    )
    parser.add_argument(
        "--reference",
        choices=list(REFERENCES),
        default="shuffle",
        help="what removed positions become and insertion starts from: one dinucleotide "
        "shuffle of the window, or all-N (zeros, outside the model's training data)",
    )
    parser.add_argument(
        "--importance",
        choices=list(REDUCTIONS),
        default="sum",
        help="position importance: signed projected contribution, or its absolute value",
    )
    add_faithfulness_options(parser)
    parser.add_argument(
        "--max-regions",
        type=positive_int,
        default=None,
        metavar="N",
        help="evaluate only the first N regions of the store (default: all)",
    )
    parser.add_argument(
        "--sanity",
        action="store_true",
        help="also run the model parameter randomisation test (cascading and independent)",
    )
    parser.add_argument(
        "--sanity-method",
        choices=list(METHODS),
        default=None,
        help="attribution method of the randomisation test (default: the store's method and "
        "settings)",
    )
    parser.add_argument(
        "--sanity-regions",
        type=positive_int,
        default=32,
        metavar="N",
        help="regions used by the randomisation test (the first N)",
    )
    add_batch_size_option(parser)
    add_chunk_size_option(parser, default=256)
    add_device_option(parser)
    add_seed_option(parser)
    add_progress_option(parser)


def _check(args) -> None:
    from seqsal.io.atomic import check_writable
    from seqsal.store_evaluation import OUTPUTS

    for name in ("eval_steps", "patch"):
        value = getattr(args, name)
        if value < 1:
            raise InputError(f"--{name.replace('_', '-')} {value}; must be a positive integer")
    if args.n_random < 0:
        raise InputError(f"--n-random {args.n_random}; must be 0 or more")
    out = check_writable(args.out, kind="folder")
    if out.exists() and (
        not out.is_dir()
        or any(p.name not in OUTPUTS and not p.name.startswith(".") for p in out.iterdir())
    ):
        raise InputError(
            f"--out {str(out)!r} exists and is not an empty folder or an earlier seqsal "
            "evaluate output; choose another path"
        )


def _target(args, model):
    """The target scored: the store's (None) unless --target or a head option is given."""
    if all(getattr(args, k) is None for k in ("output", "reduce", "positions")):
        return None if args.target is None else parse_target(args.target)
    return target_from_args(args, model)


def run(args) -> int:
    from seqsal.io.atomic import atomic_directory
    from seqsal.plot.evaluate import write_evaluation_figures
    from seqsal.store_evaluation import evaluate_store, write_store_evaluation

    _check(args)
    if args.sanity and len(model_specs(args)) > 1:
        raise InputError(
            f"--sanity with {len(model_specs(args))} --model values; the randomisation test "
            "randomises the layers of one model: run it on each model alone"
        )
    model = load_model_from_args(args)
    result = evaluate_store(
        args.store,
        model,
        target=_target(args, model),
        score=args.score,
        reference=args.reference,
        reduce=args.importance,
        patch=args.patch,
        eval_steps=args.eval_steps,
        n_random=args.n_random,
        max_regions=args.max_regions,
        sanity=args.sanity,
        sanity_method=args.sanity_method,
        sanity_regions=args.sanity_regions,
        chunk_size=args.chunk_size,
        batch_size=args.batch_size,
        device=args.device,
        progress=args.progress,
        seed=args.seed,
        model_name=", ".join(model_specs(args)),
    )
    with atomic_directory(args.out) as tmp:
        write_store_evaluation(result, tmp)
        write_evaluation_figures(tmp, result.faithfulness, result.sanity, title=result.label)
    d, i = result.faithfulness.deletion.summary(), result.faithfulness.insertion.summary()
    top = result.summary.get("sanity_top_layer_spearman_abs")
    sanity_text = (
        f"; randomising the top layer: Spearman |map| {top:.2f}" if top is not None else ""
    )
    print(
        f"seqsal evaluate: {result.summary['n_regions']} regions; deletion AUC {d['auc']:.3g} "
        f"vs random {d['random_auc']:.3g} (better in {100 * d['fraction_better']:.0f}%), "
        f"insertion AUC {i['auc']:.3g} vs random {i['random_auc']:.3g} (better in "
        f"{100 * i['fraction_better']:.0f}%){sanity_text} -> {args.out}",
        file=sys.stderr,
    )
    return 0

"""``seqsal evaluate``: faithfulness (deletion/insertion) and sanity of a DNA attribution store."""

from __future__ import annotations

import json
import logging
import sys

from seqsal.cli._options import (
    add_batch_size_option,
    add_chunk_size_option,
    add_device_option,
    add_faithfulness_options,
    add_model_options,
    add_out_option,
    add_progress_option,
    add_seed_option,
    add_store_option,
    load_model_from_args,
    one_line_errors,
    parse_target,
    positive_int,
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

OUTPUTS = ("curves.tsv", "auc.tsv", "summary.json", "curves.png", "sanity.tsv", "sanity.png")


def add_arguments(parser) -> None:
    from seqsal.dna import METHODS

    one_line_errors(parser)
    add_store_option(parser)
    add_model_options(parser)
    add_out_option(parser, metavar="DIR", help="output folder (replaced as a whole when complete)")
    parser.add_argument(
        "--target",
        default=None,
        metavar="T",
        help="model output scored: an index or a name (default: the store's target)",
    )
    parser.add_argument(
        "--score",
        choices=["auto", "sigmoid", "softmax", "raw"],
        default="auto",
        help="score of the target on each curve point; auto: sigmoid for classification "
        "models (independent logits), raw output otherwise",
    )
    parser.add_argument(
        "--reference",
        choices=["shuffle", "zeros"],
        default="shuffle",
        help="what removed positions become and insertion starts from: one dinucleotide "
        "shuffle of the window, or all-N (zeros, outside the model's training data)",
    )
    parser.add_argument(
        "--reduce",
        choices=["sum", "abs"],
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


def _target(args, model, store) -> int:
    if args.target is not None:
        return model.target_index(parse_target(args.target))
    index = store.attrs.get("target_index", -1)
    if isinstance(index, int) and 0 <= index < model.n_targets:
        return index
    name = store.attrs.get("target")
    if isinstance(name, str) and name in model.targets:
        return model.targets.index(name)
    if model.n_targets == 1:
        return 0
    raise InputError(
        f"the store does not say which output it explains; give --target (one of {model.targets})"
    )


def _sanity_method(args, attrs, target_names):
    """The store's attribution method (or --sanity-method) as f(model, X, target) -> projected."""
    from seqsal.dna import attribute_dna

    method = args.sanity_method or attrs.get("method")
    if method is None or method == "none":
        raise InputError("the store does not record its method; give --sanity-method")
    settings = {"method": method, "seed": args.seed}
    if method == "ig" and not args.sanity_method:
        settings.update(
            steps=int(attrs.get("steps", 32)),
            rule=str(attrs.get("rule", "riemann_middle")),
            baseline=str(attrs.get("baseline", "shuffle:10")),
        )
    if method == "smoothgrad" and not args.sanity_method:
        settings.update(
            n_samples=int(attrs.get("n_samples", 25)), noise=float(attrs.get("noise", 0.15))
        )
    if not args.sanity_method:
        settings.update(
            correction=bool(attrs.get("correction", True)),
            rc_average=bool(attrs.get("rc_average", False)),
        )

    def projected(model, X, target):
        return attribute_dna(
            model,
            X,
            target=target,
            target_names=target_names,
            batch_size=args.batch_size,
            device=args.device,
            progress=False,
            **settings,
        ).projected

    return method, projected


def run(args) -> int:
    import numpy as np

    from seqsal.evaluate import Faithfulness, faithfulness, parameter_randomization
    from seqsal.io.atomic import atomic_directory
    from seqsal.io.store import open_store
    from seqsal.plot.evaluate import curves_figure, sanity_figure, save_figure

    _check(args)
    model = load_model_from_args(args)
    with open_store(args.store) as store:
        n = store.n if args.max_regions is None else min(store.n, args.max_regions)
        if n == 0:
            raise InputError("the store holds no regions", path=args.store)
        if model.input_length is not None and store.length != model.input_length:
            raise InputError(
                f"the store's windows are {store.length} bp but the model takes "
                f"{model.input_length} bp",
                path=args.store,
            )
        target = _target(args, model, store)
        score = args.score
        if score == "auto":
            score = "sigmoid" if model.task == "classification" else "raw"
        coords = store.coords.iloc[:n].reset_index(drop=True)
        eval_steps = min(args.eval_steps, -(-store.length // args.patch))  # one per feature at most
        attrs = dict(store.attrs)
        parts = []
        for start in range(0, n, args.chunk_size):
            stop = min(start + args.chunk_size, n)
            X = np.asarray(store.raw[start:stop], dtype=np.float32)
            projected = np.asarray(store.projected[start:stop], dtype=np.float32)
            parts.append(
                faithfulness(
                    model.module,
                    X,
                    projected,
                    target=target,
                    score=score,
                    baseline=args.reference,
                    start=args.reference,
                    patch=args.patch,
                    reduce=args.reduce,
                    steps=eval_steps,
                    n_random=args.n_random,
                    batch_size=args.batch_size,
                    device=args.device,
                    progress=args.progress,
                    seed=args.seed,
                )
            )
        result = Faithfulness.concat(parts)
        sanity = None
        if args.sanity:
            m = min(n, args.sanity_regions)
            method, function = _sanity_method(args, attrs, model.targets)
            sanity = parameter_randomization(
                model.module,
                np.asarray(store.raw[:m], dtype=np.float32),
                function,
                target=target,
                batch_size=args.batch_size,
                device=args.device,
                progress=args.progress,
                seed=args.seed,
            )
            sanity.insert(0, "method", method)

    import pandas as pd

    names = coords["name"].astype(str).tolist()
    table = result.table(names)  # one block of n rows per kind, in region order
    location = pd.concat(
        [coords[["chrom", "start", "end", "strand"]]] * len(result.results), ignore_index=True
    )
    table = pd.concat([table[["name"]], location, table.drop(columns="name")], axis=1)
    summary = {
        "store": str(args.store),
        "model": str(args.model),
        "n_regions": int(n),
        "target": model.targets[target],
        "target_index": int(target),
        "score": score,
        "reference": args.reference,
        "reduce": args.reduce,
        "patch": args.patch,
        "eval_steps": eval_steps,
        "n_random": args.n_random,
        "seed": args.seed,
        "store_method": attrs.get("method"),
        **{r.kind: r.summary() for r in result.results},
    }
    label = f"{attrs.get('method', 'attribution')} on {model.targets[target]}"
    with atomic_directory(args.out) as tmp:
        result.curves_table(names).to_csv(tmp / "curves.tsv", sep="\t", index=False)
        table.to_csv(tmp / "auc.tsv", sep="\t", index=False)
        save_figure(curves_figure(result, title=label), tmp / "curves.png")
        if sanity is not None:
            sanity.to_csv(tmp / "sanity.tsv", sep="\t", index=False)
            save_figure(
                sanity_figure(sanity, title=f"randomisation test: {label}"), tmp / "sanity.png"
            )
            top = sanity[(sanity["mode"] == "cascading")].sort_values("step")
            summary["sanity_top_layer_spearman_abs"] = (
                float(top["spearman_abs"].iloc[0]) if len(top) else None
            )
        with open(tmp / "summary.json", "w") as handle:
            json.dump(summary, handle, indent=2, default=str)
            handle.write("\n")
    d, i = result.deletion.summary(), result.insertion.summary()
    sanity_text = (
        f"; randomising the top layer: Spearman |map| {summary['sanity_top_layer_spearman_abs']:.2f}"
        if summary.get("sanity_top_layer_spearman_abs") is not None
        else ""
    )
    print(
        f"seqsal evaluate: {n} regions; deletion AUC {d['auc']:.3g} vs random "
        f"{d['random_auc']:.3g} (better in {100 * d['fraction_better']:.0f}%), insertion AUC "
        f"{i['auc']:.3g} vs random {i['random_auc']:.3g} (better in "
        f"{100 * i['fraction_better']:.0f}%){sanity_text} -> {args.out}",
        file=sys.stderr,
    )
    return 0

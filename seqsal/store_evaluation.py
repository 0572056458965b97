"""Faithfulness and sanity of a DNA attribution store, as ``seqsal evaluate`` reports them.

:mod:`seqsal.evaluate` scores arrays of maps; this module scores a store written by
:func:`seqsal.dna.attribute_to_store` with what the store records about itself:

* the output explained: the store's ``target_index`` / ``target`` attributes (and for a
  model with several heads or a position axis its ``output`` / ``reduce`` / ``positions``:
  a :class:`seqsal.attribution.Target`), unless one is given (:func:`store_target`);
* deletion and insertion curves of the projected contributions (``projected_shap/seq``) over
  the one-hot windows (``raw/seq``), read a chunk of regions at a time so that memory holds
  one chunk (:func:`evaluate_store`);
* the model parameter randomisation test with the store's own attribution method and settings
  (IG steps, rule and references, SmoothGrad noise, gradient correction, reverse-complement
  averaging), rebuilt from its attributes (:func:`store_attribution`) and run through
  :func:`seqsal.dna.attribute_dna`.

It sits above both :mod:`seqsal.evaluate` and :mod:`seqsal.dna` (which do not import each
other), as :mod:`seqsal.image` does for image batches.  The tables and ``summary.json`` of an
evaluation folder are written here (:func:`write_store_evaluation`); its figures by
:func:`seqsal.plot.evaluate.write_evaluation_figures`.  docs/evaluate.md describes the outputs.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from seqsal._runtime import check_non_negative_int, check_positive_int
from seqsal.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from seqsal.evaluate.faithfulness import Faithfulness
    from seqsal.models.load import LoadedModel

log = logging.getLogger(__name__)

#: The files of an evaluation folder (``sanity.*`` only with the randomisation test).
OUTPUTS = ("curves.tsv", "auc.tsv", "summary.json", "curves.png", "sanity.tsv", "sanity.png")
#: The score of the target on each curve point (``auto``: sigmoid for classification models).
SCORES = ("auto", "sigmoid", "softmax", "raw")
#: What removed positions become, and insertion starts from.
REFERENCES = ("shuffle", "zeros")
#: Position importance: the signed projected contribution, or its absolute value.
REDUCTIONS = ("sum", "abs")


@dataclass(frozen=True)
class StoreEvaluation:
    """What :func:`evaluate_store` measured on a store.

    Attributes
    ----------
    faithfulness : seqsal.evaluate.Faithfulness
        Deletion and insertion curves of every region evaluated, in store order.
    sanity : pandas.DataFrame or None
        The randomisation table of :func:`seqsal.evaluate.parameter_randomization` with a
        leading ``method`` column; None without the test.
    coords : pandas.DataFrame
        ``chrom, start, end, strand, name`` (and the store's other coordinate columns) of
        the regions evaluated.
    target : int
        Index of the output scored (0 for a :class:`seqsal.attribution.Target`, whose model is
        narrowed to that one output).
    target_name : str
        Its name (a Target: its label, e.g. ``1`` or ``0.profile``).
    method : str or None
        The store's attribution method (its ``method`` attribute).
    summary : dict
        Settings and per-kind means, as ``summary.json`` holds them.
    """

    faithfulness: Faithfulness
    sanity: pd.DataFrame | None
    coords: pd.DataFrame
    target: int
    target_name: str
    method: str | None
    summary: dict[str, Any]

    @property
    def names(self) -> list[str]:
        """Region names, in store order."""
        names: list[str] = self.coords["name"].astype(str).tolist()
        return names

    @property
    def label(self) -> str:
        """``"<method> on <target>"``: what the figures are titled with."""
        return f"{self.method or 'attribution'} on {self.target_name}"

    def auc_table(self) -> pd.DataFrame:
        """One row per (region, kind): name, chrom, start, end, strand, kind, target, auc,
        random_auc, random_auc_sd, better (``auc.tsv``); deletion rows first."""
        import pandas as pd

        table = self.faithfulness.table(self.names)
        location = pd.concat(
            [self.coords[["chrom", "start", "end", "strand"]]] * len(self.faithfulness.results),
            ignore_index=True,
        )
        return pd.concat([table[["name"]], location, table.drop(columns="name")], axis=1)

    def curves_table(self) -> pd.DataFrame:
        """Every curve point: name, kind, ordering, step, fraction, score (``curves.tsv``)."""
        return self.faithfulness.curves_table(self.names)


def store_target(model: LoadedModel, attrs: Mapping[str, Any], target: Any = None) -> Any:
    """The model output a store's maps explain, as an index of the model's outputs.

    Parameters
    ----------
    model : LoadedModel
    attrs : mapping
        The store's attributes (``target_index`` and ``target`` as
        :func:`seqsal.dna.attribute_to_store` records them).
    target : int, str or Target, optional
        An index, a name or a :class:`seqsal.attribution.Target` that overrides the store's.

    Returns
    -------
    int or Target
        The index of the output; a Target when one is given or the store records one
        (:func:`seqsal.dna.stored_target`).

    Raises
    ------
    seqsal.errors.InputError
        The store names no output of this model and the model has several.
    """
    from seqsal.attribution import Target
    from seqsal.dna import stored_target

    if isinstance(target, Target):
        return target
    if target is not None:
        return model.target_index(target)
    recorded = stored_target(attrs)
    if recorded is not None:
        return recorded
    index = attrs.get("target_index", -1)
    if isinstance(index, int) and 0 <= index < model.n_targets:
        return index
    name = attrs.get("target")
    if isinstance(name, str) and name in model.targets:
        return model.targets.index(name)
    if model.n_targets == 1:
        return 0
    raise InputError(
        f"the store does not say which output it explains; give --target (one of {model.targets})"
    )


def store_attribution(
    attrs: Mapping[str, Any],
    *,
    method: str | None = None,
    target_names: list[str] | None = None,
    batch_size: int | None = None,
    device: Any = None,
    seed: int | None = 0,
) -> tuple[str, Callable[..., Any]]:
    """The attribution method a store was written with, as ``f(model, X, target) -> projected``.

    The randomisation test re-runs the store's method on randomised models; for the maps to be
    comparable it runs with the store's settings: IG's ``steps``, ``rule`` and ``baseline``,
    SmoothGrad's ``n_samples`` and ``noise``, and ``correction`` and ``rc_average``.

    Parameters
    ----------
    attrs : mapping
        The store's attributes.
    method : str, optional
        A method of :data:`seqsal.dna.METHODS` to run instead, with its default settings.
    target_names : list of str, optional
        The model's output names.
    batch_size, device
        As in :func:`seqsal.dna.attribute_dna`.
    seed : int, default 0
        Seeds the method's random steps (shuffled references, SmoothGrad's noise).

    Returns
    -------
    (str, callable)
        The method's name and the function, which returns projected contributions
        ``(n, 4, L)``.

    Raises
    ------
    seqsal.errors.InputError
        No ``method`` and the store records none.
    """
    from seqsal.dna import REFERENCE_METHODS, attribute_dna

    name = method or attrs.get("method")
    if name is None or name == "none":
        raise InputError("the store does not record its method; give --sanity-method")
    settings: dict[str, Any] = {"method": name, "seed": seed}
    if name == "ig" and not method:
        settings.update(
            steps=int(attrs.get("steps", 32)), rule=str(attrs.get("rule", "riemann_middle"))
        )
    if name in REFERENCE_METHODS and not method:
        settings["baseline"] = str(attrs.get("baseline", "shuffle:10"))
    if name == "smoothgrad" and not method:
        settings.update(
            n_samples=int(attrs.get("n_samples", 25)), noise=float(attrs.get("noise", 0.15))
        )
    if not method:
        settings.update(
            correction=bool(attrs.get("correction", True)),
            rc_average=bool(attrs.get("rc_average", False)),
        )

    def projected(model: Any, X: Any, target: Any) -> Any:
        return attribute_dna(
            model,
            X,
            target=target,
            target_names=target_names,
            batch_size=batch_size,
            device=device,
            progress=False,
            **settings,
        ).projected

    return str(name), projected


def _choice(value: str, choices: tuple[str, ...], name: str) -> str:
    if value not in choices:
        raise InputError(f"{name}={value!r}; expected one of {', '.join(choices)}")
    return value


def evaluate_store(
    store: str | os.PathLike[str],
    model: LoadedModel | str | os.PathLike[str],
    *,
    target: Any = None,
    score: str = "auto",
    reference: str = "shuffle",
    reduce: str = "sum",
    patch: int = 1,
    eval_steps: int = 50,
    n_random: int = 3,
    max_regions: int | None = None,
    sanity: bool = False,
    sanity_method: str | None = None,
    sanity_regions: int = 32,
    chunk_size: int = 256,
    batch_size: int | None = None,
    device: Any = None,
    progress: bool | None = None,
    seed: int = 0,
    model_name: str | None = None,
) -> StoreEvaluation:
    """Deletion/insertion curves of a store's maps, and optionally the randomisation test.

    Positions are removed (deletion) or inserted (insertion) in the order of their projected
    contribution, a chunk of regions at a time, against ``n_random`` random orderings
    (:func:`seqsal.evaluate.faithfulness`); results do not depend on ``chunk_size``.

    Parameters
    ----------
    store : path
        An attribution store (:func:`seqsal.dna.attribute_to_store`).
    model : LoadedModel or path
        The model the store explains (a path is loaded with
        :func:`seqsal.models.load.load_model`); its input length must be the store's.
    target : int, str or Target, optional
        The output scored; default: the store's (:func:`store_target`).  With a
        :class:`seqsal.attribution.Target` the model is narrowed to it
        (:func:`seqsal.attribution.target_module`) for the curves and the randomisation test.
    score : {"auto", "sigmoid", "softmax", "raw"}, default "auto"
        The target's score on each curve point; ``auto``: sigmoid for classification models
        (independent logits), the raw output otherwise.
    reference : {"shuffle", "zeros"}, default "shuffle"
        What removed positions become and insertion starts from: one dinucleotide shuffle of
        each window, or all-N (an input outside the model's training data).
    reduce : {"sum", "abs"}, default "sum"
        Position importance: the signed projected contribution or its absolute value.
    patch : int, default 1
        Positions removed together.
    eval_steps : int, default 50
        Segments of each curve; at most one per feature (``ceil(L / patch)``).
    n_random : int, default 3
        Random orderings each map is compared with.
    max_regions : int, optional
        Evaluate only the first regions of the store (default: all).
    sanity : bool, default False
        Also run the model parameter randomisation test (cascading and independent).
    sanity_method : str, optional
        Its attribution method (default: the store's, with the store's settings;
        :func:`store_attribution`).
    sanity_regions : int, default 32
        Regions (the first ones) the randomisation test runs on.
    chunk_size : int, default 256
        Regions read and scored at a time (bounds memory).
    batch_size, device, progress
        As in :func:`seqsal.evaluate.faithfulness`.
    seed : int, default 0
        Seeds the shuffled references, the random orderings and the randomised layers.
    model_name : str, optional
        How ``summary["model"]`` names the model (default: where it was loaded from).

    Returns
    -------
    StoreEvaluation

    Raises
    ------
    seqsal.errors.InputError
        A setting out of range, an empty store, windows of another length than the model's,
        or a store that does not say which output it explains (and no ``target``).
    """
    from seqsal.evaluate import Faithfulness, faithfulness, parameter_randomization
    from seqsal.io.store import open_store
    from seqsal.models.load import LoadedModel, load_model

    _choice(score, SCORES, "score")
    _choice(reference, REFERENCES, "reference")
    _choice(reduce, REDUCTIONS, "reduce")
    patch = check_positive_int(patch, "patch")
    eval_steps = check_positive_int(eval_steps, "eval_steps")
    n_random = check_non_negative_int(n_random, "n_random")
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    sanity_regions = check_positive_int(sanity_regions, "sanity_regions")
    if max_regions is not None:
        max_regions = check_positive_int(max_regions, "max_regions")
    if not isinstance(model, LoadedModel):
        model_name = str(model) if model_name is None else model_name
        model = load_model(model)
    with open_store(store) as stored:
        n = stored.n if max_regions is None else min(stored.n, max_regions)
        if n == 0:
            raise InputError("the store holds no regions", path=store)
        if model.input_length is not None and stored.length != model.input_length:
            raise InputError(
                f"the store's windows are {stored.length} bp but the model takes "
                f"{model.input_length} bp",
                path=store,
            )
        index = store_target(model, stored.attrs, target)
        module, target_name = model.module, None
        target_names: list[str] | None = model.targets
        if not isinstance(index, int):
            from seqsal.attribution import resolve_targets, target_module

            names = model.targets if model.single_head else None
            target_name = resolve_targets(index, target_names=names).labels[0]
            module = target_module(model.module, index, target_names=names)
            index, target_names = 0, None
        if target_name is None:
            target_name = model.targets[index]
        if score == "auto":
            score = "sigmoid" if model.task == "classification" else "raw"
        coords = stored.coords.iloc[:n].reset_index(drop=True)
        steps = min(eval_steps, -(-stored.length // patch))  # one per feature at most
        attrs = dict(stored.attrs)
        parts = []
        for start in range(0, n, chunk_size):
            stop = min(start + chunk_size, n)
            X = np.asarray(stored.raw[start:stop], dtype=np.float32)
            projected = np.asarray(stored.projected[start:stop], dtype=np.float32)
            parts.append(
                faithfulness(
                    module,
                    X,
                    projected,
                    target=index,
                    score=score,
                    baseline=reference,
                    start=reference,
                    patch=patch,
                    reduce=reduce,
                    steps=steps,
                    n_random=n_random,
                    batch_size=batch_size,
                    device=device,
                    progress=progress,
                    seed=seed,
                )
            )
        result = Faithfulness.concat(parts)
        table = None
        if sanity:
            m = min(n, sanity_regions)
            method, function = store_attribution(
                attrs,
                method=sanity_method,
                target_names=target_names,
                batch_size=batch_size,
                device=device,
                seed=seed,
            )
            table = parameter_randomization(
                module,
                np.asarray(stored.raw[:m], dtype=np.float32),
                function,
                target=index,
                batch_size=batch_size,
                device=device,
                progress=progress,
                seed=seed,
            )
            table.insert(0, "method", method)

    summary: dict[str, Any] = {
        "store": str(store),
        "model": model.source if model_name is None else model_name,
        "n_regions": int(n),
        "target": target_name,
        "target_index": int(index),
        "score": score,
        "reference": reference,
        "reduce": reduce,
        "patch": patch,
        "eval_steps": steps,
        "n_random": n_random,
        "seed": seed,
        "store_method": attrs.get("method"),
        **{r.kind: r.summary() for r in result.results},
    }
    if table is not None:
        top = table[(table["mode"] == "cascading")].sort_values("step")
        summary["sanity_top_layer_spearman_abs"] = (
            float(top["spearman_abs"].iloc[0]) if len(top) else None
        )
    return StoreEvaluation(
        faithfulness=result,
        sanity=table,
        coords=coords,
        target=int(index),
        target_name=target_name,
        method=attrs.get("method"),
        summary=summary,
    )


def write_store_evaluation(result: StoreEvaluation, folder: str | os.PathLike[str]) -> list[Path]:
    """Write the tables and summary of an evaluation into an existing folder.

    ``curves.tsv`` (:meth:`StoreEvaluation.curves_table`), ``auc.tsv``
    (:meth:`StoreEvaluation.auc_table`), ``summary.json`` and, with the randomisation test,
    ``sanity.tsv``.  The caller makes the folder appear whole
    (:func:`seqsal.io.atomic.atomic_directory`); the figures are
    :func:`seqsal.plot.evaluate.write_evaluation_figures`'.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    folder = Path(folder)
    written = [folder / "curves.tsv", folder / "auc.tsv"]
    result.curves_table().to_csv(written[0], sep="\t", index=False)
    result.auc_table().to_csv(written[1], sep="\t", index=False)
    if result.sanity is not None:
        written.append(folder / "sanity.tsv")
        result.sanity.to_csv(written[-1], sep="\t", index=False)
    written.append(folder / "summary.json")
    with open(written[-1], "w") as handle:
        json.dump(result.summary, handle, indent=2, default=str)
        handle.write("\n")
    return written

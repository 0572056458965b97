"""Faithfulness of an attribution map: deletion and insertion curves (RISE).

Petsiuk, Das & Saenko (2018), "RISE: Randomized Input Sampling for Explanation of Black-box
Models" (BMVC), score a map by how fast the model's score falls when the features it ranks
highest are removed first (**deletion**: a faithful map gives a steep drop, a low area under
the curve) and how fast the score rises when they are put back first into an uninformative
start input (**insertion**: a steep rise, a high area).  The same curves for a random ordering
of the features are the comparison: a map is only informative where it beats chance.

A *feature* is one position of the trailing (spatial) axes with all its channels: a base
position of DNA ``(n, 4, L)`` (its 4 one-hot rows together), a pixel of an image
``(n, C, H, W)`` (all colour channels together), or with ``patch=k`` a block of ``k``
positions / ``k x k`` pixels (superpixels).  A feature's importance is the sum of the map over
its channels and positions (``reduce="sum"``, signed: for projected DNA contributions it is the
contribution of the bases present) or the sum of absolute values (``reduce="abs"``).

References (what a removed feature becomes, where insertion starts):

* images (``(n, C, H, W)``): deletion towards black (``"zeros"``), insertion from a Gaussian
  blurred copy (``"blur"``, sigma 5 pixels), as in RISE;
* DNA (``(n, 4, L)`` one-hot): deletion towards, and insertion from, one dinucleotide-shuffled
  copy of each sequence (``"shuffle"``).  The shuffle keeps the sequence's composition and
  CpG content and destroys motifs, which makes it the DNA analogue of the blurred image and
  the reference ChromBPNet and DeepLIFT use.  All-N (``"zeros"``) is available, but an
  all-zero column is an input a one-hot model never saw in training, so the curve then
  measures the model's behaviour off its data as much as the map.  Using the same shuffle for
  both makes insertion the exact reverse path of deletion.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from seqsal._runtime import check_non_negative_int, check_positive_int, check_seed, model_on, rng
from seqsal.errors import InputError, ModelError

log = logging.getLogger(__name__)

KINDS = ("deletion", "insertion")
SCORES = ("auto", "softmax", "sigmoid", "raw")
REDUCTIONS = ("sum", "abs")
REFERENCES = ("auto", "zeros", "blur", "shuffle")

#: Curve points when ``steps`` is None (capped at the number of features).
DEFAULT_STEPS = 50


@dataclass(frozen=True)
class CurveResult:
    """Deletion or insertion curves of ``n`` examples.

    Attributes
    ----------
    kind : str
        ``"deletion"`` or ``"insertion"``.
    x : np.ndarray, shape (steps + 1,)
        Fraction of features removed (deletion) or inserted (insertion), from 0 to 1.
    curves : np.ndarray, shape (n, steps + 1)
        Score after ``x[s]`` of the features were changed in the map's order.
    auc : np.ndarray, shape (n,)
        Trapezoid area under each curve (x in [0, 1]).
    random_curves : np.ndarray, shape (n, n_random, steps + 1)
        The same for ``n_random`` random orderings (seeded).
    random_auc : np.ndarray, shape (n, n_random)
    target : np.ndarray of int, shape (n,)
        Output scored for each example.
    """

    kind: str
    x: np.ndarray
    curves: np.ndarray
    auc: np.ndarray
    random_curves: np.ndarray
    random_auc: np.ndarray
    target: np.ndarray

    @property
    def n(self) -> int:
        return int(self.curves.shape[0])

    @property
    def better(self) -> np.ndarray:
        """Per example, whether the map beats the mean random ordering (bool, shape (n,)).

        Lower area is better for deletion, higher for insertion.
        """
        mean = self.random_auc.mean(axis=1)
        return self.auc < mean if self.kind == "deletion" else self.auc > mean

    def summary(self) -> dict:
        """Means over examples: ``auc``, ``random_auc``, ``random_auc_sd`` (over examples and
        orderings), ``fraction_better`` and ``n``."""
        return {
            "kind": self.kind,
            "n": self.n,
            "auc": float(self.auc.mean()),
            "random_auc": float(self.random_auc.mean()),
            "random_auc_sd": float(self.random_auc.std()),
            "fraction_better": float(self.better.mean()),
        }


@dataclass(frozen=True)
class Faithfulness:
    """Deletion and insertion curves of the same maps (:func:`faithfulness`)."""

    deletion: CurveResult | None
    insertion: CurveResult | None

    @classmethod
    def concat(cls, parts) -> Faithfulness:
        """Join the results of several chunks of examples, in order."""
        parts = list(parts)
        if not parts:
            raise InputError("Faithfulness.concat needs at least one result")
        joined = {}
        for kind in KINDS:
            items = [getattr(p, kind) for p in parts]
            if all(item is None for item in items):
                joined[kind] = None
                continue
            if any(item is None for item in items) or any(
                not np.array_equal(item.x, items[0].x) for item in items
            ):
                raise InputError(
                    f"Faithfulness.concat: the {kind} curves of the parts differ in steps"
                )
            joined[kind] = CurveResult(
                kind=kind,
                x=items[0].x,
                **{
                    field: np.concatenate([getattr(item, field) for item in items])
                    for field in ("curves", "auc", "random_curves", "random_auc", "target")
                },
            )
        return cls(joined["deletion"], joined["insertion"])

    @property
    def results(self) -> list[CurveResult]:
        """The curves computed (deletion first)."""
        return [r for r in (self.deletion, self.insertion) if r is not None]

    def table(self, names=None):
        """One row per (example, kind): name, kind, target, auc, random_auc (mean over the
        orderings), random_auc_sd, better.  ``names`` defaults to ``0..n-1``."""
        import pandas as pd

        rows = []
        for result in self.results:
            labels = _names(names, result.n)
            rows.append(
                pd.DataFrame(
                    {
                        "name": labels,
                        "kind": result.kind,
                        "target": result.target,
                        "auc": result.auc,
                        "random_auc": result.random_auc.mean(axis=1),
                        "random_auc_sd": result.random_auc.std(axis=1),
                        "better": result.better,
                    }
                )
            )
        return pd.concat(rows, ignore_index=True)

    def curves_table(self, names=None):
        """Long table of every curve: name, kind, ordering (``"attribution"`` or
        ``"random_<r>"``), step, fraction, score."""
        import pandas as pd

        frames = []
        for result in self.results:
            labels = np.asarray(_names(names, result.n), dtype=object)
            steps = len(result.x)
            orderings = [("attribution", result.curves)] + [
                (f"random_{r}", result.random_curves[:, r])
                for r in range(result.random_auc.shape[1])
            ]
            for label, curves in orderings:
                frames.append(
                    pd.DataFrame(
                        {
                            "name": np.repeat(labels, steps),
                            "kind": result.kind,
                            "ordering": label,
                            "step": np.tile(np.arange(steps), result.n),
                            "fraction": np.tile(result.x, result.n),
                            "score": curves.reshape(-1),
                        }
                    )
                )
        return pd.concat(frames, ignore_index=True)


def _names(names, n):
    if names is None:
        return [str(i) for i in range(n)]
    names = [str(v) for v in names]
    if len(names) != n:
        raise InputError(f"names has {len(names)} entries; expected {n}, one per example")
    return names


def auc(curves, x=None) -> np.ndarray:
    """Trapezoid area under curves, with the x axis scaled to [0, 1].

    Parameters
    ----------
    curves : array, shape (..., k)
    x : array, shape (k,), optional
        Abscissae; rescaled to [0, 1] by ``(x - x[0]) / (x[-1] - x[0])``.  Default: ``k``
        equally spaced points.

    Returns
    -------
    np.ndarray, shape (...)
    """
    curves = np.asarray(curves, dtype=np.float64)
    if curves.ndim < 1 or curves.shape[-1] < 2:
        raise InputError(f"curves has shape {curves.shape}; expected (..., k) with k >= 2")
    if x is None:
        x = np.linspace(0.0, 1.0, curves.shape[-1])
    else:
        x = np.asarray(x, dtype=np.float64)
        if x.shape != (curves.shape[-1],) or not np.all(np.diff(x) > 0):
            raise InputError(
                f"x has shape {x.shape}; expected ({curves.shape[-1]},) strictly increasing"
            )
        x = (x - x[0]) / (x[-1] - x[0])
    return np.trapezoid(curves, x, axis=-1)


# ------------------------------------------------------------------------------ features


def feature_index(spatial_shape, patch=1):
    """Feature of every position of the trailing axes, for pixels/positions or patches.

    Parameters
    ----------
    spatial_shape : tuple of int
        The trailing axes after the channel axis: ``(L,)`` for DNA, ``(H, W)`` for images.
    patch : int or tuple of int, default 1
        Patch size; an int applies to every spatial axis (``k`` positions, ``k x k`` pixels);
        patches at the far edge are clipped.

    Returns
    -------
    index : np.ndarray of int64, shape spatial_shape
        Feature number (row-major over the patch grid) of each position.
    n_features : int
    """
    spatial_shape = tuple(int(d) for d in spatial_shape)
    if isinstance(patch, (int, np.integer)) and not isinstance(patch, bool):
        patch = (int(patch),) * len(spatial_shape)
    patch = tuple(patch) if isinstance(patch, (tuple, list)) else (patch,)
    if len(patch) != len(spatial_shape) or any(
        isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1 for k in patch
    ):
        raise InputError(
            f"patch={patch!r}; expected a positive int or {len(spatial_shape)} positive ints "
            f"for spatial shape {spatial_shape}"
        )
    grid = [-(-d // k) for d, k in zip(spatial_shape, patch, strict=True)]
    coords = np.meshgrid(
        *[np.arange(d) // k for d, k in zip(spatial_shape, patch, strict=True)], indexing="ij"
    )
    index = np.ravel_multi_index(tuple(coords), grid).astype(np.int64)
    return index, int(np.prod(grid))


def feature_scores(attributions, X_shape, patch=1, reduce: str = "sum") -> np.ndarray:
    """Importance of every feature: the map summed over channels and patch positions.

    Parameters
    ----------
    attributions : array, shape (n, C, *S) (X's shape) or (n, *S) (already one value per position)
    X_shape : tuple
        ``(n, C, *S)``.
    patch : int or tuple of int, default 1
    reduce : {"sum", "abs"}, default "sum"
        Signed sum, or sum of absolute values.

    Returns
    -------
    np.ndarray, float64, shape (n, n_features)
    """
    A = np.asarray(_numpy(attributions), dtype=np.float64)
    X_shape = tuple(X_shape)
    if reduce not in REDUCTIONS:
        raise InputError(f"reduce={reduce!r}; expected one of {list(REDUCTIONS)}")
    if A.shape == X_shape:
        A = (np.abs(A) if reduce == "abs" else A).sum(axis=1)
    elif A.shape == (X_shape[0], *X_shape[2:]):
        A = np.abs(A) if reduce == "abs" else A
    else:
        raise InputError(
            f"attributions has shape {A.shape}; expected X's shape {X_shape} or "
            f"{(X_shape[0], *X_shape[2:])} (one value per position)"
        )
    index, n_features = feature_index(X_shape[2:], patch)
    flat = index.reshape(-1)
    out = np.zeros((X_shape[0], n_features), dtype=np.float64)
    np.add.at(out, (slice(None), flat), A.reshape(X_shape[0], -1))
    return out


def _numpy(array):
    if hasattr(array, "attributions"):  # IGResult
        array = array.attributions
    if hasattr(array, "detach"):
        return array.detach().cpu().numpy()
    return array


def attribution_ranks(scores, n_random: int, seed, keys=None) -> np.ndarray:
    """Rank of every feature in each ordering: row 0 by descending score, rows 1.. random.

    Ties in the score keep feature order (stable sort).  A feature is changed at step s when
    its rank is below the number of features changed.

    Parameters
    ----------
    scores : np.ndarray, shape (n, F)
    n_random : int
    seed : int or None
        None draws fresh randomness.
    keys : array of n ints, optional
        Per-example keys mixed into the seed (e.g. a digest of the example's content), so an
        example's random orderings do not depend on which other examples share the call or
        on its position: any chunking gives the same curves.  Default: the example index.

    Returns
    -------
    np.ndarray of int32, shape (n, 1 + n_random, F)
    """
    seed = check_seed(seed)
    n, n_features = scores.shape
    ranks = np.empty((n, 1 + n_random, n_features), dtype=np.int32)
    order = np.argsort(-scores, axis=1, kind="stable")
    np.put_along_axis(
        ranks[:, 0], order, np.broadcast_to(np.arange(n_features, dtype=np.int32), order.shape), 1
    )
    if n_random == 0:
        return ranks
    keys = np.arange(n) if keys is None else np.asarray(keys)
    fresh = rng(None) if seed is None else None
    for i in range(n):
        generator = fresh or np.random.default_rng([seed, int(keys[i]), 0xDE1])
        for r in range(n_random):
            ranks[i, 1 + r] = generator.permutation(n_features)
    return ranks


def content_keys(X, scores) -> np.ndarray:
    """A 32-bit digest of each example's input and feature scores (see attribution_ranks)."""
    import zlib

    X = np.ascontiguousarray(_numpy(X), dtype=np.float32)
    scores = np.ascontiguousarray(scores, dtype=np.float64)
    return np.array(
        [zlib.crc32(scores[i].tobytes(), zlib.crc32(X[i].tobytes())) for i in range(len(X))],
        dtype=np.int64,
    )


# ------------------------------------------------------------------------------ references


def reference_inputs(reference, X, *, kind: str, sigma=None, seed=0):
    """The input a deletion ends at (``kind="deletion"``) or an insertion starts from.

    Parameters
    ----------
    reference : "auto", "zeros", "blur", "shuffle", float, array or callable
        ``"auto"``: ``"shuffle"`` for ``(n, C, L)`` inputs (one-hot DNA); for images
        ``"zeros"`` (deletion) and ``"blur"`` (insertion), as in RISE.  ``"zeros"``: all zero
        (black; all-N for DNA).  ``"blur"``: Gaussian blur over the spatial axes with
        ``sigma`` pixels (default 5, RISE's).  ``"shuffle"``: one dinucleotide shuffle of
        each one-hot sequence (seeded by ``seed``).  A number, an array broadcastable to X's
        shape, or a callable ``f(X) -> (n, ...)`` give the reference directly.
    X : torch.Tensor, shape (n, C, ...)
    kind : {"deletion", "insertion"}
    sigma : float, optional
    seed : int, optional

    Returns
    -------
    torch.Tensor, float32, X's shape
    """
    import torch

    from seqsal.attribution._batching import as_input

    if isinstance(reference, str):
        if reference not in REFERENCES:
            raise InputError(
                f"{_argument(kind)}={reference!r}; expected one of {list(REFERENCES)}, a number, "
                "an array or a callable"
            )
        if reference == "auto":
            reference = "shuffle" if X.ndim == 3 else ("zeros" if kind == "deletion" else "blur")
        if reference == "zeros":
            return torch.zeros_like(X)
        if reference == "blur":
            from seqsal.attribution.baselines import DEFAULT_BLUR_SIGMA, gaussian_blur

            return as_input(gaussian_blur(X, sigma=DEFAULT_BLUR_SIGMA if sigma is None else sigma))
        return _shuffled(X, kind, seed)
    if isinstance(reference, bool):
        raise InputError(f"{_argument(kind)}={reference!r}; expected a name, number or array")
    if isinstance(reference, (int, float, np.integer, np.floating)):
        return torch.full_like(X, float(reference))
    if callable(reference) and not isinstance(reference, (np.ndarray, torch.Tensor)):
        reference = reference(X)
    value = as_input(reference, _argument(kind))
    try:
        return torch.broadcast_to(value, X.shape).contiguous()
    except RuntimeError as err:
        raise InputError(
            f"{_argument(kind)} has shape {tuple(value.shape)}; expected X's shape {tuple(X.shape)}"
        ) from err


def _argument(kind):
    return "baseline" if kind == "deletion" else "start"


def _shuffled(X, kind, seed):
    import torch

    from seqsal.sequence.shuffle import dinucleotide_shuffle

    if X.ndim != 3 or X.shape[1] != 4:
        raise InputError(
            f"{_argument(kind)}='shuffle' needs one-hot DNA of shape (n, 4, L); X has shape "
            f"{tuple(X.shape)}: pass 'zeros', 'blur', a number or an array"
        )
    try:
        shuffled = dinucleotide_shuffle(X.numpy(), n=1, seed=seed)[:, 0]
    except InputError as err:
        raise InputError(
            f"{_argument(kind)}='shuffle' (the default for (n, C, L) inputs) needs one-hot DNA "
            f"({err}); pass {_argument(kind)}='zeros', a number or an array"
        ) from err
    return torch.from_numpy(np.ascontiguousarray(shuffled, dtype=np.float32))


# ------------------------------------------------------------------------------ scores


def as_module(model):
    """The ``torch.nn.Module`` of ``model`` (a module, or a LoadedModel's ``module``)."""
    import torch

    if isinstance(model, torch.nn.Module):
        return model
    inner = getattr(model, "module", None)
    if isinstance(inner, torch.nn.Module):
        return inner
    raise InputError(
        f"model has type {type(model).__name__}; expected a torch.nn.Module or a LoadedModel"
    )


def _score_module(model, score):
    """``model`` wrapped so that it returns the scored output ``(m, T)``."""
    import torch
    from torch import nn

    class Scored(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            out = self.inner(x)
            if not isinstance(out, torch.Tensor) or out.ndim not in (1, 2):
                raise ModelError(
                    f"model output has shape {tuple(getattr(out, 'shape', ()))}; expected (n, T) or (n,)"
                )
            if out.ndim == 1:
                out = out[:, None]
            out = out.float()
            if score == "softmax":
                return out.softmax(dim=1)
            if score == "sigmoid":
                return out.sigmoid()
            return out

    return Scored(model)


def _resolve_score(score, n_outputs):
    if score not in SCORES:
        raise InputError(f"score={score!r}; expected one of {list(SCORES)}")
    if score == "auto":
        return "softmax" if n_outputs > 1 else "raw"
    if score == "softmax" and n_outputs == 1:
        raise InputError(
            "score='softmax' on a model with one output is always 1; use 'sigmoid' or 'raw'"
        )
    return score


def _forward_all(model, X, *, batch_size, device, max_memory):
    """Model outputs ``(n, T)`` of X, batched, no gradients."""
    import torch

    from seqsal.attribution._batching import rows_per_call

    outputs = []
    with model_on(model, device) as dev, torch.no_grad():
        rows = rows_per_call(model, X[:1].to(dev), batch_size=batch_size, max_memory=max_memory)
        for start in range(0, X.shape[0], rows):
            out = model(X[start : start + rows].to(dev))
            if not isinstance(out, torch.Tensor) or out.ndim not in (1, 2):
                raise ModelError(
                    f"model output has shape {tuple(getattr(out, 'shape', ()))}; expected (n, T) or (n,)"
                )
            outputs.append((out[:, None] if out.ndim == 1 else out).float().cpu())
    return torch.cat(outputs)


def _resolve_target(target, logits, n):
    if target is None:
        return logits.argmax(dim=1).numpy().astype(np.int64)
    values = np.asarray(target)
    if values.ndim == 0:
        values = np.full(n, values)
    if values.shape != (n,) or not np.issubdtype(values.dtype, np.integer):
        raise InputError(
            f"target={target!r}; expected None (the class predicted on the original input), an "
            f"int or {n} ints (one per example)"
        )
    if values.min() < 0 or values.max() >= logits.shape[1]:
        raise InputError(
            f"target has values in [{values.min()}, {values.max()}]; the model has "
            f"{logits.shape[1]} outputs (0..{logits.shape[1] - 1})"
        )
    return values.astype(np.int64)


# ------------------------------------------------------------------------------ curves


def faithfulness(
    model,
    X,
    attributions,
    *,
    kinds=KINDS,
    target=None,
    score: str = "auto",
    baseline="auto",
    start="auto",
    sigma=None,
    patch=1,
    reduce: str = "sum",
    steps=None,
    n_random: int = 3,
    batch_size=None,
    device=None,
    progress=None,
    seed=0,
    max_memory=None,
) -> Faithfulness:
    """Deletion and insertion curves of attribution maps, and of random orderings (RISE).

    Features (positions with all their channels, or patches) are ranked by the map, highest
    first.  Deletion replaces them, in that order, by ``baseline``; insertion starts from
    ``start`` and puts them back in that order.  Each curve records the score of the target
    output at ``steps + 1`` points; the area under it (trapezoid, x in [0, 1]) is compared
    with the same curves for ``n_random`` random orderings.  Cost: one forward pass per point,
    ``len(kinds) * (1 + n_random) * (steps + 1)`` per example, batched.

    Parameters
    ----------
    model : torch.nn.Module or LoadedModel
        ``model(X) -> (n, T)`` or ``(n,)``; its device and train/eval state are restored.
    X : numpy.ndarray or torch.Tensor, shape (n, C, ...)
        DNA one-hot ``(n, 4, L)`` or images ``(n, C, H, W)``.
    attributions : array, shape (n, C, ...) or (n, ...)
        The maps to evaluate (e.g. projected DNA contributions, image IG), X's shape or one
        value per position.
    kinds : tuple of str, default ("deletion", "insertion")
        Which curves to compute; the other comes back as None.
    target : int, array of n ints or None, default None
        Output scored; None: the class the model predicts on the original input (argmax of
        its outputs), per example.
    score : {"auto", "softmax", "sigmoid", "raw"}, default "auto"
        What a point of the curve is: the softmax probability of the target (classifiers),
        its sigmoid (independent binary logits, e.g. seqsal's classification models) or the
        raw output (regression).  ``"auto"``: softmax for several outputs, raw for one.
    baseline : str, float, array or callable, default "auto"
        What deleted features become (:func:`reference_inputs`): ``"auto"`` is a
        dinucleotide shuffle for ``(n, C, L)`` one-hot DNA and black (``"zeros"``) for images.
    start : str, float, array or callable, default "auto"
        Where insertion starts: ``"auto"`` is the same shuffle for DNA and a Gaussian blur
        (``sigma``, default 5 pixels) for images.
    sigma : float, optional
        Blur width for ``"blur"``.
    patch : int or tuple of int, default 1
        Feature size: ``k`` positions (DNA) or ``k x k`` pixels (images).
    reduce : {"sum", "abs"}, default "sum"
        Feature importance: signed sum of the map over the feature, or sum of ``|map|``.
    steps : int, optional
        Curve segments; default ``min(50, n_features)``.  Point ``s`` changes
        ``round(s * n_features / steps)`` features.
    n_random : int, default 3
        Random orderings per example (the comparison); 0 for none.
    batch_size, device, progress, max_memory
        As in :func:`seqsal.attribution.saliency`; ``batch_size`` counts perturbed copies per
        model call.  Results do not depend on it.
    seed : int, default 0
        Seeds the random orderings and the shuffled reference.  Both depend only on the seed
        and each example's own content (input and map), so the curves of an example do not
        depend on the other examples in the call: chunks give the results of one call.

    Returns
    -------
    Faithfulness
        ``deletion`` and ``insertion`` :class:`CurveResult` (None for a kind not asked for).
    """
    import torch

    from seqsal.attribution import evaluate_perturbed
    from seqsal.attribution._batching import as_input

    model = as_module(model)
    X = as_input(X)
    if X.ndim < 3:
        raise InputError(
            f"X has shape {tuple(X.shape)}; expected (n, C, ...) such as (n, 4, L) or (n, C, H, W)"
        )
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    if not kinds or any(k not in KINDS for k in kinds) or len(set(kinds)) != len(kinds):
        raise InputError(f"kinds={kinds!r}; expected one or both of {list(KINDS)}")
    n_random = check_non_negative_int(n_random, "n_random")
    n, spatial = X.shape[0], tuple(X.shape[2:])
    scores = feature_scores(attributions, tuple(X.shape), patch, reduce)
    index, n_features = feature_index(spatial, patch)
    steps = min(DEFAULT_STEPS, n_features) if steps is None else check_positive_int(steps, "steps")
    if steps > n_features:
        raise InputError(f"steps={steps}; at most the number of features ({n_features})")
    counts = np.round(np.arange(steps + 1) * n_features / steps).astype(np.int64)
    x = counts / n_features

    logits = _forward_all(model, X, batch_size=batch_size, device=device, max_memory=max_memory)
    score = _resolve_score(score, logits.shape[1])
    targets = _resolve_target(target, logits, n)
    classes = np.unique(targets)
    class_row = np.searchsorted(classes, targets)

    references = {
        kind: reference_inputs(
            baseline if kind == "deletion" else start, X, kind=kind, sigma=sigma, seed=seed
        )
        for kind in kinds
    }
    ranks = torch.from_numpy(
        attribution_ranks(scores, n_random, seed, keys=content_keys(X, scores))
    )  # (n, R + 1, F)
    n_orderings = 1 + n_random
    per_kind = n_orderings * (steps + 1)
    index_t = torch.from_numpy(index.reshape(-1))
    counts_t = torch.from_numpy(counts)
    refs = torch.stack([references[k] for k in kinds])  # (K, n, C, ...)
    inserting = torch.tensor([k == "insertion" for k in kinds])

    def perturb(rows, example, position):
        dev = rows.device
        kind = (position // per_kind).cpu()
        within = (position % per_kind).cpu()
        ordering, step = within // (steps + 1), within % (steps + 1)
        ex = example.cpu()
        changed = ranks[ex, ordering] < counts_t[step][:, None]  # (m, F)
        changed = changed[:, index_t].view(len(ex), 1, *spatial)
        changed = changed ^ inserting[kind].view(-1, *([1] * (len(spatial) + 1)))
        reference = refs[kind, ex].to(dev)
        return torch.where(changed.to(dev), reference, rows)

    scored = _score_module(model, score)
    result = evaluate_perturbed(
        scored,
        X,
        perturb,
        len(kinds) * per_kind,
        target=[int(c) for c in classes],
        batch_size=batch_size,
        device=device,
        progress=progress,
        max_memory=max_memory,
    )
    values = result.perturbed[torch.from_numpy(class_row), torch.arange(n)].numpy()  # (n, P)
    values = values.astype(np.float64).reshape(n, len(kinds), n_orderings, steps + 1)
    out = {}
    for k, kind in enumerate(kinds):
        curves = values[:, k]
        areas = auc(curves, x)
        out[kind] = CurveResult(
            kind=kind,
            x=x,
            curves=curves[:, 0],
            auc=areas[:, 0],
            random_curves=curves[:, 1:],
            random_auc=areas[:, 1:],
            target=targets,
        )
    return Faithfulness(out.get("deletion"), out.get("insertion"))


def deletion_curves(model, X, attributions, *, baseline="auto", **kwargs) -> CurveResult:
    """Deletion curves only: :func:`faithfulness` with ``kinds=("deletion",)``."""
    return faithfulness(
        model, X, attributions, kinds=("deletion",), baseline=baseline, **kwargs
    ).deletion


def insertion_curves(model, X, attributions, *, start="auto", **kwargs) -> CurveResult:
    """Insertion curves only: :func:`faithfulness` with ``kinds=("insertion",)``."""
    return faithfulness(
        model, X, attributions, kinds=("insertion",), start=start, **kwargs
    ).insertion

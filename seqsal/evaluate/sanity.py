"""Sanity checks for attribution maps: the model parameter randomisation test.

Adebayo et al. (2018), "Sanity Checks for Saliency Maps" (NeurIPS): a map that explains the
model must change when the model's learned weights are destroyed.  The layers' parameters are
re-initialised, from the top (output) layer down, either **cascading** (the top k layers
randomised together, k = 1, 2, ...) or **independent** (one layer at a time, the others kept),
the attribution method is run again, and the new maps are compared with the original ones by

* Spearman rank correlation of the absolute values (``spearman_abs``) and of the signed values
  (``spearman_signed``), per example;
* SSIM (Wang et al. 2004) of the absolute maps, each scaled to [0, 1] by its maximum
  (``ssim``; data range 1, 7-point uniform window, the defaults of scikit-image's
  ``structural_similarity``, which the tests use as the oracle).

A map that stays highly correlated after randomisation (an edge detector, a copy of the input)
does not depend on what the model learned.

Maps are compared per example after summing over the channel axis (``channels="sum"``): one
value per position, ``(L,)`` for DNA (for projected contributions, the contribution of the base
present; never sum hypothetical or corrected-gradient maps, whose four rows sum to zero) and
``(H, W)`` for images.  ``channels="keep"`` compares the full maps: Spearman over every value
and SSIM per channel over the spatial axes, averaged over channels (DNA ``(4, L)``).

The caller's model is never touched: every randomisation works on a deep copy.
"""

from __future__ import annotations

import copy
import logging

import numpy as np

from seqsal._runtime import check_seed, progress_bar, torch_seed
from seqsal.attribution.methods import METHODS, attribute
from seqsal.errors import InputError
from seqsal.stats import spearman

log = logging.getLogger(__name__)

MODES = ("cascading", "independent")
METRICS = ("spearman_abs", "spearman_signed", "ssim")
CHANNELS = ("sum", "keep")

#: Names accepted for ``method`` (see :func:`seqsal.attribution.attribute`).
METHOD_NAMES = tuple(METHODS)


# ------------------------------------------------------------------------------ metrics


def ssim(a, b, *, data_range: float, win_size: int = 7, channel_axis=None) -> float:
    """Mean structural similarity of two arrays (Wang et al. 2004), any number of axes.

    The computation of ``skimage.metrics.structural_similarity`` with its defaults: a
    ``win_size``-point uniform window on every axis (scipy's ``uniform_filter``, reflected
    edges), ``K1 = 0.01``, ``K2 = 0.03``, sample covariances, and the mean over positions at
    least ``(win_size - 1) / 2`` from the edges.

    Parameters
    ----------
    a, b : array, same shape
        Every axis (other than ``channel_axis``) at least ``win_size`` long.
    data_range : float
        Range of the values (``max - min`` possible).
    win_size : int, default 7
        Odd window size.
    channel_axis : int, optional
        Axis of independent channels: SSIM per channel, averaged.

    Returns
    -------
    float
    """
    from scipy.ndimage import uniform_filter

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise InputError(f"ssim: shapes {a.shape} and {b.shape} differ")
    if isinstance(win_size, bool) or not isinstance(win_size, (int, np.integer)) or win_size < 3:
        raise InputError(f"win_size={win_size!r}; expected an odd integer >= 3")
    if win_size % 2 == 0:
        raise InputError(f"win_size={win_size}; must be odd")
    if not data_range or data_range <= 0:
        raise InputError(f"data_range={data_range!r}; must be positive")
    if channel_axis is not None:
        a = np.moveaxis(a, channel_axis, 0)
        b = np.moveaxis(b, channel_axis, 0)
        return float(
            np.mean(
                [
                    ssim(x, y, data_range=data_range, win_size=win_size)
                    for x, y in zip(a, b, strict=True)
                ]
            )
        )
    if any(d < win_size for d in a.shape):
        raise InputError(
            f"ssim: every axis must be at least win_size={win_size} long; got shape {a.shape}"
        )
    n_points = win_size**a.ndim
    cov_norm = n_points / (n_points - 1)
    mu_a = uniform_filter(a, size=win_size)
    mu_b = uniform_filter(b, size=win_size)
    var_a = cov_norm * (uniform_filter(a * a, size=win_size) - mu_a * mu_a)
    var_b = cov_norm * (uniform_filter(b * b, size=win_size) - mu_b * mu_b)
    cov = cov_norm * (uniform_filter(a * b, size=win_size) - mu_a * mu_b)
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    S = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2)
    )
    pad = (win_size - 1) // 2
    return float(S[tuple(slice(pad, d - pad) for d in S.shape)].mean(dtype=np.float64))


def _unit_abs(map_):
    top = np.abs(map_).max()
    return np.abs(map_) / top if top > 0 else np.abs(map_)


def compare_maps(original, other, *, channels: str = "sum", win_size: int = 7):
    """Per-example similarity of two sets of maps.

    Parameters
    ----------
    original, other : array, shape (n, C, ...)
    channels : {"sum", "keep"}, default "sum"
        Sum over the channel axis first (one value per position), or keep the channels.
    win_size : int, default 7
        SSIM window (shrunk to the shortest spatial axis when that is shorter, odd).

    Returns
    -------
    dict of np.ndarray, shape (n,)
        ``spearman_abs``, ``spearman_signed``, ``ssim``.  Spearman is NaN where a map is
        constant (e.g. all-zero gradients of a randomised model); the summaries skip NaN.
    """
    a = np.asarray(_numpy(original), dtype=np.float64)
    b = np.asarray(_numpy(other), dtype=np.float64)
    if a.shape != b.shape or a.ndim < 2:
        raise InputError(f"maps have shapes {a.shape} and {b.shape}; expected equal (n, C, ...)")
    if channels not in CHANNELS:
        raise InputError(f"channels={channels!r}; expected one of {list(CHANNELS)}")
    if channels == "sum" and a.ndim >= 3:
        a, b = a.sum(axis=1), b.sum(axis=1)
    spatial = a.shape[2:] if (channels == "keep" and a.ndim >= 3) else a.shape[1:]
    window = min(win_size, min(spatial))
    window = window if window % 2 else window - 1
    out = {m: np.full(a.shape[0], np.nan) for m in METRICS}
    for i in range(a.shape[0]):
        out["spearman_abs"][i] = spearman(np.abs(a[i]), np.abs(b[i]))
        out["spearman_signed"][i] = spearman(a[i], b[i])
        if window >= 3:
            out["ssim"][i] = ssim(
                _unit_abs(a[i]),
                _unit_abs(b[i]),
                data_range=1.0,
                win_size=window,
                channel_axis=0 if (channels == "keep" and a.ndim >= 3) else None,
            )
    return out


def _numpy(array):
    if hasattr(array, "detach"):
        return array.detach().cpu().numpy()
    if hasattr(array, "attributions"):  # IGResult
        return _numpy(array.attributions)
    return np.asarray(array)


# ------------------------------------------------------------------------------ layers


def randomizable_layers(model) -> list[str]:
    """Dotted names of the modules that own parameters, bottom (input) to top (output).

    Definition order (``named_modules``) is taken as the forward order, as it is for
    ``nn.Sequential`` and models that define their layers in the order they use them.
    """
    return [
        name
        for name, module in model.named_modules()
        if name and any(True for _ in module.parameters(recurse=False))
    ]


def randomize_layer(module, seed) -> None:
    """Re-initialise ``module``'s own parameters in place, seeded.

    Uses the module's ``reset_parameters()`` (PyTorch's default initialisation of that layer
    type) where it has one, else redraws every parameter from a normal distribution with the
    original's standard deviation (1 where that is 0).
    """
    import torch

    with torch_seed(seed), torch.no_grad():
        if callable(getattr(module, "reset_parameters", None)):
            module.reset_parameters()
            return
        for parameter in module.parameters(recurse=False):
            sd = float(parameter.std()) if parameter.numel() > 1 else 0.0
            parameter.normal_(0.0, sd if sd > 0 else 1.0)


def copy_model(model):
    """An independent copy of ``model`` (weights included) that can be changed freely.

    ``copy.deepcopy`` for ordinary modules; a TorchScript module is saved and loaded again
    (its deep copy has parameters that are not leaves, which autograd then refuses to free).
    """
    import io
    import warnings

    import torch

    if isinstance(model, torch.jit.ScriptModule):
        buffer = io.BytesIO()
        params = list(model.parameters())
        location = params[0].device if params else "cpu"
        with warnings.catch_warnings():  # torch 2.x deprecates TorchScript; the user chose it
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.jit.save(model, buffer)
            buffer.seek(0)
            copied = torch.jit.load(buffer, map_location=location)
        copied.train(model.training)
        return copied
    return copy.deepcopy(model)


def _submodule(model, name):
    return dict(model.named_modules())[name]


def layer_seed(seed, index: int) -> int:
    """The seed that re-initialises layer ``index`` (counted from the input) for ``seed``.

    Derived through ``numpy.random.SeedSequence`` rather than ``seed + index``, so that a model
    built right after ``torch.manual_seed(seed)`` does not get its own initial weights back.
    """
    seed = check_seed(seed, allow_none=False)
    state = np.random.SeedSequence([seed, int(index), 0x5A11]).generate_state(1, dtype=np.uint64)
    return int(state[0] >> 1)


# ------------------------------------------------------------------------------ the test


def resolve_method(method, method_kwargs=None, *, batch_size=None, device=None, seed=0):
    """Turn ``method`` into ``f(model, X, target) -> maps (n, ...)``.

    Parameters
    ----------
    method : str or callable
        A name in :data:`METHOD_NAMES` (the function of :mod:`seqsal.attribution`, called
        with ``method_kwargs`` and the shared keywords), or a callable
        ``f(model, X, target) -> array (n, ...)`` (target is an int), e.g. the projected
        contributions of :func:`seqsal.dna.attribute_dna`.
    """
    kwargs = dict(method_kwargs or {})
    if callable(method):
        if kwargs:
            return lambda model, X, target: method(model, X, target, **kwargs)
        return method
    if method not in METHOD_NAMES:
        raise InputError(f"method={method!r}; expected a callable or one of {list(METHOD_NAMES)}")
    shared = {"batch_size": batch_size, "device": device, "progress": False, "seed": seed}

    def run(model, X, target):
        return attribute(model, X, method, target=target, **shared, **kwargs)

    return run


def _maps(function, model, X, targets):
    """Maps of every example, one call per distinct target."""
    out = None
    for c in np.unique(targets):
        rows = np.flatnonzero(targets == c)
        value = np.asarray(_numpy(function(model, X[rows], int(c))), dtype=np.float32)
        if out is None:
            out = np.zeros((X.shape[0], *value.shape[1:]), dtype=np.float32)
        out[rows] = value
    return out


def parameter_randomization(
    model,
    X,
    method="saliency",
    *,
    target=None,
    modes=MODES,
    layers=None,
    channels: str = "sum",
    per_example: bool = False,
    method_kwargs=None,
    batch_size=None,
    device=None,
    progress=None,
    seed=0,
):
    """Model parameter randomisation test (Adebayo et al. 2018), cascading and independent.

    Parameters
    ----------
    model : torch.nn.Module or LoadedModel
        Never modified: each randomisation runs on a copy (:func:`copy_model`).
    X : numpy.ndarray or torch.Tensor, shape (n, C, ...)
    method : str or callable, default "saliency"
        See :func:`resolve_method`.
    target : int, array of n ints or None, default None
        Output explained; None: the class the original model predicts (argmax), per example,
        kept fixed for every randomised model.
    modes : tuple of str, default ("cascading", "independent")
    layers : list of str, optional
        Dotted names of the layers to randomise (default :func:`randomizable_layers`), always
        processed from the top (output) down.
    channels : {"sum", "keep"}, default "sum"
        How maps are compared (module docstring).
    per_example : bool, default False
        One row per example, instead of the mean and standard deviation over examples.
    method_kwargs : dict, optional
        Extra keywords for a named method (e.g. ``{"steps": 16}``, ``{"layer": "conv2"}``).
    batch_size, device, progress
        As in :func:`seqsal.attribution.saliency`; ``progress`` shows one bar over the
        randomised models.
    seed : int, default 0
        Layer ``j`` (counted from the input) is re-initialised with :func:`layer_seed`
        ``(seed, j)`` in both modes, so the cascading and independent copies of a layer get
        the same weights; also passed to the method.

    Returns
    -------
    pandas.DataFrame
        Columns ``mode``, ``step``, ``layer`` and, averaged over examples, ``spearman_abs``,
        ``spearman_signed``, ``ssim`` with ``*_sd`` and ``n`` (or ``example`` and the three
        metrics when ``per_example``).  The first row (mode ``"original"``, step 0, layer
        ``"none"``) recomputes the maps on an untouched copy: 1 for a deterministic method.
        Cascading step k has the top k layers randomised and names the lowest of them.
    """
    import pandas as pd

    from seqsal.attribution._batching import as_input
    from seqsal.evaluate.faithfulness import _forward_all, _resolve_target, as_module

    X = as_input(X)
    modes = (modes,) if isinstance(modes, str) else tuple(modes)
    if any(m not in MODES for m in modes) or len(set(modes)) != len(modes):
        raise InputError(f"modes={modes!r}; expected one or both of {list(MODES)}")
    if channels not in CHANNELS:
        raise InputError(f"channels={channels!r}; expected one of {list(CHANNELS)}")
    model = as_module(model)
    all_layers = randomizable_layers(model)
    if layers is None:
        chosen = all_layers
    else:
        layers = [layers] if isinstance(layers, str) else list(layers)
        unknown = [name for name in layers if name not in all_layers]
        if unknown or not layers:
            raise InputError(
                f"layers={layers!r}: {unknown or 'empty'}; layers with parameters: {all_layers}"
            )
        chosen = [name for name in all_layers if name in layers]
    if not chosen:
        raise InputError("the model has no layer with parameters to randomise")
    seeds = {name: layer_seed(seed, all_layers.index(name)) for name in chosen}
    top_down = chosen[::-1]

    function = resolve_method(
        method, method_kwargs, batch_size=batch_size, device=device, seed=seed
    )
    logits = _forward_all(model, X, batch_size=batch_size, device=device, max_memory=None)
    targets = _resolve_target(target, logits, X.shape[0])
    original = _maps(function, model, X, targets)

    plan = [("original", 0, "none", [])]
    if "cascading" in modes:
        plan += [("cascading", k + 1, name, top_down[: k + 1]) for k, name in enumerate(top_down)]
    if "independent" in modes:
        plan += [("independent", k + 1, name, [name]) for k, name in enumerate(top_down)]

    frames = []
    cascade = None
    for mode, step, layer, randomised in progress_bar(
        plan, total=len(plan), desc="randomisation", unit="model", progress=progress
    ):
        if mode == "cascading":
            if cascade is None:
                cascade = copy_model(model)
            randomize_layer(_submodule(cascade, layer), seeds[layer])
            copy_ = cascade
        else:
            copy_ = copy_model(model)
            for name in randomised:
                randomize_layer(_submodule(copy_, name), seeds[name])
        maps = _maps(function, copy_, X, targets)
        metrics = compare_maps(original, maps, channels=channels)
        frames.append(
            pd.DataFrame(
                {
                    "mode": mode,
                    "step": step,
                    "layer": layer,
                    "example": np.arange(X.shape[0]),
                    **metrics,
                }
            )
        )
    table = pd.concat(frames, ignore_index=True)
    if per_example:
        return table
    return summarize(table)


def summarize(table):
    """Mean and standard deviation over examples of a per-example randomisation table."""
    grouped = table.groupby(["mode", "step", "layer"], sort=False)
    out = grouped[list(METRICS)].mean()
    sd = grouped[list(METRICS)].std(ddof=0).add_suffix("_sd")
    out = out.join(sd)
    out["n"] = grouped.size()
    columns = [c for m in METRICS for c in (m, f"{m}_sd")] + ["n"]
    return out[columns].reset_index()

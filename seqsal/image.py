"""The image layer over the attribution core: maps, faithfulness and sanity of image batches.

``seqsal.attribution`` explains any input; this module knows that the input is a batch of
images ``(n, C, H, W)``, normalised per channel for the model (``(pixel - mean) / std``), and
runs the image methods on it the way a person comparing explanations wants them run:

* every method's map of every image, each image explained for its own target (by default the
  class the model predicts for it), images grouped by target so that each group goes through
  the core once per method (:func:`explain_images`);
* references in pixel space: ``black`` is the black image normalised as the model's input is
  (``-mean / std`` per channel, not zeros of the normalised input, which would be the mean
  colour), ``blur`` a Gaussian blur of the input (sigma 5 px; a blur commutes with the
  per-channel normalisation), ``noise`` the input plus seeded Gaussian noise (0.15 of its range)
  (:func:`image_references`);
* random draws (SmoothGrad's noise, the ``noise`` reference) seeded per image from ``seed``
  and the image's own pixels, so an image's map does not depend on the other images
  explained with it;
* deletion / insertion curves of each method's maps (:func:`image_faithfulness`, over
  :func:`seqsal.evaluate.faithfulness`) and the model parameter randomisation test
  (:func:`image_sanity`, over :func:`seqsal.evaluate.parameter_randomization`).

Nothing here reads or writes image files or draws: ``seqsal.io.images`` reads images and
``seqsal.plot.image`` writes the overlays, tables and gallery of a run.

A method the model cannot run (Grad-CAM on a model without a convolution) raises
:class:`~seqsal.errors.ModelError` when it was asked for by name; with the default method list
(``methods=None``) it is skipped with a one-line warning and its reason is returned.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import NamedTuple

import numpy as np

from seqsal._runtime import check_seed
from seqsal.errors import InputError, ModelError

log = logging.getLogger(__name__)

#: The image methods, in the gallery's column order.
METHODS = ("saliency", "grad_x_input", "ig", "smoothgrad", "gradcam", "occlusion")
#: Methods run only when named (``methods=``, ``--methods``), after :data:`METHODS` in the
#: gallery when named with them: DeepSHAP (DeepLIFT averaged over the references).
NAMED_METHODS = ("deepshap",)
#: References for IG and occlusion, in the image's pixel space.
BASELINES = ("black", "blur", "noise")
#: The quadrature rule IG runs with here (the core's default).
IG_RULE = "riemann_middle"
#: Keywords of :func:`method_settings` (the methods' own settings).
SETTINGS = ("baseline", "steps", "n_samples", "noise", "window", "stride", "layer", "seed")


class ImagePredictions(NamedTuple):
    """What the model says about a batch of images.

    Attributes
    ----------
    logits : numpy.ndarray, float32, shape (n, T)
        The model's outputs.
    predicted : numpy.ndarray, int64, shape (n,)
        Arg-max class of each image.
    probability : numpy.ndarray, float64, shape (n,), or None
        Softmax probability of the predicted class (None unless a classifier with T > 1).
    """

    logits: np.ndarray
    predicted: np.ndarray
    probability: np.ndarray | None


class ImageExplanation(NamedTuple):
    """Every method's maps of a batch of images.

    Attributes
    ----------
    maps : dict of str to numpy.ndarray, float32, shape (n, C, H, W)
        Method -> its maps, in the order the methods were given; the methods that ran.
    target : numpy.ndarray, int64, shape (n,)
        The output each image's maps explain.
    settings : dict of str to dict
        Method -> its settings as run (e.g. ``{"layer": "features.conv4"}`` for Grad-CAM).
    skipped : dict of str to str
        Method -> why the model cannot run it (default method list only; empty otherwise).
    """

    maps: dict
    target: np.ndarray
    settings: dict
    skipped: dict


class ImageFaithfulness(NamedTuple):
    """Deletion / insertion curves of every method's maps.

    Attributes
    ----------
    results : dict of str to seqsal.evaluate.Faithfulness
        Method -> its curves (``deletion`` and ``insertion``).
    table : pandas.DataFrame
        One row per (method, image, kind): method, name, kind, target, auc, random_auc,
        random_auc_sd, better.
    summary : pandas.DataFrame
        One row per method, means over images: method, deletion AUC, random deletion AUC,
        images better (deletion), insertion AUC, random insertion AUC, images better (insertion).
    settings : dict
        patch, eval_steps, n_random, deletion_reference ("black"), insertion_start ("blur").
    """

    results: dict
    table: object
    summary: object
    settings: dict


class ImageSanity(NamedTuple):
    """The model parameter randomisation test of every method.

    Attributes
    ----------
    table : pandas.DataFrame
        :func:`seqsal.evaluate.parameter_randomization`'s table with a leading ``method``
        column, the methods one after the other.
    fully_randomised : float
        The largest mean ``spearman_abs`` over methods with every layer randomised (the last
        cascading step): how much a map still looks like itself on a random network.
    settings : dict
        modes and seed.
    """

    table: object
    fully_randomised: float
    settings: dict


# ----------------------------------------------------------------------------- small pieces


class DemoImages(NamedTuple):
    """Digits to try the image commands on (:func:`demo_images`).

    Attributes
    ----------
    names : list of str
        File names: ``digit<k>_<label>.png`` (and ``colour<k>_<label>.png``).
    images : list of numpy.ndarray, shape (C, H, W)
        Pixel values in [0, 1]: grey ``(1, size, size)``, colour ``(3, size, 1.5 size)``.
    labels : list of str
        The digit each image shows.
    """

    names: list
    images: list
    labels: list


def demo_images(n: int = 10, *, size: int = 32, colour: bool = False, seed: int = 0) -> DemoImages:
    """``n`` digits of scikit-learn's bundled data set, one of each class in turn.

    Parameters
    ----------
    n : int, default 10
    size : int, default 32
        Height and width of the grey images (the 8 x 8 digits upsampled,
        :func:`seqsal.models.images.digits_dataset`).
    colour : bool, default False
        Also a colour copy of each, stretched to 1.5 times the width and tinted with a seeded
        random colour: colour, non-square input to try the reading and resizing on.
    seed : int, default 0
        Which digits are drawn, and the tints.

    Returns
    -------
    DemoImages
    """
    from PIL import Image

    from seqsal.models.images import digits_dataset

    seed = check_seed(seed, allow_none=False)
    data = digits_dataset(size, seed=seed)
    chosen = []
    for k in range(n):  # one digit of each class in turn
        rows = np.flatnonzero(data.y == k % 10)
        chosen.append(int(rows[(k // 10) % len(rows)]))
    rng = np.random.default_rng(seed)
    names, images, labels = [], [], []
    for k, row in enumerate(chosen):
        label = data.class_names[data.y[row]]
        names.append(f"digit{k:02d}_{label}.png")
        images.append(data.X[row])
        labels.append(label)
        if colour:
            grey = Image.fromarray(data.X[row, 0].astype(np.float32), mode="F")
            wide = grey.resize((size * 3 // 2, size), Image.Resampling.BILINEAR)
            tint = rng.uniform(0.5, 1.0, size=3).reshape(3, 1, 1)
            names.append(f"colour{k:02d}_{label}.png")
            images.append(np.asarray(wide)[None] * tint)
            labels.append(label)
    return DemoImages(names=names, images=images, labels=labels)


def image_names(paths) -> list[str]:
    """File stems, made unique with -2, -3 ... (two folders may hold the same file name)."""
    seen: dict[str, int] = {}
    names = []
    for path in paths:
        stem = Path(path).stem
        seen[stem] = seen.get(stem, 0) + 1
        names.append(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}")
    return names


def check_methods(methods, *, option: str | None = None) -> list[str]:
    """``methods`` (names, or one comma-separated string) checked, in order, without repeats.

    ``option`` names the argument in the error message (e.g. ``"--methods"``); default
    ``methods=``.
    """
    if isinstance(methods, str):
        names = [m.strip() for m in methods.split(",") if m.strip()]
    else:
        names = [str(m) for m in methods]
    known = METHODS + NAMED_METHODS
    unknown = [m for m in names if m not in known]
    if unknown or not names:
        given = f"{option} {methods!r}" if option else f"methods={methods!r}"
        raise InputError(
            f"{given}: unknown method {', '.join(unknown) or '(none given)'}; "
            f"expected a comma-separated list from {', '.join(known)}"
        )
    return list(dict.fromkeys(names))


def predict_images(
    model, X, *, task: str = "classification", batch_size=None, device=None
) -> ImagePredictions:
    """The model's outputs, predicted classes and their softmax probabilities.

    Parameters
    ----------
    model : torch.nn.Module
        ``model(X) -> (n, T)`` logits (or ``(n,)``).
    X : numpy.ndarray, shape (n, C, H, W)
        Images as the model takes them (normalised).
    task : {"classification", "regression"}, default "classification"
        Probabilities are given for classifiers with more than one output.
    batch_size : int, optional
        Images per forward pass (default 256); results do not depend on it.
    device : str, optional

    Returns
    -------
    ImagePredictions
    """
    import torch

    from seqsal.models.predict import predict

    logits = predict(model, X, batch_size=batch_size or 256, device=device, progress=False)
    predicted = logits.argmax(axis=1)
    probability = None
    if task == "classification" and logits.shape[1] > 1:
        probs = torch.softmax(torch.from_numpy(logits).double(), dim=1).numpy()
        probability = probs[np.arange(len(logits)), predicted]
    return ImagePredictions(logits=logits, predicted=predicted, probability=probability)


def black_image(channels: int, *, mean=None, std=None) -> np.ndarray:
    """The black image in the model's input space, ``(1, C, 1, 1)``: ``-mean / std`` per channel."""
    from seqsal.io.images import normalise

    return normalise(np.zeros((1, channels, 1, 1)), mean, std)


def image_references(X, baseline: str = "black", *, mean=None, std=None, seed=0) -> np.ndarray:
    """IG / occlusion references of the normalised images ``X`` ``(n, C, H, W)``.

    Parameters
    ----------
    X : numpy.ndarray, shape (n, C, H, W)
    baseline : {"black", "blur", "noise"}, default "black"
        See the module docstring.
    mean, std : sequence of float, optional
        The per-channel normalisation of the model's input (None: 0 and 1).
    seed : int, default 0
        Seeds the ``noise`` reference.

    Returns
    -------
    numpy.ndarray, float32: ``(1, C, 1, 1)`` for black, ``(n, C, H, W)`` otherwise.
    """
    from seqsal.attribution.baselines import gaussian_blur, noise_baseline

    check_seed(seed)
    if baseline == "black":
        return black_image(X.shape[1], mean=mean, std=std)
    if baseline == "blur":
        return gaussian_blur(X).numpy()
    if baseline == "noise":
        # seeded per image by its own pixels: its reference does not depend on the others
        return np.concatenate(
            [
                noise_baseline(X[i : i + 1], seed=_image_seed(seed, X[i]))[:, 0].numpy()
                for i in range(len(X))
            ]
        )
    raise InputError(f"baseline={baseline!r}; expected one of {', '.join(BASELINES)}")


def _image_seed(seed, image):
    """The seed of one image's random draws: from ``seed`` and the image's own values (None
    stays None, not reproducible)."""
    from seqsal.attribution.smoothgrad import content_seed

    return None if seed is None else content_seed(seed, image)


def smoothgrad_image_noise(X, *, n_samples: int = 25, noise: float = 0.15, seed=0):
    """SmoothGrad's noise for the images ``X`` ``(n, C, H, W)``: ``(n, n_samples, C, H, W)``.

    Each image's noise is seeded by ``seed`` and the image itself (not its position among the
    images explained together), so an image's map is the same alone, among others, or in
    another order.
    """
    import torch

    from seqsal.attribution.smoothgrad import smoothgrad_noise

    return torch.cat(
        [
            smoothgrad_noise(
                X[i : i + 1], n_samples=n_samples, noise=noise, seed=_image_seed(seed, X[i])
            )
            for i in range(len(X))
        ]
    )


def occlusion_window(height: int, width: int, *, window=None, stride=None) -> tuple[int, int]:
    """Occlusion's square window and stride in pixels: by default an eighth of the shorter
    side, and half the window."""
    window = window or max(1, min(height, width) // 8)
    stride = stride or max(1, window // 2)
    return window, stride


def cannot_run(model, method: str, *, layer=None) -> str | None:
    """Why ``model`` cannot run ``method`` (None when it can), found without running it.

    Grad-CAM needs a convolution (or the ``layer`` given); DeepSHAP needs a DeepLIFT rule for
    every nonlinear module; the other methods run on any differentiable model.  A bad ``layer`` name is the caller's error, not the model's, and
    raises InputError.
    """
    if method == "gradcam":
        from seqsal.attribution import gradcam_layer

        try:
            gradcam_layer(model, layer)
        except ModelError as err:
            return str(err)
    if method == "deepshap":
        from seqsal.attribution.deeplift import check_supported

        try:
            check_supported(model)
        except ModelError as err:
            return str(err)
    return None


def method_settings(
    model,
    method: str,
    shape,
    *,
    baseline: str = "black",
    steps: int = 32,
    n_samples: int = 25,
    noise: float = 0.15,
    window=None,
    stride=None,
    layer=None,
    seed=0,
) -> dict:
    """The settings ``method`` runs with on images of ``shape`` ``(n, C, H, W)``, as a dict
    for provenance (keywords as in :func:`explain_images`)."""
    height, width = shape[2:]
    if method == "ig":
        return {"baseline": baseline, "steps": steps, "rule": IG_RULE}
    if method == "deepshap":
        return {"baseline": baseline}
    if method == "smoothgrad":
        return {"n_samples": n_samples, "noise": noise, "seed": seed}
    if method == "gradcam":
        from seqsal.attribution import gradcam_layer

        return {"layer": gradcam_layer(model, layer)}
    if method == "occlusion":
        window, stride = occlusion_window(height, width, window=window, stride=stride)
        return {"window": window, "stride": stride, "baseline": baseline}
    return {}


# ----------------------------------------------------------------------------- maps


def attribute_images(
    model,
    X,
    method: str,
    *,
    target: int,
    mean=None,
    std=None,
    baseline: str = "black",
    steps: int = 32,
    n_samples: int = 25,
    noise: float = 0.15,
    window=None,
    stride=None,
    layer=None,
    batch_size=None,
    device=None,
    progress=None,
    seed=0,
) -> np.ndarray:
    """One method's maps of the images ``X`` for one output.

    Parameters
    ----------
    model : torch.nn.Module
    X : numpy.ndarray, shape (m, C, H, W)
        Normalised images, as the model takes them.
    method : str
        One of :data:`METHODS` or :data:`NAMED_METHODS`.
    target : int
        The output explained, for every row.
    mean, std, baseline, steps, n_samples, noise, window, stride, layer, seed
        As in :func:`explain_images`.
    batch_size, device, progress
        As in :func:`seqsal.attribution.saliency`.

    Returns
    -------
    numpy.ndarray, float32, shape (m, C, H, W)
    """
    from seqsal.attribution import attribute

    options: dict = {}
    if method in ("ig", "occlusion", "deepshap"):
        options["baseline"] = image_references(X, baseline, mean=mean, std=std, seed=seed)
    if method == "ig":
        options["steps"] = steps
    elif method == "smoothgrad":
        options["noise"] = smoothgrad_image_noise(X, n_samples=n_samples, noise=noise, seed=seed)
    elif method == "gradcam":
        options["layer"] = layer
    elif method == "occlusion":
        window, stride = occlusion_window(*X.shape[2:], window=window, stride=stride)
        options.update(window=(window, window), stride=(stride, stride))
    result = attribute(
        model,
        X,
        method,
        target=int(target),
        batch_size=batch_size,
        device=device,
        progress=progress,
        seed=seed,
        **options,
    )
    return np.asarray(result.numpy(), dtype=np.float32)


def narrow_to_target(model, target, layer=None):
    """``(model, target, layer)`` for a :class:`seqsal.attribution.Target`: the model narrowed
    to that one output (:func:`seqsal.attribution.target_module`), target 0, and ``layer``
    renamed to where the narrowed model keeps it (``inner.<layer>``); anything else unchanged.
    """
    from seqsal.attribution import Target, target_module

    if not isinstance(target, Target):
        return model, target, layer
    return target_module(model, target), 0, (None if layer is None else f"inner.{layer}")


def _targets(model, X, target, batch_size, device) -> np.ndarray:
    n = X.shape[0]
    if target is None:
        return predict_images(model, X, batch_size=batch_size, device=device).predicted.astype(
            np.int64
        )
    values = np.asarray(target)
    if values.ndim == 0:
        values = np.full(n, values)
    if values.shape != (n,) or not np.issubdtype(values.dtype, np.integer):
        raise InputError(
            f"target has shape {values.shape} and dtype {values.dtype}; expected an int or "
            f"{n} ints (one per image), or None for each image's predicted class"
        )
    return values.astype(np.int64)


def _grouped(X, targets, function) -> np.ndarray:
    """``function(rows X, target)`` over the images grouped by target, into one array."""
    out = np.zeros(X.shape, dtype=np.float32)
    for target in np.unique(targets):
        rows = np.flatnonzero(targets == target)
        out[rows] = function(X[rows], int(target))
    return out


def explain_images(
    model,
    X,
    methods=None,
    *,
    target=None,
    mean=None,
    std=None,
    baseline: str = "black",
    steps: int = 32,
    n_samples: int = 25,
    noise: float = 0.15,
    window=None,
    stride=None,
    layer=None,
    batch_size=None,
    device=None,
    progress=None,
    seed=0,
) -> ImageExplanation:
    """Every method's maps of every image, each image explained for its own target.

    Parameters
    ----------
    model : torch.nn.Module
        An eager or TorchScript image model ``(n, C, H, W) -> (n, T)``.
    X : numpy.ndarray, shape (n, C, H, W)
        Images as the model takes them (normalised with ``mean`` and ``std``).
    methods : sequence of str, optional
        From :data:`METHODS` and :data:`NAMED_METHODS`, in the order wanted.  Each one named must run on the model
        (else ModelError, before anything is computed).  None runs all of :data:`METHODS`,
        skipping, with a one-line warning, those the model cannot run (returned in
        ``skipped``).
    target : int, array of n ints, Target, or None, default None
        The output explained: one for every image, one per image, or (None) the class the
        model predicts for each image; a :class:`seqsal.attribution.Target` (a head of a model
        with several outputs) narrows the model to that output (:func:`narrow_to_target`).
    mean, std : sequence of float, optional
        The model's per-channel input normalisation (None: 0 and 1); the black reference is
        ``-mean / std``.
    baseline : {"black", "blur", "noise"}, default "black"
        IG and occlusion reference (module docstring).
    steps : int, default 32
        IG quadrature points (rule ``riemann_middle``).
    n_samples, noise : int, float, default 25, 0.15
        SmoothGrad's noisy copies per image and noise sd (fraction of each image's range).
    window, stride : int, optional
        Occlusion's square window and step in pixels (default an eighth of the shorter side,
        and half the window).
    layer : str, optional
        Grad-CAM's layer (dotted module name); default the last convolution.
    batch_size, device, progress
        As in :func:`seqsal.attribution.saliency`; results do not depend on ``batch_size``.
    seed : int, default 0
        Seeds SmoothGrad's noise and the ``noise`` reference, per image with its own pixels.

    Returns
    -------
    ImageExplanation
    """
    from seqsal._runtime import progress_bar

    model, target, layer = narrow_to_target(model, target, layer)
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 4:
        raise InputError(f"X has shape {X.shape}; expected images (n, C, H, W)")
    default = methods is None
    names = list(METHODS) if default else check_methods(methods)
    skipped = {}
    for method in names:
        reason = cannot_run(model, method, layer=layer)
        if reason is None:
            continue
        if not default:
            raise ModelError(f"method {method!r} cannot run on this model: {reason}")
        log.warning("%s skipped: %s", method, reason)
        skipped[method] = reason
    names = [m for m in names if m not in skipped]
    targets = _targets(model, X, target, batch_size, device)
    options = dict(
        mean=mean,
        std=std,
        baseline=baseline,
        steps=steps,
        n_samples=n_samples,
        noise=noise,
        window=window,
        stride=stride,
        layer=layer,
        seed=seed,
    )
    settings = {
        m: method_settings(model, m, X.shape, **{k: options[k] for k in SETTINGS}) for m in names
    }
    maps = {}
    for method in progress_bar(names, desc="methods", progress=progress):

        def one(rows, t, method=method):
            return attribute_images(
                model,
                rows,
                method,
                target=t,
                batch_size=batch_size,
                device=device,
                progress=progress,
                **options,
            )

        maps[method] = _grouped(X, targets, one)
    return ImageExplanation(maps=maps, target=targets, settings=settings, skipped=skipped)


# ----------------------------------------------------------------------------- evaluation


def faithfulness_reduce(method: str) -> str:
    """How pixels are ranked for ``method``'s deletion / insertion curves: by |map| for the
    gradient magnitudes (saliency, SmoothGrad: their sign is a direction, not a contribution),
    by the signed sum over channels for the rest."""
    return "abs" if method in ("saliency", "smoothgrad") else "sum"


#: Columns of :attr:`ImageFaithfulness.summary`.
FAITHFULNESS_COLUMNS = (
    "method",
    "deletion AUC",
    "random deletion AUC",
    "images better (deletion)",
    "insertion AUC",
    "random insertion AUC",
    "images better (insertion)",
)


def image_faithfulness(
    model,
    X,
    maps,
    *,
    target,
    names=None,
    mean=None,
    std=None,
    patch: int = 1,
    eval_steps: int = 50,
    n_random: int = 3,
    batch_size=None,
    device=None,
    progress=None,
    seed=0,
) -> ImageFaithfulness:
    """Deletion / insertion curves of each method's maps against random orderings.

    Pixels are removed towards the black image (normalised as the input is) and put back into
    a blurred copy, in each map's order (:func:`faithfulness_reduce`); the score is the softmax
    probability of the explained class (docs/evaluate.md).

    Parameters
    ----------
    model : torch.nn.Module
    X : numpy.ndarray, shape (n, C, H, W)
        Normalised images.
    maps : dict of str to array, shape (n, C, H, W)
        Method -> maps (:attr:`ImageExplanation.maps`).
    target : int, array of n ints or Target
        The output scored (the one the maps explain; a Target as in :func:`explain_images`).
    names : list of str, optional
        Image names for the table (default ``0..n-1``).
    mean, std : sequence of float, optional
        The model's input normalisation (for the black image).
    patch : int, default 1
        Square patches of ``patch x patch`` pixels are removed together.
    eval_steps : int, default 50
        Points on each curve (features changed in equal steps).
    n_random : int, default 3
        Random orderings compared with each map.
    batch_size, device, progress
        As in :func:`seqsal.evaluate.faithfulness`.
    seed : int, default 0
        Seeds the random orderings.

    Returns
    -------
    ImageFaithfulness
    """
    import pandas as pd

    from seqsal.evaluate.faithfulness import faithfulness

    model, target, _ = narrow_to_target(model, target)
    X = np.asarray(X, dtype=np.float32)
    black = black_image(X.shape[1], mean=mean, std=std)
    results, per_image, rows = {}, [], []
    for method, array in maps.items():
        result = faithfulness(
            model,
            X,
            array,
            target=target,
            baseline=black,
            start="blur",
            patch=patch,
            reduce=faithfulness_reduce(method),
            steps=eval_steps,
            n_random=n_random,
            batch_size=batch_size,
            device=device,
            progress=progress,
            seed=seed,
        )
        results[method] = result
        table = result.table(names)
        table.insert(0, "method", method)
        per_image.append(table)
        d, i = result.deletion.summary(), result.insertion.summary()
        rows.append(
            [
                method,
                d["auc"],
                d["random_auc"],
                d["fraction_better"],
                i["auc"],
                i["random_auc"],
                i["fraction_better"],
            ]
        )
    settings = {
        "patch": patch,
        "eval_steps": eval_steps,
        "n_random": n_random,
        "deletion_reference": "black",
        "insertion_start": "blur",
    }
    return ImageFaithfulness(
        results=results,
        table=pd.concat(per_image, ignore_index=True),
        summary=pd.DataFrame(rows, columns=list(FAITHFULNESS_COLUMNS)),
        settings=settings,
    )


def image_sanity(
    model,
    X,
    methods,
    *,
    target,
    mean=None,
    std=None,
    baseline: str = "black",
    steps: int = 32,
    n_samples: int = 25,
    noise: float = 0.15,
    window=None,
    stride=None,
    layer=None,
    batch_size=None,
    device=None,
    progress=None,
    seed=0,
) -> ImageSanity:
    """The model parameter randomisation test of each method, with its image settings.

    Each method's maps are recomputed with the same settings (:func:`attribute_images`) on
    copies of the model whose layers are re-initialised from the top down, cascading and one
    at a time (:func:`seqsal.evaluate.parameter_randomization`), and compared with the
    trained model's.

    Parameters
    ----------
    model : torch.nn.Module
        Never modified.
    X : numpy.ndarray, shape (n, C, H, W)
    methods : sequence of str
        From :data:`METHODS` (e.g. the keys of :attr:`ImageExplanation.maps`).
    target : int, array of n ints or Target
        Kept fixed for every randomised model (a Target as in :func:`explain_images`).
    mean, std, baseline, steps, n_samples, noise, window, stride, layer, batch_size, device, progress, seed
        As in :func:`explain_images`; ``seed`` also seeds the re-initialisation.

    Returns
    -------
    ImageSanity
    """
    import pandas as pd

    from seqsal.evaluate.sanity import MODES, parameter_randomization

    model, target, layer = narrow_to_target(model, target, layer)
    X = np.asarray(X, dtype=np.float32)
    names = check_methods(methods)
    options = dict(
        mean=mean,
        std=std,
        baseline=baseline,
        steps=steps,
        n_samples=n_samples,
        noise=noise,
        window=window,
        stride=stride,
        layer=layer,
        seed=seed,
    )
    tables = []
    for method in names:

        def function(module, rows, t, method=method):
            return attribute_images(
                module,
                rows,
                method,
                target=t,
                batch_size=batch_size,
                device=device,
                progress=progress if module is model else False,
                **options,
            )

        table = parameter_randomization(
            model,
            X,
            function,
            target=target,
            batch_size=batch_size,
            device=device,
            progress=progress,
            seed=seed,
        )
        table.insert(0, "method", method)
        tables.append(table)
    table = pd.concat(tables, ignore_index=True)
    last = table[table["mode"] == "cascading"].groupby("method", sort=False).tail(1)
    worst = float(last["spearman_abs"].max()) if len(last) else float("nan")
    return ImageSanity(
        table=table, fully_randomised=worst, settings={"modes": list(MODES), "seed": seed}
    )

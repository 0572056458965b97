"""The DNA layer over the attribution core: hypothetical and projected contributions.

``seqsal.attribution`` explains any input; this module knows that the input is one-hot DNA
``(n, 4, L)`` (rows A, C, G, T; an all-zero column is N) and turns the core's results into the
two arrays that motif tools read (definitions in docs/formats.md):

* **hypothetical** contributions ``(n, 4, L)``: for every position and every base, the
  contribution that base would make if it stood there;
* **projected** contributions ``hypothetical * X``: the contribution of the base actually
  present (zero on the other three rows).

On top of that it adds what DNA models need: the gradient correction of Majdandzic et al.
(2023), reverse-complement averaging, dinucleotide-shuffled references for Integrated
Gradients, in-silico saturation mutagenesis (ISM), and zero attribution on N.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, cast

import numpy as np

from seqsal.errors import InputError, ModelError, first_line
from seqsal.sequence.onehot import reverse_complement, reverse_complement_codes

if TYPE_CHECKING:
    import pandas as pd
    import torch
    from torch import nn

    from seqsal.attribution._targets import SingleTarget
    from seqsal.attribution._types import Device, Inputs
    from seqsal.attribution.baselines import BaselineLike
    from seqsal.io.fasta import Genome
    from seqsal.models.load import LoadedModel

#: A numpy array or a torch tensor, returned as the same type.
_ArrayT = TypeVar("_ArrayT", np.ndarray, "torch.Tensor")

log = logging.getLogger(__name__)

METHODS = ("auto", "ig", "deepshap", "saliency", "grad_x_input", "smoothgrad", "ism")
"""Methods :func:`attribute_dna` offers; ``"auto"`` is the default (:func:`resolve_method`)."""

#: The references each method draws when ``baseline`` is None (the CLI's and the workflow's
#: default): DeepSHAP's 20 shuffles are the field's default (tangermeme, ChromBPNet) and won
#: the comparison in docs/attribution.md ("Choosing the default"); IG keeps its 10.
DEFAULT_BASELINES = {"deepshap": "shuffle:20", "ig": "shuffle:10"}

GRADIENT_METHODS = ("ig", "saliency", "grad_x_input", "smoothgrad")
"""Methods whose hypothetical contributions come from gradients (gradient correction applies)."""

DEFAULT_SHUFFLES = 10

#: Methods that draw references (``baseline``) and report a convergence delta.
REFERENCE_METHODS = ("ig", "deepshap")

#: :func:`attribute_to_store` logs a warning when a DeepSHAP ``|delta|`` exceeds this (in the
#: target's units; tangermeme's threshold): the contributions should add up to
#: ``f(x) - mean f(r)`` to rounding, so the model holds an operation DeepLIFT treats wrongly.
DEEPSHAP_DELTA_WARNING = 1e-3


class DNAAttribution(NamedTuple):
    """Attributions of one-hot DNA.

    Attributes
    ----------
    hypothetical : np.ndarray, float32, shape (n, 4, L)
        Contribution each base would make at each position; zero on N columns.
    projected : np.ndarray, float32, shape (n, 4, L)
        ``hypothetical * X``: the contribution of the base present.
    delta : np.ndarray of shape (n,) or None
        For IG, the completeness delta of the projected contributions,
        ``projected.sum() - (f(x) - mean_k f(reference_k))`` per example; None otherwise.
    """

    hypothetical: np.ndarray
    projected: np.ndarray
    delta: np.ndarray | None


# --------------------------------------------------------------------------------------------
# small building blocks


def as_onehot(X: Inputs, name: str = "X") -> torch.Tensor:
    """Return ``X`` as a float32 CPU torch tensor ``(n, 4, L)`` after checking it is one-hot.

    Raises
    ------
    InputError
        If ``X`` is not ``(n, 4, L)`` or holds values other than 0/1 or two bases in a column.
    """
    import torch

    from seqsal.sequence.onehot import codes_from_onehot

    shape = tuple(getattr(X, "shape", ()))
    if len(shape) != 3 or shape[1] != 4 or shape[0] == 0 or shape[2] == 0:
        raise InputError(f"{name} has shape {shape}; expected (n, 4, L) one-hot DNA with n, L >= 1")
    codes_from_onehot(X, name=name)  # validates values
    if isinstance(X, np.ndarray):
        X = torch.from_numpy(np.ascontiguousarray(X))
    return X.detach().to(device="cpu", dtype=torch.float32)


def correct_gradients(G: _ArrayT) -> _ArrayT:
    """Gradient correction (Majdandzic et al. 2023): subtract the per-position mean over bases.

    One-hot inputs live on the simplex ``sum_b x[b, i] = 1``; the gradient component
    orthogonal to it (the same value on all four bases) cannot change a valid sequence and
    only adds noise to the map.  Removing it leaves every per-position sum zero.

    Parameters
    ----------
    G : torch.Tensor or np.ndarray, shape (..., 4, L)

    Returns
    -------
    Same type and shape as ``G``.
    """
    return (
        G - G.mean(-2, keepdims=True)
        if isinstance(G, np.ndarray)
        else G - G.mean(dim=-2, keepdim=True)
    )


def zero_n_columns(H: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """Set the columns of ``H`` where ``X`` is N (an all-zero column) to zero.

    Parameters
    ----------
    H, X : torch.Tensor, shape (n, 4, L)
    """
    known = (X.sum(dim=-2, keepdim=True) > 0).to(H.dtype)
    return H * known


def hypothetical_from_ig(
    attributions: torch.Tensor, gradients: torch.Tensor, X: torch.Tensor
) -> torch.Tensor:
    """Hypothetical contributions of Integrated Gradients, in the DeepLIFT/SHAP convention.

    For one reference ``r`` with path-averaged gradient (multiplier) ``m``, the hypothetical
    contribution of base ``b`` at position ``i`` is the IG contribution position ``i`` would
    make if ``b`` stood there: ``sum_b' m[b', i] (e_b - r)[b', i] = m[b, i] - sum_b' m[b', i]
    r[b', i]``, averaged over the references (ChromBPNet's ``combine_mult_and_diffref``).
    Written with the averaged quantities only:

    ``hyp[b, i] = M[b, i] - sum_b' M[b', i] X[b', i] + sum_b' A[b', i]``

    with ``M`` the reference-averaged multipliers and ``A`` the IG attributions.  At the base
    present this is ``sum_b' A[b', i]``, so projected contributions keep IG's completeness.

    Parameters
    ----------
    attributions : torch.Tensor, shape (n, 4, L)
        IG attributions ``mean_k m_k * (x - r_k)``.
    gradients : torch.Tensor, shape (n, 4, L)
        Reference-averaged multipliers ``mean_k m_k``.
    X : torch.Tensor, shape (n, 4, L)
    """
    return (
        gradients - (gradients * X).sum(dim=1, keepdim=True) + attributions.sum(dim=1, keepdim=True)
    )


def shuffled_references(
    X: Inputs, k: int = DEFAULT_SHUFFLES, *, seed: int | None = None
) -> np.ndarray:
    """``k`` dinucleotide-shuffled references per sequence, shape ``(n, k, 4, L)``.

    Shuffles keep each sequence's exact dinucleotide counts (so GC and CpG content) and N
    positions; they depend on ``seed``, the sequence and the shuffle index only, so any
    chunking of the data gives the same references.  They are also strand-consistent: the
    shuffles of ``revcomp(x)`` are the reverse complements of the shuffles of ``x`` (each
    sequence is shuffled in its canonical orientation, the lexicographically smaller of the
    two strands), so attributions of the two strands of a window agree.

    Parameters
    ----------
    X : np.ndarray or torch.Tensor, shape (n, 4, L)
    k : int, default 10
    seed : int, optional

    Returns
    -------
    np.ndarray, float32, shape (n, k, 4, L)
    """
    from seqsal.sequence.onehot import codes_from_onehot
    from seqsal.sequence.shuffle import dinucleotide_shuffle

    X = X.numpy() if hasattr(X, "numpy") else np.asarray(X)
    codes = codes_from_onehot(X).astype(np.int16)
    rc_codes = reverse_complement_codes(codes)
    # first differing position decides which strand is canonical
    differs = codes != rc_codes
    first = np.argmax(differs, axis=1)
    rows = np.arange(len(codes))
    flip = differs.any(axis=1) & (rc_codes[rows, first] < codes[rows, first])
    canonical = np.where(flip[:, None, None], reverse_complement(X), X)
    shuffles = dinucleotide_shuffle(canonical, n=k, seed=seed)
    return np.where(flip[:, None, None, None], reverse_complement(shuffles), shuffles)


def resolve_method(method: str, model: Any) -> str:
    """The method ``method`` stands for on ``model``.

    ``"auto"`` (the default everywhere) is ``"deepshap"`` when every leaf module of the model
    (of each member of an ensemble) is linear or has a DeepLIFT rule, and ``"ig"`` otherwise
    (a TorchScript model, a LayerNorm, a custom activation), with a warning saying why: on
    the benchmarks of docs/attribution.md ("Choosing the default") DeepSHAP with 20 shuffles
    had the highest seqlet recall at a seventh of IG's default cost per region.  Any other
    method is returned as it is.

    Raises
    ------
    seqsal.errors.InputError
        ``method`` is not one of :data:`METHODS`.
    """
    if method not in METHODS:
        raise InputError(f"method={method!r}; expected one of {list(METHODS)}")
    if method != "auto":
        return method
    from seqsal.attribution.deeplift import check_supported
    from seqsal.models.ensemble import MeanOutput

    module = getattr(model, "module", model)
    members = module.members if isinstance(module, MeanOutput) else [module]
    try:
        for member in members:
            check_supported(member)
    except ModelError as err:
        reason = re.sub(r"[;:] use another method.*$", "", str(err))
        log.warning("method auto: %s; running ig instead (about 7x the time per region)", reason)
        return "ig"
    return "deepshap"


def default_baseline(method: str, baseline: BaselineLike | None) -> BaselineLike:
    """``baseline``, or the method's default references (:data:`DEFAULT_BASELINES`) when None."""
    if baseline is not None:
        return baseline
    return DEFAULT_BASELINES.get(method, f"shuffle:{DEFAULT_SHUFFLES}")


def parse_baseline(baseline: object) -> tuple[str, int | None]:
    """Split a baseline spec into ``(kind, k)``: "zeros", "uniform", "shuffle:K" or other.

    Returns ``("shuffle", K)`` for ``"shuffle"`` / ``"shuffle:K"``, ``("zeros", 1)``,
    ``("uniform", 1)``, and ``("given", None)`` for numbers, arrays and callables.
    """
    if isinstance(baseline, str):
        text = baseline.strip().lower()
        if text in ("zeros", "uniform"):
            return text, 1
        match = re.fullmatch(r"shuffle(?::(\d+))?", text)
        if match:
            k = int(match.group(1)) if match.group(1) else DEFAULT_SHUFFLES
            if k < 1:
                raise InputError(f"baseline={baseline!r}; shuffle:K needs K >= 1")
            return "shuffle", k
        raise InputError(
            f"baseline={baseline!r}; expected 'zeros', 'uniform', 'shuffle' or 'shuffle:K' "
            "(K dinucleotide-shuffled references per sequence), a number, an array or a callable"
        )
    return "given", None


def dna_references(
    baseline: BaselineLike, X: torch.Tensor, *, seed: int | None = None
) -> torch.Tensor:
    """References for IG on DNA as a float32 tensor ``(n, k, 4, L)``.

    Parameters
    ----------
    baseline : str, float, array or callable
        ``"shuffle:K"`` (K dinucleotide shuffles of each sequence, seeded), ``"zeros"``,
        ``"uniform"`` (0.25 everywhere), or anything
        :func:`seqsal.attribution.resolve_baseline` accepts.
    X : torch.Tensor, shape (n, 4, L)
    seed : int, optional
        Seeds the shuffles.
    """
    import torch

    from seqsal.attribution import resolve_baseline

    kind, k = parse_baseline(baseline)
    if kind == "shuffle" and k is not None:
        return torch.from_numpy(shuffled_references(X.numpy(), k, seed=seed))
    if kind == "uniform":
        baseline = 0.25
    return resolve_baseline(baseline, X)


# --------------------------------------------------------------------------------------------
# the passes: one strand each


def _probed_model(model):
    """Wrap ``model`` so that IG on 12 input rows also returns the averaged multipliers.

    Rows 0-3 carry the sequence path ``r + a (x - r)``; rows 4-7 (``u``) and 8-11 (``v``) both
    run from 0 to 1 and enter as ``u - v``, which is exactly zero everywhere on the path: the
    model sees the path point itself, and the IG attribution of rows 4-7 is ``1 * mean_k m_k``,
    the reference-averaged path gradient.  The attributions of ``u`` and ``v`` cancel in the
    sum, so the completeness delta is IG's own.
    """
    from torch import nn

    class Probed(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, z):
            return self.inner(z[:, :4] + (z[:, 4:8] - z[:, 8:12]))

    return Probed(model)


def _ig_pass(model, X, references, *, target, steps, rule, correction, core_kwargs):
    """Hypothetical contributions and IG delta of one strand; see :func:`hypothetical_from_ig`."""
    import torch

    from seqsal.attribution import integrated_gradients

    n, k = references.shape[:2]
    column_sums = references.sum(dim=2)  # (n, k, L)
    if (
        correction
        and k > 1
        and not torch.equal(column_sums, column_sums[:, :1].expand_as(column_sums))
    ):
        # The corrected contributions need each reference's column sums; do one at a time.
        parts = [
            _ig_pass(
                model,
                X,
                references[:, j : j + 1],
                target=target,
                steps=steps,
                rule=rule,
                correction=True,
                core_kwargs=core_kwargs,
            )
            for j in range(k)
        ]
        return (
            sum(p[0] for p in parts) / k,
            sum(p[1] for p in parts) / k,
            sum(p[2] for p in parts) / k,
        )
    ones = torch.ones_like(X)
    probed_input = torch.cat([X, ones, ones], dim=1)
    zeros = torch.zeros((n, k, 8, X.shape[2]), dtype=references.dtype)
    probed_references = torch.cat([references, zeros], dim=2)
    result = integrated_gradients(
        _probed_model(model),
        probed_input,
        target=target,
        baseline=probed_references,
        steps=steps,
        rule=rule,
        **core_kwargs,
    )
    attributions, gradients = result.attributions[:, :4], result.attributions[:, 4:8]
    ig_sum = attributions.sum(dim=(1, 2))
    if correction:
        # Correct every multiplier m_k; the attributions then change by
        # -mean_b(m_k) * (sum_b x - sum_b r_k) per position, with sum_b r_k the same for all k.
        shift = gradients.mean(dim=1, keepdim=True)
        gradients = gradients - shift
        attributions = attributions - shift * (X.sum(dim=1, keepdim=True) - column_sums[:, :1]) / 4
    return hypothetical_from_ig(attributions, gradients, X), result.delta, ig_sum


def _deepshap_pass(model, X, references, *, target, core_kwargs):
    """Hypothetical contributions and delta of one strand by DeepSHAP (tangermeme's convention)."""
    from seqsal.attribution.deeplift import deepshap

    result = deepshap(
        model, X, target=target, baseline=references, hypothetical=True, **core_kwargs
    )
    return result.attributions, result.delta


def _gradient_pass(model, X, *, method, target, n_samples, noise, seed, core_kwargs):
    """Gradient of the target (or its SmoothGrad average) for one strand, shape (n, 4, L)."""
    import torch

    from seqsal.attribution import saliency
    from seqsal.attribution.smoothgrad import content_seed, smoothgrad, smoothgrad_noise

    if method != "smoothgrad":
        return saliency(model, X, target=target, **core_kwargs)
    if seed is None:
        noise_array = smoothgrad_noise(X, n_samples=n_samples, noise=noise, seed=None)
    else:
        noise_array = torch.cat(
            [
                smoothgrad_noise(
                    X[i : i + 1], n_samples=n_samples, noise=noise, seed=content_seed(seed, X[i])
                )
                for i in range(X.shape[0])
            ]
        )
    return smoothgrad(model, X, method=saliency, target=target, noise=noise_array, **core_kwargs)


def ism(
    model: nn.Module,
    X: Inputs,
    *,
    target: SingleTarget = 0,
    target_names: Sequence[str] | None = None,
    batch_size: int | None = None,
    device: Device = None,
    progress: bool | None = None,
    max_memory: int | None = None,
) -> np.ndarray:
    """In-silico saturation mutagenesis: the output change of every single-base substitution.

    Every position of every sequence is set to each of the three other bases and the model is
    run on the mutant (``3 L`` forward passes per sequence, batched by the core's
    :func:`seqsal.attribution.perturbation.evaluate_perturbed`).  Exact for any model, with no
    gradient approximation, but costs ``3 L`` passes; prefer IG for long windows.

    Parameters
    ----------
    model : torch.nn.Module
    X : np.ndarray or torch.Tensor, shape (n, 4, L)
        One-hot DNA.
    target, target_names, batch_size, device, progress, max_memory
        As in :func:`seqsal.attribution.saliency`; ``batch_size`` counts mutants per call.

    Returns
    -------
    np.ndarray, float32, shape (n, 4, L)
        ``f(x with base b at i) - f(x)``; zero at the base present.  At an N column the
        three bases other than A are tried and A is left at zero (N columns are zeroed by
        :func:`attribute_dna`).
    """
    import torch

    from seqsal.attribution.perturbation import evaluate_perturbed

    X = as_onehot(X)
    if isinstance(target, (list, tuple)):
        raise InputError(f"target={target!r}; the DNA layer explains one target at a time")
    n, _, length = X.shape
    present = X.argmax(dim=1)  # (n, L); N columns read as A
    on_device: dict[torch.device, torch.Tensor] = {}

    def perturb(rows, example, index):
        codes = on_device.setdefault(rows.device, present.to(rows.device))
        position = index // 3
        base = (codes[example, position] + 1 + index % 3) % 4
        m = torch.arange(rows.shape[0], device=rows.device)
        rows[m, :, position] = 0
        rows[m, base, position] = 1
        return rows

    result = evaluate_perturbed(
        model,
        X,
        perturb,
        3 * length,
        target=target,
        target_names=target_names,
        batch_size=batch_size,
        device=device,
        progress=progress,
        max_memory=max_memory,
    )
    change = (result.perturbed - result.reference[:, None]).view(n, length, 3)
    out = torch.zeros((n, 4, length), dtype=torch.float32)
    for j in range(3):
        base = (present + 1 + j) % 4  # (n, L)
        out.scatter_(1, base[:, None, :], change[:, :, j][:, None, :])
    return out.numpy()


# --------------------------------------------------------------------------------------------
# the public entry point


def attribute_dna(
    model: nn.Module,
    X: Inputs,
    *,
    method: str = "auto",
    target: SingleTarget = 0,
    target_names: Sequence[str] | None = None,
    steps: int = 32,
    rule: str = "riemann_middle",
    baseline: BaselineLike | None = None,
    correction: bool = True,
    rc_average: bool = False,
    n_samples: int = 25,
    noise: float = 0.15,
    batch_size: int | None = None,
    device: Device = None,
    progress: bool | None = None,
    seed: int | None = None,
    max_memory: int | None = None,
) -> DNAAttribution:
    """Hypothetical and projected contributions of one-hot DNA for one model output.

    Parameters
    ----------
    model : torch.nn.Module
        ``model(X) -> (n, T)`` or ``(n,)``, or several heads (tuple, dict, namedtuple) of
        ``(n,)``, ``(n, T)``, ``(n, C, L')``; its device and train/eval state are restored.
        An ensemble's module (:class:`seqsal.models.ensemble.MeanOutput`) is explained by the
        mean of its members' attributions (see Notes).
    X : np.ndarray or torch.Tensor, shape (n, 4, L)
        One-hot DNA, rows A, C, G, T; an all-zero column is N and gets zero attribution.
    method : {"auto", "ig", "deepshap", "saliency", "grad_x_input", "smoothgrad", "ism"}, default "auto"
        ``"auto"``: ``"deepshap"`` when the model's modules allow it, else ``"ig"``
        (:func:`resolve_method`; chosen by measurement, docs/attribution.md).  ``"ig"``:
        Integrated Gradients, contributions that add up to ``f(x) - f(reference)`` up to the
        quadrature error.  ``"deepshap"``: DeepLIFT averaged over the
        references (:func:`seqsal.attribution.deepshap`), contributions that add up exactly
        at the cost of one gradient pass per reference; hypothetical contributions as
        tangermeme's ``deep_lift_shap(hypothetical=True)``; ``correction`` is not applied
        (with one-hot references it would change nothing).  ``"saliency"`` and ``"grad_x_input"``: one
        gradient; for one-hot DNA both give hypothetical = gradient (grad x input is its
        projection).  ``"smoothgrad"``: gradient averaged over noisy copies.  ``"ism"``:
        saturation mutagenesis, exact but ``3 L`` passes per sequence.
    target : int, str, Target or callable, default 0
        The output explained (one target; see :func:`seqsal.attribution.resolve_targets`):
        for a model with several heads or a position axis, a
        :class:`seqsal.attribution.Target` (head, channel, reduction, positions).
    target_names : list of str, optional
    steps : int, default 32
        IG quadrature points per reference.
    rule : str, default "riemann_middle"
        IG quadrature rule (``seqsal.attribution.RULES``).
    baseline : str, float, array, callable or None, default None
        IG and DeepSHAP references (None: the method's default, :data:`DEFAULT_BASELINES`:
        ``"shuffle:20"`` for DeepSHAP, ``"shuffle:10"`` for IG): ``"shuffle:K"`` (K dinucleotide shuffles per sequence, seeded: the
        ChromBPNet/DeepLIFT practice), ``"zeros"``, ``"uniform"`` (0.25), a number, an array
        ``(n, 4, L)`` or ``(n, k, 4, L)``, or a callable ``f(X) -> (n, k, 4, L)``.
    correction : bool, default True
        Gradient correction (Majdandzic et al. 2023): subtract the per-position mean over bases
        from the gradients before anything else.  For IG it is applied to each reference's
        multipliers; with one-hot references (shuffles) it changes nothing, since
        ``x - r`` sums to zero per position.  Ignored by ISM, whose scores are always centred.
    rc_average : bool, default False
        Also attribute the reverse complement, map its attributions back to the forward
        strand, and average the two (IG references are reverse complemented with it).
    n_samples, noise : int, float
        SmoothGrad's noisy copies per sequence and noise level (fraction of the 0-1 range).
    batch_size, device, progress, max_memory
        As in :func:`seqsal.attribution.saliency`.  Results do not depend on ``batch_size``.
    seed : int, optional
        Seeds the shuffled references and SmoothGrad's noise, per sequence content, so the
        same sequences give the same result in any chunking.  None is not reproducible.

    Returns
    -------
    DNAAttribution
        ``hypothetical`` and ``projected`` (float32 numpy, ``(n, 4, L)``) and ``delta``
        (``(n,)`` for IG and DeepSHAP: ``sum(projected) - (f(x) - mean_k f(r_k))``, else None).

    Notes
    -----
    Hypothetical contributions per method (docs/formats.md has the full definitions):
    gradient methods use the (corrected) gradient; IG uses the DeepLIFT/SHAP convention
    (:func:`hypothetical_from_ig`); ISM uses ``delta_b - mean_b' delta_b'``, so the projected
    value of the base present is minus the mean effect of mutating it.

    An ensemble (:mod:`seqsal.models.ensemble`) is explained member by member with the same
    target, references and seeds, and the hypothetical and projected contributions and the IG
    delta are averaged: the mean of the members' attributions, as averaging per-fold
    contribution files gives.  It is not the attribution of the mean output whenever the
    target is not linear in the output: the profile target weights each member by its own
    softmax, not by the softmax of the mean logits.  The mean IG delta is the completeness delta
    of the averaged contributions against the mean output.
    """
    import torch

    from seqsal.models.ensemble import MeanOutput

    method = resolve_method(method, model)
    baseline = default_baseline(method, baseline)
    if isinstance(target, (list, tuple)):
        raise InputError(
            f"target={target!r}; the DNA layer explains one target at a time (run it once per target)"
        )
    X = as_onehot(X)
    if isinstance(model, MeanOutput):
        settings: dict[str, Any] = dict(
            method=method,
            target=target,
            target_names=target_names,
            steps=steps,
            rule=rule,
            baseline=baseline,
            correction=correction,
            rc_average=rc_average,
            n_samples=n_samples,
            noise=noise,
            batch_size=batch_size,
            device=device,
            progress=progress,
            seed=seed,
            max_memory=max_memory,
        )
        if method in REFERENCE_METHODS:
            # the same references for every member, even unseeded or from a callable
            settings["baseline"] = dna_references(baseline, X, seed=seed)
        return _mean_attribution([attribute_dna(m, X, **settings) for m in model.members])
    core_kwargs: dict[str, Any] = {
        "target_names": target_names,
        "batch_size": batch_size,
        "device": device,
        "progress": progress,
        "max_memory": max_memory,
    }
    strands = [X, reverse_complement(X)] if rc_average else [X]

    delta = None
    if method == "ig":
        references = dna_references(baseline, X, seed=seed)
        results = []
        for s, strand_x in enumerate(strands):
            strand_refs = references if s == 0 else reverse_complement(references)
            results.append(
                _ig_pass(
                    model,
                    strand_x,
                    strand_refs,
                    target=target,
                    steps=steps,
                    rule=rule,
                    correction=correction,
                    core_kwargs=core_kwargs,
                )
            )
        hyps = [r[0] for r in results]
        ig_delta = sum(r[1] for r in results) / len(results)
        ig_sum = sum(r[2] for r in results) / len(results)
    elif method == "deepshap":
        references = dna_references(baseline, X, seed=seed)
        results = [
            _deepshap_pass(
                model,
                strand_x,
                references if s == 0 else reverse_complement(references),
                target=target,
                core_kwargs=core_kwargs,
            )
            for s, strand_x in enumerate(strands)
        ]
        hyps = [r[0] for r in results]
        delta = (sum(r[1] for r in results) / len(results)).numpy().astype(np.float32)
    elif method == "ism":
        hyps = [
            torch.from_numpy(correct_gradients(ism(model, strand_x, target=target, **core_kwargs)))
            for strand_x in strands
        ]
    else:
        hyps = []
        for strand_x in strands:
            G = _gradient_pass(
                model,
                strand_x,
                method=method,
                target=target,
                n_samples=n_samples,
                noise=noise,
                seed=seed,
                core_kwargs=core_kwargs,
            )
            hyps.append(correct_gradients(G) if correction else G)

    hypothetical = hyps[0] if not rc_average else (hyps[0] + reverse_complement(hyps[1])) / 2
    hypothetical = zero_n_columns(hypothetical, X)
    projected = hypothetical * X
    if method == "ig":
        # delta of what is returned: IG's delta plus whatever correction and N zeroing moved
        delta = (ig_delta + projected.sum(dim=(1, 2)) - ig_sum).numpy().astype(np.float32)
    return DNAAttribution(
        hypothetical.numpy().astype(np.float32, copy=False),
        projected.numpy().astype(np.float32, copy=False),
        delta,
    )


def _mean_attribution(parts: Sequence[DNAAttribution]) -> DNAAttribution:
    """The mean of the members' attributions of an ensemble, array by array."""

    def mean(arrays: list[np.ndarray]) -> np.ndarray:
        return np.mean(np.stack(arrays).astype(np.float64), axis=0).astype(np.float32)

    deltas = [p.delta for p in parts if p.delta is not None]
    return DNAAttribution(
        mean([p.hypothetical for p in parts]),
        mean([p.projected for p in parts]),
        mean(deltas) if len(deltas) == len(parts) else None,
    )


# --------------------------------------------------------------------------------------------
# regions of a genome -> attribution store, streamed


class StoreSummary(NamedTuple):
    """What :func:`attribute_to_store` wrote.

    Attributes
    ----------
    path : pathlib.Path
        The store.
    n_regions : int
        Windows attributed.
    method : str
    median_abs_delta : float or None
        Median over windows of ``|completeness delta|`` (IG, DeepSHAP), else None.
    seconds : float
        Wall time.
    n_skipped : int
        Regions left out for non-finite values (``nonfinite="skip"``).
    """

    path: object
    n_regions: int
    method: str
    median_abs_delta: float | None
    seconds: float
    n_skipped: int = 0


#: Store attributes that record a :class:`seqsal.attribution.Target` beyond ``target``: the
#: head, the reduction over positions and the position range ("" when not chosen).  Written
#: only for a Target, so stores of plain targets keep their attributes.
TARGET_ATTRS = ("output", "reduce", "positions")


def target_attrs(target: Any, target_names: Sequence[str] | None = None) -> dict[str, Any]:
    """The store attributes that say which scalar a store explains.

    ``target`` (the channel's name, else its index as text; for a Target without a channel
    its label, e.g. ``1`` or ``0.profile``) and ``target_index`` (the channel index, -1 when none), and for a
    :class:`seqsal.attribution.Target` also :data:`TARGET_ATTRS` (``output``: the head's
    index or key, ``reduce``, ``positions`` as ``start:end``; "" when not chosen).
    """
    from seqsal.attribution import Target

    channel = target.channel if isinstance(target, Target) else target
    if target_names and isinstance(channel, int) and channel < len(target_names):
        name = target_names[channel]
    elif isinstance(target, Target) and channel is None:
        name = target.label
    elif isinstance(target, Target):
        name = str(channel)
    else:
        name = str(target)
    attrs: dict[str, Any] = {
        "target": name,
        "target_index": channel if isinstance(channel, int) else -1,
    }
    if isinstance(target, Target):
        attrs["output"] = "" if target.output is None else str(target.output)
        attrs["reduce"] = target.reduce or ""
        attrs["positions"] = (
            "" if target.positions is None else f"{target.positions[0]}:{target.positions[1]}"
        )
    return attrs


def stored_target(attrs: Mapping[str, Any]) -> Any:
    """The :class:`seqsal.attribution.Target` a store's attributes record, or None when the
    store explains a plain target (no :data:`TARGET_ATTRS`; its ``target_index`` / ``target``
    say which)."""
    from seqsal.attribution import Target

    if not any(key in attrs for key in TARGET_ATTRS):
        return None
    output: int | str | None = str(attrs.get("output", "")) or None
    if isinstance(output, str) and output.isdigit():
        output = int(output)
    index = attrs.get("target_index", -1)
    channel = int(index) if isinstance(index, (int, np.integer)) and index >= 0 else None
    positions_text = str(attrs.get("positions", ""))
    positions = None
    if positions_text:
        start, end = positions_text.split(":")
        positions = (int(start), int(end))
    return Target(
        output=output,
        channel=channel,
        reduce=str(attrs.get("reduce", "")) or None,
        positions=positions,
    )


# Seeds the shuffled-control copies apart from the IG reference shuffles of the same run.
CONTROL_SEED_OFFSET = 1_000_003

NONFINITE = ("error", "skip")
"""What :func:`attribute_to_store` does with regions whose output or attributions are not
finite: stop (nothing written) or leave them out (listed in a side table)."""

# Regions named in a non-finite error or warning; the count covers the rest.
_NAMED_REGIONS = 3


def skipped_regions_path(out) -> Path:
    """The side table listing the regions :func:`attribute_to_store` left out for non-finite
    values (``attr.h5`` -> ``attr.skipped.tsv``)."""
    out = Path(out)
    return out.with_name(f"{out.stem}.skipped.tsv")


def _target_outputs(module, X, *, target, target_names, batch_size, device) -> np.ndarray:
    """The explained output of every row of ``X``, shape (n,), float64, by plain forward passes."""
    import torch

    from seqsal._runtime import batch_slices, model_on
    from seqsal.attribution import resolve_targets

    targets = resolve_targets(target, model=module, target_names=target_names)
    values = []
    with model_on(module, device) as dev, torch.no_grad():
        for rows in batch_slices(X.shape[0], batch_size or 256):
            output = module(X[rows].to(dev))
            values.append(targets.select(output, 0).detach().double().cpu().numpy().reshape(-1))
    return np.concatenate(values)


def _nonfinite_rows(module, X, result: DNAAttribution, *, method, target, target_names, kwargs):
    """Rows of one chunk whose model output or attributions hold NaN or infinity.

    IG's completeness delta and ISM's substitution effects already contain the model's output
    for the window; for the gradient methods the output is computed once more (a gradient can
    be finite where the output is not, e.g. behind ``torch.where``).
    """
    bad = ~np.isfinite(result.hypothetical).all(axis=(1, 2))
    bad |= ~np.isfinite(result.projected).all(axis=(1, 2))
    if result.delta is not None:
        bad |= ~np.isfinite(result.delta)
    if method in ("saliency", "grad_x_input", "smoothgrad"):
        strands = [X, reverse_complement(X)] if kwargs.get("rc_average") else [X]
        for strand in strands:
            outputs = _target_outputs(
                module,
                strand,
                target=target,
                target_names=target_names,
                batch_size=kwargs.get("batch_size"),
                device=kwargs.get("device"),
            )
            bad |= ~np.isfinite(outputs)
    return bad


def attribute_to_store(
    model: LoadedModel | nn.Module,
    genome: Genome | str | os.PathLike,
    windows: pd.DataFrame,
    out: str | os.PathLike,
    *,
    method: str = "auto",
    target: SingleTarget = 0,
    chunk_size: int = 256,
    float16: bool = False,
    provenance: Mapping[str, Any] | None = None,
    progress: bool | None = None,
    shuffle_control: bool = False,
    nonfinite: str = "error",
    **kwargs: Any,
) -> StoreSummary:
    """Attribute genome windows chunk by chunk and stream them to an attribution store.

    Memory holds one chunk of windows (plus the window table), however many there are; the
    store appears under ``out`` only when every window is written.

    Parameters
    ----------
    model : LoadedModel or torch.nn.Module
        A :func:`seqsal.models.load.load_model` result (its targets name the outputs and its
        checksum goes into the provenance) or a bare module.  An
        :class:`seqsal.models.ensemble.Ensemble` is attributed chunk by chunk as the mean of
        its members' attributions (:func:`attribute_dna`); the store records
        ``model_checksum`` (the members' checksums joined by ``","``), ``n_models``,
        ``model_checksums`` and ``model_sources`` (JSON lists, in order).
    genome : Genome or path
        The FASTA the windows come from.
    windows : pandas.DataFrame
        From :func:`seqsal.sequence.windows.make_windows` (all the same width).
    out : path
        The ``.h5`` store.
    method, target : see :func:`attribute_dna`
        ``target`` may be an output name of a LoadedModel.
    chunk_size : int, default 256
        Windows attributed and written at a time (bounds memory; does not change results).
    float16 : bool, default False
        Store the attribution arrays as float16.
    provenance : dict, optional
        Extra attributes for the store (e.g. input file names).
    progress : bool, optional
        A progress bar over windows (None: only on a terminal).
    shuffle_control : bool, default False
        Attribute a dinucleotide-shuffled copy of each window instead of the window itself,
        with the same model, method and settings: the null that seqlet calling compares
        against (:mod:`seqsal.seqlets`).  Coordinates stay those of the source windows;
        ``raw/seq`` holds the shuffled sequence.  The shuffle is seeded by ``seed`` (offset
        so it differs from the IG reference shuffles).
    nonfinite : {"error", "skip"}, default "error"
        What to do with a region whose model output or attributions hold NaN or infinity
        (a model that breaks on some sequences would otherwise poison every later stage
        silently).  ``"error"``: stop with a ModelError naming the first such regions and the
        count; nothing is written.  ``"skip"``: leave them out of the store, log a warning
        naming them, record their number in the store attribute ``n_skipped_nonfinite`` and
        list them (window coordinates) in :func:`skipped_regions_path`.  The model output is
        checked with one extra forward pass per region for saliency, grad_x_input and
        smoothgrad (IG's completeness delta and ISM's effects already contain it).
    **kwargs
        Passed to :func:`attribute_dna` (steps, rule, baseline, correction, rc_average,
        n_samples, noise, batch_size, device, seed, max_memory).

    Returns
    -------
    StoreSummary
    """
    import time

    import torch

    from seqsal._runtime import check_positive_int, progress_bar
    from seqsal.attribution import Target
    from seqsal.io.bed import write_table
    from seqsal.io.store import AttributionStore
    from seqsal.models.ensemble import Ensemble
    from seqsal.sequence.geometry import window_geometry
    from seqsal.sequence.windows import iter_onehot

    began = time.perf_counter()
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    module = cast("nn.Module", getattr(model, "module", model))
    method = resolve_method(method, model)  # once, before anything is written
    if method in REFERENCE_METHODS:
        kwargs["baseline"] = default_baseline(method, kwargs.get("baseline"))
    if nonfinite not in NONFINITE:
        raise InputError(f"nonfinite={nonfinite!r}; expected one of {list(NONFINITE)}")
    if method == "deepshap":  # before anything is written: a module without a DeepLIFT rule
        from seqsal.attribution.deeplift import check_supported

        check_supported(module)
    single_head = bool(getattr(model, "single_head", True))
    # A LoadedModel's targets name the channels of a model returning one tensor only.
    target_names = (list(getattr(model, "targets", None) or []) or None) if single_head else None
    if isinstance(target, str) and target.lstrip("-").isdigit():
        target = int(target)
    target_index = getattr(model, "target_index", None) if single_head else None
    if target_index is not None and isinstance(target, (int, str)):
        target = target_index(target)
    if target_index is not None and isinstance(target, Target) and isinstance(target.channel, str):
        target = dataclasses.replace(target, channel=target_index(target.channel))
    n = len(windows)
    if n == 0:
        raise InputError("no windows to attribute (the regions are empty or all were dropped)")
    geometry = window_geometry(windows, what="windows")
    length = geometry.length
    attrs = {
        "method": method,
        **target_attrs(target, target_names),
        "baseline": str(kwargs["baseline"]) if method in REFERENCE_METHODS else "none",
        "steps": int(kwargs.get("steps", 32)) if method == "ig" else 0,
        "rule": str(kwargs.get("rule", "riemann_middle")) if method == "ig" else "none",
        "correction": bool(kwargs.get("correction", True)) if method in GRADIENT_METHODS else True,
        "rc_average": bool(kwargs.get("rc_average", False)),
        "seed": kwargs.get("seed"),
        "model_checksum": getattr(model, "checksum", "unknown"),
        "model_source": getattr(model, "source", type(module).__name__),
        "hypothetical": "deeplift_shap"
        if method in REFERENCE_METHODS
        else ("ism_centred" if method == "ism" else "gradient"),
    }
    members = model.members if isinstance(model, Ensemble) else None
    if members:
        # an ensemble: model_checksum joins the members' checksums in order (the null check
        # compares it); the lists name every member
        attrs["n_models"] = len(members)
        attrs["model_checksums"] = [m.checksum for m in members]
        attrs["model_sources"] = [m.source for m in members]
    if method == "smoothgrad":
        attrs["n_samples"] = int(kwargs.get("n_samples", 25))
        attrs["noise"] = float(kwargs.get("noise", 0.15))
    attrs["control"] = "dinucleotide_shuffle" if shuffle_control else "none"
    attrs["nonfinite"] = nonfinite
    attrs.update(dict(provenance or {}))
    control_seed = None if kwargs.get("seed") is None else int(kwargs["seed"]) + CONTROL_SEED_OFFSET
    deltas = []
    skipped: list[np.ndarray] = []
    columns = ["chrom", "start", "end", "strand", "name"] + [
        c for c in ("pad_left", "pad_right") if c in windows
    ]
    bar = progress_bar(total=n, desc=f"attribute ({method})", unit="region", progress=progress)
    try:
        with AttributionStore(
            out, length=length, attrs=attrs, float16=float16, with_delta=method in REFERENCE_METHODS
        ) as store:
            first = 0
            for X in iter_onehot(genome, windows, batch_size=chunk_size):
                rows = windows.iloc[first : first + len(X)]
                if shuffle_control:
                    from seqsal.sequence.shuffle import dinucleotide_shuffle

                    X = dinucleotide_shuffle(X, n=1, seed=control_seed)[:, 0]
                try:
                    result = attribute_dna(
                        module,
                        X,
                        method=method,
                        target=target,
                        target_names=target_names,
                        progress=False,
                        **kwargs,
                    )
                except RuntimeError as err:  # a model that cannot take these windows
                    raise ModelError(
                        f"the model failed on windows of {length} bp: {first_line(err)}"
                    ) from err
                bad = _nonfinite_rows(
                    module,
                    torch.as_tensor(X, dtype=torch.float32),
                    result,
                    method=method,
                    target=target,
                    target_names=target_names,
                    kwargs=kwargs,
                )
                if bad.any():
                    bad_rows = first + np.flatnonzero(bad)
                    named = ", ".join(geometry.describe(int(i)) for i in bad_rows[:_NAMED_REGIONS])
                    more = ", ..." if len(bad_rows) > _NAMED_REGIONS else ""
                    if nonfinite == "error":
                        raise ModelError(
                            f"the model gave NaN or infinite outputs or attributions for "
                            f"{len(bad_rows)} of the first {first + len(X)} regions: "
                            f"{named}{more}; nothing was written (nonfinite='skip', "
                            "seqsal attribute --skip-nonfinite, leaves them out)"
                        )
                    log.warning(
                        "left out %d region(s) with NaN or infinite outputs or attributions: %s%s",
                        len(bad_rows),
                        named,
                        more,
                    )
                    skipped.append(bad_rows)
                    keep = np.flatnonzero(~bad)
                    X, rows = X[keep], rows.iloc[keep]
                    result = DNAAttribution(
                        *(None if a is None else a[keep] for a in result)  # type: ignore[arg-type]
                    )
                if len(X):
                    store.append(
                        X,
                        result.hypothetical,
                        projected=result.projected,
                        coords=rows[columns],
                        delta=result.delta,
                    )
                    if result.delta is not None:
                        deltas.append(np.abs(result.delta))
                first += len(bad)
                bar.update(len(X))
            n_skipped = int(sum(len(b) for b in skipped))
            if n_skipped == n:
                raise ModelError(
                    f"the model gave NaN or infinite outputs or attributions for all {n} "
                    "regions; nothing was written"
                )
            store.set_attrs({"n_skipped_nonfinite": n_skipped})
    finally:
        bar.close()
    side = skipped_regions_path(out)
    if skipped:
        table = windows.iloc[np.concatenate(skipped)][columns].reset_index(drop=True)
        write_table(table, side)
        log.warning("the %d region(s) left out are listed in %s", n_skipped, side)
    elif side.is_file():
        side.unlink()  # a stale list from an earlier run of the same store
    median = float(np.median(np.concatenate(deltas))) if deltas else None
    if method == "deepshap" and deltas:
        above = int((np.concatenate(deltas) > DEEPSHAP_DELTA_WARNING).sum())
        if above:
            log.warning(
                "DeepSHAP: %d of %d region(s) have |convergence delta| above %g (largest %.3g): "
                "the contributions do not add up to f(x) - mean f(reference); the model may "
                "hold an operation without a DeepLIFT rule (see docs/attribution.md)",
                above,
                n - n_skipped,
                DEEPSHAP_DELTA_WARNING,
                float(np.concatenate(deltas).max()),
            )
    return StoreSummary(
        store.path, n - n_skipped, method, median, time.perf_counter() - began, n_skipped
    )


__all__ = [
    "DEEPSHAP_DELTA_WARNING",
    "DEFAULT_BASELINES",
    "GRADIENT_METHODS",
    "METHODS",
    "NONFINITE",
    "REFERENCE_METHODS",
    "TARGET_ATTRS",
    "DNAAttribution",
    "StoreSummary",
    "as_onehot",
    "attribute_dna",
    "attribute_to_store",
    "correct_gradients",
    "default_baseline",
    "dna_references",
    "hypothetical_from_ig",
    "ism",
    "parse_baseline",
    "resolve_method",
    "shuffled_references",
    "skipped_regions_path",
    "stored_target",
    "target_attrs",
    "zero_n_columns",
]

"""Tests for the DNA layer: hypothetical/projected contributions, correction, RC, ISM."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _toys import onehot_codes
from torch import nn

from seqsal.dna import (
    METHODS,
    attribute_dna,
    correct_gradients,
    ism,
    shuffled_references,
)
from seqsal.errors import InputError
from seqsal.sequence.onehot import reverse_complement

LENGTH = 24


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(3)
    X = onehot_codes(rng.integers(0, 4, size=(6, LENGTH)))
    X[1, :, 5] = 0  # an N column
    X[4, :, 0:2] = 0  # N padding at the start
    return X


def _model(seed=0, n_out=2):
    """A small smooth (Softplus) CNN: gradients are informative and IG converges fast."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv1d(4, 6, 5, padding=2),
        nn.Softplus(),
        nn.Conv1d(6, 4, 3),
        nn.Softplus(),
        nn.Flatten(),
        nn.Linear(4 * (LENGTH - 2), n_out),
    ).eval()


class StrandSymmetric(nn.Module):
    """model(x) == model(revcomp(x)) by construction: g(x) + g(revcomp(x))."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x) + self.inner(torch.flip(x, dims=(-2, -1)))


@pytest.fixture(scope="module")
def model():
    return _model()


def _f(model, X, target=0):
    with torch.no_grad():
        return model(torch.as_tensor(X)).numpy()[:, target]


def test_ism_equals_brute_force_prediction_differences(model, X):
    got = ism(model, X[:3], target=1, batch_size=17)
    expected = np.zeros_like(got)
    for i in range(3):
        reference = _f(model, X[i : i + 1], 1)[0]
        mutants = np.repeat(X[i : i + 1], 4 * LENGTH, axis=0)  # every base at every position
        for pos in range(LENGTH):
            for base in range(4):
                mutants[4 * pos + base, :, pos] = 0
                mutants[4 * pos + base, base, pos] = 1
        change = (_f(model, mutants, 1) - reference).reshape(LENGTH, 4).T
        expected[i] = np.where(X[i] == 1, 0, change)
    expected[1, 0, 5] = 0  # the N column: A is not tried
    np.testing.assert_allclose(got, expected, atol=1e-5)
    result = attribute_dna(model, X[:3], method="ism", target=1)
    centred = expected - expected.mean(axis=1, keepdims=True)
    centred[1, :, 5] = 0
    np.testing.assert_allclose(result.hypothetical, centred, atol=1e-5)
    np.testing.assert_allclose(result.projected, centred * X[:3], atol=1e-5)


def _captum_multipliers(model, x, reference, steps, target):
    from captum.attr import IntegratedGradients

    ig = IntegratedGradients(model, multiply_by_inputs=False)
    return ig.attribute(
        torch.as_tensor(x),
        baselines=torch.as_tensor(reference),
        target=target,
        n_steps=steps,
        method="riemann_middle",
    ).numpy()


@pytest.mark.parametrize("correction", [False, True])
def test_ig_hypothetical_follows_the_deeplift_shap_convention(model, X, correction):
    """hyp[b, i] = mean_k (m_k[b, i] - sum_b' m_k[b', i] r_k[b', i]), multipliers from captum."""
    X3 = X[:3]
    references = shuffled_references(X3, 3, seed=11)
    result = attribute_dna(
        model,
        X3,
        method="ig",
        baseline="shuffle:3",
        seed=11,
        steps=16,
        target=1,
        correction=correction,
    )
    expected = np.zeros_like(X3)
    for j in range(3):
        m = _captum_multipliers(model, X3, references[:, j], 16, 1)
        if correction:
            m = m - m.mean(axis=1, keepdims=True)
        expected += m - (m * references[:, j]).sum(axis=1, keepdims=True)
    expected /= 3
    expected[1, :, 5] = 0
    np.testing.assert_allclose(result.hypothetical, expected, atol=2e-5)
    # projected sums per position are IG's (completeness kept): compare with the core
    from seqsal.attribution import integrated_gradients

    core = integrated_gradients(model, X3, baseline=references, steps=16, target=1)
    np.testing.assert_allclose(
        result.projected.sum(axis=1), core.attributions.numpy().sum(axis=1), atol=2e-5
    )
    np.testing.assert_allclose(result.delta, core.delta.numpy(), atol=2e-5)


def test_ig_delta_is_completeness_of_what_is_returned(model, X):
    for baseline, correction in (("shuffle:4", True), ("zeros", True), ("zeros", False)):
        result = attribute_dna(
            model,
            X,
            method="ig",
            baseline=baseline,
            seed=0,
            steps=64,
            target=0,
            correction=correction,
        )
        if baseline == "zeros":
            f_ref = _f(model, np.zeros_like(X))
        else:
            refs = shuffled_references(X, 4, seed=0)
            f_ref = np.mean([_f(model, refs[:, j]) for j in range(4)], axis=0)
        expected = result.projected.sum(axis=(1, 2)) - (_f(model, X) - f_ref)
        np.testing.assert_allclose(result.delta, expected, atol=1e-5)
        if baseline.startswith("shuffle") or not correction:
            # exact IG: only quadrature error remains on this smooth model
            assert np.abs(result.delta).max() < 1e-3 * np.abs(_f(model, X) - f_ref).max() + 1e-4


@pytest.mark.parametrize("method", ["ig", "saliency", "smoothgrad", "ism"])
def test_rc_averaging_is_symmetric_for_a_strand_symmetric_model(X, method):
    sym = StrandSymmetric(_model(1)).eval()
    Xr = reverse_complement(X)
    np.testing.assert_allclose(_f(sym, X), _f(sym, Xr), atol=1e-5)
    kw = {"method": method, "seed": 5, "steps": 8, "baseline": "shuffle:2", "n_samples": 4}
    plain = attribute_dna(sym, X, **kw)
    averaged = attribute_dna(sym, X, rc_average=True, **kw)
    on_rc = attribute_dna(sym, Xr, rc_average=True, **kw)
    if method != "smoothgrad":  # its noise is not strand-symmetric
        np.testing.assert_allclose(averaged.hypothetical, plain.hypothetical, atol=1e-5)
    np.testing.assert_allclose(
        on_rc.hypothetical, reverse_complement(averaged.hypothetical), atol=1e-5
    )


def test_rc_averaging_is_equivariant_for_any_model(model, X):
    Xr = reverse_complement(X)
    averaged = attribute_dna(
        model, X, method="ig", rc_average=True, steps=8, baseline="shuffle:2", seed=2
    )
    on_rc = attribute_dna(
        model, Xr, method="ig", rc_average=True, steps=8, baseline="shuffle:2", seed=2
    )
    plain = attribute_dna(model, X, method="ig", steps=8, baseline="shuffle:2", seed=2)
    np.testing.assert_allclose(
        on_rc.hypothetical, reverse_complement(averaged.hypothetical), atol=1e-5
    )
    np.testing.assert_allclose(on_rc.delta, averaged.delta, atol=1e-5)
    assert (
        np.abs(plain.hypothetical - averaged.hypothetical).max() > 1e-3
    )  # the model is not symmetric


@pytest.mark.parametrize("method", METHODS)
def test_n_columns_get_zero_attribution(model, X, method):
    result = attribute_dna(model, X, method=method, seed=0, steps=4, baseline="zeros", n_samples=3)
    assert np.all(result.hypothetical[1, :, 5] == 0)
    assert np.all(result.hypothetical[4, :, 0:2] == 0)
    assert np.all(result.projected[1, :, 5] == 0)
    assert np.abs(result.hypothetical[0]).max() > 0


@pytest.mark.parametrize("method", ["saliency", "grad_x_input", "smoothgrad", "ig"])
def test_correction_makes_per_position_sums_zero(model, X, method):
    kw = {"method": method, "seed": 0, "steps": 4, "baseline": "zeros", "n_samples": 3}
    corrected = attribute_dna(model, X, correction=True, **kw)
    raw = attribute_dna(model, X, correction=False, **kw)
    np.testing.assert_allclose(corrected.hypothetical.sum(axis=1), 0, atol=1e-6)
    assert np.abs(raw.hypothetical.sum(axis=1)).max() > 1e-3
    known = X.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(
        corrected.hypothetical, correct_gradients(raw.hypothetical) * known, atol=1e-6
    )


def test_gradient_methods_hypothetical_is_the_gradient(model, X):
    x = torch.tensor(X, requires_grad=True)
    model(x)[:, 1].sum().backward()
    grad = x.grad.numpy() * X.sum(axis=1, keepdims=True)
    for method in ("saliency", "grad_x_input"):
        result = attribute_dna(model, X, method=method, target=1, correction=False)
        np.testing.assert_allclose(result.hypothetical, grad, atol=1e-6)
        np.testing.assert_allclose(result.projected, grad * X, atol=1e-6)


def test_shuffled_references_preserve_dinucleotides_and_n(X):
    refs = shuffled_references(X, 5, seed=3)
    assert refs.shape == (6, 5, 4, LENGTH)

    def dinucleotides(x):
        counts = np.einsum("ai,bi->ab", x[:, :-1], x[:, 1:])
        return counts

    for i in range(6):
        for j in range(5):
            np.testing.assert_array_equal(dinucleotides(refs[i, j]), dinucleotides(X[i]))
            np.testing.assert_array_equal(refs[i, j].sum(axis=0), X[i].sum(axis=0))
    assert not np.array_equal(refs[0, 0], X[0])
    # strand-consistent: the shuffles of the reverse complement are the reverse complements
    np.testing.assert_array_equal(
        shuffled_references(reverse_complement(X), 5, seed=3), reverse_complement(refs)
    )


def test_shuffle_baseline_uses_the_seeded_shuffles(model, X):
    by_name = attribute_dna(model, X, method="ig", baseline="shuffle:3", seed=9, steps=8)
    by_array = attribute_dna(
        model, X, method="ig", baseline=shuffled_references(X, 3, seed=9), steps=8
    )
    np.testing.assert_allclose(by_name.hypothetical, by_array.hypothetical, atol=1e-6)


@pytest.mark.parametrize("method", ["ig", "smoothgrad"])
def test_same_seed_same_result_and_chunking_does_not_matter(model, X, method):
    kw = {"method": method, "steps": 8, "baseline": "shuffle:2", "n_samples": 4}
    a = attribute_dna(model, X, seed=1, **kw)
    b = attribute_dna(model, X, seed=1, **kw)
    c = attribute_dna(model, X, seed=2, **kw)
    np.testing.assert_array_equal(a.hypothetical, b.hypothetical)
    assert np.abs(a.hypothetical - c.hypothetical).max() > 1e-5
    parts = [attribute_dna(model, X[s], seed=1, **kw) for s in (slice(0, 2), slice(2, None))]
    np.testing.assert_allclose(
        np.concatenate([p.hypothetical for p in parts]), a.hypothetical, atol=1e-6
    )


@pytest.mark.parametrize("method", METHODS)
def test_results_do_not_depend_on_batch_size(model, X, method):
    kw = {
        "method": method,
        "seed": 0,
        "steps": 6,
        "baseline": "shuffle:2",
        "n_samples": 3,
        "rc_average": True,
    }
    sizes = (5, 64, None) if method == "ism" else (1, 7, None)
    results = [attribute_dna(model, X[:4], batch_size=b, **kw) for b in sizes]
    for other in results[1:]:
        np.testing.assert_allclose(other.hypothetical, results[0].hypothetical, atol=1e-5)
        if other.delta is not None:
            np.testing.assert_allclose(other.delta, results[0].delta, atol=1e-5)


def test_model_state_is_restored(X):
    model = _model().train()
    attribute_dna(model, X, method="ig", steps=2, baseline="zeros")
    assert model.training
    assert all(p.requires_grad for p in model.parameters())


def test_bad_inputs_raise_input_errors(model, X):
    with pytest.raises(InputError, match="method="):
        attribute_dna(model, X, method="deeplift")
    with pytest.raises(InputError, match=r"expected \(n, 4, L\)"):
        attribute_dna(model, X[:, :3])
    with pytest.raises(InputError, match="not one-hot"):
        attribute_dna(model, X * 2)
    with pytest.raises(InputError, match="one target"):
        attribute_dna(model, X, target=[0, 1])
    with pytest.raises(InputError, match="shuffle:K"):
        attribute_dna(model, X, baseline="shufle:3")
    with pytest.raises(InputError, match="out of range"):
        attribute_dna(model, X, method="saliency", target=5)


def test_corrected_ig_with_references_of_different_column_sums(model, X):
    """zeros and uniform references together: the corrected result averages per reference."""
    refs = np.stack([np.zeros_like(X), np.full_like(X, 0.25)], axis=1)
    both = attribute_dna(model, X, method="ig", baseline=refs, steps=8, correction=True)
    each = [
        attribute_dna(model, X, method="ig", baseline=refs[:, j], steps=8, correction=True)
        for j in range(2)
    ]
    np.testing.assert_allclose(
        both.hypothetical, (each[0].hypothetical + each[1].hypothetical) / 2, atol=1e-6
    )
    np.testing.assert_allclose(both.delta, (each[0].delta + each[1].delta) / 2, atol=1e-6)
    uniform = attribute_dna(model, X, method="ig", baseline="uniform", steps=8, correction=True)
    np.testing.assert_allclose(uniform.hypothetical, each[1].hypothetical, atol=1e-6)

"""Fold ensembles (seqsal.models.ensemble): bpnet-lite BPNets with different seeds as folds.

The ensemble predicts the mean of its members' outputs, head by head, and is attributed by
the mean of its members' attributions (each with the same target, references and seeds):
checked against separate per-model runs, for several methods and the profile target, and
for batch-size invariance.  Members that disagree are one-line ModelErrors naming both.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _toys import HEADS, TwoHeads, random_onehot, small_bpnet

from seqsal.attribution import Target
from seqsal.dna import attribute_dna
from seqsal.errors import InputError, ModelError
from seqsal.models.ensemble import (
    Ensemble,
    MeanOutput,
    ensemble_of,
    load_ensemble,
    mean_output,
)
from seqsal.models.load import load_model

pytest.importorskip("bpnetlite")

L = 80
COUNTS = Target(output=1)
PROFILE = Target(output=0, reduce="profile")


@pytest.fixture(scope="module")
def folds():
    return [small_bpnet(seed=s, trimming=10) for s in (11, 12, 13)]


@pytest.fixture(scope="module")
def ensemble(folds):
    return load_ensemble(folds, input_length=L)


@pytest.fixture(scope="module")
def X():
    return random_onehot(n=5, length=L, seed=4)


def test_mean_output_keeps_the_structure_and_averages_each_head():
    a = (torch.tensor([[1.0, 2.0]]), torch.tensor([[4.0]]))
    b = (torch.tensor([[3.0, 6.0]]), torch.tensor([[0.0]]))
    mean = mean_output([a, b])
    assert isinstance(mean, tuple)
    assert mean[0].tolist() == [[2.0, 4.0]] and mean[1].tolist() == [[2.0]]
    named = mean_output([HEADS(*a), HEADS(*b)])
    assert isinstance(named, HEADS) and named.counts.tolist() == [[2.0]]
    keyed = mean_output([{"p": a[0]}, {"p": b[0]}])
    assert keyed["p"].tolist() == [[2.0, 4.0]]


def test_ensemble_records_members_and_predicts_the_mean(folds, ensemble, X):
    assert isinstance(ensemble, Ensemble) and isinstance(ensemble.module, MeanOutput)
    assert ensemble.input_length == L
    assert len(ensemble.checksums) == 3 and len(set(ensemble.checksums)) == 3
    assert ensemble.checksum == ",".join(ensemble.checksums)
    assert [h.key for h in ensemble.heads] == [0, 1]
    x = torch.as_tensor(X)
    with torch.no_grad():
        profile, counts = ensemble.module(x)
        outs = [f(x) for f in folds]
    torch.testing.assert_close(profile, sum(o[0] for o in outs) / 3, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(counts, sum(o[1] for o in outs) / 3, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("method", "target", "options"),
    [
        ("grad_x_input", COUNTS, {}),
        ("ig", COUNTS, {"baseline": "shuffle:3", "steps": 8}),
        ("ig", PROFILE, {"baseline": "shuffle:2", "steps": 6}),
        ("saliency", PROFILE, {}),
        ("ism", PROFILE, {}),
    ],
)
def test_attribution_is_the_mean_of_the_members_attributions(
    folds, ensemble, X, method, target, options
):
    ours = attribute_dna(ensemble.module, X, method=method, target=target, seed=5, **options)
    parts = [attribute_dna(f, X, method=method, target=target, seed=5, **options) for f in folds]
    for field in ("hypothetical", "projected"):
        expected = np.mean([getattr(p, field) for p in parts], axis=0)
        np.testing.assert_allclose(getattr(ours, field), expected, rtol=1e-6, atol=1e-6)
    if method == "ig":
        np.testing.assert_allclose(
            ours.delta, np.mean([p.delta for p in parts], axis=0), rtol=1e-6, atol=1e-6
        )
    # batch size changes nothing
    again = attribute_dna(
        ensemble.module, X, method=method, target=target, seed=5, batch_size=2, **options
    )
    np.testing.assert_allclose(again.hypothetical, ours.hypothetical, rtol=1e-5, atol=1e-6)


def test_profile_attribution_differs_from_that_of_the_mean_output(ensemble, X):
    """The profile target is not linear in the output: the mean of the members'
    attributions is not the attribution of the mean model (which would be a different
    explanation than averaging per-fold contribution files)."""

    class Plain(torch.nn.Module):  # the mean output, as a module the DNA layer does not unpack
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner(x)

    ours = attribute_dna(ensemble.module, X, method="saliency", target=PROFILE)
    of_mean = attribute_dna(Plain(ensemble.module), X, method="saliency", target=PROFILE)
    assert np.abs(ours.hypothetical - of_mean.hypothetical).max() > 1e-4


def test_members_with_different_input_lengths_are_refused(folds):
    a = load_model(folds[0], input_length=L)
    b = load_model(folds[1], input_length=L + 20)
    with pytest.raises(ModelError, match="input length") as err:
        ensemble_of([a, b])
    message = str(err.value)
    assert "\n" not in message and str(L) in message and str(L + 20) in message


def test_members_with_different_heads_are_refused(folds):
    a = load_model(folds[0], input_length=L)
    b = load_model(TwoHeads(), input_length=L)
    with pytest.raises(ModelError, match="heads") as err:
        ensemble_of([a, b])
    message = str(err.value)
    assert "\n" not in message and a.source in message and b.source in message


def test_one_state_dict_per_model(folds):
    with pytest.raises(InputError, match="1 state dict\\(s\\) for 2 models"):
        load_ensemble(["a:B", "c:D"], state_dicts=["x.pt"])


def test_every_member_gets_the_same_references_even_unseeded(folds, ensemble, X):
    """A random baseline without a seed is drawn once per chunk, not once per member."""
    drawn = []

    def random_references(x):
        rng = np.random.default_rng()  # unseeded on purpose
        refs = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(x.shape[0], 2, L))]
        drawn.append(torch.from_numpy(refs.transpose(0, 1, 3, 2).copy()))
        return drawn[-1]

    ours = attribute_dna(
        ensemble.module, X, method="ig", target=COUNTS, steps=4, baseline=random_references
    )
    assert len(drawn) == 1
    parts = [
        attribute_dna(f, X, method="ig", target=COUNTS, steps=4, baseline=drawn[0]) for f in folds
    ]
    expected = np.mean([p.hypothetical for p in parts], axis=0)
    np.testing.assert_allclose(ours.hypothetical, expected, rtol=1e-6, atol=1e-6)

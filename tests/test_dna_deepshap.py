"""DeepSHAP in the DNA layer: ``attribute_dna(method="deepshap", baseline="shuffle:K")`` equals
tangermeme's ``deep_lift_shap`` given the same seeded shuffles (hypothetical and projected),
references are seeded per sequence (any chunking gives the same result), N positions get zero,
the delta is that of the projected contributions, and the store records it with a warning
above DEEPSHAP_DELTA_WARNING."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest
import torch
from _toys import random_onehot, two_chromosomes_five_regions
from torch import nn

from seqsal.dna import DEEPSHAP_DELTA_WARNING, attribute_dna, attribute_to_store, dna_references
from seqsal.models import zoo

tangermeme = pytest.importorskip("tangermeme.deep_lift_shap")

L = 50


@pytest.fixture(scope="module")
def model():
    return zoo.build("dilated", input_length=L, n_targets=2, seed=2).eval()


def test_equals_tangermeme_with_the_same_seeded_shuffles(model):
    X = random_onehot(n=4, length=L, seed=3)
    result = attribute_dna(model, X, method="deepshap", target=1, baseline="shuffle:3", seed=7)
    R = dna_references("shuffle:3", X, seed=7)
    assert R.shape == (4, 3, 4, L) and not torch.equal(R[:, 0], R[:, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hyp = tangermeme.deep_lift_shap(
            model, X, target=1, references=R, hypothetical=True, device="cpu", verbose=False
        )
        proj = tangermeme.deep_lift_shap(
            model, X, target=1, references=R, hypothetical=False, device="cpu", verbose=False
        )
    assert hyp.abs().max() > 1e-3
    np.testing.assert_allclose(result.hypothetical, hyp.numpy(), atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(result.projected, proj.numpy(), atol=1e-4, rtol=1e-4)
    assert result.delta.shape == (4,) and np.abs(result.delta).max() < 1e-4
    # a different seed draws different references
    other = attribute_dna(model, X, method="deepshap", target=1, baseline="shuffle:3", seed=8)
    assert np.abs(other.hypothetical - result.hypothetical).max() > 1e-4


def test_references_are_seeded_per_sequence(model):
    X = random_onehot(n=5, length=L, seed=4)
    whole = attribute_dna(model, X, method="deepshap", baseline="shuffle:2", seed=1)
    part = attribute_dna(
        model, X[3:], method="deepshap", baseline="shuffle:2", seed=1, batch_size=3
    )
    np.testing.assert_allclose(part.hypothetical, whole.hypothetical[3:], atol=1e-6)
    np.testing.assert_allclose(part.delta, whole.delta[3:], atol=1e-6)


def test_n_positions_get_zero_and_the_delta_is_that_of_the_projection(model):
    X = random_onehot(n=2, length=L, seed=5)
    X[0, :, 10:14] = 0  # N
    result = attribute_dna(model, X, method="deepshap", baseline="shuffle:2", seed=0)
    assert np.all(result.hypothetical[0, :, 10:14] == 0)
    R = dna_references("shuffle:2", X, seed=0)
    with torch.no_grad():
        f_x = model(X)[:, 0].numpy()
        f_r = model(R.reshape(-1, 4, L))[:, 0].reshape(2, 2).mean(1).numpy()
    expected = result.projected.sum(axis=(1, 2)) - (f_x - f_r)
    np.testing.assert_allclose(result.delta, expected, atol=1e-5)
    assert abs(result.delta[1]) < 1e-4  # no N: the contributions add up


def test_rc_average_averages_the_two_strands(model):
    from seqsal.sequence.onehot import reverse_complement

    X = random_onehot(n=2, length=L, seed=6)
    both = attribute_dna(model, X, method="deepshap", baseline="shuffle:2", seed=3, rc_average=True)
    R = dna_references("shuffle:2", X, seed=3)
    forward = attribute_dna(model, X, method="deepshap", baseline=R)
    backward = attribute_dna(
        model, reverse_complement(X), method="deepshap", baseline=reverse_complement(R)
    )
    expected = (forward.hypothetical + reverse_complement(backward.hypothetical)) / 2
    np.testing.assert_allclose(both.hypothetical, expected, atol=1e-6)


class Squared(nn.Module):
    """A product of activations (no DeepLIFT rule, and not a module): the delta shows it."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 3, 5)

    def forward(self, x):
        h = self.conv(x)
        return (h * h).mean(dim=(1, 2)).unsqueeze(1)


def test_store_records_the_delta_and_warns_above_the_threshold(tmp_path, caplog, model):
    from seqsal.io.bed import read_bed
    from seqsal.io.fasta import open_genome
    from seqsal.io.store import open_store
    from seqsal.sequence.windows import make_windows

    two_chromosomes_five_regions(tmp_path)
    with open_genome(tmp_path / "genome.fa") as genome:
        windows = make_windows(
            read_bed(tmp_path / "regions.bed"), L, chrom_sizes=genome.chrom_sizes
        )
    settings = {"method": "deepshap", "baseline": "shuffle:2", "seed": 0}
    with caplog.at_level(logging.WARNING, logger="seqsal"):
        summary = attribute_to_store(
            model, tmp_path / "genome.fa", windows, tmp_path / "a.h5", **settings
        )
    assert "DeepSHAP" not in caplog.text
    with open_store(tmp_path / "a.h5") as store:
        assert store.attrs["method"] == "deepshap" and store.attrs["baseline"] == "shuffle:2"
        assert store.attrs["hypothetical"] == "deeplift_shap"
        delta = store.delta[:]
        assert delta.shape == (5,) and np.abs(delta).max() < 1e-4
    assert summary.median_abs_delta == pytest.approx(float(np.median(np.abs(delta))))
    torch.manual_seed(0)
    with caplog.at_level(logging.WARNING, logger="seqsal"):
        attribute_to_store(
            Squared(), tmp_path / "genome.fa", windows, tmp_path / "b.h5", **settings
        )
    assert f"above {DEEPSHAP_DELTA_WARNING:g}" in caplog.text


def test_an_ensemble_is_the_mean_of_its_members_with_one_draw_of_references():
    from seqsal.models.ensemble import MeanOutput

    members = [zoo.build("cnn", input_length=L, n_targets=1, seed=s).eval() for s in (1, 2)]
    X = random_onehot(n=3, length=L, seed=9)
    settings = {"method": "deepshap", "baseline": "shuffle:2", "seed": 5}
    mean = attribute_dna(MeanOutput(members), X, **settings)
    parts = [attribute_dna(m, X, **settings) for m in members]
    np.testing.assert_allclose(
        mean.hypothetical, (parts[0].hypothetical + parts[1].hypothetical) / 2, atol=1e-6
    )
    np.testing.assert_allclose(mean.delta, (parts[0].delta + parts[1].delta) / 2, atol=1e-7)
    # an unseeded draw is shared too: the members see the same references
    R = dna_references("shuffle:2", X, seed=5)
    np.testing.assert_allclose(
        attribute_dna(MeanOutput(members), X, method="deepshap", baseline=R).hypothetical,
        mean.hypothetical,
        atol=1e-6,
    )

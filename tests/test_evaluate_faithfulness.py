"""Deletion and insertion curves (seqsal.evaluate.faithfulness) on planted and linear models."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _toys import motif_detector, onehot_codes
from torch import nn

from seqsal.attribution import grad_x_input
from seqsal.errors import InputError
from seqsal.evaluate import (
    Faithfulness,
    auc,
    deletion_curves,
    faithfulness,
    feature_index,
    feature_scores,
    insertion_curves,
)
from seqsal.sequence.shuffle import dinucleotide_shuffle

MOTIF = "GATTACA"
LENGTH = 60
BASES = "ACGT"


def planted(n=6, length=LENGTH, seed=0):
    """Random one-hot sequences with MOTIF planted at a random position; returns X, starts."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (n, length))
    starts = rng.integers(0, length - len(MOTIF) + 1, n)
    for i, s in enumerate(starts):
        codes[i, s : s + len(MOTIF)] = [BASES.index(b) for b in MOTIF]
    return torch.from_numpy(onehot_codes(codes)), starts


@pytest.fixture(scope="module")
def toy():
    model = motif_detector(MOTIF, threshold=6.0, length=LENGTH)
    X, starts = planted()
    return model, X, starts


def test_attribution_order_beats_random_order_on_planted_motif(toy):
    model, X, _ = toy
    A = grad_x_input(model, X, target=0)
    result = faithfulness(model, X, A, target=0, score="raw", n_random=4, steps=LENGTH)
    # every planted example: deleting by the map kills the score faster than chance
    assert np.all(result.deletion.auc < result.deletion.random_auc.mean(axis=1))
    assert np.all(result.insertion.auc > result.insertion.random_auc.mean(axis=1))
    assert result.deletion.better.all() and result.insertion.better.all()
    summary = result.deletion.summary()
    assert summary["fraction_better"] == 1.0 and summary["auc"] < summary["random_auc"]


def test_map_on_planted_positions_beats_same_magnitude_elsewhere(toy):
    model, X, starts = toy
    n, w = X.shape[0], len(MOTIF)
    on_motif = np.zeros((n, LENGTH))
    elsewhere = np.zeros((n, LENGTH))
    rng = np.random.default_rng(1)
    for i, s in enumerate(starts):
        on_motif[i, s : s + w] = 1.0
        outside = np.setdiff1d(np.arange(LENGTH), np.arange(s, s + w))
        elsewhere[i, rng.choice(outside, w, replace=False)] = 1.0
    kw = {"target": 0, "score": "raw", "n_random": 0, "steps": LENGTH}
    good = deletion_curves(model, X, on_motif, **kw)
    bad = deletion_curves(model, X, elsewhere, **kw)
    assert np.all(good.auc < bad.auc)
    # once the 7 planted positions are replaced the exact match is gone: the score drops by 1
    assert np.all(good.curves[:, 0] - good.curves[:, w] >= 1.0 - 1e-5)


def test_linear_model_curves_are_cumulative_contributions():
    """f(x) = w . x with a zero baseline: deleting the top-k features removes exactly their
    grad x input contributions; the curve is f(x) minus a cumulative sum."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4 * 12, 1))
    X, _ = planted(3, 12, seed=2)
    A = grad_x_input(model, X, target=0)
    out = faithfulness(
        model, X, A, target=0, score="raw", baseline="zeros", start="zeros", n_random=0
    )
    with torch.no_grad():
        fx = model(X)[:, 0].double().numpy()
        bias = float(model[1].bias)
    contrib = A.double().numpy().sum(axis=1)  # (n, L)
    ordered = -np.sort(-contrib, axis=1)
    expected_del = fx[:, None] - np.concatenate([np.zeros((3, 1)), ordered.cumsum(1)], axis=1)
    np.testing.assert_allclose(out.deletion.curves, expected_del, atol=1e-5)
    expected_ins = bias + np.concatenate([np.zeros((3, 1)), ordered.cumsum(1)], axis=1)
    np.testing.assert_allclose(out.insertion.curves, expected_ins, atol=1e-5)
    np.testing.assert_allclose(out.deletion.x, np.arange(13) / 12)
    # patches of 3 positions: 4 features, removed by their summed contribution
    patched = deletion_curves(
        model, X, A, target=0, score="raw", baseline="zeros", patch=3, n_random=0
    )
    blocks = -np.sort(-contrib.reshape(3, 4, 3).sum(axis=2), axis=1)
    expected = fx[:, None] - np.concatenate([np.zeros((3, 1)), blocks.cumsum(1)], axis=1)
    np.testing.assert_allclose(patched.curves, expected, atol=1e-5)


def test_auc_matches_numpy_trapezoid():
    rng = np.random.default_rng(0)
    curves = rng.random((5, 9))
    x = np.sort(rng.random(9)) * 3 + 1
    expected = np.trapezoid(curves, (x - x[0]) / (x[-1] - x[0]), axis=1)
    np.testing.assert_allclose(auc(curves, x), expected, rtol=1e-12)
    np.testing.assert_allclose(auc(curves), np.trapezoid(curves, dx=1 / 8, axis=1), rtol=1e-12)
    # hand-made: a straight fall from 1 to 0 has area 1/2, a step at x=0.25 area 0.25 (+ ramp)
    assert auc([1.0, 0.0]) == pytest.approx(0.5)
    assert auc([1.0, 0.0, 0.0, 0.0, 0.0]) == pytest.approx(0.125)
    with pytest.raises(InputError, match="strictly increasing"):
        auc(curves, x[::-1])


def test_result_auc_is_trapezoid_of_its_curves(toy):
    model, X, _ = toy
    A = grad_x_input(model, X, target=0)
    d = deletion_curves(model, X, A, target=0, score="raw", n_random=2, steps=20)
    np.testing.assert_allclose(d.auc, np.trapezoid(d.curves, d.x, axis=1))
    np.testing.assert_allclose(d.random_auc, np.trapezoid(d.random_curves, d.x, axis=2))
    assert d.x[0] == 0 and d.x[-1] == 1 and d.curves.shape == (X.shape[0], 21)


def test_dna_reference_is_the_documented_dinucleotide_shuffle(toy):
    model, X, _ = toy
    A = grad_x_input(model, X, target=0)
    out = faithfulness(model, X, A, target=0, score="raw", n_random=1, steps=10, seed=3)
    shuffled = torch.from_numpy(dinucleotide_shuffle(X.numpy(), n=1, seed=3)[:, 0])
    with torch.no_grad():
        f_x, f_ref = model(X)[:, 0].numpy(), model(shuffled)[:, 0].numpy()
    for r in (out.insertion.curves, out.insertion.random_curves[:, 0]):
        np.testing.assert_allclose(r[:, 0], f_ref, atol=1e-5)  # insertion starts at the shuffle
        np.testing.assert_allclose(r[:, -1], f_x, atol=1e-5)
    np.testing.assert_allclose(out.deletion.curves[:, 0], f_x, atol=1e-5)
    np.testing.assert_allclose(out.deletion.curves[:, -1], f_ref, atol=1e-5)
    zeros = insertion_curves(model, X, A, start="zeros", target=0, score="raw", n_random=0)
    with torch.no_grad():
        f_n = model(torch.zeros_like(X))[:, 0].numpy()
    np.testing.assert_allclose(zeros.curves[:, 0], f_n, atol=1e-5)


def image_classifier(seed=0, n_classes=3):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(16, n_classes),
    ).eval()


def test_image_references_and_predicted_class_softmax():
    from seqsal.attribution.baselines import gaussian_blur

    model = image_classifier()
    X = torch.rand((4, 3, 10, 12), generator=torch.Generator().manual_seed(0))
    A = grad_x_input(model, X, target=0)
    out = faithfulness(model, X, A, n_random=1, steps=12)
    with torch.no_grad():
        p_x = model(X).softmax(1)
        p_blur = model(gaussian_blur(X, sigma=5.0)).softmax(1)
        p_black = model(torch.zeros_like(X)).softmax(1)
    predicted = p_x.argmax(1).numpy()
    np.testing.assert_array_equal(out.deletion.target, predicted)
    rows = np.arange(4)
    np.testing.assert_allclose(out.deletion.curves[:, 0], p_x.numpy()[rows, predicted], atol=1e-6)
    np.testing.assert_allclose(
        out.deletion.curves[:, -1], p_black.numpy()[rows, predicted], atol=1e-6
    )
    np.testing.assert_allclose(
        out.insertion.curves[:, 0], p_blur.numpy()[rows, predicted], atol=1e-6
    )
    # an explicit target overrides the prediction
    fixed = deletion_curves(model, X, A, target=2, n_random=0, steps=4)
    np.testing.assert_allclose(fixed.curves[:, 0], p_x[:, 2].numpy(), atol=1e-6)


def test_results_do_not_depend_on_batch_size_or_chunking(toy):
    model, X, _ = toy
    A = grad_x_input(model, X, target=0)
    kw = {"target": 0, "score": "raw", "n_random": 2, "steps": 15, "seed": 5}
    ref = faithfulness(model, X, A, **kw)
    for batch_size in (1, 7):
        other = faithfulness(model, X, A, batch_size=batch_size, **kw)
        for a, b in zip(ref.results, other.results, strict=True):
            np.testing.assert_allclose(a.curves, b.curves, atol=1e-6)
            np.testing.assert_allclose(a.random_curves, b.random_curves, atol=1e-6)
    parts = Faithfulness.concat(
        [faithfulness(model, X[:2], A[:2], **kw), faithfulness(model, X[2:], A[2:], **kw)]
    )
    np.testing.assert_allclose(parts.deletion.random_auc, ref.deletion.random_auc, atol=1e-6)
    np.testing.assert_allclose(parts.insertion.curves, ref.insertion.curves, atol=1e-6)
    assert len(parts.table()) == 2 * X.shape[0]


def test_patches_group_positions_and_pixels():
    index, n = feature_index((5, 5), 2)
    assert n == 9
    np.testing.assert_array_equal(index[:2, :2], 0)
    np.testing.assert_array_equal(index[4], [6, 6, 7, 7, 8])
    index, n = feature_index((7,), 3)
    np.testing.assert_array_equal(index, [0, 0, 0, 1, 1, 1, 2])
    A = np.arange(2 * 3 * 7, dtype=float).reshape(2, 3, 7)
    scores = feature_scores(A, (2, 3, 7), patch=3)
    np.testing.assert_allclose(scores[0], [A[0, :, :3].sum(), A[0, :, 3:6].sum(), A[0, :, 6].sum()])
    np.testing.assert_allclose(feature_scores(-A, (2, 3, 7), reduce="abs"), A.sum(axis=1))


def test_bad_arguments_raise_input_errors(toy):
    model, X, _ = toy
    A = grad_x_input(model, X, target=0)
    with pytest.raises(InputError, match="attributions has shape"):
        faithfulness(model, X, A[:, :2], target=0)
    with pytest.raises(InputError, match="steps=99"):
        faithfulness(model, X, A, target=0, steps=99)
    with pytest.raises(InputError, match="softmax"):
        faithfulness(model, X, A, score="softmax")
    with pytest.raises(InputError, match="target has values"):
        faithfulness(model, X, A, target=3)
    with pytest.raises(InputError, match="shuffle"):
        faithfulness(model, X * 0.5, A, target=0, score="raw")  # not one-hot: no shuffle


@pytest.fixture(scope="module")
def digits_demo(tmp_path_factory):
    """The digits demo classifier, trained small (16 px, 3 epochs: about 0.8 held-out accuracy),
    and 12 images it did not see in this order."""
    from seqsal.models.images import digits_dataset, load_image_model, train_digits_demo

    path = train_digits_demo(tmp_path_factory.mktemp("digits") / "model", size=16, epochs=3)
    model = load_image_model(path).module
    X = torch.from_numpy(digits_dataset(16, seed=1).X[:12])
    return model, X


def test_digits_demo_ig_beats_random_ordering(digits_demo):
    from seqsal.attribution import integrated_gradients

    model, X = digits_demo
    with torch.no_grad():
        predicted = model(X).argmax(1).numpy()
    A = torch.zeros_like(X)
    for c in np.unique(predicted):  # IG of the predicted class, black baseline
        rows = np.flatnonzero(predicted == c)
        A[rows] = integrated_gradients(model, X[rows], target=int(c), steps=16).attributions
    out = faithfulness(model, X, A, n_random=3, steps=32)  # black deletion, blurred insertion
    np.testing.assert_array_equal(out.deletion.target, predicted)
    d, i = out.deletion.summary(), out.insertion.summary()
    assert d["auc"] < d["random_auc"] and i["auc"] > i["random_auc"]
    assert d["fraction_better"] >= 0.75 and i["fraction_better"] >= 0.75

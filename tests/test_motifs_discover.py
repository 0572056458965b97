"""Motif discovery: planted JASPAR motifs in synthetic attribution maps come back as motifs.

Each region holds one instance sampled from a JASPAR matrix, on a random strand, at a random
place in a uniform random background; its hypothetical contributions are small noise plus a
block on the instance (the observed base gets the column's information content, times the
motif's sign), so ``projected = hypothetical * X``.  The seqlets are the planted spans.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _toys import CTCF, REST, SPI1, planted_maps

from seqsal.errors import InputError
from seqsal.motifs import match
from seqsal.motifs.cwm_io import read_motifs, write_motifs
from seqsal.motifs.discover import _score_pvalues, _score_threshold, discover


@pytest.fixture(scope="module")
def maps(jaspar_by_id):
    return planted_maps(jaspar_by_id, [CTCF, SPI1, REST], [1, 1, -1])


@pytest.fixture(scope="module")
def motifs(maps):
    X, hyp, proj, table = maps
    return discover(table, X, hyp, proj, seed=0)


@pytest.fixture(scope="module")
def best(motifs):
    table = match(motifs)
    return table[table["rank"] == 1].set_index("motif")


def test_each_planted_motif_is_recovered_with_its_sign(motifs, best):
    pos = [m for m in motifs if m.sign > 0]
    neg = [m for m in motifs if m.sign < 0]
    assert len(pos) == 2 and len(neg) == 1
    assert {best.loc[m.id, "match_id"] for m in pos} == {CTCF, SPI1}
    assert best.loc[neg[0].id, "match_id"] == REST
    assert (best["q_value"] < 0.05).all()
    # a negative motif's contributions are negative
    assert neg[0].cwm.sum() < 0 < pos[0].cwm.sum()


def test_members_are_the_planted_sites_aligned_on_both_strands(motifs, maps, best):
    _, _, _, table = maps
    for motif in motifs:
        source = best.loc[motif.id, "match_id"]
        members = motif.seqlets
        planted = table.iloc[members["seqlet"].to_numpy()]
        # every member is a site of the motif it joined, and nearly every site joined
        assert (planted["planted"] == source).all()
        assert len(members) >= 0.9 * (table["planted"] == source).sum()
        # both orientations occur, and the recorded one agrees with the planted strand
        # (all members, up to the motif's own arbitrary orientation)
        flipped = members["orientation"].to_numpy() == "-"
        planted_minus = planted["planted_strand"].to_numpy() == "-"
        assert 0.2 < flipped.mean() < 0.8
        agreement = (flipped == planted_minus).mean()
        assert agreement > 0.97 or agreement < 0.03
        # aligned: the motif window sits at a fixed offset from the site, mirrored on '-'
        w = planted["end"].to_numpy() - planted["start"].to_numpy()
        offset = members["offset"].to_numpy()
        same = flipped == (agreement < 0.5)
        forward_shift = offset[~same] - planted["start"].to_numpy()[~same]
        reverse_shift = (offset + motif.width)[same] - (planted["start"].to_numpy() + w)[same]
        for shifts in (forward_shift, reverse_shift):
            _, counts = np.unique(shifts, return_counts=True)
            assert counts.max() >= 0.9 * len(shifts)


def test_member_orientation_matches_its_window(motifs, maps):
    X, _, _, _ = maps
    for motif in motifs:
        core = motif.trimmed().ppm.argmax(axis=0)
        s, e = motif.trim
        hits = 0
        for _, row in motif.seqlets.iterrows():
            window = X[row["example_idx"], :, row["offset"] + s : row["offset"] + e].argmax(0)
            if row["orientation"] == "-":
                window = 3 - window[::-1]
            hits += (window == core).mean() > 0.6
        assert hits >= 0.9 * len(motif.seqlets)


def test_negative_only_seqlets_give_negative_motifs(jaspar_by_id):
    X, hyp, proj, table = planted_maps(jaspar_by_id, [REST], [-1], n=60, seed=3)
    found = discover(table, X, hyp, proj, seed=0)
    assert len(found) == 1 and found[0].sign == -1 and found[0].name == "neg_pattern_0"
    assert match(found).iloc[0]["match_id"] == REST


def test_deterministic_and_independent_of_row_order(maps, motifs):
    X, hyp, proj, table = maps
    again = discover(table, X, hyp, proj, seed=0)
    shuffled = discover(table.sample(frac=1.0, random_state=1), X, hyp, proj, seed=0)
    for other in (again, shuffled):
        assert [m.name for m in other] == [m.name for m in motifs]
        for a, b in zip(motifs, other, strict=True):
            np.testing.assert_array_equal(a.ppm, b.ppm)
            np.testing.assert_allclose(a.cwm, b.cwm, rtol=1e-6, atol=1e-9)
            assert a.trim == b.trim and a.n_seqlets == b.n_seqlets


def test_motifs_file_round_trip(tmp_path, motifs):
    path = write_motifs(motifs, tmp_path / "motifs.h5")
    back = read_motifs(path)
    assert [m.id for m in back] == [m.id for m in motifs]
    for a, b in zip(motifs, back, strict=True):
        np.testing.assert_allclose(b.ppm, a.ppm)
        np.testing.assert_allclose(b.cwm, a.cwm)
        np.testing.assert_allclose(b.hypothetical_cwm, a.hypothetical_cwm)
        assert (b.sign, b.trim, b.n_seqlets, b.source) == (a.sign, a.trim, a.n_seqlets, a.source)
        pd.testing.assert_frame_equal(b.seqlets, a.seqlets, check_dtype=False)


def test_motifs_file_is_read_as_modisco_output(tmp_path, motifs):
    h5py = pytest.importorskip("h5py")
    path = write_motifs(motifs, tmp_path / "motifs.h5")
    with h5py.File(path) as f:
        group = f["neg_patterns/pattern_0"]
        neg = next(m for m in motifs if m.sign < 0)
        np.testing.assert_allclose(group["contrib_scores"][:], neg.cwm.T)
        assert group["seqlets/n_seqlets"][0] == neg.n_seqlets
        assert group["seqlets/is_revcomp"][:].sum() == (neg.seqlets["orientation"] == "-").sum()


def test_score_threshold_matches_the_exact_distribution():
    g = np.random.default_rng(0)
    lo = np.vstack([g.normal(0, 1.5, size=(4, 5)), np.full((1, 5), -10.0)])
    background = np.array([0.3, 0.2, 0.2, 0.3])
    # all 4^5 words with their probabilities
    words = np.array(np.meshgrid(*[range(4)] * 5, indexing="ij")).reshape(5, -1).T
    scores = lo[words, np.arange(5)].sum(axis=1)
    probs = background[words].prod(axis=1)
    for p in (1e-3, 1e-2, 0.1):
        t = _score_threshold(lo, background, p)
        assert probs[scores >= t + 0.03].sum() <= p + 1e-12
        exact = np.array([probs[scores >= s].sum() for s in scores[:50]])
        got = _score_pvalues(lo, background, scores[:50])
        np.testing.assert_allclose(got, exact, atol=0.02)


def test_input_errors(maps):
    X, hyp, proj, table = maps
    with pytest.raises(InputError, match="example_idx"):
        discover(table.drop(columns="example_idx"), X, hyp, proj)
    with pytest.raises(InputError, match="shape"):
        discover(table, X, hyp[:, :, :-1], proj)
    with pytest.raises(InputError, match="sign"):
        discover(table.assign(sign=2), X, hyp, proj)
    with pytest.raises(InputError, match="min_seqlets"):
        discover(table, X, hyp, proj, min_seqlets=0)

"""seqsal.motifs.match: TOMTOM annotation against JASPAR (one TOMTOM call per test, warm cache)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.stats import false_discovery_control

from seqsal.errors import InputError
from seqsal.motifs import Motif, benjamini_hochberg, load_database, load_jaspar, match
from seqsal.motifs.match import ANNOTATION_COLUMNS, read_annotation, write_annotation

FLANK = 5


@pytest.fixture(scope="module")
def jaspar(jaspar_by_id, jaspar_motifs):
    return jaspar_by_id, jaspar_motifs


def sampled_motif(source: Motif, name: str, *, n=200, seed=0) -> Motif:
    """A motif built like discovery builds one: n seqlets sampled from ``source``'s PPM with
    random flanks; the CWM weights the core fully and the flanks at 5%, so trimming by
    contribution must recover the core."""
    rng = np.random.default_rng(seed)
    w = source.width
    core = np.stack([rng.choice(4, size=n, p=source.ppm[:, j]) for j in range(w)], axis=1)
    full = np.concatenate(
        [rng.integers(0, 4, (n, FLANK)), core, rng.integers(0, 4, (n, FLANK))], axis=1
    )
    onehot = np.zeros((n, 4, full.shape[1]))
    onehot[np.arange(n)[:, None], full, np.arange(full.shape[1])[None, :]] = 1
    ppm = onehot.mean(axis=0)
    weight = np.r_[np.full(FLANK, 0.05), np.ones(w), np.full(FLANK, 0.05)]
    return Motif(name=name, ppm=ppm, cwm=ppm * weight, n_seqlets=n, source="test")


@pytest.fixture(scope="module")
def annotated(jaspar):
    """One TOMTOM call for all queries of this module (TOMTOM is ~0.1 s warm)."""
    by_id, db = jaspar
    rng = np.random.default_rng(7)
    ctcf = sampled_motif(by_id["MA0139.2"], "ctcf_like")
    gata = sampled_motif(by_id["MA0035.5"], "gata1_like", seed=1)
    ctcf_rc = dataclasses.replace(ctcf.reverse_complement(), name="ctcf_like_rc")
    source = by_id["MA0139.2"].ppm
    shuffled = Motif(name="column_shuffled", ppm=source[:, rng.permutation(source.shape[1])])
    random = Motif(name="random", ppm=rng.dirichlet(np.ones(4), size=12).T)
    # A repressor-like motif: negative CWM, sign -1; trimming uses |CWM|, matching the PPM.
    negative = dataclasses.replace(gata, name="gata1_negative", cwm=-gata.cwm, sign=-1)
    queries = [ctcf, ctcf_rc, gata, shuffled, random, negative]
    return match(queries, db, top=5), queries


def rows(table, motif):
    return table[table["motif"] == motif].sort_values("rank")


def test_sampled_ctcf_matches_its_source_on_both_strands(annotated):
    table, _ = annotated
    forward, reverse = rows(table, "ctcf_like"), rows(table, "ctcf_like_rc")
    for best, orientation in ((forward.iloc[0], "+"), (reverse.iloc[0], "-")):
        assert best["match_id"] == "MA0139.2"
        assert best["match_name"] == "CTCF"
        assert best["q_value"] < 0.05 and best["significant"]
        assert best["orientation"] == orientation
        assert best["offset"] == 0 and best["overlap"] == 15
    # Trimmed by the CWM to exactly the sampled core, and the table says so.
    assert forward.iloc[0]["matched_matrix"] == "ppm_trimmed_by_cwm"
    assert (forward.iloc[0]["trim_start"], forward.iloc[0]["trim_end"]) == (FLANK, FLANK + 15)
    assert forward.iloc[0]["n_seqlets"] == 200


def test_sampled_gata1_matches_gata1_and_family(annotated, jaspar):
    by_id, _ = jaspar
    table, _ = annotated
    gata = rows(table, "gata1_like")
    assert gata.iloc[0]["match_id"] == "MA0035.5"
    assert gata.iloc[0]["significant"]
    assert gata.iloc[0]["family"] == by_id["MA0035.5"].family == "C4-GATA-related"
    negative = rows(table, "gata1_negative")
    assert negative.iloc[0]["sign"] == -1
    assert negative.iloc[0]["match_id"] == "MA0035.5" and negative.iloc[0]["significant"]
    assert negative.iloc[0]["trim_start"] == gata.iloc[0]["trim_start"] == FLANK


def test_shuffled_and_random_matrices_match_nothing(annotated):
    table, _ = annotated
    for name in ("column_shuffled", "random"):
        found = rows(table, name)
        assert len(found) >= 1, "non-significant rows are kept, not dropped"
        assert (found["q_value"] >= 0.05).all()
        assert not found["significant"].any()
        assert set(found["status"]) <= {"not_significant", "no_match"}
        assert found.iloc[0]["matched_matrix"] == "ppm_trimmed_by_ic"


def test_table_layout_and_e_values(annotated, jaspar):
    _, db = jaspar
    table, queries = annotated
    assert list(table.columns) == ANNOTATION_COLUMNS
    assert list(dict.fromkeys(table["motif"])) == [q.id for q in queries]
    ok = table["status"] != "no_match"
    np.testing.assert_allclose(
        table.loc[ok, "e_value"], table.loc[ok, "p_value"] * len(db), rtol=1e-12
    )
    for _, group in table.groupby("motif"):
        assert np.all(np.diff(group["p_value"].to_numpy()) >= 0)
        assert list(group["rank"]) == list(range(1, len(group) + 1))


def test_q_values_equal_scipy_benjamini_hochberg(jaspar):
    _, db = jaspar
    query = sampled_motif(jaspar[0]["MA0139.2"], "ctcf_like", n=60, seed=3)
    table = match(query, db, top=len(db))
    # Targets missing from the table scored p = 1 (no positive alignment).
    p = np.ones(len(db))
    index = {m.id: i for i, m in enumerate(db)}
    for _, row in table.iterrows():
        p[index[row["match_id"]]] = row["p_value"]
    expected = false_discovery_control(p, method="bh")
    got = np.array([expected[index[mid]] for mid in table["match_id"]])
    np.testing.assert_allclose(table["q_value"], got, rtol=1e-9)
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.uniform(size=300) ** 4, [0.0, 1.0, 0.5, 0.5]])
    np.testing.assert_allclose(
        benjamini_hochberg(values), false_discovery_control(values), rtol=1e-12
    )


def test_offset_and_orientation_convention(jaspar):
    """offset = column of the (oriented) database motif under the query's first column."""
    by_id, db = jaspar
    ctcf = by_id["MA0139.2"]
    part = Motif(name="part", ppm=ctcf.ppm[:, 2:10])
    part_rc = dataclasses.replace(part.reverse_complement(), name="part_rc")
    table = match([part, part_rc], db, top=1, trim=False)
    forward, reverse = table.iloc[0], table.iloc[1]
    assert (forward["match_id"], forward["orientation"], forward["offset"]) == ("MA0139.2", "+", 2)
    # rc(ctcf)[:, 15-10 : 15-2] is the reverse complement of ctcf[:, 2:10].
    assert (reverse["match_id"], reverse["orientation"], reverse["offset"]) == ("MA0139.2", "-", 5)
    assert forward["matched_matrix"] == "ppm" and forward["query_width"] == 8


def test_annotation_round_trip(tmp_path, annotated):
    table, _ = annotated
    path = write_annotation(table, tmp_path / "motifs.tsv")
    back = read_annotation(path)
    assert list(back["motif"]) == list(table["motif"])
    assert list(back["match_id"]) == list(table["match_id"])
    np.testing.assert_allclose(back["q_value"], table["q_value"], rtol=1e-5)
    assert list(back["significant"]) == list(table["significant"])
    assert not list(tmp_path.glob(".*tmp*"))


def test_database_specs_and_errors(tmp_path):
    assert len(load_database("JASPAR2026:CORE:vertebrates")) == len(load_jaspar()) == 1019
    with pytest.raises(InputError, match="JASPAR1999"):
        load_database("JASPAR1999")
    with pytest.raises(InputError, match="neither"):
        load_database(tmp_path / "missing.meme")
    with pytest.raises(InputError, match="top"):
        match(Motif(name="x", ppm=np.full((4, 6), 0.25)), top=0)


def test_motif_trimming_reverse_complement_and_information_content():
    cwm = np.zeros((4, 10))
    cwm[0, [2, 3, 6, 7]] = [1.0, 0.5, 0.1, 0.8]  # an interior dip at 4-6 stays in the core
    cwm[1, 9] = 0.2  # below 0.3 x peak
    ppm = np.full((4, 10), 0.25)
    ppm[:, 2] = [1, 0, 0, 0]
    motif = Motif(name="m", ppm=ppm, cwm=-cwm, sign=-1)
    span = motif.contribution_span(0.3)
    assert (span.start, span.end, span.basis) == (2, 8, "cwm")
    trimmed = motif.trim_by_contribution(0.3)
    assert trimmed.trim == (2, 8) and trimmed.trimmed().width == 6
    np.testing.assert_array_equal(trimmed.trimmed().cwm, -cwm[:, 2:8])
    rc = trimmed.reverse_complement()
    assert rc.trim == (2, 8)  # mirrored: 10 - 8, 10 - 2
    np.testing.assert_array_equal(rc.ppm[:, 7], [0, 0, 0, 1])  # A at 2 -> T at 7
    np.testing.assert_array_equal(rc.reverse_complement().cwm, motif.cwm)
    ic = motif.information_content()
    assert ic[2] == pytest.approx(2.0) and ic[0] == pytest.approx(0.0)
    # Without a CWM the same rule runs on information content; a narrow core is widened to 4.
    by_ic = Motif(name="n", ppm=ppm).contribution_span(0.3)
    assert by_ic.basis == "ic" and by_ic.end - by_ic.start == 4 and by_ic.start <= 2 < by_ic.end


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ppm": np.full((5, 3), 0.2)}, "expected \\(4, w\\)"),
        ({"ppm": np.full((4, 3), 0.25), "cwm": np.zeros((4, 2))}, "width 2"),
        ({"ppm": np.full((4, 3), 0.25), "sign": 0}, "sign"),
        ({"ppm": np.full((4, 3), 0.25), "trim": (2, 5)}, "trim"),
        ({"ppm": -np.ones((4, 3))}, "negative"),
    ],
)
def test_motif_rejects_bad_fields(kwargs, message):
    with pytest.raises(InputError, match=message):
        Motif(name="bad", **kwargs)


def test_jaspar_loader_agrees_with_pyjaspar(jaspar):
    """Our bulk sqlite read equals pyjaspar's own objects: selection, order, counts, annotations."""
    from pyjaspar import jaspardb

    from seqsal.motifs.database import counts_to_ppm

    def expected(record):
        counts = np.array([record.counts[b] for b in "ACGT"])
        return (
            record.matrix_id,
            record.name,
            "; ".join(record.tf_family) or None,
            counts_to_ppm(counts),
        )

    insects = jaspardb(release="JASPAR2024").fetch_motifs(collection="CORE", tax_group=["insects"])
    ours = load_jaspar("JASPAR2024", "CORE", "insects")
    assert [m.matrix_id for m in ours] == [r.matrix_id for r in insects]
    for motif, record in zip(ours, insects, strict=True):
        matrix_id, name, family, ppm = expected(record)
        assert (motif.matrix_id, motif.name, motif.family) == (matrix_id, name, family)
        np.testing.assert_allclose(motif.ppm, ppm, rtol=1e-12)
    by_id, db = jaspar
    assert len(db) == 1019  # DESIGN.md section 4
    vertebrates = jaspardb(release="JASPAR2026")
    for matrix_id in [
        db[i].matrix_id for i in np.random.default_rng(0).choice(len(db), 15, replace=False)
    ]:
        record = vertebrates.fetch_motif_by_id(matrix_id)
        _, name, family, ppm = expected(record)
        assert (by_id[matrix_id].name, by_id[matrix_id].family) == (name, family)
        assert by_id[matrix_id].tf_class == ("; ".join(record.tf_class) or None)
        np.testing.assert_allclose(by_id[matrix_id].ppm, ppm, rtol=1e-12)


def test_meme_file_database_gives_the_same_annotation(tmp_path, jaspar, annotated):
    from memelite.io import read_meme as memelite_read_meme

    from seqsal.motifs.meme import write_meme

    by_id, db = jaspar
    path = write_meme(db, tmp_path / "jaspar.meme")
    theirs = memelite_read_meme(str(path))
    assert len(theirs) == len(db)
    np.testing.assert_allclose(theirs["MA0139.2 CTCF"], by_id["MA0139.2"].ppm, atol=1e-6)
    table, queries = annotated
    from_file = match(queries, path, top=5)
    assert list(from_file["match_id"]) == list(table["match_id"])
    # 6-decimal probabilities move a few target columns across TOMTOM's hashing bins.
    np.testing.assert_allclose(from_file["p_value"], table["p_value"], rtol=1e-2)
    assert set(from_file["database"]) == {str(path)}

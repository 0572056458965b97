"""scan.candidates: q-values against scipy's BH, merging, ranking, a planted enhancer first."""

import numpy as np
import pandas as pd
import pyBigWig
import pytest
from _toys import motif_counter, random_dna
from scipy.stats import false_discovery_control

from seqsal.errors import InputError
from seqsal.io.bed import read_bed
from seqsal.io.bigwig import write_interval_bigwig
from seqsal.io.fasta import write_fasta
from seqsal.scan.candidates import (
    CANDIDATE_COLUMNS,
    bigwig_intervals,
    call_candidates,
    infer_strand,
    merge_windows,
    null_scores,
    q_values,
    rank_regions,
    read_scores,
    write_candidates,
)
from seqsal.scan.genome import scan


def test_q_values_are_benjamini_hochberg_on_empirical_p_values():
    gen = np.random.default_rng(0)
    null = gen.normal(size=500)
    scores = np.concatenate([gen.normal(size=300), gen.normal(3, 1, size=40)])
    scores[:10] = scores[10]  # ties
    q = q_values(scores, null)
    p = (1 + (null[None, :] >= scores[:, None]).sum(axis=1)) / (1 + null.size)
    np.testing.assert_allclose(q, false_discovery_control(p, method="bh"), rtol=1e-12)
    order = np.argsort(scores)
    assert np.all(np.diff(q[order]) <= 1e-15)  # never rises with the score
    assert q[np.argmax(scores)] == q.min()


def windows(rows):
    return pd.DataFrame(rows, columns=["chrom", "start", "end", "score"])


def test_merge_joins_overlapping_and_near_windows_and_keeps_the_best():
    table = windows(
        [
            ("chr1", 0, 100, 1.0),
            ("chr1", 50, 150, 3.0),
            ("chr1", 160, 260, 2.0),  # 10 bases after 150
            ("chr1", 400, 500, 5.0),
            ("chr2", 40, 140, 0.5),
        ]
    )
    merged = merge_windows(table, merge_gap=0)
    assert list(zip(merged.chrom, merged.start, merged.end, strict=True)) == [
        ("chr1", 0, 150),
        ("chr1", 160, 260),
        ("chr1", 400, 500),
        ("chr2", 40, 140),
    ]
    assert list(merged["max_score"]) == [3.0, 2.0, 5.0, 0.5]
    assert list(merged["n_windows"]) == [2, 1, 1, 1]
    assert list(merged["peak_start"]) == [50, 160, 400, 40]
    gap10 = merge_windows(table, merge_gap=10)
    assert list(zip(gap10.start, gap10.end, strict=True))[:2] == [(0, 260), (400, 500)]
    ranked = rank_regions(merged, top=3)
    assert list(ranked.columns) == CANDIDATE_COLUMNS
    assert list(ranked["name"]) == ["candidate_1", "candidate_2", "candidate_3"]
    assert list(ranked["max_score"]) == [5.0, 3.0, 2.0]
    assert list(ranked["score"]) == [1000, 333, 0]
    assert set(ranked["strand"]) == {"."}


def test_read_scores_orders_shards_and_refuses_overlaps(tmp_path):
    header = "chrom\tstart\tend\tscore\tforward\treverse\n"
    (tmp_path / "a.tsv").write_text(header + "chr2\t0\t10\t1\t1\t1\nchr1\t20\t30\t2\t1\t3\n")
    (tmp_path / "b.tsv").write_text(header + "chr1\t0\t10\t3\t3\t3\n")
    table = read_scores(
        [tmp_path / "a.tsv", tmp_path / "b.tsv"], chrom_sizes={"chr1": 50, "chr2": 50}
    )
    assert list(zip(table.chrom, table.start, strict=True)) == [
        ("chr1", 0),
        ("chr1", 20),
        ("chr2", 0),
    ]
    assert infer_strand(table) == "mean"  # chr1:20-30 scores 2 from strands 1 and 3
    assert infer_strand(table.assign(score=[3.0, 3.0, 1.0])) == "max"
    assert infer_strand(table.assign(reverse=np.nan)) == "forward"
    with pytest.raises(InputError, match="appears twice"):
        read_scores([tmp_path / "a.tsv", tmp_path / "a.tsv"])
    (tmp_path / "c.tsv").write_text("chrom\tstart\tend\tvalue\n")
    with pytest.raises(InputError, match="expected chrom start end score"):
        read_scores(tmp_path / "c.tsv")
    with pytest.raises(InputError, match="not in the FASTA"):
        read_scores(tmp_path / "a.tsv", chrom_sizes={"chr1": 50})


def test_an_empty_shard_is_a_valid_shard(tmp_path, planted):
    """A chunk that is all N scores no window; its table (header only) must not stop the
    call, and the result equals the call without it."""
    _, _, table = planted
    header = "chrom\tstart\tend\tscore\tforward\treverse\n"
    (tmp_path / "empty.tsv").write_text(header)
    table.to_csv(tmp_path / "full.tsv", sep="\t", index=False, na_rep="NA")
    both = read_scores([tmp_path / "empty.tsv", tmp_path / "full.tsv"])
    pd.testing.assert_frame_equal(both, read_scores(tmp_path / "full.tsv"))
    alone = read_scores(tmp_path / "empty.tsv")
    assert alone.empty and list(alone.columns) == list(table.columns)
    assert alone["start"].dtype == np.int64


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A 12 kb random chromosome with GATA planted 8 times in 120 bp at 7,000-7,120."""
    folder = tmp_path_factory.mktemp("planted")
    seq = list(random_dna(12_000, 11))
    for i in range(8):
        at = 7_000 + 15 * i
        seq[at : at + 4] = "GATA"
    seq = "".join(seq)
    path = folder / "g.fa"
    write_fasta([("chrS", seq), ("chrT", random_dna(3_000, 12))], path)
    model = motif_counter(200)
    table = scan(model, path, stride=10, strand="mean").to_frame()
    return path, model, table


def test_planted_enhancer_ranks_first_by_fdr_and_by_quantile(planted):
    path, model, table = planted
    fdr = call_candidates(table, model=model, genome=path, fdr=0.05, null_windows=8000, seed=1)
    best = fdr.regions.iloc[0]
    assert best["name"] == "candidate_1" and best["chrom"] == "chrS"
    assert best["start"] <= 7_000 and best["end"] >= 7_120
    assert best["peak_start"] <= 7_000 and best["peak_end"] >= 7_120
    assert best["q_value"] <= 0.05 and best["score"] == 1000
    assert (fdr.regions["q_value"] <= 0.05).all()
    assert fdr.null.size == 8000 and fdr.strand == "mean"
    quantile = call_candidates(table, fdr=None, quantile=0.995)
    top = quantile.regions.iloc[0]
    assert (top["chrom"], top["peak_start"]) == (best["chrom"], best["peak_start"])
    assert quantile.regions["q_value"].isna().all()  # no model: no null


def test_null_is_seeded_and_keeps_composition(planted):
    path, model, table = planted
    a = null_scores(model, path, table, n=300, seed=4)
    b = null_scores(model, path, table, n=300, seed=4)
    c = null_scores(model, path, table, n=300, seed=5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # shuffles keep the composition of random sequence: motif counts of the same size on
    # average (the planted windows' shuffles keep many GA/AT/TA pairs, so the max can be high)
    assert abs(a.mean() - table["score"].mean()) < 0.25


def test_write_candidates_and_bigwig_read_back(planted, tmp_path):
    table = planted[2]
    result = call_candidates(table, quantile=0.99)
    out = tmp_path / "c.bed"
    write_candidates(result.regions, out)
    back = read_bed(out)
    assert list(back["name"]) == list(result.regions["name"])
    assert back["score"].between(0, 1000).all()
    intervals = bigwig_intervals(table)
    assert (intervals["end"] - intervals["start"] == 10).all()  # the stride, inferred
    bw = tmp_path / "s.bw"
    write_interval_bigwig(intervals, bw, {"chrS": 12_000, "chrT": 3_000})
    with pyBigWig.open(str(bw)) as reader:
        assert reader.chroms() == {"chrS": 12_000, "chrT": 3_000}
        centres = (table["start"] + 100).to_numpy()
        got = [
            reader.values(c, int(p), int(p) + 1)[0]
            for c, p in zip(table.chrom, centres, strict=True)
        ]
    np.testing.assert_allclose(got, table["score"], rtol=1e-6)
    with pytest.raises(InputError, match="overlap"):
        write_interval_bigwig(
            pd.DataFrame(
                {"chrom": ["chrS"] * 2, "start": [0, 5], "end": [10, 15], "value": [1, 2]}
            ),
            tmp_path / "bad.bw",
            {"chrS": 100},
        )
    assert not (tmp_path / "bad.bw").exists()


def test_call_candidates_checks_its_arguments(planted):
    path, _, table = planted
    with pytest.raises(InputError, match="exactly one"):
        call_candidates(table, quantile=0.9, fdr=0.1)
    with pytest.raises(InputError, match="needs the model"):
        call_candidates(table, fdr=0.1)
    with pytest.raises(InputError, match="quantile"):
        call_candidates(table, quantile=1.5)
    other = motif_counter(100)
    with pytest.raises(InputError, match="input length"):
        call_candidates(table, model=other, genome=path, fdr=0.1)

"""seqsal.sequence.synthetic and ``seqsal simulate``: the planted truth is really in the files.

Every property is checked from the written files, read back through seqsal's own readers
(``io.fasta``, ``io.bed``) or plain pandas, against the JASPAR matrices fetched independently.
"""

import filecmp

import numpy as np
import pandas as pd
import pytest

from seqsal.cli import main
from seqsal.errors import InputError
from seqsal.io.bed import read_bed
from seqsal.io.fasta import open_genome
from seqsal.sequence.onehot import codes
from seqsal.sequence.synthetic import (
    DEFAULT_ACTIVATORS,
    DEFAULT_REPRESSORS,
    dinucleotide_frequencies,
    load_motifs,
    simulate,
)

N_REGIONS = 1200
FILES = ("genome.fa", "regions.bed", "planted.bed", "truth.tsv")


def read_table(path) -> pd.DataFrame:
    """A ``#chrom``-headed BED or a TSV, with the leading ``#`` dropped from the header."""
    df = pd.read_csv(path, sep="\t", keep_default_na=False)
    return df.rename(columns=lambda c: c.lstrip("#"))


def log_odds(ppm: np.ndarray, background: np.ndarray) -> np.ndarray:
    """(4, w) log2 odds of a PPM against a background, written here without seqsal."""
    return np.log2((ppm + 0.01 * background[:, None]) / 1.01 / background[:, None])


def window_scores(code_rows: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Score every window of every row of codes (n, L) with a (4, w) matrix: (n, L - w + 1)."""
    w = lo.shape[1]
    padded = np.vstack([lo, np.full((1, w), -50.0)])  # code 4 (N) scores very low
    windows = np.lib.stride_tricks.sliding_window_view(code_rows, w, axis=1)
    return padded[windows, np.arange(w)].sum(axis=-1)


def revcomp_codes(c: np.ndarray) -> np.ndarray:
    out = np.where(c < 4, 3 - c, 4)
    return out[..., ::-1]


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    return simulate(tmp_path_factory.mktemp("sim"), n_regions=N_REGIONS, seed=7)


@pytest.fixture(scope="module")
def genome_text(sim):
    with open_genome(sim.genome) as genome:
        return {chrom: genome.chromosome(chrom) for chrom in genome.chrom_sizes}


@pytest.fixture(scope="module")
def background():
    freq = dinucleotide_frequencies()
    return freq.sum(axis=1)


def test_default_motifs_are_distinct_families_with_a_repressor(sim):
    truth = read_table(sim.truth)
    assert len(truth) >= 6
    assert (truth.role == "repressor").sum() >= 1 and (truth.role == "activator").sum() >= 5
    assert truth.tf_family.is_unique, truth.tf_family.tolist()
    assert set(truth.motif_id) == set(DEFAULT_ACTIVATORS) | set(DEFAULT_REPRESSORS)
    assert (truth.effect[truth.role == "activator"] > 0).all()
    assert (truth.effect[truth.role == "repressor"] < 0).all()
    assert truth.length.between(8, 20).all()
    assert (truth.jaspar_release == "JASPAR2026").all() and (truth.seed == 7).all()
    planted = read_table(sim.planted)
    counts = planted.motif_id.value_counts()
    assert truth.set_index("motif_id").n_instances.to_dict() == counts.to_dict()
    # Enough instances of every motif to learn from: rate 0.4 on 85 % of the regions.
    assert counts.min() > 0.25 * N_REGIONS


def test_planted_instances_are_in_the_genome_on_their_strand(sim, genome_text, background):
    planted = read_table(sim.planted)
    regions = read_table(sim.regions)
    chr1 = regions[regions.chrom == "chr1"]
    edges = np.r_[0, np.c_[chr1.start, chr1.end].ravel(), len(genome_text["chr1"])]
    spacers = "".join(genome_text["chr1"][a:b] for a, b in edges.reshape(-1, 2)).strip("N")
    ppms = {
        m.matrix_id: m.ppm for m in load_motifs(list(DEFAULT_ACTIVATORS), list(DEFAULT_REPRESSORS))
    }
    rng = np.random.default_rng(0)
    asymmetric = 0
    for motif_id, group in planted.groupby("motif_id"):
        lo = log_odds(ppms[motif_id], background)
        w = lo.shape[1]
        assert (group.end - group.start == w).all()
        rows = np.stack([codes(genome_text[r.chrom][r.start : r.end]) for r in group.itertuples()])
        minus = (group.strand == "-").to_numpy()
        oriented = np.where(minus[:, None], revcomp_codes(rows), rows)
        scores = window_scores(oriented, lo)[:, 0]
        # The file's own score is this same log-odds score.
        np.testing.assert_allclose(scores, group.log_odds, atol=2e-3)
        # Random background positions (both strands, outside regions) score far lower.
        random_rows = np.stack(
            [codes(spacers[s : s + w]) for s in rng.integers(0, len(spacers) - w, 3000)]
        )
        random_scores = np.maximum(
            window_scores(random_rows, lo)[:, 0],
            window_scores(revcomp_codes(random_rows), lo)[:, 0],
        )
        cutoff = np.quantile(random_scores, 0.999)
        assert np.mean(scores > cutoff) > 0.9, motif_id
        assert np.median(scores) > 0.6 * lo.max(axis=0).sum(), motif_id
        # Sampled from the PPM, not the consensus: base frequencies follow the matrix.
        observed = np.stack([(oriented == b).mean(axis=0) for b in range(4)])
        assert np.abs(observed - ppms[motif_id]).max() < 0.1, motif_id
        assert (oriented == lo.argmax(axis=0)).all(axis=1).mean() < 0.8, motif_id
        # The strand is right: for asymmetric motifs (the reverse complement of the consensus
        # scores low), the planted orientation scores higher than the other one.
        consensus = lo.argmax(axis=0)
        if window_scores(revcomp_codes(consensus[None]), lo)[0, 0] < 0.5 * lo.max(axis=0).sum():
            other = window_scores(revcomp_codes(oriented), lo)[:, 0]
            assert np.mean(scores > other) > 0.95, motif_id
            asymmetric += 1
    assert asymmetric >= 3  # CTCF, Spi1, REST


def test_instances_lie_inside_their_regions_without_overlap(sim):
    regions = read_table(sim.regions).set_index("name")
    planted = read_table(sim.planted)
    region = regions.loc[planted.region]
    assert (planted.chrom.to_numpy() == region.chrom.to_numpy()).all()
    assert (planted.start.to_numpy() >= region.start.to_numpy()).all()
    assert (planted.end.to_numpy() <= region.end.to_numpy()).all()
    np.testing.assert_array_equal(planted.offset, planted.start - region.start.to_numpy())
    for _, group in planted.groupby("region"):
        ordered = group.sort_values("start")
        assert (ordered.start.to_numpy()[1:] >= ordered.end.to_numpy()[:-1]).all()
    assert set(planted.strand) == {"+", "-"}
    assert 0.4 < (planted.strand == "+").mean() < 0.6


def test_same_seed_same_bytes_other_seed_other_data(sim, tmp_path):
    again = simulate(tmp_path / "again", n_regions=N_REGIONS, seed=7)
    for name in FILES:
        assert filecmp.cmp(sim.out_dir / name, again.out_dir / name, shallow=False), name
    other = simulate(tmp_path / "other", n_regions=N_REGIONS, seed=8)
    for name in ("genome.fa", "regions.bed", "planted.bed"):
        assert not filecmp.cmp(sim.out_dir / name, other.out_dir / name, shallow=False), name


def test_background_follows_the_dinucleotide_model(sim, genome_text):
    planted = read_table(sim.planted)
    expected = dinucleotide_frequencies()
    counts = np.zeros((4, 4))
    for chrom, text in genome_text.items():
        c = codes(text).astype(np.int64)
        keep = np.ones(len(c), dtype=bool)
        for r in planted[planted.chrom == chrom].itertuples():
            keep[r.start : r.end] = False
        pair_ok = keep[:-1] & keep[1:] & (c[:-1] < 4) & (c[1:] < 4)
        np.add.at(counts, (c[:-1][pair_ok], c[1:][pair_ok]), 1)
    observed = counts / counts.sum()
    assert np.abs(observed - expected).max() < 0.003
    gc = observed.sum(axis=1)[[1, 2]].sum()
    assert 0.39 < gc < 0.43
    cpg_observed_expected = observed[1, 2] / (observed.sum(axis=1)[1] * observed.sum(axis=1)[2])
    assert cpg_observed_expected < 0.35


def test_soft_mask_and_n_runs_like_an_assembly(sim, genome_text):
    regions = read_table(sim.regions)
    whole = "".join(genome_text.values())
    lowercase = sum(map(str.islower, whole)) / len(whole)
    assert 0.1 < lowercase < 0.3
    for text in genome_text.values():
        assert text.startswith("NNNNNNNNNN") and text.endswith("NNNNNNNNNN")
    interior_n = sum(text.strip("N").count("N") for text in genome_text.values())
    assert interior_n > 0  # assembly gaps in spacers
    region_text = [genome_text[r.chrom][r.start : r.end] for r in regions.itertuples()]
    assert not any("N" in s for s in region_text)
    assert sum(any(ch.islower() for ch in s) for s in region_text) > 0.3 * len(region_text)
    # Some regions lie wholly inside a masked stretch (as in a repeat), most do not.
    assert sum(s.islower() for s in region_text) < 0.2 * len(region_text)


def test_regions_read_by_read_bed_with_targets(sim):
    with open_genome(sim.genome) as genome:
        df = read_bed(sim.regions, chrom_sizes=genome.chrom_sizes)
        assert (
            list(genome.chrom_sizes) == sim.chromosomes == ["chr1", "chr2", "chr3", "chr4", "chr5"]
        )
    assert df.attrs["targets"] == ["activity", "label"]
    assert len(df) == N_REGIONS and df.name.is_unique
    assert ((df.end - df.start) == 300).all()
    assert set(df.label.unique()) == {0, 1}
    assert ((df.activity > 1.0) == (df.label == 1)).all()
    assert df.chrom.value_counts().min() > 0.15 * N_REGIONS  # any chromosome can be held out
    for _, group in df.groupby("chrom"):
        assert (group.start.to_numpy()[1:] > group.end.to_numpy()[:-1]).all()


def test_activity_is_the_planted_effects_plus_noise(tmp_path):
    exact = simulate(tmp_path / "exact", n_regions=600, seed=3, noise_sd=0.0)
    truth = read_table(exact.truth).set_index("motif_id")
    planted = read_table(exact.planted)
    regions = read_table(exact.regions).set_index("name")
    planted["effect"] = planted.motif_id.map(truth.effect)
    expected = planted.groupby("region").effect.sum().reindex(regions.index, fill_value=0.0)
    a, b, bonus = exact.cooperative
    assert truth.loc[a, "cooperative_partner"] == b and truth.loc[a, "cooperative_bonus"] == bonus
    present = planted.groupby("region").motif_id.agg(set).reindex(regions.index)
    both = present.map(lambda s: isinstance(s, set) and {a, b} <= s)
    expected[both] += bonus
    assert both.sum() > 10
    np.testing.assert_allclose(regions.activity, expected, atol=1e-4)
    assert (expected == 0).mean() > 0.1  # some regions carry no motif at all
    # With noise: the residual is the noise.
    noisy = simulate(tmp_path / "noisy", n_regions=600, seed=3, noise_sd=0.3)
    residual = read_table(noisy.regions).activity.to_numpy() - expected.to_numpy()
    assert 0.25 < residual.std() < 0.35
    assert np.corrcoef(expected, expected + residual)[0, 1] > 0.9


def test_activity_is_predictable_from_sequence_on_a_held_out_chromosome(
    sim, genome_text, background
):
    """Max PWM score per motif + a linear fit on chr1-4 predicts chr5's activity (r > 0.75)."""
    regions = read_table(sim.regions)
    rows = np.stack([codes(genome_text[r.chrom][r.start : r.end]) for r in regions.itertuples()])
    features = []
    for m in sim.motifs:
        lo = log_odds(m.ppm, background)
        best = np.maximum(window_scores(rows, lo), window_scores(revcomp_codes(rows), lo)[:, ::-1])
        features.append(best.max(axis=1))
    design = np.column_stack([*features, np.ones(len(regions))])
    test = (regions.chrom == "chr5").to_numpy()
    coef, *_ = np.linalg.lstsq(design[~test], regions.activity[~test], rcond=None)
    r = np.corrcoef(design[test] @ coef, regions.activity[test])[0, 1]
    assert r > 0.75
    # Repressor weight negative, activators positive.
    roles = np.array([m.role for m in sim.motifs])
    assert (coef[:-1][roles == "activator"] > 0).all() and (
        coef[:-1][roles == "repressor"] < 0
    ).all()


def test_custom_motifs_versions_and_errors(tmp_path):
    sim = simulate(
        tmp_path / "custom",
        n_regions=50,
        motifs=["MA0139", "MA0047.4"],
        repressors=[],
        effects={"MA0139": 2.0},
        cooperative=("MA0139", "MA0047", 0.5),
        seed=1,
    )
    truth = read_table(sim.truth)
    assert truth.motif_id.tolist() == ["MA0139.2", "MA0047.4"]
    assert truth.effect.tolist() == [2.0, 1.0]
    assert sim.cooperative == ("MA0139.2", "MA0047.4", 0.5)
    with pytest.raises(InputError, match=r"MA9999\.1"):
        simulate(tmp_path / "bad", n_regions=10, motifs=["MA9999.1"])
    with pytest.raises(InputError, match="twice"):
        simulate(tmp_path / "bad", n_regions=10, motifs=["MA0139.2"], repressors=["MA0139"])
    with pytest.raises(InputError, match="jaspar_release"):
        simulate(tmp_path / "bad", n_regions=10, jaspar_release="JASPAR1999")
    with pytest.raises(InputError, match="region_length"):
        simulate(tmp_path / "bad", n_regions=10, region_length=12)
    with pytest.raises(InputError, match="n_regions"):
        simulate(tmp_path / "bad", n_regions=0)
    with pytest.raises(InputError, match="cooperative"):
        simulate(tmp_path / "bad", n_regions=10, cooperative=("MA0139.2", "MA0047.4", 1.0))
    assert not (tmp_path / "bad").exists()
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        simulate(tmp_path / "a_file", n_regions=10)


def test_cli_writes_the_data_set_and_a_summary_line(tmp_path, capsys):
    out = tmp_path / "cli"
    rc = main(
        ["simulate", "--out", str(out), "--n-regions", "60", "--seed", "5", "--chromosomes", "3"]
    )
    assert rc == 0
    err = capsys.readouterr().err
    assert "60 regions x 300 bp on 3 chromosomes" in err and "REST MA0138.3" in err
    api = simulate(tmp_path / "api", n_regions=60, seed=5, n_chromosomes=3)
    for name in FILES:
        assert filecmp.cmp(out / name, api.out_dir / name, shallow=False), name
    args = ["simulate", "--out", str(tmp_path / "clean"), "--n-regions", "60", "--seed", "5"]
    assert main([*args, "--chromosomes", "3", "--clean-background"]) == 0
    capsys.readouterr()
    cleaned = simulate(
        tmp_path / "api_clean", n_regions=60, seed=5, n_chromosomes=3, clean_background=True
    )
    for name in FILES:
        assert filecmp.cmp(tmp_path / "clean" / name, cleaned.out_dir / name, shallow=False), name
    assert not filecmp.cmp(out / "genome.fa", cleaned.genome, shallow=False)
    rc = main(["simulate", "--out", str(tmp_path / "bad"), "--activators", "MA0139.2,NOPE"])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "NOPE" in err and "Traceback" not in err
    assert not (tmp_path / "bad").exists()


def test_clean_background_leaves_no_chance_site_and_changes_nothing_else(tmp_path, background):
    """With clean_background no window outside the planted instances scores as a site, on
    either strand; the instances, activities and labels are the ones drawn without it."""
    n = 300
    plain = simulate(tmp_path / "plain", n_regions=n, seed=3)
    clean = simulate(tmp_path / "clean", n_regions=n, seed=3, clean_background=True)
    again = simulate(tmp_path / "again", n_regions=n, seed=3, clean_background=True)
    for name in FILES:
        assert filecmp.cmp(clean.out_dir / name, again.out_dir / name, shallow=False), name
    for name in ("regions.bed", "planted.bed", "truth.tsv"):
        assert filecmp.cmp(plain.out_dir / name, clean.out_dir / name, shallow=False), name
    regions = read_table(clean.regions)
    planted = read_table(clean.planted)
    texts = {}
    for key, sim in (("plain", plain), ("clean", clean)):
        with open_genome(sim.genome) as genome:
            texts[key] = {c: genome.chromosome(c).upper() for c in genome.chrom_sizes}
    rows = {
        key: np.stack([codes(text[r.chrom][r.start : r.end]) for r in regions.itertuples()])
        for key, text in texts.items()
    }
    plain, clean = "plain", "clean"
    # outside the regions and inside planted instances not a base differs
    for chrom in texts[plain]:
        a, b = texts[plain][chrom], texts[clean][chrom]
        inside = np.zeros(len(a), dtype=bool)
        for r in regions[regions.chrom == chrom].itertuples():
            inside[r.start : r.end] = True
        differ = np.frombuffer(a.encode(), np.uint8) != np.frombuffer(b.encode(), np.uint8)
        assert not (differ & ~inside).any(), chrom
    index = {name: i for i, name in enumerate(regions.name)}
    covered = np.zeros(rows[clean].shape, dtype=bool)
    for p in planted.itertuples():
        covered[index[p.region], p.offset : p.offset + (p.end - p.start)] = True
    assert not (rows[plain] != rows[clean])[covered].any()
    changed = (rows[plain] != rows[clean]).mean()
    assert 0.02 < changed < 0.2, changed
    chance = {plain: 0, clean: 0}
    for m in load_motifs(list(DEFAULT_ACTIVATORS), list(DEFAULT_REPRESSORS)):
        lo = log_odds(m.ppm, background)
        w = lo.shape[1]
        low, high = lo.min(axis=0).sum(), lo.max(axis=0).sum()
        floor = low + 0.7 * (high - low)
        clear = np.lib.stride_tricks.sliding_window_view(covered, w, axis=1).sum(-1) == 0
        for sim in (plain, clean):
            for strand in (rows[sim], revcomp_codes(rows[sim])):
                scores = window_scores(strand, lo)
                if strand is not rows[sim]:
                    scores = scores[:, ::-1]  # back to + strand window starts
                chance[sim] += int(((scores >= floor) & clear).sum())
    assert chance[clean] == 0 and chance[plain] > n  # the plain background has many

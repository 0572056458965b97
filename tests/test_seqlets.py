"""Tests for seqsal.seqlets: planted blocks, both signs and strands, FDR, invariances, oracle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _toys import onehot_codes

from seqsal.errors import InputError
from seqsal.seqlets import (
    BED_COLUMNS,
    call_seqlets,
    read_seqlets_bed,
    write_seqlets_bed,
)
from seqsal.seqlets import call as callmod

L = 120


def noise(rng, n, length=L, sd=0.1):
    """Mildly autocorrelated Gaussian background, as attributions of plain sequence look."""
    raw = rng.normal(size=(n, length + 2))
    return sd * (0.5 * raw[:, :-2] + raw[:, 1:-1] + 0.5 * raw[:, 2:]) / 1.2247


def planted(seed=0, n=40, amplitude=1.0):
    """Strong blocks: + at [30, 38) in even rows, - at [80, 90) in rows divisible by 3."""
    rng = np.random.default_rng(seed)
    X = noise(rng, n)
    blocks = []
    for i in range(n):
        if i % 2 == 0:
            X[i, 30:38] += amplitude
            blocks.append((i, 30, 38, 1))
        if i % 3 == 0:
            X[i, 80:90] -= amplitude
            blocks.append((i, 80, 90, -1))
    return X, noise(rng, 10 * n), blocks


def coords_for(n, length=L):
    return pd.DataFrame(
        {
            "chrom": ["chr1"] * n,
            "start": [1000 * i + 7 for i in range(n)],
            "end": [1000 * i + 7 + length for i in range(n)],
            "strand": ["+" if i % 2 else "-" for i in range(n)],
            "name": [f"r{i}" for i in range(n)],
        }
    )


def calls_of(res):
    t = res.table
    return set(
        zip(
            t["example_idx"].tolist(),
            t["core_start"].tolist(),
            t["core_end"].tolist(),
            t["sign"].tolist(),
            strict=True,
        )
    )


def recall_precision(calls, blocks):
    """Blocks overlapped >= 50% by a same-sign call; calls overlapping a same-sign block."""
    found = 0
    good = set()
    for i, a, b, s in blocks:
        hit = False
        for c in calls:
            e, cs, ce, cg = c[:4]
            if e != i or cg != s:
                continue
            ov = min(b, ce) - max(a, cs)
            if ov > 0:
                good.add(c)
                hit = hit or ov >= 0.5 * (b - a)
        found += hit
    return found / max(1, len(blocks)), len(good) / max(1, len(calls))


# ---------------------------------------------------------------------------------------------
# planted blocks, offsets and genome coordinates
# ---------------------------------------------------------------------------------------------


def test_growth_adds_a_weak_flank_above_the_penalty_only():
    """A strong half [50, 58) and a weak half [58, 61) too weak to be tested on its own: the
    tested span is the strong half; growth adds the flank when its positions carry more than
    grow x the null's per-position sd (0.1 here), and nothing when they carry less."""
    rng = np.random.default_rng(3)
    null = noise(rng, 400)  # per-position sd 0.1
    for flank, grow, end in [(0.2, 1.5, 61), (0.1, 1.5, 58), (0.2, 2.5, 58), (0.2, None, 58)]:
        X = noise(np.random.default_rng(4), 20, sd=0.002)
        X[:, 50:58] += 1.0
        X[:, 58:61] += flank
        t = call_seqlets(X, null=null, grow=grow).table
        assert len(t) == 20 and (t["sign"] == 1).all()
        assert (t["core_start"] == 50).all(), (flank, grow)
        assert (t["core_end"] == end).all(), (flank, grow)
        sums = X[np.arange(20)[:, None], np.arange(50, end)].sum(axis=1)
        assert np.allclose(t["attribution"], sums)
        # the p-value is the reported span's, against control spans of its length
        lengths = (t["core_end"] - t["core_start"]).to_numpy()
        spans = np.lib.stride_tricks.sliding_window_view(null, end - 50, axis=1).sum(axis=-1)
        expected = (1 + (spans >= sums.min()).sum()) / (1 + spans.size)
        assert (lengths == end - 50).all() and (t["p_value"] <= expected * 1.001).all()


def test_growth_into_noise_is_bounded_and_shrinks_with_the_penalty():
    """Clean blocks in autocorrelated noise: growth adds noise positions only while they
    carry more than the penalty, so on average a couple per seqlet, fewer as grow rises, and
    it never changes which blocks are called."""
    Xp, nullp, blocks = planted()
    base = call_seqlets(Xp, null=nullp, grow=None).table
    width = (base["core_end"] - base["core_start"]).sum()
    added = {}
    for grow in (1.0, 2.0, 4.0):
        more = call_seqlets(Xp, null=nullp, grow=grow).table
        assert len(more) == len(base)
        for i, a, b, s in blocks:  # every block still lies inside its seqlet
            hit = more[(more["example_idx"] == i) & (more["sign"] == s)]
            assert ((hit["core_start"] <= a) & (hit["core_end"] >= b)).any()
        added[grow] = ((more["core_end"] - more["core_start"]).sum() - width) / len(more)
    assert 0 <= added[4.0] <= added[2.0] <= added[1.0] <= 3, added
    assert added[4.0] < 1.0
    with pytest.raises(InputError, match="grow"):
        call_seqlets(Xp, null=nullp, grow=-1)


def test_planted_blocks_called_at_exact_offsets_both_signs():
    X, null, blocks = planted()
    res = call_seqlets(X, null=null, fdr=0.05, grow=None)
    calls = calls_of(res)
    for block in blocks:
        assert block in calls, f"planted block {block} not called exactly"
    extra = calls - set(blocks)
    # at a 5% FDR per sign a false call or two among ~36 is expected; many are not
    assert len(extra) <= 0.1 * len(calls), f"unexpected calls: {sorted(extra)}"
    t = res.table
    assert (np.sign(t["attribution"]) == t["sign"]).all()
    assert res.n_called[1] == (t["sign"] == 1).sum() and res.n_called[-1] == (t["sign"] == -1).sum()
    assert (t["q_value"] <= 0.05).all() and (t["p_value"] <= res.p_threshold[1]).any()


def test_genome_coordinates_on_both_strands():
    X, null, _ = planted()
    coords = coords_for(len(X))
    res = call_seqlets(X, null=null, coords=coords, flank=3, grow=None)
    t = res.table.set_index(["example_idx", "core_start", "sign"])
    # odd rows are + windows: row 3 carries a negative block at [80, 90)
    row = t.loc[(3, 80, -1)]
    assert (row["start"], row["end"]) == (77, 93)
    assert (row["genome_start"], row["genome_end"]) == (3007 + 77, 3007 + 93)
    assert row["strand"] == "+" and row["region"] == "r3" and row["chrom"] == "chr1"
    # even rows are - windows: offset i is end - 1 - i, so [a, b) -> [end - b, end - a)
    row = t.loc[(0, 30, 1)]
    end = 0 * 1000 + 7 + L
    assert (row["start"], row["end"]) == (27, 41)
    assert (row["genome_start"], row["genome_end"]) == (end - 41, end - 27)
    assert row["strand"] == "-"
    row = t.loc[(6, 80, -1)]
    end = 6 * 1000 + 7 + L
    assert (row["genome_start"], row["genome_end"]) == (end - 93, end - 77)


def test_padded_windows_clip_spans_to_the_bases_read_on_both_strands(caplog):
    """Windows padded with N past a chromosome end (as make_windows records them): the calls
    are those of unpadded windows, their reported spans stop where the padding starts."""
    X, null, _ = planted()
    n = len(X)
    coords = coords_for(n)
    # (row, strand, pad_left, pad_right); the window offsets that are padding differ by strand
    padded = [(0, "+", 28, 0), (3, "-", 28, 0), (4, "+", 0, 40), (2, "-", 0, 85)]
    for row, strand, left, right in padded:
        start = 0 if left else int(coords.loc[row, "start"])
        coords.loc[row, ["strand", "start", "end"]] = [strand, start, start + L - left - right]
    coords["pad_left"] = 0
    coords["pad_right"] = 0
    for row, _, left, right in padded:
        coords.loc[row, ["pad_left", "pad_right"]] = [left, right]
        if row != 2:  # padding is N: zero attribution (row 2 keeps its block inside padding)
            lo, hi = (left, L - right) if coords.loc[row, "strand"] == "+" else (right, L - left)
            X[row, :lo] = 0
            X[row, hi:] = 0
    plain = call_seqlets(X, null=null, flank=5, grow=None)
    res = call_seqlets(X, null=null, coords=coords, flank=5, grow=None)
    # row 2's block lies wholly in its padding: not placed on the genome
    assert "wholly in the N padding" in caplog.text
    assert 2 not in set(res.table["example_idx"]) and 2 in set(plain.table["example_idx"])
    assert res.n_called[1] == (res.table["sign"] == 1).sum()
    key = ["example_idx", "sign", "p_value", "q_value"]
    pd.testing.assert_frame_equal(
        res.table[key], plain.table.loc[plain.table["example_idx"] != 2, key].reset_index(drop=True)
    )
    t = res.table.set_index(["example_idx", "sign"])
    # row 0, + window, 28 N on the left: [25, 43) stops at offset 28 = genome 0
    assert (t.loc[(0, 1), "start"], t.loc[(0, 1), "end"]) == (28, 43)
    assert (t.loc[(0, 1), "genome_start"], t.loc[(0, 1), "genome_end"]) == (0, 15)
    assert (t.loc[(0, -1), "genome_start"], t.loc[(0, -1), "genome_end"]) == (47, 67)
    # row 3, - window, 28 N on the left (+ strand order) are its last offsets, 92..119
    assert (t.loc[(3, -1), "start"], t.loc[(3, -1), "end"]) == (75, 92)
    assert (t.loc[(3, -1), "core_start"], t.loc[(3, -1), "core_end"]) == (80, 90)
    assert (t.loc[(3, -1), "genome_start"], t.loc[(3, -1), "genome_end"]) == (0, 17)
    # row 4, + window, 40 N on the right: the block at 25..43 is read whole
    start4 = int(coords.loc[4, "start"])
    assert (t.loc[(4, 1), "genome_start"], t.loc[(4, 1), "genome_end"]) == (
        start4 + 25,
        start4 + 43,
    )
    # no seqlet reaches past the bases read
    window = coords.iloc[res.table["example_idx"]]
    assert (res.table["genome_start"].to_numpy() >= window["start"].to_numpy()).all()
    assert (res.table["genome_end"].to_numpy() <= window["end"].to_numpy()).all()


def test_flanks_do_not_change_calls_and_clip_to_window():
    X, null, _ = planted()
    X[1, 0:8] += 1.0  # a block at the window edge
    a = call_seqlets(X, null=null, grow=None)
    b = call_seqlets(X, null=null, flank=5, grow=None)
    cols = ["example_idx", "core_start", "core_end", "sign", "p_value", "q_value"]
    pd.testing.assert_frame_equal(a.table[cols], b.table[cols])
    assert (b.table["start"] == np.maximum(b.table["core_start"] - 5, 0)).all()
    assert (b.table["end"] == np.minimum(b.table["core_end"] + 5, L)).all()
    edge = b.table[(b.table["example_idx"] == 1) & (b.table["core_start"] == 0)]
    assert len(edge) == 1 and edge["start"].iloc[0] == 0 and edge["end"].iloc[0] == 13


def test_negative_only_map_yields_only_negative_seqlets():
    rng = np.random.default_rng(3)
    X = noise(rng, 30)
    for i in range(30):
        X[i, 50:60] -= 0.8
    res = call_seqlets(X, null=noise(rng, 300))
    t = res.table
    assert len(t) >= 28
    assert (t["sign"] == -1).all() and (t["attribution"] < 0).all()
    assert res.n_called[1] == 0
    # asking for positive seqlets only finds nothing; negative only finds the same calls
    assert len(call_seqlets(X, null=noise(rng, 300), sign="positive").table) == 0


def test_projected_4_by_L_is_summed_over_bases():
    X, null, _ = planted()
    rng = np.random.default_rng(1)
    w = rng.dirichlet(np.ones(4), size=X.shape).transpose(0, 2, 1)  # (n, 4, L), sums to 1
    a = call_seqlets(X, null=null)
    b = call_seqlets(w * X[:, None, :], null=null[:, None, :] * np.ones((1, 4, 1)) / 4)
    pd.testing.assert_frame_equal(a.table, b.table, rtol=1e-9)


# ---------------------------------------------------------------------------------------------
# false discoveries
# ---------------------------------------------------------------------------------------------


def test_noise_only_against_same_distribution_null_calls_few():
    """Under the complete null every call is false; P(any call) per sign should be ~<= fdr."""
    runs_with_calls = 0
    total = 0
    for seed in range(10):
        rng = np.random.default_rng(100 + seed)
        res = call_seqlets(noise(rng, 100), null=noise(rng, 500), fdr=0.05)
        runs_with_calls += len(res.table) > 0
        total += len(res.table)
    assert runs_with_calls <= 2, (runs_with_calls, total)


def test_false_discovery_proportion_near_target_across_seeds():
    fdps = []
    recalls = []
    for seed in range(6):
        rng = np.random.default_rng(200 + seed)
        n = 150
        X = noise(rng, n)
        blocks = []
        for i in range(0, n, 2):  # weak-to-moderate blocks: some calls are borderline
            s = 1 if i % 4 == 0 else -1
            amp = rng.uniform(0.1, 0.35)
            X[i, 40:50] += s * amp
            blocks.append((i, 40, 50, s))
        res = call_seqlets(X, null=noise(rng, 600), fdr=0.1)
        calls = calls_of(res)
        recall, precision = recall_precision(calls, blocks)
        fdps.append(1 - precision if calls else 0.0)
        recalls.append(recall)
    assert np.mean(fdps) <= 0.15, fdps
    assert np.mean(recalls) >= 0.3, recalls  # the test has power: it is not calling nothing


def test_gaussian_fallback_finds_strong_blocks_and_few_in_noise():
    X, _, blocks = planted()
    res = call_seqlets(X, fdr=0.05)
    assert res.null == "gaussian"
    recall, precision = recall_precision(calls_of(res), blocks)
    assert recall == 1.0 and precision >= 0.95
    quiet = sum(
        len(call_seqlets(noise(np.random.default_rng(s), 100), fdr=0.05).table) for s in range(5)
    )
    assert quiet <= 2


# ---------------------------------------------------------------------------------------------
# invariances and determinism
# ---------------------------------------------------------------------------------------------


def test_order_and_batch_invariance(monkeypatch):
    X, null, _ = planted(seed=5, n=60, amplitude=0.4)
    base = call_seqlets(X, null=null, fdr=0.2)
    perm = np.random.default_rng(0).permutation(len(X))
    shuffled = call_seqlets(
        X[perm], null=null[np.random.default_rng(1).permutation(len(null))], fdr=0.2
    )
    t = shuffled.table.copy()
    t["example_idx"] = perm[t["example_idx"]]
    key = ["example_idx", "core_start", "sign"]
    cols = [*key, "core_end", "attribution", "p_value", "q_value"]
    a = base.table[cols].sort_values(key).reset_index(drop=True)
    b = t[cols].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, rtol=1e-9)
    monkeypatch.setattr(callmod, "CHUNK", 7)
    pd.testing.assert_frame_equal(call_seqlets(X, null=null, fdr=0.2).table, base.table)


def test_deterministic_and_seed_free():
    X, null, _ = planted(seed=9, amplitude=0.5)
    a = call_seqlets(X, null=null, seed=1)
    b = call_seqlets(X, null=null, seed=2)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.p_threshold == b.p_threshold


# ---------------------------------------------------------------------------------------------
# BED output
# ---------------------------------------------------------------------------------------------


def test_bed_round_trip(tmp_path):
    X, null, _ = planted()
    coords = coords_for(len(X))
    res = call_seqlets(X, null=null, coords=coords, flank=2)
    path = tmp_path / "out" / "seqlets.bed"
    written = write_seqlets_bed(res, path)
    assert [p.name for p in path.parent.iterdir()] == ["seqlets.bed"]  # no temp file left
    first = path.read_text().splitlines()[0]
    assert first.startswith("#chrom\tstart\tend\tname\tscore\tstrand\tregion\toffset\tsign")
    back = read_seqlets_bed(path)
    assert len(back) == len(res.table) == len(written)
    assert list(back.columns) == BED_COLUMNS
    merged = back.merge(
        res.table, left_on=["region", "offset", "sign"], right_on=["region", "start", "sign"]
    )
    assert len(merged) == len(back)
    assert (merged["start_x"] == merged["genome_start"]).all()
    assert (merged["end_x"] == merged["genome_end"]).all()
    assert (merged["end_x"] - merged["start_x"] == merged["end_y"] - merged["start_y"]).all()
    assert np.allclose(merged["q_value_x"], merged["q_value_y"], rtol=1e-5)
    assert (back["score"].between(0, 1000)).all() and (back["motif"] == ".").all()
    assert back["name"].is_unique
    assert back[["chrom", "start"]].apply(tuple, axis=1).is_monotonic_increasing


def test_bed_fields_are_verbatim_and_place_seqlets_back_in_their_windows(tmp_path):
    from seqsal.sequence.geometry import window_geometry

    X, null, _ = planted()
    coords = coords_for(len(X))
    names = ['r "0" #1', '"r1', "r2 it's", *coords["name"][3:]]
    coords["name"] = names
    res = call_seqlets(X, null=null, coords=coords, flank=2)
    path = tmp_path / "seqlets.bed"
    write_seqlets_bed(res, path)
    raw = path.read_bytes()
    assert b'""' not in raw and b'\t"r1\t' in raw
    lines = raw.decode().splitlines()
    fields = [line.split("\t") for line in lines[1:]]
    assert all(len(f) == len(BED_COLUMNS) for f in fields)
    assert {f[6] for f in fields} <= set(names) and {'r "0" #1', '"r1'} <= {f[6] for f in fields}
    assert all(f[3].startswith(f[6] + ":") for f in fields)
    back = read_seqlets_bed(path, windows=window_geometry(coords, L))
    assert back["region"].tolist() == [f[6] for f in fields]
    placed = back.merge(res.table, left_on=["region", "offset"], right_on=["region", "start"])
    assert len(placed) == len(back)
    assert (placed["example_idx_x"] == placed["example_idx_y"]).all()
    assert (placed["core_start_x"] == placed["start_y"]).all()
    assert (placed["core_end_x"] == placed["end_y"]).all()
    # a seqlet whose offset disagrees with its genome span, or an unknown region: file and line
    text = path.read_text().split("\n")
    row = text[3].split("\t")
    text[3] = "\t".join([*row[:7], str(int(row[7]) + 1), *row[8:]])
    (tmp_path / "moved.bed").write_text("\n".join(text))
    with pytest.raises(InputError, match=r"moved.bed, line 4: seqlet .* with offset"):
        read_seqlets_bed(tmp_path / "moved.bed", windows=window_geometry(coords, L))
    text[3] = "\t".join([*row[:6], "elsewhere", *row[7:]])
    (tmp_path / "unknown.bed").write_text("\n".join(text))
    with pytest.raises(InputError, match=r"unknown.bed, line 4: seqlet region 'elsewhere'"):
        read_seqlets_bed(tmp_path / "unknown.bed", windows=window_geometry(coords, L))


def test_bed_needs_coordinates(tmp_path):
    X, null, _ = planted()
    with pytest.raises(InputError, match="coords"):
        write_seqlets_bed(call_seqlets(X, null=null), tmp_path / "s.bed")
    assert not (tmp_path / "s.bed").exists()


# ---------------------------------------------------------------------------------------------
# input errors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"projected": np.zeros((2, 3, 50))}, "shape"),
        ({"projected": np.full((2, 50), np.nan)}, "NaN"),
        ({"min_length": 8, "max_length": 4}, "max_length"),
        ({"fdr": 0.0}, "fdr"),
        ({"sign": "up"}, "sign"),
        ({"flank": -1}, "flank"),
        ({"coords": coords_for(3, 50)}, "rows"),
        ({"coords": coords_for(2, 60)}, "spans 60 bp"),
    ],
)
def test_bad_input_names_the_argument(kwargs, match):
    args = {"projected": np.zeros((2, 50))} | kwargs
    projected = args.pop("projected")
    with pytest.raises(InputError, match=match):
        call_seqlets(projected, **args)


# ---------------------------------------------------------------------------------------------
# CLI through the attribution store
# ---------------------------------------------------------------------------------------------


def test_cli_reads_store_and_writes_bed(tmp_path, capsys):
    from seqsal.cli import main
    from seqsal.io.store import AttributionStore

    X, null, blocks = planted()
    n = len(X)
    rng = np.random.default_rng(0)
    onehot = onehot_codes(rng.integers(0, 4, size=(n, L)))
    with AttributionStore(tmp_path / "attr.h5", length=L) as store:
        store.append(onehot, onehot * X[:, None, :], coords=coords_for(n))
    null_onehot = onehot_codes(rng.integers(0, 4, size=(len(null), L)))
    with AttributionStore(tmp_path / "null.h5", length=L) as store:
        store.append(null_onehot, null_onehot * null[:, None, :])
    out = tmp_path / "seqlets.bed"
    rc = main(["seqlets", "--store", str(tmp_path / "attr.h5"), "--null", str(tmp_path / "null.h5"),
               "--out", str(out), "--no-progress"])  # fmt: skip
    assert rc == 0
    summary = capsys.readouterr().err
    assert f"{n} regions" in summary and "control null" in summary
    bed = read_seqlets_bed(out)
    api = call_seqlets(X.astype(np.float32), null=null.astype(np.float32), coords=coords_for(n))
    assert len(bed) == len(api.table) >= len(blocks)
    assert sorted(zip(bed["start"], bed["sign"], strict=True)) == sorted(
        zip(api.table["genome_start"], api.table["sign"], strict=True)
    )
    rc = main(["seqlets", "--store", str(tmp_path / "missing.h5"), "--out", str(out)])
    assert rc == 2


# ---------------------------------------------------------------------------------------------
# oracle: tangermeme's recursive_seqlets on the same planted maps
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_agrees_with_tangermeme_recursive_seqlets_on_planted_maps():
    """Both find the planted blocks; seqsal's recall and precision are at least as good.

    tangermeme compiles its numba kernels in every process (tens of seconds on a loaded box).
    """
    torch = pytest.importorskip("torch")
    seqlet = pytest.importorskip("tangermeme.seqlet")
    rng = np.random.default_rng(11)
    n = 80
    X = noise(rng, n)
    blocks = []
    for i in range(n):
        s = 1 if i % 3 else -1
        width = int(rng.integers(6, 13))
        a = int(rng.integers(5, L - width - 5))
        X[i, a : a + width] += s * rng.uniform(0.25, 0.6)
        blocks.append((i, a, a + width, s))
    null = noise(rng, 8 * n)
    ours = calls_of(call_seqlets(X, null=null, fdr=0.05))
    theirs = set()
    for s in (1, -1):
        df = seqlet.recursive_seqlets(
            torch.tensor(s * X, dtype=torch.float32),
            min_seqlet_len=4,
            max_seqlet_len=20,
            X_control=torch.tensor(s * null, dtype=torch.float32),
            target_fdr=0.05,
        )
        theirs |= {
            (int(e), int(a), int(b), s)
            for e, a, b in zip(df["example_idx"], df["start"], df["end"], strict=True)
        }
    r_ours, p_ours = recall_precision(ours, blocks)
    r_theirs, p_theirs = recall_precision(theirs, blocks)
    assert r_theirs >= 0.5 and r_ours >= 0.5, (r_ours, r_theirs)
    assert r_ours >= r_theirs, (r_ours, r_theirs)
    assert p_ours >= p_theirs - 0.02, (p_ours, p_theirs)
    assert p_ours >= 0.9

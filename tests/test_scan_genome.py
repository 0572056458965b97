"""scan.genome: trunk reuse equals window-by-window scoring; N, strands, shards, streaming."""

import itertools
import logging

import numpy as np
import pytest
import torch
from _toys import FixedLength, motif_counter, plain_torchscript, random_dna
from torch import nn

from seqsal.errors import InputError, ModelError
from seqsal.io.fasta import Genome, write_fasta
from seqsal.models import save_model, save_torchscript, zoo
from seqsal.scan.genome import combine_strands, parse_region, scan
from seqsal.sequence.onehot import encode


def count(text: str, motif: str) -> int:
    return sum(text.startswith(motif, i) for i in range(len(text)))


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scan")
    chr1 = random_dna(1500, 1)
    chr1 = chr1[:600] + "N" * 250 + chr1[850:]  # an assembly gap
    chr2 = random_dna(433, 2).lower()  # soft-masked: the same bases
    path = folder / "g.fa"
    write_fasta([("chr1", chr1), ("chr2", chr2)], path, line_width=70)
    return path, {"chr1": chr1, "chr2": chr2}


def reference(model, seqs, table):
    """The oracle: the plain module on each window and on its reverse complement."""
    X = torch.from_numpy(
        encode(
            [seqs[c][s:e] for c, s, e in zip(table.chrom, table.start, table.end, strict=True)],
            warn=False,
        )
    )
    with torch.no_grad():
        forward = model(X)[:, 1].numpy()
        reverse = model(torch.flip(X, dims=(1, 2)))[:, 1].numpy()
    return forward, reverse


MODELS = {
    "cnn": dict(filters=6, hidden=5),
    "cnn_mean_max": dict(filters=6, hidden=5, pool_modes=("mean", "max")),
    "cnn_2_blocks": dict(
        filters=6, hidden=5, conv_filters=5, n_blocks=2, pool=2, pool_modes=("max", "mean")
    ),
    "dilated": dict(filters=6, n_layers=3),
    "dilated_max": dict(filters=6, n_layers=3, pool_modes=("max",)),
}


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("stride", [1, 3, 10, 64])
def test_trunk_reuse_equals_window_by_window_on_both_strands(genome, name, stride):
    path, seqs = genome
    arch = "dilated" if name.startswith("dilated") else "cnn"
    # 101 bases: the trunk output of one window is not a whole number of pools (floor)
    model = zoo.build(arch, input_length=101, n_targets=2, seed=3, **MODELS[name])
    result = scan(model, path, stride=stride, target=1, chunk_size=250, method="trunk")
    assert result.method == "trunk" and result.reason == ""
    table = result.to_frame()
    forward, reverse = reference(model, seqs, table)
    np.testing.assert_allclose(table["forward"], forward, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(table["reverse"], reverse, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(table["score"], (forward + reverse) / 2, rtol=1e-5, atol=1e-6)
    assert not np.allclose(forward, reverse)  # the strands really differ
    # every window that fits and is at most half N is there, at the grid positions
    expected = []
    for chrom, seq in seqs.items():
        for start in range(0, len(seq) - 101 + 1, stride):
            if seq[start : start + 101].count("N") <= 50.5:
                expected.append((chrom, start))
    assert list(zip(table.chrom, table.start, strict=True)) == expected
    assert (table["end"] - table["start"] == 101).all()
    windows = scan(model, path, stride=stride, target=1, method="windows", batch_size=7)
    assert windows.method == "windows"
    other = windows.to_frame()
    np.testing.assert_array_equal(other["start"], table["start"])
    np.testing.assert_allclose(other["forward"], table["forward"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(other["reverse"], table["reverse"], rtol=1e-5, atol=1e-6)


def test_motif_counter_counts_on_each_strand_and_strand_options_combine_as_documented(tmp_path):
    seq = random_dna(600, 5)
    seq = seq[:100] + "GATAcGATAgGATA" + seq[114:300] + "tatcTATC" + seq[308:]
    path = tmp_path / "g.fa"
    write_fasta([("chr1", seq)], path)
    model = motif_counter(60)
    tables = {
        strand: scan(model, path, stride=7, strand=strand).to_frame()
        for strand in ("mean", "max", "forward")
    }
    table = tables["mean"]
    windows = [seq[s:e] for s, e in zip(table.start, table.end, strict=True)]
    np.testing.assert_array_equal(table["forward"], [count(w.upper(), "GATA") for w in windows])
    np.testing.assert_array_equal(table["reverse"], [count(w.upper(), "TATC") for w in windows])
    assert table["forward"].max() >= 3 and table["reverse"].max() >= 2
    f, r = table["forward"].to_numpy(), table["reverse"].to_numpy()
    np.testing.assert_allclose(tables["mean"]["score"], (f + r) / 2)
    np.testing.assert_allclose(tables["max"]["score"], np.maximum(f, r))
    np.testing.assert_allclose(tables["forward"]["score"], f)
    assert tables["forward"]["reverse"].isna().all()
    np.testing.assert_allclose(combine_strands(f, r, "max"), np.maximum(f, r))


def test_n_stretches_are_skipped_and_partly_n_windows_scored_with_zero_columns(tmp_path):
    seq = random_dna(400, 7)
    seq = seq[:150] + "N" * 100 + seq[250:]
    path = tmp_path / "g.fa"
    write_fasta([("chr1", seq)], path)
    model = zoo.build("cnn", input_length=40, n_targets=1, filters=4, hidden=3, seed=1)
    for max_n, stride in [(0.5, 1), (0.0, 5), (0.25, 3), (1.0, 10)]:
        result = scan(model, path, stride=stride, max_n=max_n)
        table = result.to_frame()
        starts = range(0, len(seq) - 40 + 1, stride)
        kept = [s for s in starts if seq[s : s + 40].count("N") <= max_n * 40]
        assert list(table["start"]) == kept
        assert result.n_skipped == len(starts) - len(kept) and result.n_scored == len(kept)
        X = torch.from_numpy(encode([seq[s : s + 40] for s in kept], warn=False))
        with torch.no_grad():
            np.testing.assert_allclose(table["forward"], model(X)[:, 0].numpy(), atol=1e-6)
    # the all-N middle is never scored with the default max_n
    middle = scan(model, path, stride=1).to_frame()
    assert not ((middle["start"] >= 150) & (middle["end"] <= 250)).any()


def test_region_shards_union_is_the_whole_scan(genome):
    path, _ = genome
    model = zoo.build("cnn", input_length=101, n_targets=1, filters=4, hidden=3, seed=2)
    whole = scan(model, path, stride=9, chunk_size=300).to_frame()
    edges = [0, 250, 251, 700, 1500]
    shards = [
        scan(model, path, stride=9, region=f"chr1:{a}-{b}", chunk_size=300).to_frame()
        for a, b in itertools.pairwise(edges)
    ]
    shards.append(scan(model, path, stride=9, region=("chr2", 0, 433)).to_frame())
    union = np.concatenate([s["start"].to_numpy() for s in shards])
    assert list(union) == list(whole["start"])
    for shard, (a, b) in zip(shards, itertools.pairwise(edges), strict=False):
        assert ((shard["start"] >= a) & (shard["start"] < b)).all()
    np.testing.assert_allclose(
        np.concatenate([s["score"].to_numpy() for s in shards]), whole["score"], atol=1e-6
    )


def test_regions_bed_tiles_merged_regions_from_their_start(genome, tmp_path):
    path, _ = genome
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t10\t200\nchr1\t150\t260\nchr2\t5\t60\nchr2\t300\t433\n")
    model = zoo.build("dilated", input_length=101, n_targets=1, filters=4, n_layers=2)
    table = scan(model, path, regions=bed, stride=20).to_frame()
    got = list(zip(table.chrom, table.start, strict=True))
    # chr1:10-260 merged; chr2:5-60 is shorter than a window; chr2:300-433 fits one start+
    expected = [("chr1", s) for s in range(10, 260 - 101 + 1, 20)]
    expected += [("chr2", s) for s in range(300, 433 - 101 + 1, 20)]
    assert got == expected


def test_reads_the_genome_in_chunks_never_whole_chromosomes(genome, monkeypatch):
    path, _ = genome
    lengths = []
    original = Genome.fetch

    def fetch(self, chrom, start, end):
        lengths.append(end - start)
        return original(self, chrom, start, end)

    def whole(self, chrom):
        raise AssertionError("scan read a whole chromosome")

    monkeypatch.setattr(Genome, "fetch", fetch)
    monkeypatch.setattr(Genome, "chromosome_bytes", whole)
    model = zoo.build("cnn", input_length=101, n_targets=1, filters=4, hidden=3)
    scan(model, path, stride=1, chunk_size=200).to_frame()
    assert len(lengths) > 5 and max(lengths) <= 200 + 101


class Generic(nn.Module):
    """Not a zoo model: a conv and a global max, no trunk/head split."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 3, 5, padding=2)
        self.input_length = 80

    def forward(self, x):
        return self.conv(x).amax(dim=-1)


def test_generic_models_fall_back_to_windows_and_say_so(genome, caplog, tmp_path):
    path, seqs = genome
    torch.manual_seed(0)
    model = Generic().eval()
    with caplog.at_level(logging.INFO, logger="seqsal.scan.genome"):
        result = scan(model, path, stride=13, target=2)
    assert result.method == "windows" and "not a zoo model" in result.reason
    assert "window by window" in caplog.text
    table = result.to_frame()
    X = torch.from_numpy(
        encode(
            [seqs[c][s:e] for c, s, e in zip(table.chrom, table.start, table.end, strict=True)],
            warn=False,
        )
    )
    with torch.no_grad():
        np.testing.assert_allclose(table["forward"], model(X)[:, 2].numpy(), atol=1e-6)
    with pytest.raises(ModelError, match="method='trunk' cannot be used"):
        scan(model, path, method="trunk")
    script = tmp_path / "cnn.pt"
    cnn = zoo.build("cnn", input_length=80, n_targets=1, filters=4, hidden=3)
    save_torchscript(cnn, script, input_length=80, targets=["y"], task="regression")
    scripted = scan(script, path, stride=50, chroms="chr2")
    assert scripted.method == "windows"
    np.testing.assert_allclose(
        scripted.to_frame()["score"],
        scan(cnn, path, stride=50, chroms="chr2").to_frame()["score"],
        atol=1e-6,
    )


def test_torchscript_without_a_recorded_length_scans_at_width(genome, tmp_path):
    """A TorchScript file saved by plain torch.jit.save records no input length: scan refuses
    without width=, and with it scores what the seqsal folder of the same weights scores."""
    path, seqs = genome
    kwargs = dict(filters=6, hidden=5)
    model = zoo.build("cnn", input_length=101, n_targets=2, seed=3, **kwargs)
    folder = save_model(
        model,
        tmp_path / "model",
        arch="cnn",
        arch_kwargs=kwargs,
        input_length=101,
        targets=["a", "b"],
        task="regression",
    )
    plain = plain_torchscript(model, 101, tmp_path / "plain.pt")
    with pytest.raises(InputError, match=r"scanning needs it: give width="):
        scan(plain, path, stride=7, target=1)
    result = scan(plain, path, stride=7, target=1, width=101)
    assert result.method == "windows" and result.window_length == 101
    table = result.to_frame()
    expected = scan(folder, path, stride=7, target=1).to_frame()  # trunk reuse
    assert len(table) > 100
    assert list(zip(table.chrom, table.start, table.end, strict=True)) == list(
        zip(expected.chrom, expected.start, expected.end, strict=True)
    )
    for column in ("score", "forward", "reverse"):
        np.testing.assert_allclose(table[column], expected[column], rtol=1e-5, atol=1e-6)
    forward, reverse = reference(model, seqs, table)
    np.testing.assert_allclose(table["forward"], forward, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(table["reverse"], reverse, rtol=1e-5, atol=1e-6)

    # A model that runs at one length only, not one the loader tries by itself: width= is
    # also the length it is loaded and checked at.
    fixed = FixedLength(101).eval()
    fixed_file = plain_torchscript(fixed, 101, tmp_path / "fixed.pt")
    with pytest.raises(ModelError, match="give its input_length"):
        scan(fixed_file, path)
    fixed_table = scan(fixed_file, path, stride=7, target=1, width=101).to_frame()
    forward, reverse = reference(fixed, seqs, fixed_table)
    np.testing.assert_allclose(fixed_table["forward"], forward, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fixed_table["score"], (forward + reverse) / 2, rtol=1e-5, atol=1e-6)
    with pytest.raises(InputError, match="width=0"):
        scan(plain, path, width=0)


def test_width_other_than_the_recorded_length_is_used_with_a_warning(genome, caplog):
    path, seqs = genome
    model = zoo.build("cnn", input_length=101, n_targets=2, seed=3, filters=6, hidden=5)
    with caplog.at_level(logging.WARNING, logger="seqsal.scan.genome"):
        result = scan(model, path, stride=11, target=1, width=90)
    assert "width=90 differs from the model's input length 101" in caplog.text
    table = result.to_frame()
    assert result.window_length == 90 and (table["end"] - table["start"] == 90).all()
    forward, _ = reference(model, seqs, table)
    np.testing.assert_allclose(table["forward"], forward, rtol=1e-5, atol=1e-6)


def test_arguments_are_checked_before_any_scoring(genome):
    path, _ = genome
    model = zoo.build("cnn", input_length=101, n_targets=2, filters=4, hidden=3)
    with pytest.raises(InputError, match="chrX"):
        scan(model, path, chroms="chr1,chrX")
    with pytest.raises(InputError, match="stride"):
        scan(model, path, stride=0)
    with pytest.raises(InputError, match="strand"):
        scan(model, path, strand="both")
    with pytest.raises(InputError, match="max_n"):
        scan(model, path, max_n=1.5)
    with pytest.raises(InputError, match="target"):
        scan(model, path, target="nope")
    with pytest.raises(InputError, match="not scanned"):
        scan(model, path, chroms="chr1", region="chr2:0-100")
    with pytest.raises(InputError, match="chrom:start-end"):
        parse_region("chr1:100")
    assert parse_region("chr1:1,000-2,000") == ("chr1", 1000, 2000)


def test_write_scores_writes_every_chunk_verbatim_and_gzips(tmp_path):
    import gzip

    import pandas as pd

    from seqsal.scan.candidates import read_scores
    from seqsal.scan.genome import COLUMNS, write_scores

    chunks = [
        pd.DataFrame(
            {
                "chrom": ["chr1", "chr1"],
                "start": [0, 10],
                "end": [50, 60],
                "score": [1.0, 0.123456789],
                "forward": [2.0, 0.25],
                "reverse": [0.0, np.nan],
            }
        ),
        pd.DataFrame(
            {
                "chrom": ["chr2"],
                "start": [5],
                "end": [55],
                "score": [-3e-9],
                "forward": [-3e-9],
                "reverse": [np.nan],
            }
        ),
    ]
    assert write_scores(iter(chunks), tmp_path / "s.tsv") == 3
    text = (tmp_path / "s.tsv").read_text()
    assert text == (
        "chrom\tstart\tend\tscore\tforward\treverse\n"
        "chr1\t0\t50\t1\t2\t0\n"
        "chr1\t10\t60\t0.1234568\t0.25\tNA\n"
        "chr2\t5\t55\t-3e-09\t-3e-09\tNA\n"
    )
    assert write_scores(chunks, tmp_path / "s.tsv.gz") == 3
    assert gzip.decompress((tmp_path / "s.tsv.gz").read_bytes()).decode() == text
    table = read_scores(tmp_path / "s.tsv.gz")
    assert list(table.columns) == COLUMNS and table["start"].tolist() == [0, 10, 5]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.tsv", "s.tsv.gz"]

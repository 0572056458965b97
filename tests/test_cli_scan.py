"""``seqsal scan`` and ``seqsal candidates``: outputs equal the library; errors are one line."""

import gzip

import numpy as np
import pandas as pd
import pyBigWig
import pytest
from _toys import FixedLength, motif_counter, plain_torchscript, random_dna

from seqsal.cli import main
from seqsal.io.bed import read_bed
from seqsal.io.fasta import write_fasta
from seqsal.models import save_model
from seqsal.scan.candidates import CANDIDATE_COLUMNS
from seqsal.scan.genome import COLUMNS, scan


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli_scan")
    seq = list(random_dna(6_000, 21))
    for i in range(8):
        seq[3_000 + 12 * i : 3_004 + 12 * i] = "GATA"
    seq = "".join(seq)
    seq = seq[:4_500] + "N" * 400 + seq[4_900:]
    fa = folder / "g.fa"
    write_fasta([("chrA", seq), ("chrB", random_dna(1_500, 22))], fa)
    model = motif_counter(150)
    model_dir = folder / "model"
    save_model(
        model,
        model_dir,
        arch="cnn",
        arch_kwargs=dict(filters=1, kernel_size=4, pool=1, hidden=1, pool_modes=["mean"]),
        input_length=150,
        targets=["gata"],
        task="regression",
    )
    return folder, fa, model_dir, model


def test_scan_writes_the_library_table_gzip_or_plain(data, tmp_path, capsys):
    _, fa, model_dir, model = data
    out = tmp_path / "s.tsv.gz"
    args = ["scan", "--model", model_dir, "--fasta", fa, "--stride", 7, "--strand", "max"]
    assert main([*map(str, args), "--out", str(out), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "seqsal scan:" in err and "trunk reuse" in err and "skipped for N" in err
    with gzip.open(out, "rt") as handle:
        assert handle.readline().rstrip("\n").split("\t") == COLUMNS
    got = pd.read_csv(out, sep="\t")
    expected = scan(model, fa, stride=7, strand="max").to_frame()
    assert list(got["chrom"]) == list(expected["chrom"])
    np.testing.assert_array_equal(got["start"], expected["start"])
    np.testing.assert_array_equal(got["end"], expected["end"])
    np.testing.assert_allclose(got["score"], expected["score"], rtol=1e-6)
    np.testing.assert_allclose(got["reverse"], expected["reverse"], rtol=1e-6)
    plain = tmp_path / "s.tsv"
    assert main([*map(str, args), "--out", str(plain), "--strategy", "windows"]) == 0
    assert "window by window" in capsys.readouterr().err
    pd.testing.assert_frame_equal(pd.read_csv(plain, sep="\t"), got)


def test_scan_shards_by_region_concatenate_to_the_whole(data, tmp_path):
    _, fa, model_dir, _ = data
    base = ["scan", "--model", str(model_dir), "--fasta", str(fa), "--chroms", "chrA"]
    assert main([*base, "--out", str(tmp_path / "all.tsv")]) == 0
    parts = []
    for i, span in enumerate(["chrA:0-2000", "chrA:2000-4003", "chrA:4003-6000"]):
        out = tmp_path / f"{i}.tsv"
        assert main([*base, "--region", span, "--out", str(out)]) == 0
        parts.append(pd.read_csv(out, sep="\t"))
    whole = pd.read_csv(tmp_path / "all.tsv", sep="\t")
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)


def test_candidates_from_shards_rank_the_planted_cluster_first(data, tmp_path, capsys):
    _, fa, model_dir, _ = data
    base = ["scan", "--model", str(model_dir), "--fasta", str(fa), "--stride", "10"]
    shards = []
    for i, chroms in enumerate(["chrA", "chrB"]):
        shards.append(str(tmp_path / f"{i}.tsv.gz"))
        assert main([*base, "--chroms", chroms, "--out", shards[-1]]) == 0
    bed, bw = tmp_path / "c.bed", tmp_path / "s.bw"
    args = ["candidates", "--scores", *shards, "--model", str(model_dir), "--fasta", str(fa)]
    args += ["--fdr", "0.05", "--null-windows", "4000", "--out", str(bed), "--bigwig", str(bw)]
    assert main(args) == 0
    assert "seqsal candidates:" in capsys.readouterr().err
    header = bed.read_text().splitlines()[0]
    assert header == "#" + "\t".join(CANDIDATE_COLUMNS)
    table = read_bed(bed)
    best = table.iloc[0]
    assert best["name"] == "candidate_1" and best["chrom"] == "chrA"
    assert best["start"] <= 3_000 and best["end"] >= 3_088 and best["score"] == 1000
    assert table["q_value"].max() <= 0.05
    with pyBigWig.open(str(bw)) as reader:
        assert reader.chroms() == {"chrA": 6_000, "chrB": 1_500}
        assert reader.values("chrA", 4_700, 4_701)[0] != reader.values("chrA", 4_700, 4_701)[0]
        assert reader.stats("chrA", type="max")[0] == pytest.approx(best["max_score"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--chroms", "chrZ"], "chrZ"),
        (["--region", "chrA:5-"], "chrom:start-end"),
        (["--stride", "0"], "stride"),
        (["--max-n", "2"], "max_n"),
        (["--target", "nope"], "target"),
        (["--threads", "0"], "threads"),
    ],
)
def test_scan_errors_are_one_line_exit_2_and_write_nothing(data, tmp_path, capsys, extra, message):
    _, fa, model_dir, _ = data
    out = tmp_path / "s.tsv"
    try:
        code = main(
            ["scan", "--model", str(model_dir), "--fasta", str(fa), "--out", str(out), *extra]
        )
    except SystemExit as exit:  # argparse's own checks (--stride 0, --threads 0)
        code = exit.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("seqsal scan: error:")
    assert message in err[0]
    assert list(tmp_path.iterdir()) == []


def test_candidates_errors_write_neither_output(data, tmp_path, capsys):
    _, fa, model_dir, _ = data
    shard = tmp_path / "a.tsv"
    assert main(["scan", "--model", str(model_dir), "--fasta", str(fa), "--out", str(shard)]) == 0
    capsys.readouterr()
    bed, bw = tmp_path / "c.bed", tmp_path / "s.bw"
    base = ["candidates", "--model", str(model_dir), "--fasta", str(fa), "--out", str(bed)]
    base += ["--bigwig", str(bw)]
    for extra, message in [
        (["--scores", str(shard), str(shard), "--quantile", "0.9"], "appears twice"),
        (["--scores", str(shard), "--quantile", "1.5"], "quantile"),
        (["--scores", str(tmp_path / "missing.tsv"), "--fdr", "0.1"], "not found"),
    ]:
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
        assert not bed.exists() and not bw.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tsv"]


def test_width_scans_a_torchscript_that_records_no_length(data, tmp_path, capsys):
    """seqsal scan and seqsal candidates take --width for a TorchScript file saved by plain
    torch.jit.save: scores and candidates equal those of the seqsal folder, same weights."""
    _, fa, model_dir, model = data
    plain = plain_torchscript(model, 150, tmp_path / "plain.pt")
    base = ["scan", "--fasta", str(fa), "--stride", "10", "--chroms", "chrA"]
    assert main([*base, "--model", str(plain), "--out", str(tmp_path / "no.tsv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "scanning needs it" in err[0] and "--width" in err[0]
    assert not (tmp_path / "no.tsv").exists()
    ours, theirs = tmp_path / "plain.tsv", tmp_path / "folder.tsv"
    assert main([*base, "--model", str(plain), "--width", "150", "--out", str(ours)]) == 0
    assert main([*base, "--model", str(model_dir), "--out", str(theirs)]) == 0
    got, expected = pd.read_csv(ours, sep="\t"), pd.read_csv(theirs, sep="\t")
    assert len(got) > 500 and (got["end"] - got["start"] == 150).all()
    pd.testing.assert_frame_equal(got, expected)  # window counts: exact in float32

    beds = {}
    for name, model_args in [
        ("plain", ["--model", str(plain), "--width", "150"]),
        ("folder", ["--model", str(model_dir)]),
    ]:
        beds[name] = tmp_path / f"{name}.bed"
        args = ["candidates", "--scores", str(theirs), "--fasta", str(fa), *model_args]
        args += ["--fdr", "0.05", "--null-windows", "2000", "--out", str(beds[name])]
        assert main(args) == 0
    assert beds["plain"].read_text() == beds["folder"].read_text()
    assert read_bed(beds["plain"]).iloc[0]["start"] <= 3_000
    capsys.readouterr()
    args = ["candidates", "--scores", str(theirs), "--fasta", str(fa), "--model", str(plain)]
    args += ["--width", "140", "--quantile", "0.9", "--out", str(tmp_path / "bad.bed")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "width=140" in err[0] and "150 bp windows" in err[0]


def test_width_loads_a_fixed_length_torchscript(data, tmp_path, capsys):
    """A model that runs at one length only (not one the loader tries): --width is the
    length it is loaded at, in seqsal scan as in seqsal predict."""
    _, fa, _, _ = data
    fixed = FixedLength(150).eval()
    path = plain_torchscript(fixed, 150, tmp_path / "fixed.pt")
    base = ["scan", "--model", str(path), "--fasta", str(fa), "--chroms", "chrB"]
    assert main([*base, "--out", str(tmp_path / "no.tsv")]) == 2
    assert "give its input_length" in capsys.readouterr().err
    out = tmp_path / "s.tsv"
    assert main([*base, "--width", "150", "--stride", "50", "--out", str(out)]) == 0
    table = pd.read_csv(out, sep="\t")
    expected = scan(fixed, fa, chroms="chrB", stride=50, width=150).to_frame()
    np.testing.assert_allclose(table["score"], expected["score"], rtol=1e-6)
    with pytest.raises(SystemExit, match="2"):
        main([*base, "--width", "0", "--out", str(out)])
    assert "--width: '0'; expected a positive integer" in capsys.readouterr().err

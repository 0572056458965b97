"""``seqsal extract``: outputs agree with the library, bad input is one line and writes nothing."""

import gzip
import subprocess
import sys

import numpy as np
import pytest

from seqsal.cli import main
from seqsal.io.bed import read_bed
from seqsal.io.fasta import Genome, write_fasta
from seqsal.sequence.windows import extract_onehot, extract_sequences, make_windows

CHR1 = "AAAACCCGTTGACCTAGGGTTTACGATTCAGGCAATgattaca"
CHR2 = "ttttggccaAATTGCGCNNNAGTC"


@pytest.fixture
def data(tmp_path):
    fa = tmp_path / "g.fa"
    write_fasta([("chr1", CHR1), ("chr2", CHR2)], fa, line_width=8)
    bed = tmp_path / "r.bed"
    bed.write_text(
        "#chrom\tstart\tend\tname\tscore\tstrand\tactivity\n"
        "chr1\t5\t15\ta\t0\t+\t1.0\n"
        "chr1\t5\t15\tb\t0\t-\t2.0\n"
        "chr2\t0\t3\tedge\t0\t+\t3.0\n"
        "chr1\t30\t40\td\t0\t.\t4.0\n"
    )
    return tmp_path, fa, bed


def extract(*args):
    """The exit status of ``seqsal extract ARGS`` (argparse's own errors exit 2 too)."""
    try:
        return main(["extract", *map(str, args)])
    except SystemExit as exit:
        return exit.code


def test_npz_holds_onehot_and_coordinates_equal_to_the_library(data, capsys):
    tmp, fa, bed = data
    out = tmp / "x.npz"
    assert (
        extract("--fasta", fa, "--regions", bed, "--width", 12, "--out", out, "--chunk-size", 3)
        == 0
    )
    assert "4 windows of 12 bp (1 padded, 0 dropped)" in capsys.readouterr().err
    with Genome(fa) as genome:
        windows = make_windows(read_bed(bed), 12, chrom_sizes=genome.chrom_sizes)
        expected = extract_onehot(genome, windows)
    with np.load(out) as npz:
        assert npz["X"].dtype == np.float32 and npz["X"].shape == (4, 4, 12)
        np.testing.assert_array_equal(npz["X"], expected)
        assert list(npz["name"]) == ["a", "b", "edge", "d"]
        assert list(npz["strand"]) == ["+", "-", "+", "."]
        np.testing.assert_array_equal(npz["start"], windows["start"])
        np.testing.assert_array_equal(npz["end"], windows["end"])
        np.testing.assert_array_equal(npz["pad_left"], [0, 0, 5, 0])
        assert list(npz["chrom"]) == ["chr1", "chr1", "chr2", "chr1"]


def test_fasta_output_names_and_strand_and_windows_bed(data):
    tmp, fa, bed = data
    out, wbed = tmp / "x.fa", tmp / "w.bed"
    assert (
        extract(
            "--fasta",
            fa,
            "--regions",
            bed,
            "--width",
            6,
            "--out",
            out,
            "--windows-bed",
            wbed,
            "--out-of-bounds",
            "drop",
        )
        == 0
    )
    text = out.read_text().splitlines()
    assert text[0::2] == [">a::chr1:7-13(+)", ">b::chr1:7-13(-)", ">d::chr1:32-38(.)"]
    with Genome(fa) as genome:
        windows = make_windows(
            read_bed(bed), 6, chrom_sizes=genome.chrom_sizes, out_of_bounds="drop"
        )
        assert text[1::2] == extract_sequences(genome, windows)
    assert text[1] == CHR1[7:13] == "GTTGAC" and text[3] == "GTCAAC"
    back = read_bed(wbed)
    assert list(back["name"]) == ["a", "b", "d"]
    assert list(back["start"]) == [7, 7, 32] and list(back["activity"]) == [1.0, 2.0, 4.0]


def test_summit_column_and_skip_missing(tmp_path):
    fa = tmp_path / "g.fa"
    write_fasta([("chr1", CHR1)], fa)
    peaks = tmp_path / "p.narrowPeak.gz"
    peaks.write_bytes(
        gzip.compress(b"chr1\t0\t20\tp\t0\t+\t1\t1\t1\t15\nchrUn\t0\t20\tq\t0\t+\t1\t1\t1\t5\n")
    )
    out = tmp_path / "s.fa"
    assert (
        extract(
            "--fasta",
            fa,
            "--regions",
            peaks,
            "--width",
            4,
            "--summit-column",
            10,
            "--skip-missing",
            "--out",
            out,
        )
        == 0
    )
    assert out.read_text() == f">p::chr1:13-17(+)\n{CHR1[13:17]}\n"


BAD = [
    ("chr1\t5\t15\ta\nchr1\t5\t15\ta\n", [], "r.bed, line 2: duplicate region name 'a'"),
    ("chr1\t5\tfive\n", [], "r.bed, line 1: end 'five' is not an integer"),
    ("chr1\t15\t5\n", [], "r.bed, line 1: end (5) <= start (15)"),
    ("chr1\t5\n", [], "r.bed, line 1: found 2 column(s)"),
    (
        "chrZ\t5\t15\n",
        [],
        "r.bed, line 1: 1 region(s) on 1 chromosome(s) not in the genome: 'chrZ'",
    ),
    ("chr1\t5\t15\tx\t0\t?\n", [], "r.bed, line 1: strand '?'"),
    ("chr2\t0\t3\n", ["--out-of-bounds", "error"], "run past a chromosome end"),
    ("chr1\t0\t20\tp\t0\t+\t1\t1\t1\t25\n", ["--summit-column", "10"], "summit column"),
    ("", [], "r.bed: BED file holds no regions"),
    ("chr1\t5\t15\n", ["--width", "0"], "--width: '0'; expected a positive integer"),
]


@pytest.mark.parametrize("suffix", [".npz", ".fa"])
@pytest.mark.parametrize(("bed_text", "extra", "fragment"), BAD)
def test_bad_input_is_one_line_with_file_and_line_and_writes_nothing(
    data, capsys, bed_text, extra, fragment, suffix
):
    tmp, fa, _ = data
    bed = tmp / "r.bed"
    bed.write_text(bed_text)
    out_dir = tmp / "out"
    args = [
        "--fasta",
        fa,
        "--regions",
        bed,
        "--width",
        8,
        "--out",
        out_dir / f"x{suffix}",
        "--windows-bed",
        out_dir / "w.bed",
        *extra,
    ]
    assert extract(*args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("seqsal extract: error: ") and fragment in err[-1]
    assert not out_dir.exists() or list(out_dir.iterdir()) == []


def test_bad_fasta_and_bad_suffix(data, capsys):
    tmp, _, bed = data
    notfa = tmp / "n.fa"
    notfa.write_text("hello\n")
    assert extract("--fasta", notfa, "--regions", bed, "--width", 4, "--out", tmp / "x.npz") == 2
    assert "n.fa, line 1: not a FASTA" in capsys.readouterr().err
    assert (
        extract("--fasta", tmp / "g.fa", "--regions", bed, "--width", 4, "--out", tmp / "x.h5") == 2
    )
    assert "expected .npz" in capsys.readouterr().err
    assert not (tmp / "x.npz").exists() and not (tmp / "x.h5").exists()


def test_error_from_the_real_command_has_no_traceback(data):
    tmp, fa, _ = data
    bed = tmp / "bad.bed"
    bed.write_text("chr1\t-1\t5\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "seqsal",
            "extract",
            "--fasta",
            fa,
            "--regions",
            bed,
            "--width",
            "4",
            "--out",
            tmp / "o.npz",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"seqsal extract: error: {bed}, line 1: start -1 is negative; BED coordinates are >= 0"
    )
    assert not (tmp / "o.npz").exists()

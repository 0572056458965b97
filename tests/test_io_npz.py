"""seqsal.io.npz: streamed .npy members and the one-hot windows file of ``seqsal extract``;
seqsal.io.fasta's window FASTA and chromosome sizes reader."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest
from _toys import revcomp

from seqsal.errors import InputError
from seqsal.io.fasta import (
    open_genome,
    read_chrom_sizes,
    window_labels,
    write_fasta,
    write_windows_fasta,
)
from seqsal.io.npz import ONEHOT_DTYPES, WINDOW_ARRAYS, write_npy_member, write_windows_npz
from seqsal.sequence.windows import extract_onehot, iter_onehot, iter_sequences, make_windows

CHR1 = "ACGTTGCAAGGCTTAACCGGATATCGCGTTAAACCCGGGTTTAGCTAGCTAACG"
CHR2 = "TTTTGGGGCCCCAAAATGCA"


@pytest.fixture
def windows_and_genome(tmp_path):
    """Windows of 12 bp on both strands, one padded past the end of chr2."""
    fasta = tmp_path / "g.fa"
    write_fasta([("chr1", CHR1), ("chr2", CHR2)], fasta)
    regions = pd.DataFrame(
        {
            "chrom": ["chr1", "chr1", "chr2", "chr1"],
            "start": [0, 20, 12, 30],
            "end": [10, 30, 20, 42],
            "name": ["a", 'q"uote', "edge", "d"],
            "score": [0, 0, 0, 0],
            "strand": ["+", "-", "+", "."],
        }
    )
    genome = open_genome(fasta)
    windows = make_windows(regions, 12, chrom_sizes=genome.chrom_sizes, out_of_bounds="pad")
    yield windows, genome
    genome.close()


@pytest.mark.parametrize("dtype", list(ONEHOT_DTYPES))
@pytest.mark.parametrize("batch_size", [1, 3, 64])
def test_windows_npz_reads_back_as_extract_onehot_and_the_windows(
    windows_and_genome, tmp_path, dtype, batch_size
):
    windows, genome = windows_and_genome
    assert windows["pad_right"].max() > 0  # the edge window is padded
    (tmp_path / "out").mkdir()
    path = tmp_path / "out" / "w.npz"
    batches = iter_onehot(genome, windows, batch_size=batch_size, dtype=dtype)
    assert write_windows_npz(windows, batches, path, width=12, dtype=dtype) == path
    with np.load(path, allow_pickle=False) as data:
        assert sorted(data.files) == sorted(["X", *WINDOW_ARRAYS])
        X = data["X"]
        assert X.dtype.str == np.dtype(ONEHOT_DTYPES[dtype]).str  # little endian everywhere
        np.testing.assert_array_equal(X, extract_onehot(genome, windows, dtype=np.float32))
        for key in ("start", "end", "pad_left", "pad_right"):
            assert data[key].dtype == np.int64
            np.testing.assert_array_equal(data[key], windows[key].to_numpy())
        for key in ("chrom", "strand", "name"):
            assert data[key].dtype.kind == "U"
            assert data[key].tolist() == windows[key].astype(str).tolist()
    assert [p.name for p in path.parent.iterdir()] == ["w.npz"]  # no temporary left


def test_windows_npz_with_fewer_batches_than_windows_writes_nothing(windows_and_genome, tmp_path):
    windows, genome = windows_and_genome
    short = list(iter_onehot(genome, windows, batch_size=2))[:1]
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InputError, match="internal: wrote 2 windows, expected 4"):
        write_windows_npz(windows, short, out / "w.npz", width=12)
    assert list(out.iterdir()) == []
    with pytest.raises(InputError, match="dtype='int16'; expected one of float32, "):
        write_windows_npz(windows, [], out / "w.npz", width=12, dtype="int16")


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_member_streamed_in_chunks_equals_np_save_of_the_whole(tmp_path, compression):
    g = np.random.default_rng(3)
    whole = g.normal(size=(11, 4, 7))
    path = tmp_path / "a.npz"
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        chunks = (whole[i : i + 4] for i in range(0, 11, 4))
        rows = write_npy_member(
            archive, "arr_0.npy", chunks, shape=whole.shape, dtype=np.dtype("<f4")
        )
    assert rows == 11
    with np.load(path) as data:
        assert data["arr_0"].dtype == np.dtype("<f4")
        np.testing.assert_array_equal(data["arr_0"], whole.astype(np.float32))


def test_window_labels_name_the_window_read(windows_and_genome):
    windows, _ = windows_and_genome
    labels = window_labels(windows)
    first = windows.iloc[0]
    assert labels[0] == f"a::chr1:{first['start']}-{first['end']}(+)"
    assert labels[1].startswith('q"uote::chr1:') and labels[1].endswith("(-)")
    assert labels[3].endswith("(.)")
    assert len(set(labels)) == len(labels)


def test_windows_fasta_holds_each_window_sequence_under_its_label(windows_and_genome, tmp_path):
    windows, genome = windows_and_genome
    path = tmp_path / "w.fa"
    n = write_windows_fasta(windows, iter_sequences(genome, windows, batch_size=3), path)
    assert n == len(windows)
    records = {}
    for block in path.read_text().split(">")[1:]:
        name, *lines = block.splitlines()
        records[name] = "".join(lines)
    assert list(records) == window_labels(windows)
    chroms = {"chr1": CHR1, "chr2": CHR2}
    for label, (_, w) in zip(window_labels(windows), windows.iterrows(), strict=True):
        read = chroms[w["chrom"]][w["start"] : w["end"]]
        plus = "N" * w["pad_left"] + read + "N" * w["pad_right"]
        assert len(records[label]) == 12
        assert records[label] == (revcomp(plus) if w["strand"] == "-" else plus)
    assert windows["pad_left"].sum() + windows["pad_right"].sum() > 0


def test_read_chrom_sizes_in_file_order(tmp_path):
    path = tmp_path / "g.sizes"
    path.write_text("# UCSC\nchr2\t20\textra\n\nchr1 54\n")
    assert list(read_chrom_sizes(path).items()) == [("chr2", 20), ("chr1", 54)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "chr1\t40\nchr2 forty\n",
            "{path}, line 2: expected 'chromosome<TAB>size', got 'chr2 forty'",
        ),
        ("chr1\n", "{path}, line 1: expected 'chromosome<TAB>size', got 'chr1'"),
        ("# nothing\n\n", "{path}: no chromosome sizes in the file"),
    ],
)
def test_read_chrom_sizes_names_the_file_and_line(tmp_path, text, message):
    path = tmp_path / "g.sizes"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        read_chrom_sizes(path)
    assert str(err.value) == message.format(path=path)


def test_read_chrom_sizes_of_a_missing_file(tmp_path):
    with pytest.raises(InputError) as err:
        read_chrom_sizes(tmp_path / "none.sizes")
    assert str(err.value) == (
        f"{tmp_path / 'none.sizes'}: cannot read chromosome sizes (No such file or directory)"
    )

"""seqsal.sequence.windows: centring, strand, padding, soft-mask, streaming; tangermeme as oracle."""

import logging

import numpy as np
import pandas as pd
import pytest

import seqsal.sequence.windows as windows_module
from seqsal.errors import InputError
from seqsal.io.bed import read_bed
from seqsal.io.fasta import Genome, write_fasta
from seqsal.sequence.onehot import decode, encode, reverse_complement
from seqsal.sequence.windows import (
    extract_onehot,
    extract_sequences,
    iter_onehot,
    make_windows,
)

# An asymmetric sequence: its reverse complement differs from it at every window tested.
CHR1 = "AAAACCCGTTGACCTAGGGTTTACGATTCAGGCAAT"
CHR2 = "ttttggccaAATTGCGCNNNAGTC"


def rc(seq: str) -> str:
    return seq.translate(str.maketrans("ACGTNacgtn", "TGCANtgcan"))[::-1]


@pytest.fixture
def genome(tmp_path):
    path = tmp_path / "g.fa"
    write_fasta([("chr1", CHR1), ("chr2", CHR2)], path, line_width=10)
    with Genome(path) as g:
        yield g


def regions(rows, **extra):
    df = pd.DataFrame(
        rows, columns=["chrom", "start", "end", "name", "score", "strand"][: len(rows[0])]
    )
    for key, values in extra.items():
        df[key] = values
    return df


@pytest.mark.parametrize("width", [1, 4, 5, 10])
def test_window_is_centred_like_tangermeme(width):
    df = regions([("chr1", 10, 20), ("chr1", 10, 21), ("chr2", 8, 9)])
    w = make_windows(df, width, chrom_sizes={"chr1": len(CHR1), "chr2": len(CHR2)})
    mid = df["start"] + (df["end"] - df["start"]) // 2
    np.testing.assert_array_equal(w["start"], mid - width // 2)
    np.testing.assert_array_equal(w["end"], mid - width // 2 + width)
    assert (w["pad_left"] == 0).all() and (w["pad_right"] == 0).all()


def test_minus_strand_is_the_reverse_complement_of_plus(genome):
    df = regions(
        [("chr1", 5, 17, "p", 0, "+"), ("chr1", 5, 17, "m", 0, "-"), ("chr1", 5, 17, "u", 0, ".")]
    )
    w = make_windows(df, 9, chrom_sizes=genome.chrom_sizes)
    plus, minus, unstranded = extract_sequences(genome, w)
    assert plus == CHR1[7:16] and unstranded == plus
    assert minus == rc(plus) and minus != plus
    X = extract_onehot(genome, w)
    np.testing.assert_array_equal(X[1], reverse_complement(X[0]))
    assert decode(X[1]) == minus
    # Base 0 of a '-' window is the 3' end of the window on '+'.
    assert minus[0] == rc(CHR1[15])


def test_soft_masked_bases_give_the_same_onehot(tmp_path):
    upper, lower = tmp_path / "u.fa", tmp_path / "l.fa"
    write_fasta([("c", CHR1)], upper)
    write_fasta([("c", CHR1[:10] + CHR1[10:25].lower() + CHR1[25:])], lower)
    df = regions([("c", 0, 36, "a", 0, "+"), ("c", 8, 30, "b", 0, "-")])
    w = make_windows(df, 20, chrom_sizes={"c": len(CHR1)})
    np.testing.assert_array_equal(extract_onehot(upper, w), extract_onehot(lower, w))
    seqs = extract_sequences(lower, w)
    assert seqs[0] != seqs[0].upper()  # case is kept in sequences...
    assert [s.upper() for s in seqs] == extract_sequences(upper, w)  # ...and only case differs


def test_padding_is_flagged_n_filled_and_never_shifted(genome, caplog):
    df = regions(
        [
            ("chr1", 0, 4, "left", 0, "+"),
            ("chr2", 20, 24, "right", 0, "-"),
            ("chr1", 10, 14, "in", 0, "+"),
        ]
    )
    with caplog.at_level(logging.WARNING, logger="seqsal.sequence.windows"):
        w = make_windows(df, 10, chrom_sizes=genome.chrom_sizes)
    assert "2 window(s) of width 10 run past a chromosome end" in caplog.text
    assert list(w["pad_left"]) == [3, 0, 0] and list(w["pad_right"]) == [0, 3, 0]
    assert list(w["start"]) == [0, 17, 7] and list(w["end"]) == [7, 24, 17]
    assert ((w["pad_left"] + w["end"] - w["start"] + w["pad_right"]) == 10).all()
    seqs = extract_sequences(genome, w)
    assert seqs[0] == "NNN" + CHR1[:7]
    assert seqs[1] == rc(CHR2[17:] + "NNN")  # '-': the padding ends up first
    assert seqs[2] == CHR1[7:17]
    X = extract_onehot(genome, w)
    assert (X[0, :, :3] == 0).all() and (X[0, :, 3:].sum(axis=0) == 1).all()
    assert (X[1, :, :3] == 0).all()


def test_drop_and_error_modes(genome, caplog):
    df = regions([("chr1", 0, 4, "edge", 0, "+"), ("chr1", 10, 14, "in", 0, "+")])
    with caplog.at_level(logging.WARNING):
        w = make_windows(df, 10, chrom_sizes=genome.chrom_sizes, out_of_bounds="drop")
    assert list(w["name"]) == ["in"] and "dropped 1" in caplog.text
    with pytest.raises(InputError, match=r"region 'edge' \(chr1:0-4 \+\), window chr1:-3-7"):
        make_windows(df, 10, chrom_sizes=genome.chrom_sizes, out_of_bounds="error")
    with pytest.raises(InputError, match="no windows left"):
        make_windows(df.iloc[:1], 10, chrom_sizes=genome.chrom_sizes, out_of_bounds="drop")
    with pytest.raises(InputError, match="out_of_bounds='shift'"):
        make_windows(df, 10, out_of_bounds="shift")


def test_summit_column_by_number_and_name_and_its_validation(tmp_path, genome):
    path = tmp_path / "p.narrowPeak"
    path.write_text("chr1\t4\t30\tp1\t0\t+\t1\t1\t1\t3\nchr1\t4\t30\tp2\t0\t+\t1\t1\t1\t-1\n")
    df = read_bed(path, chrom_sizes=genome.chrom_sizes)
    by_number = make_windows(df, 4, summit_column=10, chrom_sizes=genome.chrom_sizes)
    by_name = make_windows(df, 4, summit_column="peak", chrom_sizes=genome.chrom_sizes)
    pd.testing.assert_frame_equal(by_number, by_name)
    assert list(by_number["start"]) == [4 + 3 - 2, 4 + 13 - 2]  # -1: no summit, the middle
    for bad, fragment in [(26, r"in \[0, 26\)"), (-2, r"in \[0, 26\)")]:
        df.loc[0, "peak"] = bad
        with pytest.raises(InputError, match=f"region 'p1'.*{fragment}"):
            make_windows(df, 4, summit_column=10)
    with pytest.raises(InputError, match="summit_column=11"):
        make_windows(df, 4, summit_column=11)
    with pytest.raises(InputError, match="needs summit_column"):
        make_windows(df, 4, center="summit")


def test_batches_streaming_and_unsorted_chromosomes_agree(genome, monkeypatch):
    rng = np.random.default_rng(1)
    chroms = rng.choice(["chr1", "chr2"], size=40)
    sizes = np.where(chroms == "chr1", len(CHR1), len(CHR2))
    starts = rng.integers(0, sizes - 1)
    df = pd.DataFrame(
        {
            "chrom": chroms,
            "start": starts,
            "end": starts + 1,
            "name": [f"r{i}" for i in range(40)],
            "strand": rng.choice(["+", "-"], size=40),
        }
    )
    w = make_windows(df, 7, chrom_sizes=genome.chrom_sizes)
    expected = encode(extract_sequences(genome, w), warn=False)
    np.testing.assert_array_equal(extract_onehot(genome, w), expected)
    for batch_size in (1, 3, 64):
        np.testing.assert_array_equal(extract_onehot(genome, w, batch_size=batch_size), expected)
        batches = list(iter_onehot(genome, w, batch_size=batch_size))
        assert all(len(b) <= batch_size for b in batches)
        np.testing.assert_array_equal(np.concatenate(batches), expected)
    # A cache too small for both chromosomes re-reads them and still gives the same answer.
    monkeypatch.setattr(windows_module, "CACHE_BYTES", 30)
    np.testing.assert_array_equal(extract_onehot(genome, w, batch_size=5), expected)


def test_n_bases_are_zero_columns_counted_in_one_warning(genome, caplog):
    w = make_windows(regions([("chr2", 15, 22, "n", 0, "+")]), 6, chrom_sizes=genome.chrom_sizes)
    with caplog.at_level(logging.WARNING, logger="seqsal.sequence.windows"):
        X = extract_onehot(genome, w)
    assert extract_sequences(genome, w) == [CHR2[15:21]]
    np.testing.assert_array_equal(X[0].sum(axis=0), [1, 1, 0, 0, 0, 1])
    assert caplog.text.count("are not A/C/G/T") == 1 and "3 of 6 bases" in caplog.text


def test_windows_of_different_widths_or_unknown_chromosomes_are_errors(genome):
    df = regions([("chr1", 0, 5), ("chr1", 0, 6)])
    with pytest.raises(InputError, match="different widths"):
        extract_onehot(genome, df)
    with pytest.raises(InputError, match="chrX"):
        extract_onehot(genome, regions([("chrX", 0, 5)]))
    with pytest.raises(InputError, match="not in chrom_sizes"):
        make_windows(regions([("chrX", 0, 5)]), 4, chrom_sizes=genome.chrom_sizes)
    with pytest.raises(InputError, match="width=0"):
        make_windows(df, 0)


def test_extra_columns_and_attrs_are_carried(tmp_path, genome):
    path = tmp_path / "r.bed"
    path.write_text("#chrom\tstart\tend\tname\tscore\tstrand\tactivity\nchr1\t2\t9\ta\t0\t-\t0.5\n")
    w = make_windows(read_bed(path), 4, chrom_sizes=genome.chrom_sizes)
    assert w["activity"][0] == 0.5
    assert w.attrs["targets"] == ["activity"] and w.attrs["width"] == 4


@pytest.mark.parametrize("width", [50, 51])
def test_onehot_matches_tangermeme_extract_loci(tmp_path, width):
    tangermeme_io = pytest.importorskip("tangermeme.io")
    rng = np.random.default_rng(7)
    records = []
    for k, size in enumerate([300, 211, 500]):
        seq = "".join(
            rng.choice(
                list("ACGTacgtN"),
                p=[0.22, 0.22, 0.22, 0.22, 0.03, 0.03, 0.02, 0.02, 0.02],
                size=size,
            )
        )
        records.append((f"chr{k}", seq))
    fa = tmp_path / "g.fa"
    write_fasta(records, fa, line_width=60)
    sizes = dict((n, len(s)) for n, s in records)
    rows = []
    for i in range(60):
        chrom = f"chr{rng.integers(0, 3)}"
        start = int(rng.integers(width, sizes[chrom] - 2 * width))
        length = int(rng.integers(1, 40))
        rows.append((chrom, start, start + length, f"r{i}", 0, "+", int(rng.integers(0, length))))
    df = pd.DataFrame(rows, columns=["chrom", "start", "end", "name", "score", "strand", "peak"])
    for use_summit in (False, True):
        w = make_windows(
            df,
            width,
            summit_column="peak" if use_summit else None,
            chrom_sizes=sizes,
            out_of_bounds="error",
        )
        ours = extract_onehot(fa, w)
        loci = df[["chrom", "start", "end", "name", "score", "strand"]].copy()
        for k, extra in enumerate(["signalValue", "pValue", "qValue"]):
            loci[extra] = float(k)
        loci["peak"] = df["peak"]
        theirs = tangermeme_io.extract_loci(
            loci, str(fa), in_window=width, summits=use_summit, n_jobs=1
        ).numpy()
        assert theirs.shape == ours.shape
        np.testing.assert_array_equal(ours, theirs.astype(np.float32))
        # Like with like: tangermeme's int8 against seqsal asked for int8.
        ours_int8 = extract_onehot(fa, w, dtype=np.int8)
        assert ours_int8.dtype == theirs.dtype == np.int8
        np.testing.assert_array_equal(ours_int8, theirs)


def test_cached_chromosome_codes_equal_onehot_encode_for_every_character(tmp_path):
    seq = "ACGTacgtNnRYKMSWBDHVryk-*.ACGT"
    fa = tmp_path / "iupac.fa"
    write_fasta([("c", seq)], fa, line_width=7)
    w = make_windows(
        regions([("c", 0, len(seq), "a", 0, "+"), ("c", 0, len(seq), "b", 0, "-")]), len(seq)
    )
    X = extract_onehot(fa, w)
    np.testing.assert_array_equal(X[0], encode(seq, warn=False))
    np.testing.assert_array_equal(X[1], reverse_complement(encode(seq, warn=False)))
    assert extract_sequences(fa, w) == [
        seq,
        seq.translate(str.maketrans("ACGTacgtRYKMBDHVryk", "TGCAtgcaYRMKVHDByrm"))[::-1],
    ]


def test_without_chrom_sizes_extraction_still_pads_past_the_end(genome, caplog):
    w = make_windows(regions([("chr2", 20, 24, "r", 0, "+")]), 8)  # no chrom_sizes given
    assert (w["start"][0], w["end"][0], w["pad_right"][0]) == (18, 26, 0)
    with caplog.at_level(logging.WARNING, logger="seqsal.sequence.windows"):
        X = extract_onehot(genome, w)
    assert extract_sequences(genome, w) == [CHR2[18:] + "NN"]
    assert (X[0, :, 6:] == 0).all() and "2 of them N padding" in caplog.text


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.float16, "float32"])
def test_every_dtype_gives_the_same_values_batched_or_streamed(genome, dtype):
    df = regions(
        [("chr1", 5, 17, "p", 0, "+"), ("chr1", 5, 17, "m", 0, "-"), ("chr2", 18, 24, "e", 0, "+")]
    )
    w = make_windows(df, 10, chrom_sizes=genome.chrom_sizes)
    reference = extract_onehot(genome, w)
    assert reference.dtype == np.float32
    X = extract_onehot(genome, w, dtype=dtype, batch_size=2)
    assert X.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(X.astype(np.float32), reference)
    streamed = list(iter_onehot(genome, w, batch_size=2, dtype=dtype))
    assert [b.dtype for b in streamed] == [np.dtype(dtype)] * 2
    np.testing.assert_array_equal(np.concatenate(streamed), X)


def test_unknown_dtype_is_an_input_error(genome):
    w = make_windows(regions([("chr1", 5, 17)]), 4)
    with pytest.raises(InputError, match="dtype"):
        extract_onehot(genome, w, dtype=np.float64)
    with pytest.raises(InputError, match="dtype"):
        next(iter_onehot(genome, w, dtype="int64"))


def test_cli_extract_dtype_writes_that_type_with_the_same_values(tmp_path):
    from seqsal.cli import main

    fa = tmp_path / "g.fa"
    write_fasta([("chr1", CHR1), ("chr2", CHR2)], fa, line_width=10)
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t5\t15\ta\t0\t+\nchr1\t5\t15\tb\t0\t-\nchr2\t0\t3\tc\t0\t+\n")
    arrays = {}
    for dtype in ("float32", "int8", "float16"):
        out = tmp_path / f"{dtype}.npz"
        args = ["extract", "--fasta", fa, "--regions", bed, "--width", 12, "--out", out]
        assert main([*map(str, args), "--dtype", dtype]) == 0
        with np.load(out) as npz:
            arrays[dtype] = npz["X"]
        assert arrays[dtype].dtype == np.dtype(dtype)
    np.testing.assert_array_equal(arrays["int8"].astype(np.float32), arrays["float32"])
    np.testing.assert_array_equal(arrays["float16"].astype(np.float32), arrays["float32"])
    with pytest.raises(SystemExit):  # argparse refuses an unlisted type
        main(
            [
                "extract",
                "--fasta",
                str(fa),
                "--regions",
                str(bed),
                "--width",
                "12",
                "--out",
                str(tmp_path / "x.npz"),
                "--dtype",
                "float64",
            ]
        )
    assert not (tmp_path / "x.npz").exists()


# -- the one-pass numba kernel (large extractions) against a plain reference ----------------

_BASES = {"A": 0, "C": 1, "G": 2, "T": 3}


def _reference_onehot(records: dict[str, str], w: pd.DataFrame) -> np.ndarray:
    """Window by window in plain Python: N padding, reverse complement, case folded."""
    out = np.zeros((len(w), 4, w.attrs["width"]), dtype=np.float32)
    for i, row in enumerate(w.itertuples()):
        seq = "N" * row.pad_left + records[row.chrom][row.start : row.end] + "N" * row.pad_right
        seq = seq.upper()
        if row.strand == "-":
            seq = seq.translate(str.maketrans("ACGT", "TGCA"))[::-1]
        for j, base in enumerate(seq):
            if base in _BASES:
                out[i, _BASES[base], j] = 1
    return out


def _random_genome(tmp_path, rng, line_width, crlf=False):
    alphabet = list("ACGTacgtNnRYkm-")
    p = [0.2, 0.2, 0.2, 0.2, 0.03, 0.03, 0.03, 0.03, 0.03, 0.01, 0.01, 0.01, 0.01, 0.005, 0.005]
    records = {}
    for k, size in enumerate([1, 7, 150, 613, 2000]):
        seq = np.array(rng.choice(alphabet, p=np.array(p) / sum(p), size=size))
        if size > 100:  # a run of N, as an assembly gap
            a = int(rng.integers(0, size - 50))
            seq[a : a + 40] = "N"
        records[f"chr{k}"] = "".join(seq)
    path = tmp_path / f"g{line_width}{'crlf' if crlf else ''}.fa"
    write_fasta(records.items(), path, line_width=line_width)
    if crlf:
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    return path, records


def _random_windows(rng, records, n, width):
    chroms = rng.choice(list(records), size=n)
    sizes = np.array([len(records[c]) for c in chroms])
    starts = (rng.random(n) * sizes).astype(np.int64)
    df = pd.DataFrame(
        {
            "chrom": chroms,
            "start": starts,
            "end": np.minimum(starts + rng.integers(1, 30, size=n), sizes),
            "strand": rng.choice(["+", "-", "."], size=n),
        }
    )
    sizes_map = {c: len(s) for c, s in records.items()}
    return make_windows(df, width, chrom_sizes=sizes_map)


@pytest.mark.parametrize(
    ("line_width", "crlf", "width"),
    [(1, False, 33), (7, False, 50), (60, True, 61), (5000, False, 8)],
)
def test_kernel_and_numpy_paths_equal_a_reference_for_every_dtype(
    tmp_path, monkeypatch, line_width, crlf, width
):
    rng = np.random.default_rng(line_width)
    path, records = _random_genome(tmp_path, rng, line_width, crlf)
    w = _random_windows(rng, records, 300, width)
    assert (w["pad_left"] > 0).any() and (w["pad_right"] > 0).any()
    assert (w["strand"] == "-").any()
    expected = _reference_onehot(records, w)
    with Genome(path) as g:
        for fused in (True, False):
            monkeypatch.setattr(windows_module, "_FUSED_MIN_BASES", 0 if fused else 10**12)
            for dtype in (np.float32, np.float16, np.int8, np.uint8):
                for n_jobs, batch_size in ((1, None), (3, 7), (-1, 1)):
                    X = extract_onehot(g, w, dtype=dtype, n_jobs=n_jobs, batch_size=batch_size)
                    assert X.dtype == np.dtype(dtype)
                    np.testing.assert_array_equal(X, expected.astype(dtype))
                streamed = list(iter_onehot(g, w, batch_size=64, dtype=dtype, n_jobs=2))
                assert [len(b) for b in streamed] == [64] * 4 + [300 - 256]
                np.testing.assert_array_equal(np.concatenate(streamed), expected.astype(dtype))


def test_kernel_warns_with_the_same_counts_as_the_numpy_path(tmp_path, monkeypatch, caplog):
    rng = np.random.default_rng(3)
    path, records = _random_genome(tmp_path, rng, 13)
    w = _random_windows(rng, records, 200, 40)
    expected = _reference_onehot(records, w)
    n_known = int(expected.sum())
    n_padded = int((w["pad_left"] + w["pad_right"]).sum())
    texts = []
    for threshold in (0, 10**12):
        monkeypatch.setattr(windows_module, "_FUSED_MIN_BASES", threshold)
        for fn in (extract_onehot, lambda g, w: list(iter_onehot(g, w, batch_size=9))):
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="seqsal.sequence.windows"):
                fn(path, w)
            texts.append([r.getMessage() for r in caplog.records if "A/C/G/T" in r.getMessage()])
    assert texts[0] == [
        f"{w.attrs['width'] * len(w) - n_known} of {w.attrs['width'] * len(w)} bases are not "
        f"A/C/G/T ({n_padded} of them N padding past chromosome ends); encoded as all-zero columns"
    ]
    assert all(t == texts[0] for t in texts)


def test_kernel_reads_unsorted_windows_with_a_tiny_cache_and_names_unknown_chromosomes(
    tmp_path, monkeypatch
):
    rng = np.random.default_rng(5)
    path, records = _random_genome(tmp_path, rng, 11)
    w = _random_windows(rng, records, 120, 25).sample(frac=1, random_state=1)
    w = w.reset_index(drop=True)
    monkeypatch.setattr(windows_module, "_FUSED_MIN_BASES", 0)
    monkeypatch.setattr(windows_module, "CACHE_BYTES", 10)
    with Genome(path) as g:
        np.testing.assert_array_equal(extract_onehot(g, w, n_jobs=2), _reference_onehot(records, w))
        bad = w.copy()
        bad.loc[50, "chrom"] = "chrZ"
        with pytest.raises(InputError, match="chrZ"):
            extract_onehot(g, bad, n_jobs=2)


@pytest.mark.parametrize("n_jobs", [0, -2, 1.5, True, "2"])
def test_bad_n_jobs_is_an_input_error(genome, n_jobs):
    w = make_windows(regions([("chr1", 5, 17)]), 4)
    with pytest.raises(InputError, match="n_jobs"):
        extract_onehot(genome, w, n_jobs=n_jobs)
    with pytest.raises(InputError, match="n_jobs"):
        next(iter_onehot(genome, w, n_jobs=n_jobs))


def test_kernel_zero_fills_windows_wholly_past_the_end_as_the_numpy_path(genome, monkeypatch):
    # Without chrom_sizes nothing is padded up front: a window may lie wholly past the end.
    w = make_windows(regions([("chr2", 40, 44, "a", 0, "+"), ("chr2", 20, 24, "b", 0, "-")]), 8)
    results = []
    for threshold in (0, 10**12):
        monkeypatch.setattr(windows_module, "_FUSED_MIN_BASES", threshold)
        results.append(extract_onehot(genome, w, dtype=np.int8, n_jobs=2))
    np.testing.assert_array_equal(results[0], results[1])
    assert (results[0][0] == 0).all()
    np.testing.assert_array_equal(
        results[0][1], encode(rc(CHR2[18:] + "NN"), dtype=np.int8, warn=False)
    )


def test_kernel_counts_unknown_bases_of_windows_longer_than_one_count_block(
    tmp_path, monkeypatch, caplog
):
    # The kernel counts A/C/G/T 8 bytes at a time in blocks of 2040 bases: cross a block.
    rng = np.random.default_rng(11)
    seq = "".join(rng.choice(list("ACGTacgtNR"), size=7000))
    records = {"c": seq}
    path = tmp_path / "long.fa"
    write_fasta(records.items(), path, line_width=61)
    df = regions([("c", s, s + 1, f"r{s}", 0, strand) for s in (0, 2500, 6999) for strand in "+-"])
    w = make_windows(df, 4100, chrom_sizes={"c": 7000})
    expected = _reference_onehot(records, w)
    monkeypatch.setattr(windows_module, "_FUSED_MIN_BASES", 0)
    with caplog.at_level(logging.WARNING, logger="seqsal.sequence.windows"):
        X = extract_onehot(path, w, dtype=np.uint8, n_jobs=2)
    np.testing.assert_array_equal(X, expected.astype(np.uint8))
    assert (
        f"{expected.size // 4 - int(expected.sum())} of {expected.size // 4} bases" in caplog.text
    )


def test_kernel_reads_bgzip_fasta_through_whole_chromosomes(tmp_path, monkeypatch):
    bgzf = pytest.importorskip("Bio.bgzf")
    rng = np.random.default_rng(8)
    plain, records = _random_genome(tmp_path, rng, 17)
    gz = tmp_path / "g.fa.gz"
    with bgzf.BgzfWriter(str(gz), "wb") as handle:
        handle.write(plain.read_bytes())
    w = _random_windows(rng, records, 150, 45)
    monkeypatch.setattr(windows_module, "_FUSED_MIN_BASES", 0)
    with Genome(gz) as g:
        assert g.record_layout("chr2") is None
        np.testing.assert_array_equal(extract_onehot(g, w, n_jobs=2), _reference_onehot(records, w))


def test_kernel_falls_back_to_whole_chromosomes_when_bytes_do_not_fit_the_index(
    tmp_path, monkeypatch
):
    # A base turned into '\r' after indexing: the line layout no longer holds.  The numpy
    # path (newlines removed from the whole chromosome) then finds the chromosome one base
    # short and names the stale index; the kernel must not encode the '\r' as N instead.
    path = tmp_path / "g.fa"
    write_fasta([("c", "ACGT" * 50)], path, line_width=20)
    w = make_windows(regions([("c", 90, 110, "a", 0, "+")]), 40, chrom_sizes={"c": 200})
    with Genome(path) as g:
        assert g.record_layout("c") == (3, 20, 21)
        raw = bytearray(path.read_bytes())
        raw[3 + 4 * 21 + 10] = ord("\r")  # base 94, inside the window
        with open(path, "r+b") as handle:  # same size, in place, index kept open
            handle.write(bytes(raw))
        for threshold in (0, 10**12):
            monkeypatch.setattr(windows_module, "_FUSED_MIN_BASES", threshold)
            with pytest.raises(InputError, match="stale"):
                extract_onehot(g, w, n_jobs=1)

"""seqsal.io.bed: BED3-BED6+, headers and targets, gzip, and one error per kind of bad line."""

import gzip
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqsal.errors import InputError
from seqsal.io.bed import read_bed, write_bed

# --- property tests -------------------------------------------------------------------------

chrom_names = st.sampled_from(["chr1", "chr2", "chrX", "scaffold_7", "1"])
numbers = st.floats(allow_nan=False, allow_infinity=False, width=32, min_value=-1e6, max_value=1e6)


@st.composite
def bed_tables(draw):
    """A random valid BED table: the expected DataFrame and the options used to write it."""
    n = draw(st.integers(1, 12))
    n_std = draw(st.sampled_from([3, 4, 5, 6]))
    n_targets = draw(st.integers(0, 2))
    header = (
        draw(st.sampled_from(["none", "row", "comment"]))
        if n_targets == 0
        else draw(st.sampled_from(["row", "comment"]))
    )
    rows = []
    starts = draw(st.lists(st.integers(0, 10**9), min_size=n, max_size=n, unique=True))
    for i, start in enumerate(starts):
        rows.append(
            {
                "chrom": draw(chrom_names),
                "start": start,
                "end": start + draw(st.integers(1, 10**5)),
                "name": f"r{i}_{draw(st.integers(0, 99))}",
                "score": float(draw(st.integers(0, 1000))),
                "strand": draw(st.sampled_from(["+", "-", "."])),
                **{f"t{k}": float(draw(numbers)) for k in range(n_targets)},
            }
        )
    return rows, n_std, n_targets, header, draw(st.booleans()), draw(st.booleans())


def _render(rows, n_std, n_targets, header, noise):
    std = ["chrom", "start", "end", "name", "score", "strand"][:n_std]
    cols = std + [f"t{k}" for k in range(n_targets)]
    lines = []
    if noise:
        lines += ["browser position chr1:1-100", 'track name="peaks"', "# a comment"]
    if header == "row":
        lines.append("\t".join(cols))
    elif header == "comment":
        lines.append("#" + "\t".join(cols))
    for r in rows:
        lines.append("\t".join(repr(r[c]) if isinstance(r[c], float) else str(r[c]) for c in cols))
        if noise:
            lines.append("")
    return "\n".join(lines) + "\n", cols


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(table=bed_tables())
def test_random_valid_bed_reads_back_equal(tmp_path, table):
    rows, n_std, n_targets, header, noise, compress = table
    text, cols = _render(rows, n_std, n_targets, header, noise)
    path = tmp_path / "r.bed"  # gzip detected by content, not by name
    path.write_bytes(gzip.compress(text.encode()) if compress else text.encode())
    df = read_bed(path)
    assert list(df.columns) == ["chrom", "start", "end", "name", "score", "strand", *cols[n_std:]]
    assert df.attrs["targets"] == [f"t{k}" for k in range(n_targets)]
    assert df.attrs["source"] == str(path)
    for i, r in enumerate(rows):
        got = df.iloc[i]
        assert (got["chrom"], got["start"], got["end"]) == (r["chrom"], r["start"], r["end"])
        assert got["name"] == (r["name"] if n_std >= 4 else f"{r['chrom']}:{r['start']}-{r['end']}")
        assert got["score"] == (r["score"] if n_std >= 5 else 0)
        assert got["strand"] == (r["strand"] if n_std >= 6 else ".")
        for k in range(n_targets):
            assert got[f"t{k}"] == r[f"t{k}"]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(table=bed_tables())
def test_write_bed_then_read_bed_is_the_identity(tmp_path, table):
    rows, n_std, n_targets, header, _noise, _compress = table
    text, _ = _render(rows, n_std, n_targets, header, False)
    src = tmp_path / "src.bed"
    src.write_text(text)
    df = read_bed(src)
    out = tmp_path / "out.bed"
    write_bed(df, out, header=True)
    back = read_bed(out)
    pd.testing.assert_frame_equal(back, df)
    assert back.attrs["targets"] == df.attrs["targets"]


# --- formats --------------------------------------------------------------------------------


def test_header_row_names_targets_and_non_numeric_extras_are_carried(tmp_path):
    path = tmp_path / "h.bed"
    path.write_text(
        "chrom\tstart\tend\tactivity\tlabel\tnote\nchr1\t0\t10\t1.5\t1\tx\nchr1\t20\t30\tNA\t0\ty\n"
    )
    df = read_bed(path)
    assert df.attrs["targets"] == ["activity", "label"]
    assert math.isnan(df["activity"][1]) and df["activity"][0] == 1.5
    assert list(df["note"]) == ["x", "y"]
    assert list(df["name"]) == ["chr1:0-10", "chr1:20-30"]
    assert df.attrs["columns"] == ["chrom", "start", "end", "activity", "label", "note"]


def test_headerless_extras_are_not_targets_and_narrowpeak_columns_are_named(tmp_path):
    line = "chr1\t100\t200\tpeak1\t0\t.\t5.5\t3.2\t1.1\t42\n"
    generic = tmp_path / "x.bed"
    generic.write_text(line)
    df = read_bed(generic)
    assert df.attrs["targets"] == []
    assert list(df.columns[6:]) == ["col7", "col8", "col9", "col10"]
    assert df["col10"][0] == 42
    peaks = tmp_path / "x.narrowPeak"
    peaks.write_text(line)
    assert list(read_bed(peaks).columns[6:]) == ["signalValue", "pValue", "qValue", "peak"]


def test_region_past_the_chromosome_end_is_not_an_error_here(tmp_path):
    path = tmp_path / "r.bed"
    path.write_text("chr1\t90\t150\n")
    assert read_bed(path, chrom_sizes={"chr1": 100})["end"][0] == 150


def test_missing_chromosomes_error_lists_five_and_counts(tmp_path, caplog):
    path = tmp_path / "r.bed"
    lines = ["chr1\t0\t10"] + [f"chrU{i}\t0\t10" for i in range(7)] + ["chr1\t5\t15"]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as info:
        read_bed(path, chrom_sizes={"chr1": 100})
    message = str(info.value)
    assert f"{path}, line 2" in message
    assert "7 region(s) on 7 chromosome(s)" in message
    assert all(f"'chrU{i}'" in message for i in range(5)) and "'chrU5'" not in message
    with caplog.at_level(logging.WARNING, logger="seqsal.io.bed"):
        df = read_bed(path, chrom_sizes={"chr1": 100}, skip_missing=True)
    assert list(df["start"]) == [0, 5]
    assert "skipped 7 region(s)" in caplog.text


# --- bad input: one case per kind, each naming the file and the line ------------------------

BAD = [
    ("chr1\t0\t10\nchr1\t5\n", 2, "at least 3"),
    ("chr1\tx\t10\n", 1, "start 'x' is not an integer"),
    ("chr1\t0\t1e3\n", 1, "end '1e3' is not an integer"),
    ("chr1\t-5\t10\n", 1, "negative"),
    ("chr1\t0\t10\nchr1\t0\t99999999999999999999\n", 2, "end 99999999999999999999 is too large"),
    ("chr1\t0\t10\n\n# note\nchr1 \t 5\t 4 \n", 4, r"end \(4\) <= start \(5\)"),
    ("chr1\t0\t10\nchr1\t10\t10\n", 2, r"end \(10\) <= start \(10\)"),
    ("chr1\t20\t10\n", 1, r"end \(10\) <= start \(20\)"),
    ("chr1\t0\t10\ta\t0\t*\n", 1, "strand '\\*'"),
    ("chr1\t0\t10\ta\thigh\n", 1, "score 'high' is not a number"),
    ("chrom\tstart\tend\tv\nchr1\t0\t10\t1\nchr1\t0\t20\toops\n", 3, "'v'.*'oops' is not a number"),
    (
        "chr1\t0\t10\ta\nchr1\t20\t30\tb\nchr1\t40\t50\ta\n",
        3,
        "duplicate region name 'a' \\(also on line 1\\)",
    ),
    ("chr1\t0\t10\nchr1\t0\t10\n", 2, "duplicate region name 'chr1:0-10' \\(also on line 1\\)"),
    ("chr1\t0\t10\ta\nchr1\t20\t30\tb\tx\n", 2, "too many columns"),
    ("chr1\t0\t10\ta\t1\nchr1\t20\t30\tb\n", 2, "too few columns"),
    ("#chrom\tstart\tend\tv\nchr1\t0\t10\n", 2, "too few columns"),
    # a name is written verbatim into BED outputs: a line break inside it would split lines
    ("chr1\t0\t10\ta\t0\t+\nchr1\t20\t30\tb\rc\t0\t+\n", 2, r"region name 'b\\rc' holds a"),
    ("chr1\t0\t10\ta\x0bb\t0\t+\n", 1, r"region name 'a\\x0bb' holds a tab or line break"),
    ("chr1\t0\t10\ta\u2028b\t0\t+\n", 1, r"region name 'a\\u2028b' holds"),
]


@pytest.mark.parametrize(("text", "line", "fragment"), BAD)
@pytest.mark.parametrize("compress", [False, True])
def test_bad_line_is_an_input_error_with_file_and_line(tmp_path, text, line, fragment, compress):
    path = tmp_path / "bad.bed"
    path.write_bytes(gzip.compress(text.encode()) if compress else text.encode())
    with pytest.raises(InputError, match=fragment) as info:
        read_bed(path)
    assert str(info.value).startswith(f"{path}, line {line}: ")
    assert info.value.path == str(path) and info.value.line == line


@pytest.mark.parametrize(
    "text", ["", "\n\n", "# only comments\ntrack name=x\n", "chrom\tstart\tend\n"]
)
def test_file_without_regions_is_an_error(tmp_path, text):
    path = tmp_path / "empty.bed"
    path.write_text(text)
    with pytest.raises(InputError, match="no regions") as info:
        read_bed(path)
    assert str(path) in str(info.value)


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_bed(tmp_path / "nope.bed")


def test_names_with_quotes_are_read_and_written_verbatim(tmp_path):
    names = ['peak "A" #1 it\'s', '"quoted start', "a'b", "#hash first"]
    text = "".join(f"chr1\t{10 * i}\t{10 * i + 5}\t{n}\t0\t+\n" for i, n in enumerate(names))
    src = tmp_path / "in.bed"
    src.write_text(text)
    df = read_bed(src)
    assert df["name"].tolist() == names
    out = tmp_path / "out.bed"
    write_bed(df, out)
    assert out.read_bytes() == text.replace("\t0\t+", "\t0.0\t+").encode()
    # awk -F'\t' sees six fields and the name as written
    assert [line.split("\t")[3] for line in out.read_text().splitlines()] == names


def test_classic_mac_line_ends_still_read(tmp_path):
    path = tmp_path / "mac.bed"
    path.write_bytes(b"chr1\t0\t10\ta\rchr1\t20\t30\tb\r")
    assert read_bed(path)["name"].tolist() == ["a", "b"]


def test_write_bed_refuses_a_tab_or_line_break_in_a_field(tmp_path):
    df = pd.DataFrame({"chrom": ["c", "c"], "start": [1, 9], "end": [5, 12], "name": ["a", "b\tc"]})
    with pytest.raises(InputError, match=r"o.bed: column 'name' row 1 is 'b\\tc'"):
        write_bed(df, tmp_path / "o.bed")
    assert not (tmp_path / "o.bed").exists()


def test_write_bed_fills_columns_and_is_atomic(tmp_path):
    df = pd.DataFrame({"chrom": ["c"], "start": [1], "end": [5]})
    out = tmp_path / "o.bed"
    write_bed(df, out)
    assert out.read_text() == "c\t1\t5\tc:1-5\t0\t.\n"
    with pytest.raises(InputError, match="chrom, start, end"):
        write_bed(pd.DataFrame({"chrom": ["c"]}), tmp_path / "bad.bed")
    assert not (tmp_path / "bad.bed").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.bed"]


def test_large_file_parses_quickly_and_keeps_dtypes(tmp_path):
    n = 20_000
    starts = np.arange(n) * 100
    text = "".join(f"chr1\t{s}\t{s + 50}\tr{i}\t{i % 7}\t+\n" for i, s in enumerate(starts))
    path = tmp_path / "big.bed"
    path.write_text(text)
    df = read_bed(path)
    assert df["start"].dtype == np.int64 and df["score"].dtype == np.float64
    np.testing.assert_array_equal(df["start"].to_numpy(), starts)


# --- repeated names and windows BEDs ---------------------------------------------------------

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"


def test_repeated_names_are_an_error_by_default_and_allowed_with_unique_names_false(tmp_path):
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t0\t10\tCTCF\nchr1\t20\t30\tGATA1\nchr1\t40\t50\tCTCF\n")
    with pytest.raises(
        InputError, match=r"line 3: duplicate region name 'CTCF' \(also on line 1\)"
    ):
        read_bed(bed)
    df = read_bed(bed, unique_names=False)
    assert list(df["name"]) == ["CTCF", "GATA1", "CTCF"]
    assert list(df["start"]) == [0, 20, 40]


@pytest.mark.skipif(not (DEMO / "planted.bed").exists(), reason="bundled demo data absent")
def test_bundled_planted_bed_reads_with_unique_names_false():
    path = DEMO / "planted.bed"
    with pytest.raises(InputError, match="duplicate region name"):
        read_bed(path)  # the TF name repeats: refused as keys...
    df = read_bed(path, unique_names=False)  # ...read as labels
    text_rows = [
        line.split("\t")
        for line in path.read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert len(df) == len(text_rows) and df["name"].duplicated().any()
    assert list(df["name"]) == [row[3] for row in text_rows]
    assert list(df["start"]) == [int(row[1]) for row in text_rows]
    assert set(df["strand"]) <= {"+", "-"}
    assert "motif_id" in df.columns


def test_windows_bed_from_extract_reads_back_without_padding_as_targets(tmp_path):
    from seqsal.cli import main
    from seqsal.io.fasta import write_fasta

    fa = tmp_path / "g.fa"
    write_fasta([("chr1", "ACGT" * 10)], fa)
    regions = tmp_path / "r.bed"
    regions.write_text(
        "chrom\tstart\tend\tname\tscore\tstrand\tactivity\n"
        "chr1\t0\t4\ta\t0\t+\t1.5\n"
        "chr1\t10\t20\tb\t0\t-\t2.5\n"
    )
    windows_bed = tmp_path / "w.bed"
    args = ["extract", "--fasta", fa, "--regions", regions, "--width", 10]
    args += ["--out", tmp_path / "x.npz", "--windows-bed", windows_bed]
    assert main([str(a) for a in args]) == 0
    assert "pad_left" in windows_bed.read_text().splitlines()[0]
    df = read_bed(windows_bed)
    assert df.attrs["targets"] == ["activity"]
    assert df["pad_left"].dtype == np.int64 and list(df["pad_left"]) == [3, 0]
    assert list(df["pad_right"]) == [0, 0]
    np.testing.assert_array_equal(df["activity"], [1.5, 2.5])

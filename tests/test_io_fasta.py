"""seqsal.io.fasta: indexed access, index placement (beside / user cache), stale indexes, errors."""

import gzip
import os
import stat

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import seqsal.io.fasta as fasta_module
from seqsal.errors import InputError
from seqsal.io.fasta import Genome, open_genome, write_fasta

RECORDS = [("chr1", "ACGTacgtNNACGTTTGCA"), ("chr2", "GGGCCCAAAT"), ("chrM", "A")]


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    home = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home


def write_plain(path, records, width=7):
    with open(path, "w") as handle:
        for name, seq in records:
            handle.write(f">{name} some description\n")
            for i in range(0, len(seq), width):
                handle.write(seq[i : i + width] + "\n")


def test_sizes_fetch_and_chromosome_preserve_order_and_case(tmp_path, cache_home):
    path = tmp_path / "g.fa"
    write_plain(path, RECORDS)
    with open_genome(path) as genome:
        assert list(genome.chrom_sizes) == ["chr1", "chr2", "chrM"]
        assert genome.chrom_sizes == {name: len(seq) for name, seq in RECORDS}
        for name, seq in RECORDS:
            assert genome.chromosome(name) == seq
            assert genome.chromosome_bytes(name) == seq.encode()
        assert genome.fetch("chr1", 3, 12) == RECORDS[0][1][3:12]
        assert "chr2" in genome and "chrX" not in genome
    assert (tmp_path / "g.fa.fai").exists()
    assert not cache_home.exists()


@pytest.mark.parametrize(
    ("chrom", "start", "end"), [("chr2", 5, 11), ("chr2", -1, 3), ("chr2", 4, 4), ("chrX", 0, 1)]
)
def test_fetch_outside_the_chromosome_is_an_error(tmp_path, chrom, start, end):
    path = tmp_path / "g.fa"
    write_plain(path, RECORDS)
    with (
        Genome(path) as genome,
        pytest.raises(InputError, match=r"g\.fa.*(not inside|not in the FASTA)"),
    ):
        genome.fetch(chrom, start, end)


def test_stale_index_with_newer_fasta_is_rebuilt(tmp_path):
    path = tmp_path / "g.fa"
    write_plain(path, RECORDS)
    Genome(path).close()
    write_plain(path, [("other", "ACGTACGTAC")])
    fai = tmp_path / "g.fa.fai"
    os.utime(fai, (1_000_000, 1_000_000))  # index older than the FASTA
    with Genome(path) as genome:
        assert genome.chrom_sizes == {"other": 10}
        assert genome.chromosome("other") == "ACGTACGTAC"


def test_stale_index_with_newer_timestamp_is_caught_by_the_consistency_check(tmp_path):
    path = tmp_path / "g.fa"
    write_plain(path, RECORDS)
    Genome(path).close()
    write_plain(path, [("other", "ACGTACGTACGGGG")], width=5)
    fai = tmp_path / "g.fa.fai"
    os.utime(path, (1_000_000, 1_000_000))  # the FASTA looks older than its (wrong) index
    assert fai.stat().st_mtime > path.stat().st_mtime
    with Genome(path) as genome:
        assert genome.chrom_sizes == {"other": 14}
        assert genome.chromosome("other") == "ACGTACGTACGGGG"


def _make_unwritable(folder, monkeypatch):
    """chmod the folder 0o555; as root (where chmod does not stop writes) also fake os.access.

    Returns True when the folder is genuinely unwritable (a real test of the file system),
    False when os.access was monkeypatched to simulate it.
    """
    folder.chmod(
        stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
    )
    probe = folder / ".probe"
    try:
        probe.touch()
    except PermissionError:
        return True
    probe.unlink()
    real_access = os.access

    def fake_access(path, mode, *args, **kwargs):
        if mode & os.W_OK and os.path.abspath(path).startswith(str(folder)):
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(fasta_module.os, "access", fake_access)
    return False


def test_read_only_folder_puts_the_index_in_the_user_cache(tmp_path, cache_home, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "g.fa"
    write_plain(path, RECORDS)
    try:
        _make_unwritable(folder, monkeypatch)
        with Genome(path) as genome:
            assert genome.chromosome("chr1") == RECORDS[0][1]
            index = genome.index_path
        assert index.parent == cache_home / "seqsal" / "fai"
        assert index.exists()
        assert not (folder / "g.fa.fai").exists()
        with Genome(path) as again:
            assert again.index_path == index
            assert again.chrom_sizes == {name: len(seq) for name, seq in RECORDS}
    finally:
        folder.chmod(0o755)


def test_cache_key_changes_when_the_fasta_changes(tmp_path, cache_home, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "g.fa"
    write_plain(path, RECORDS)
    try:
        _make_unwritable(folder, monkeypatch)
        first = Genome(path).index_path
        folder.chmod(0o755)
        write_plain(path, [("x", "ACGT")])
        _make_unwritable(folder, monkeypatch)
        with Genome(path) as genome:
            assert genome.index_path != first
            assert genome.chrom_sizes == {"x": 4}
    finally:
        folder.chmod(0o755)


def test_bgzip_fasta_is_read_and_plain_gzip_is_a_clear_error(tmp_path):
    from Bio import bgzf

    text = "".join(f">{n}\n{s}\n" for n, s in RECORDS)
    bgz = tmp_path / "g.fa.gz"
    with bgzf.BgzfWriter(str(bgz), "wb") as handle:
        handle.write(text.encode())
    with Genome(bgz) as genome:
        assert genome.chromosome("chr2") == RECORDS[1][1]
        assert genome.fetch("chr1", 2, 9) == RECORDS[0][1][2:9]
    plain = tmp_path / "p.fa.gz"
    plain.write_bytes(gzip.compress(text.encode()))
    with pytest.raises(InputError, match=r"p\.fa\.gz.*bgzip"):
        Genome(plain)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "not found"),
        (b"", "empty"),
        (b"chr1\tACGT\n", "not a FASTA"),
        (b"\x00\x01\x02\xff>", "not a FASTA"),
        (b">a\nACGT\n>a\nACGT\n", "unique"),
        (b">a\nACGTA\nAC\nACGTA\n", "consistent"),
    ],
)
def test_bad_fasta_is_an_input_error_naming_the_file(tmp_path, content, fragment):
    path = tmp_path / "bad.fa"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=fragment) as info:
        Genome(path)
    assert str(path) in str(info.value)


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_.", min_size=1, max_size=8)
sequences = st.text(alphabet="ACGTNacgtnRY", min_size=0, max_size=150)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    records=st.lists(st.tuples(names, sequences), min_size=1, max_size=5, unique_by=lambda r: r[0]),
    width=st.integers(1, 70),
)
def test_write_fasta_round_trips_through_genome(tmp_path, records, width):
    path = tmp_path / f"w{width}.fa"
    for stale in (path, path.with_name(path.name + ".fai")):
        stale.unlink(missing_ok=True)
    assert write_fasta(records, path, line_width=width) == len(records)
    lines = path.read_text().splitlines()
    assert all(len(line) <= width for line in lines if not line.startswith(">"))
    with Genome(path) as genome:
        assert list(genome.chrom_sizes) == [n for n, _ in records]
        for name, seq in records:
            assert genome.chromosome(name) == seq


def test_write_fasta_is_atomic_and_validates(tmp_path):
    path = tmp_path / "out.fa"

    def failing():
        yield ("a", "ACGT")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_fasta(failing(), path)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(InputError, match="line_width"):
        write_fasta([("a", "AC")], path, line_width=0)
    with pytest.raises(InputError, match="record 2"):
        write_fasta([("a", "AC"), ("", "GG")], path)
    assert not path.exists()


def test_chromosome_bytes_is_fast_path_equal_to_fetch(tmp_path):
    rng = np.random.default_rng(0)
    seq = "".join(rng.choice(list("ACGTacgtN"), size=5000))
    path = tmp_path / "big.fa"
    write_fasta([("c", seq)], path, line_width=61)
    with Genome(path) as genome:
        assert genome.chromosome("c") == seq == genome.fetch("c", 0, 5000)


def test_windows_line_endings_are_read_as_bases_only(tmp_path):
    path = tmp_path / "crlf.fa"
    path.write_bytes(b">a\r\nACGTA\r\nCCGTT\r\nGG\r\n>b\r\nTTTT\r\n")
    with Genome(path) as genome:
        assert genome.chrom_sizes == {"a": 12, "b": 4}
        assert genome.chromosome("a") == "ACGTACCGTTGG"
        assert genome.fetch("a", 3, 11) == "TACCGTTG"


@pytest.mark.parametrize("crlf", [False, True])
def test_record_layout_locates_every_base_in_the_file(tmp_path, crlf):
    rng = np.random.default_rng(2)
    records = [
        (f"c{k}", "".join(rng.choice(list("ACGTacgtN"), size=n))) for k, n in enumerate([1, 9, 130])
    ]
    path = tmp_path / "g.fa"
    write_plain(path, records, width=8)
    if crlf:
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    data = path.read_bytes()
    with Genome(path) as genome:
        for name, seq in records:
            offset, line_bases, line_bytes = genome.record_layout(name)
            width = min(8, len(seq))  # a one-line record: its line is as long as it is
            assert (line_bases, line_bytes) == (width, width + (2 if crlf else 1))
            at = [offset + (p // line_bases) * line_bytes + p % line_bases for p in range(len(seq))]
            assert bytes(data[i] for i in at).decode() == seq
        with pytest.raises(InputError, match="chrX"):
            genome.record_layout("chrX")

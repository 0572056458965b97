"""seqsal.sequence.geometry: window offsets <-> genome coordinates, both strands, N padding.

The owner is checked against an independent per-base description of each window (the list
of genome positions its offsets read), then end to end: windows padded past chromosome ends,
on both strands, through ``seqsal attribute`` -> ``seqlets`` -> ``motifs`` -> ``report`` ->
``export bigwig``, with region names that hold quotes, spaces and ``#``.
"""

from __future__ import annotations

import re
import subprocess
from html import unescape

import numpy as np
import pandas as pd
import pytest
from _toys import MotifDetector, revcomp

from seqsal.errors import InputError
from seqsal.sequence.geometry import infer_padding, window_geometry

# ---------------------------------------------------------------------------------------------
# the owner against a per-base reference
# ---------------------------------------------------------------------------------------------


def random_windows(seed: int, n: int = 300, length: int = 25) -> pd.DataFrame:
    """Windows of ``length`` with padding on the left, the right, both or neither, 3 strands."""
    rng = np.random.default_rng(seed)
    pad_left = np.where(rng.random(n) < 0.4, rng.integers(1, length // 2, n), 0)
    pad_right = np.where(rng.random(n) < 0.4, rng.integers(1, length // 2, n), 0)
    start = np.where(pad_left > 0, 0, rng.integers(0, 10_000, n))
    return pd.DataFrame(
        {
            "chrom": rng.choice(["chr1", "chr2", "chrX"], n),
            "start": start,
            "end": start + length - pad_left - pad_right,
            "strand": rng.choice(["+", "-", "."], n),
            "name": [f"w{i}" for i in range(n)],
            "pad_left": pad_left,
            "pad_right": pad_right,
        }
    )


def positions_read(row, length: int) -> np.ndarray:
    """Genome position of each window offset: + strand order, reversed on a - window."""
    plus = np.arange(row.start - row.pad_left, row.end + row.pad_right)
    assert plus.size == length
    return plus[::-1] if row.strand == "-" else plus


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_offsets_map_to_the_positions_each_window_reads(seed):
    length = 25
    coords = random_windows(seed, length=length)
    geometry = window_geometry(coords, length)
    rows = np.repeat(np.arange(len(coords)), length)
    offsets = np.tile(np.arange(length), len(coords))
    expected = np.concatenate([positions_read(r, length) for r in coords.itertuples()])
    # single bases
    start, end = geometry.to_genome(rows, offsets, offsets + 1)
    np.testing.assert_array_equal(start, expected)
    np.testing.assert_array_equal(end, expected + 1)
    # padding: the offsets whose position lies outside the span read
    inside = (expected >= coords["start"].to_numpy()[rows]) & (
        expected < coords["end"].to_numpy()[rows]
    )
    np.testing.assert_array_equal(geometry.padding().ravel(), ~inside)
    lo, hi = geometry.read_span()
    np.testing.assert_array_equal(
        (offsets >= lo[rows]) & (offsets < hi[rows]), inside, err_msg="read_span"
    )
    assert geometry.padding().sum() == (coords["pad_left"] + coords["pad_right"]).sum()


@pytest.mark.parametrize("seed", [0, 1])
def test_spans_round_trip_and_cover_the_bases_they_hold(seed):
    length = 25
    coords = random_windows(seed, length=length)
    geometry = window_geometry(coords, length)
    rng = np.random.default_rng(seed + 10)
    rows = rng.integers(0, len(coords), 2000)
    a = rng.integers(0, length, rows.size)
    b = a + rng.integers(1, length - a + 1)
    start, end = geometry.to_genome(rows, a, b)
    assert (end - start == b - a).all()
    back = geometry.to_window(rows, start, end)
    np.testing.assert_array_equal(back[0], a)
    np.testing.assert_array_equal(back[1], b)
    by_row = {r.Index: positions_read(r, length) for r in coords.itertuples()}
    for k in range(0, rows.size, 37):
        held = by_row[rows[k]][a[k] : b[k]]
        assert (start[k], end[k]) == (held.min(), held.max() + 1)
        # clipping keeps the offsets of bases read, and nothing else
        c0, c1 = geometry.clip(rows[k], a[k], b[k])
        row = coords.iloc[rows[k]]
        read = [i for i in range(a[k], b[k]) if row.start <= by_row[rows[k]][i] < row.end]
        assert (int(c0), int(c1)) == ((read[0], read[-1] + 1) if read else (c0, c0))
        if read:
            g0, g1 = geometry.to_genome(rows[k], c0, c1)
            assert row.start <= g0 < g1 <= row.end


def test_values_are_placed_on_the_plus_strand_without_padding():
    length = 25
    coords = random_windows(3, n=40, length=length)
    geometry = window_geometry(coords, length)
    values = np.random.default_rng(0).normal(size=(len(coords), length))
    for row, (start, placed) in zip(coords.itertuples(), geometry.on_genome(values), strict=True):
        assert start == row.start and placed.size == row.end - row.start
        where = positions_read(row, length)
        for i in range(length):
            if row.start <= where[i] < row.end:
                assert placed[where[i] - row.start] == values[row.Index, i]


def test_bad_coordinates_name_the_row_and_what_was_expected():
    coords = random_windows(0, n=5, length=25)
    geometry = window_geometry(coords)  # length from the first row
    assert geometry.length == 25 and list(geometry.name) == [f"w{i}" for i in range(5)]
    wrong = coords.assign(end=coords["end"] + np.r_[0, 0, 3, 0, 0])
    with pytest.raises(InputError, match=r"coords row 2 \(region 'w2'.*spans 28 bp.*25 bp long"):
        window_geometry(wrong, 25)
    with pytest.raises(InputError, match=r"windows have different widths.*row 2"):
        window_geometry(wrong, what="windows")
    with pytest.raises(InputError, match=r"row 1 .*strand 'x'"):
        window_geometry(coords.assign(strand=["+", "x", "+", "+", "+"]), 25)
    with pytest.raises(InputError, match="has 5 rows; expected 4"):
        window_geometry(coords, 25, n=4)
    with pytest.raises(InputError, match="'start' has dtype float64"):
        window_geometry(coords.astype({"start": float}), 25)
    with pytest.raises(InputError, match="lacks column"):
        window_geometry(coords.drop(columns="end"), 25)


def test_unrecorded_padding_is_inferred_from_the_chromosome_end():
    coords = pd.DataFrame(
        {
            "chrom": ["chr1", "chr1", "chr1", "chr2"],
            "start": [0, 70, 40, 0],
            "end": [30, 100, 80, 30],
            "strand": ["+", "-", "+", "+"],
            "name": list("abcd"),
            "pad_left": [0, 0, 0, 4],
            "pad_right": [0, 0, 0, 6],
        }
    )
    filled = infer_padding(coords, 40, {"chr1": 100, "chr2": 30})
    assert filled["pad_left"].tolist() == [10, 0, 0, 4]
    assert filled["pad_right"].tolist() == [0, 10, 0, 6]
    assert window_geometry(filled, 40).length == 40


# ---------------------------------------------------------------------------------------------
# end to end: padded windows on both strands through every stage
# ---------------------------------------------------------------------------------------------

CORE = "GATTACATGG"  # asymmetric: its reverse complement CCATGTAATC differs
L = 60
QUOTED = 'peak "A" #1 it\'s'  # a name as a spreadsheet or a peak caller may write it

# (name, chrom, region start, region end, strand, genome start of the planted site, padding)
REGIONS = [
    ("left +", "chr1", 0, 10, "+", 3, "left"),
    ("right -", "chr1", 190, 200, "-", 186, "right"),
    ("left -", "chr2", 0, 10, "-", 2, "left"),
    (QUOTED, "chr2", 190, 200, "+", 187, "right"),
    ('"both" +', "chr3", 20, 30, "+", 38, "both"),
    ("inside -", "chr4", 100, 110, "-", 95, "none"),
    ("inside +", "chr4", 200, 210, "+", 210, "none"),
    ("inside #2 -", "chr4", 300, 310, "-", 290, "none"),
]
#: Windows without a site on a chromosome of their own: the shuffled control of 8 windows
#: alone has too few spans for small p-values.
N_FILLERS = 60
CHROM_SIZES = {"chr1": 200, "chr2": 200, "chr3": 50, "chr4": 400, "chr5": L * (N_FILLERS + 1)}


def cli(*args) -> int:
    from seqsal.cli import main

    return main([str(a) for a in args])


@pytest.fixture(scope="module")
def padded_run(tmp_path_factory):
    """A genome whose regions sit at chromosome ends (N-padded windows, both strands), the
    planted site of each on the strand its window reads, and the whole CLI run on it."""
    from seqsal.models.load import save_model

    root = tmp_path_factory.mktemp("padded")
    rng = np.random.default_rng(4)
    genome = {c: list(rng.choice(list("ACGT"), size=n)) for c, n in CHROM_SIZES.items()}
    for _, chrom, _, _, strand, site, _ in REGIONS:
        genome[chrom][site : site + len(CORE)] = CORE if strand == "+" else revcomp(CORE)
    with open(root / "genome.fa", "w") as handle:
        for chrom, seq in genome.items():
            handle.write(f">{chrom}\n{''.join(seq)}\n")
    with open(root / "regions.bed", "w", encoding="utf-8") as handle:
        for name, chrom, start, end, strand, _, _ in REGIONS:
            handle.write(f"{chrom}\t{start}\t{end}\t{name}\t0\t{strand}\n")
        for i in range(N_FILLERS):
            start = L * i + L // 2
            handle.write(f"chr5\t{start}\t{start + 10}\tfiller{i}\t0\t{'+-'[i % 2]}\n")
    save_model(
        MotifDetector(CORE, L),
        root / "model",
        arch="_toys:MotifDetector",
        arch_kwargs={"motif": CORE, "length": L},
        input_length=L,
        targets=["sites"],
        task="regression",
    )
    common = ["--model", root / "model", "--fasta", root / "genome.fa"]
    common += ["--regions", root / "regions.bed", "--method", "saliency", "--seed", 0]
    common += ["--no-progress"]
    assert cli("attribute", *common, "--out", root / "attr.h5") == 0
    assert cli("attribute", *common, "--shuffle-control", "--out", root / "null.h5") == 0
    code = cli(
        "seqlets", "--store", root / "attr.h5", "--null", root / "null.h5",
        "--grow", "none", "--fdr", 0.1, "--out", root / "seqlets.bed", "--no-progress",
    )  # fmt: skip
    assert code == 0
    from seqsal.motifs.meme import write_meme
    from seqsal.motifs.types import Motif

    database = [
        Motif(f"TF{i}", rng.dirichlet(np.ones(4), size=8).T, matrix_id=f"MA{9000 + i}.1")
        for i in range(30)
    ]
    write_meme(database, root / "db.meme")
    code = cli(
        "motifs", "--store", root / "attr.h5", "--seqlets", root / "seqlets.bed",
        "--out", root / "motifs", "--database", root / "db.meme", "--min-seqlets", 4, "--seed", 0,
        "--no-progress",
    )  # fmt: skip
    assert code == 0
    code = cli(
        "report", "--store", root / "attr.h5", "--motifs", root / "motifs",
        "--out", root / "report.html", "--jobs", 1, "--no-checksums", "--gallery-regions", len(REGIONS),
    )  # fmt: skip
    assert code == 0
    code = cli(
        "export", "bigwig", "--store", root / "attr.h5", "--fasta", root / "genome.fa",
        "--out", root / "attr.bw",
    )  # fmt: skip
    assert code == 0
    return root


def read_table(path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a seqsal BED6+, split on tabs as awk -F'\\t' splits them."""
    lines = path.read_bytes().decode("utf-8").split("\n")
    assert lines[-1] == "" and lines[0].startswith("#chrom\t")
    return lines[0][1:].split("\t"), [line.split("\t") for line in lines[1:-1]]


def windows_of(root) -> pd.DataFrame:
    from seqsal.io.store import open_store

    with open_store(root / "attr.h5") as store:
        return store.coords.copy()


def test_store_holds_padded_windows_on_both_strands(padded_run):
    coords = windows_of(padded_run)
    padded = {r[0]: r[6] for r in REGIONS}
    for row in coords.itertuples():
        kind = padded.get(row.name, "none")
        assert (row.pad_left > 0) == (kind in ("left", "both")), row
        assert (row.pad_right > 0) == (kind in ("right", "both")), row
        assert row.pad_left + row.end - row.start + row.pad_right == L


def test_seqlets_lie_on_the_planted_sites_and_never_in_padding(padded_run):
    header, rows = read_table(padded_run / "seqlets.bed")
    table = pd.DataFrame(rows, columns=header).astype({"start": int, "end": int, "offset": int})
    coords = windows_of(padded_run).set_index("name")
    for name, chrom, _, _, strand, site, _ in REGIONS:
        mine = table[table["region"] == name]
        planted = mine[(mine["start"] == site) & (mine["end"] == site + len(CORE))]
        assert len(planted) == 1, (name, mine)
        assert planted["chrom"].iloc[0] == chrom and planted["strand"].iloc[0] == strand
        assert planted["sign"].iloc[0] == "1"
    for _, seqlet in table.iterrows():
        window = coords.loc[seqlet["region"]]
        assert window["start"] <= seqlet["start"] < seqlet["end"] <= window["end"], seqlet
        # the window offset and the genome span agree, both strands, padding included
        first = window["start"] - window["pad_left"]
        last = window["end"] + window["pad_right"]
        expected = last - seqlet["end"] if window["strand"] == "-" else seqlet["start"] - first
        assert seqlet["offset"] == expected


def test_motif_hits_lie_on_the_planted_sites_and_never_in_padding(padded_run):
    from seqsal.motifs.cwm_io import read_motifs

    (motif,) = read_motifs(padded_run / "motifs" / "motifs.h5")
    header, rows = read_table(padded_run / "motifs" / "hits.bed")
    hits = pd.DataFrame(rows, columns=header).astype({"start": int, "end": int})
    assert set(hits["name"]) == {motif.id}
    # discovery may orient the motif either way; its core reads CORE or its reverse complement
    core = "".join("ACGT"[i] for i in motif.trimmed().ppm.argmax(axis=0))
    assert core in (CORE, revcomp(CORE))
    flip = {"+": "-", "-": "+"} if core != CORE else {"+": "+", "-": "-"}
    coords = windows_of(padded_run).set_index("name")
    for name, chrom, _, _, strand, site, _ in REGIONS:
        mine = hits[(hits["region"] == name) & (hits["start"] <= site) & (hits["end"] > site)]
        assert len(mine) == 1, (name, hits[hits["region"] == name])
        hit = mine.iloc[0]
        assert (hit["chrom"], hit["start"], hit["end"]) == (chrom, site, site + len(CORE))
        # CORE was planted on the strand its window reads
        assert hit["strand"] == flip[strand]
    for _, hit in hits.iterrows():
        window = coords.loc[hit["region"]]
        assert window["start"] <= hit["start"] < hit["end"] <= window["end"], hit
    # every seqlet on a planted site joined the motif in the rewritten seqlets BED
    header, rows = read_table(padded_run / "motifs" / "seqlets.bed")
    seqlets = pd.DataFrame(rows, columns=header)
    on_site = seqlets[seqlets["end"].astype(int) - seqlets["start"].astype(int) == len(CORE)]
    assert len(on_site) >= len(REGIONS) and (on_site["motif"] != ".").all()


def test_bigwig_holds_each_window_at_its_genome_positions(padded_run):
    import pyBigWig

    from seqsal.io.store import open_store

    with open_store(padded_run / "attr.h5") as store:
        per_base = store.projected[:].astype(np.float64).sum(axis=1)
        coords = store.coords
    with pyBigWig.open(str(padded_run / "attr.bw")) as track:
        assert track.chroms() == CHROM_SIZES
        for row in coords.itertuples():
            where = positions_read(row, L)
            inside = (where >= row.start) & (where < row.end)
            got = np.asarray(track.values(row.chrom, int(row.start), int(row.end)))
            np.testing.assert_allclose(got[where[inside] - row.start], per_base[row.Index][inside])
            # the planted site carries the motif's attribution where it was planted
            for site in (r[5] for r in REGIONS if r[0] == row.name):
                assert got[site - row.start : site - row.start + len(CORE)].min() > 0.5


def test_report_shows_the_padded_regions_with_their_seqlets_and_hits(padded_run):
    html = (padded_run / "report.html").read_text()
    shown = re.findall(
        r'<div class="region" data-region-index="(\d+)">\s*<b>#\d+ (.*?)</b> '
        r'<span class="mono">(.*?)</span> \((.)\).*? (\d+) seqlets · (\d+) hits',
        html,
    )
    coords = windows_of(padded_run)
    assert len(shown) == len(REGIONS)
    for index, name, locus, strand, n_seqlets, n_hits in shown:
        row = coords.iloc[int(index)]
        assert unescape(name) == row["name"] and strand == row["strand"]
        assert unescape(locus) == f"{row['chrom']}:{row['start']:,}-{row['end']:,}"
        assert int(n_seqlets) >= 1 and int(n_hits) >= 1, name


def test_region_names_come_out_verbatim_in_every_bed(padded_run):
    # the name field of each line of the regions BED, as bytes decoded, nothing unquoted
    names = {line.split("\t")[3] for line in (padded_run / "regions.bed").read_text().splitlines()}
    assert QUOTED in names and '"both" +' in names
    for path, column in (
        (padded_run / "seqlets.bed", 6),
        (padded_run / "motifs" / "seqlets.bed", 6),
        (padded_run / "motifs" / "hits.bed", 6),
    ):
        header, rows = read_table(path)
        assert header[column] == "region"
        assert all(len(row) == len(header) for row in rows), path
        assert {row[column] for row in rows} <= names
        assert QUOTED in {row[column] for row in rows}, path
        # awk splits on tabs alone and sees the name as it was written in the regions BED
        awk = subprocess.run(
            ["awk", "-F", "\t", f"NR > 1 {{ print ${column + 1} }}", str(path)],
            capture_output=True,
            check=True,
        )
        assert QUOTED.encode() + b"\n" in awk.stdout
        assert b'""' not in path.read_bytes()

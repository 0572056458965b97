"""``seqsal motifs`` end to end on a tiny attribution store with planted JASPAR sites.

The store's windows alternate + and - strands; the seqlets come from ``seqsal seqlets`` (the
library call and BED writer), so the BED's region/offset columns must map back to the store.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _toys import CTCF, REST, SPI1, planted_maps

from seqsal.cli import main
from seqsal.io.store import AttributionStore
from seqsal.motifs.cwm_io import read_motifs
from seqsal.seqlets import call_seqlets, write_seqlets_bed


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, jaspar_by_id):
    X, hyp, proj, planted = planted_maps(
        jaspar_by_id, [CTCF, SPI1, REST], [1, 1, -1], n=150, seed=5
    )
    n, _, L = X.shape
    root = tmp_path_factory.mktemp("cli_motifs")
    strand = np.where(np.arange(n) % 2 == 0, "+", "-")
    coords = pd.DataFrame(
        {
            "chrom": "chr1",
            "start": 1000 * np.arange(n) + 500,
            "end": 1000 * np.arange(n) + 500 + L,
            "strand": strand,
            "name": [f"region{i:03d}" for i in range(n)],
        }
    )
    with AttributionStore(root / "attr.h5", length=L) as store:
        store.append(X, hyp, projected=proj, coords=coords)
    # control: the same noise without planted blocks, as shuffled sequences would give
    g = np.random.default_rng(9)
    null = g.normal(0, 0.02, size=(4 * n, L))
    seqlets = call_seqlets(proj, null=null, coords=coords, progress=False)
    write_seqlets_bed(seqlets, root / "seqlets.bed")
    # genome span of each planted site (a - window is read as the reverse complement)
    a, b = planted["start"].to_numpy(), planted["end"].to_numpy()
    minus = strand[planted["example_idx"]] == "-"
    window_start = coords["start"].to_numpy()[planted["example_idx"]]
    window_end = coords["end"].to_numpy()[planted["example_idx"]]
    planted["g_start"] = np.where(minus, window_end - b, window_start + a)
    planted["g_end"] = np.where(minus, window_end - a, window_start + b)
    return root, planted


def test_motifs_cli_writes_every_output(run_dir, capsys):
    root, planted = run_dir
    out = root / "out"
    code = main(
        [
            "motifs",
            "--store",
            str(root / "attr.h5"),
            "--seqlets",
            str(root / "seqlets.bed"),
            "--out",
            str(out),
            "--min-seqlets",
            "15",
            "--seed",
            "0",
            "--no-progress",
        ]
    )
    assert code == 0
    summary = capsys.readouterr().err.strip().splitlines()[-1]
    assert summary.startswith("seqsal motifs:") and "3 motifs (2 positive, 1 negative)" in summary
    assert "3 with a significant match" in summary

    # MEME file: read back by memelite, same PPMs as the HDF5 file
    from memelite.io import read_meme

    meme = read_meme(str(out / "motifs.meme"))
    motifs = read_motifs(out / "motifs.h5")
    assert sorted(meme) == sorted(m.id for m in motifs)
    for m in motifs:
        np.testing.assert_allclose(np.asarray(meme[m.id]), m.ppm, atol=1e-6)

    # annotation: each planted matrix is the significant best match of a motif of its sign
    table = pd.read_csv(out / "motifs.tsv", sep="\t")
    best = table[table["rank"] == 1]
    assert set(zip(best["match_id"], best["sign"], strict=True)) == {
        (CTCF, 1),
        (SPI1, 1),
        (REST, -1),
    }
    assert (best["q_value"] < 0.05).all()

    # hits, in genome coordinates on both window strands, land on the planted sites
    hits = pd.read_csv(out / "hits.bed", sep="\t").rename(columns={"#chrom": "chrom"})
    id_of = dict(zip(best["motif"], best["match_id"], strict=True))
    found = 0
    for _, site in planted.iterrows():
        same = hits[hits["name"].map(id_of) == site["planted"]]
        overlap = np.minimum(same["end"], site["g_end"]) - np.maximum(
            same["start"], site["g_start"]
        )
        found += bool((overlap > 0).any())
    assert found >= 0.9 * len(planted)

    # the seqlet BED comes back with each seqlet's motif
    seqlets = pd.read_csv(out / "seqlets.bed", sep="\t").rename(columns={"#chrom": "chrom"})
    on_site = np.zeros(len(seqlets), dtype=bool)
    for _, site in planted.iterrows():
        overlap = np.minimum(seqlets["end"], site["g_end"]) - np.maximum(
            seqlets["start"], site["g_start"]
        )
        on_site |= (overlap >= 0.5 * (seqlets["end"] - seqlets["start"])).to_numpy()
    joined = (seqlets["motif"] != ".").to_numpy()
    assert joined[on_site].mean() > 0.8 and joined[~on_site].mean() < 0.1
    assert set(seqlets["motif"]) - {"."} == {m.id for m in motifs}


def test_bad_input_is_one_line_exit_2(run_dir, tmp_path, capsys):
    root, _ = run_dir
    bed = pd.read_csv(root / "seqlets.bed", sep="\t")
    bed.loc[0, "region"] = "nowhere"
    bad = tmp_path / "bad.bed"
    bed.to_csv(bad, sep="\t", index=False)
    code = main(
        [
            "motifs",
            "--store",
            str(root / "attr.h5"),
            "--seqlets",
            str(bad),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "nowhere" in err[0]
    assert not (tmp_path / "o").exists()
    code = main(
        [
            "motifs",
            "--store",
            str(tmp_path / "missing.h5"),
            "--seqlets",
            str(bad),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert code == 2
    capsys.readouterr()
    # a missing database fails before anything is written
    code = main(
        [
            "motifs",
            "--store",
            str(root / "attr.h5"),
            "--seqlets",
            str(root / "seqlets.bed"),
            "--out",
            str(tmp_path / "o"),
            "--database",
            str(tmp_path / "missing.meme"),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "missing.meme" in err[-1]
    assert not (tmp_path / "o").exists()

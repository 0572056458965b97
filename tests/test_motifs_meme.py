"""seqsal.motifs.meme: MEME v4 round trip, agreement with memelite's reader, file+line errors."""

from __future__ import annotations

import numpy as np
import pytest
from memelite.io import read_meme as memelite_read_meme

from seqsal.errors import InputError
from seqsal.motifs import Motif
from seqsal.motifs.meme import read_meme, write_meme


def some_motifs(seed=0):
    rng = np.random.default_rng(seed)
    return [
        Motif(
            name="CTCF",
            matrix_id="MA0139.2",
            ppm=rng.dirichlet(np.ones(4) * 0.3, size=15).T,
            n_seqlets=910,
        ),
        Motif(
            name="pos_pattern_0",
            ppm=rng.dirichlet(np.ones(4) * 0.3, size=9).T,
            n_seqlets=57,
            sign=1,
        ),
        Motif(name="neg_pattern_0", ppm=rng.dirichlet(np.ones(4), size=1).T, n_seqlets=3, sign=-1),
    ]


def test_round_trip(tmp_path):
    motifs = some_motifs()
    path = write_meme(motifs, tmp_path / "motifs.meme")
    back = read_meme(path)
    assert [m.id for m in back] == [m.id for m in motifs]
    assert [m.name for m in back] == [m.name for m in motifs]
    assert [m.matrix_id for m in back] == [m.matrix_id for m in motifs]
    assert [m.n_seqlets for m in back] == [m.n_seqlets for m in motifs]
    for a, b in zip(motifs, back, strict=True):
        assert b.ppm.shape == a.ppm.shape
        np.testing.assert_allclose(b.ppm, a.ppm, atol=2e-6)
        np.testing.assert_allclose(b.ppm.sum(axis=0), 1.0, atol=1e-12)
        assert b.source == str(path)
    # Writing what was read and reading it again changes nothing beyond the 6th decimal.
    again = read_meme(write_meme(back, tmp_path / "again.meme"))
    for a, b in zip(back, again, strict=True):
        np.testing.assert_allclose(b.ppm, a.ppm, atol=2e-6)


def test_memelite_reads_our_file_identically(tmp_path):
    motifs = some_motifs(1)
    path = write_meme(
        motifs, tmp_path / "motifs.meme", background={"A": 0.3, "C": 0.2, "G": 0.2, "T": 0.3}
    )
    theirs = memelite_read_meme(str(path))
    ours = read_meme(path)
    assert list(theirs) == ["MA0139.2 CTCF", "pos_pattern_0", "neg_pattern_0"]
    for key, motif in zip(theirs, ours, strict=True):
        assert theirs[key].shape == motif.ppm.shape
        np.testing.assert_allclose(theirs[key], motif.ppm, atol=1e-6)
    assert "A 0.300000 C 0.200000 G 0.200000 T 0.300000" in path.read_text()


def test_reads_memelite_written_file(tmp_path):
    from memelite.io import write_meme as memelite_write_meme

    rng = np.random.default_rng(2)
    pwms = {"m1": rng.dirichlet(np.ones(4), size=6).T, "m2": rng.dirichlet(np.ones(4), size=11).T}
    path = tmp_path / "theirs.meme"
    memelite_write_meme(str(path), pwms)
    ours = read_meme(path)
    assert [m.name for m in ours] == ["m1", "m2"]
    for motif, (_, pwm) in zip(ours, pwms.items(), strict=True):
        np.testing.assert_allclose(motif.ppm, pwm, atol=1e-9)


def test_write_is_atomic_and_rejects_duplicates(tmp_path):
    path = tmp_path / "out.meme"
    motif = some_motifs()[1]
    with pytest.raises(InputError, match="repeats"):
        write_meme([motif, motif], path)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


GOOD_HEADER = "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n"
GOOD_MOTIF = "MOTIF m1 NAME\nletter-probability matrix: alength= 4 w= 2 nsites= 20 E= 0\n0.1 0.2 0.3 0.4\n0.25 0.25 0.25 0.25\n"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("MOTIF m1\n", 1, "MEME version"),
        (GOOD_HEADER.replace("ACGT", "ACDEFGHIKLMNPQRSTVWY"), 3, "alphabet"),
        (GOOD_HEADER + "MOTIF m1\nletter-probability matrix: alength= 4 nsites= 20\n", 8, "w="),
        (
            GOOD_HEADER + "MOTIF m1\nletter-probability matrix: alength= 4 w= 2\n0.1 0.2 0.7\n",
            9,
            "3 values",
        ),
        (
            GOOD_HEADER
            + "MOTIF m1\nletter-probability matrix: alength= 4 w= 2\n0.1 0.2 0.7 0.0\n0.5 x 0.2 0.3\n",
            10,
            "non-numeric",
        ),
        (
            GOOD_HEADER + "MOTIF m1\nletter-probability matrix: alength= 4 w= 2\n0.1 0.2 0.7 0.5\n",
            9,
            "sums to",
        ),
        (
            GOOD_HEADER
            + "MOTIF m1\nletter-probability matrix: alength= 4 w= 2\n-0.1 0.4 0.7 0.0\n",
            9,
            "negative",
        ),
        (
            GOOD_HEADER + "MOTIF m1\nletter-probability matrix: alength= 4 w= 3\n0.1 0.2 0.7 0.0\n",
            9,
            "1 of 3",
        ),
        (
            GOOD_HEADER
            + "MOTIF m1\nletter-probability matrix: alength= 4 w= 2\n0.1 0.2 0.7 0.0\nMOTIF m2\n",
            10,
            "cut short",
        ),
        (GOOD_HEADER + "MOTIF m1\nMOTIF m2\n", 8, "no letter-probability"),
        (GOOD_HEADER + GOOD_MOTIF + GOOD_MOTIF, 11, "repeats"),
        (GOOD_HEADER, None, "no motifs"),
    ],
)
def test_malformed_files_name_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "bad.meme"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as info:
        read_meme(path)
    assert info.value.path == str(path)
    assert info.value.line == line
    assert str(path) in str(info.value)


def test_good_minimal_file_reads(tmp_path):
    path = tmp_path / "good.meme"
    path.write_text(GOOD_HEADER + GOOD_MOTIF + "URL http://example.org\n")
    (motif,) = read_meme(path)
    assert (motif.matrix_id, motif.name, motif.n_seqlets) == ("m1", "NAME", 20)
    np.testing.assert_allclose(motif.ppm[:, 0], [0.1, 0.2, 0.3, 0.4])

"""End-to-end tests of ``seqsal attribute`` and ``seqsal export`` on a tiny genome."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _toys import saved_zoo_cnn

from seqsal.cli import main
from seqsal.dna import METHODS, attribute_dna
from seqsal.io.store import open_store

LENGTH = 40
CHROMS = {"chr1": 300, "chr2": 150}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A 2-chromosome genome, 6 regions (both strands, one past chr2's end, one with N), a model."""

    root = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    seqs = {c: "".join(rng.choice(list("ACGT"), size=n)) for c, n in CHROMS.items()}
    seqs["chr1"] = seqs["chr1"][:100] + "NNN" + seqs["chr1"][103:]
    with open(root / "genome.fa", "w") as handle:
        for chrom, seq in seqs.items():
            handle.write(f">{chrom}\n{seq}\n")
    regions = pd.DataFrame(
        {
            "chrom": ["chr1", "chr1", "chr1", "chr2", "chr2", "chr1"],
            "start": [10, 60, 90, 20, 130, 200],
            "end": [50, 100, 130, 60, 150, 240],
            "name": [f"r{i}" for i in range(6)],
            "score": 0,
            "strand": ["+", "-", "+", "-", "+", "+"],
        }
    )
    regions.to_csv(root / "regions.bed", sep="\t", header=False, index=False)
    saved_zoo_cnn(root / "model", length=LENGTH, targets=("activity", "label"))
    return root


def _attribute(data, out, *extra):
    return main(
        [
            "attribute",
            "--model", str(data / "model"),
            "--fasta", str(data / "genome.fa"),
            "--regions", str(data / "regions.bed"),
            "--out", str(out),
            "--no-progress",
            *extra,
        ]
    )  # fmt: skip


def test_attribute_ig_writes_what_the_dna_layer_computes(data, tmp_path, capsys):
    from seqsal.io.fasta import open_genome
    from seqsal.models.load import load_model
    from seqsal.sequence.windows import extract_onehot, make_windows

    out = tmp_path / "attr.h5"
    args = [
        "--method",
        "ig",
        "--steps",
        "8",
        "--baseline",
        "shuffle:3",
        "--target",
        "label",
        "--seed",
        "4",
        "--chunk-size",
        "4",
    ]
    assert _attribute(data, out, *args) == 0
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("seqsal attribute: 6 regions, method ig, median |completeness delta| ")
    model = load_model(str(data / "model"))
    with open_genome(data / "genome.fa") as genome:
        from seqsal.io.bed import read_bed

        windows = make_windows(
            read_bed(data / "regions.bed"), LENGTH, chrom_sizes=genome.chrom_sizes
        )
        X = extract_onehot(genome, windows)
    expected = attribute_dna(
        model.module, X, method="ig", steps=8, baseline="shuffle:3", target=1, seed=4
    )
    with open_store(out) as store:
        np.testing.assert_array_equal(store.raw[:], X)
        np.testing.assert_allclose(store.hypothetical[:], expected.hypothetical, atol=1e-6)
        np.testing.assert_allclose(store.projected[:], expected.projected, atol=1e-6)
        np.testing.assert_allclose(store.delta[:], expected.delta, atol=1e-6)
        coords = store.coords
        for column in ("chrom", "start", "end", "strand", "name", "pad_left", "pad_right"):
            assert coords[column].tolist() == windows[column].tolist()
        assert coords["pad_right"].iloc[4] > 0  # chr2:130-150 runs past the end
        assert np.all(store.hypothetical[4][:, LENGTH - coords["pad_right"].iloc[4] :] == 0)
        attrs = store.attrs
        assert (attrs["method"], attrs["steps"], attrs["baseline"], attrs["seed"]) == (
            "ig",
            8,
            "shuffle:3",
            4,
        )
        assert attrs["target"] == "label" and attrs["model_checksum"] == model.checksum
        assert attrs["correction"] is True and attrs["rc_average"] is False
    median = float(err.split("median |completeness delta| ")[1].split(",")[0])
    assert median == pytest.approx(float(np.median(np.abs(expected.delta))), rel=1e-2, abs=1e-6)


def test_chunk_size_does_not_change_the_store(data, tmp_path):
    stores = []
    for chunk in ("1", "64"):
        out = tmp_path / f"c{chunk}.h5"
        assert (
            _attribute(
                data,
                out,
                "--steps",
                "4",
                "--baseline",
                "shuffle:2",
                "--chunk-size",
                chunk,
                "--rc-average",
            )
            == 0
        )
        stores.append(open_store(out))
    try:
        np.testing.assert_allclose(stores[0].hypothetical[:], stores[1].hypothetical[:], atol=1e-6)
        assert stores[0].attrs["rc_average"] is True
    finally:
        for store in stores:
            store.close()


@pytest.mark.parametrize("method", [m for m in METHODS if m not in ("auto", "ig", "deepshap")])
def test_every_method_runs_and_projects(data, tmp_path, method):
    out = tmp_path / "a.h5"
    assert (
        _attribute(
            data, out, "--method", method, "--n-samples", "3", "--float16", "--no-correction"
        )
        == 0
    )
    with open_store(out) as store:
        assert store.attrs["method"] == method and store.hypothetical.dtype == np.float16
        raw, hyp, proj = (
            store.raw[:],
            store.hypothetical[:].astype(np.float32),
            store.projected[:].astype(np.float32),
        )
        np.testing.assert_allclose(proj, hyp * raw, rtol=1e-3, atol=1e-6)
        known = raw.sum(axis=1, keepdims=True) > 0
        assert np.all(hyp[~np.broadcast_to(known, hyp.shape)] == 0)  # N and padding
        assert np.abs(hyp).max() > 0
        assert store.delta is None
        centred = np.abs(hyp.sum(axis=1)).max() < 1e-3
        assert centred == (method == "ism")  # --no-correction leaves gradients raw; ISM is centred


def test_export_bigwig_and_modisco(data, tmp_path):
    import pyBigWig

    store_path = tmp_path / "attr.h5"
    assert _attribute(data, store_path, "--method", "saliency") == 0
    bw = tmp_path / "x.bw"
    assert (
        main(
            [
                "export",
                "bigwig",
                "--store",
                str(store_path),
                "--fasta",
                str(data / "genome.fa"),
                "--out",
                str(bw),
            ]
        )
        == 0
    )
    assert (
        main(["export", "modisco", "--store", str(store_path), "--out", str(tmp_path / "m")]) == 0
    )
    with open_store(store_path) as store, pyBigWig.open(str(bw)) as track:
        per_base = store.projected[:].sum(axis=1)
        coords = store.coords
        # window 0: chr1:10-50 (+); window 3: chr2 (-), reversed back to + strand order
        np.testing.assert_allclose(track.values("chr1", 10, 50), per_base[0], atol=1e-6)
        w = coords.iloc[3]
        assert w["strand"] == "-"
        np.testing.assert_allclose(
            track.values("chr2", int(w["start"]), int(w["end"])), per_base[3][::-1], atol=1e-6
        )
        np.testing.assert_array_equal(np.load(tmp_path / "m_seq.npz")["arr_0"], store.raw[:])
        np.testing.assert_array_equal(
            np.load(tmp_path / "m_attr.npz")["arr_0"], store.hypothetical[:]
        )
        # windows 1 (chr1:60-100, -) and 2 (chr1:90-130, +) overlap on 90-100: the mean
        first = per_base[1][::-1][30:40]
        second = per_base[2][0:10]
        np.testing.assert_allclose(track.values("chr1", 90, 100), (first + second) / 2, atol=1e-6)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"--fasta": "missing.fa"}, "missing.fa"),
        ({"--baseline": "shuffle:x"}, "baseline"),
        ({"--target": "nope"}, "nope"),
        ({"--steps": "0"}, "--steps: '0'; expected a positive integer"),
        ({"--regions": "bad.bed"}, "chr9"),
        ({"--out": "attr.txt"}, ".h5"),
        ({"--width": "7"}, "7 bp"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_output(data, tmp_path, capsys, change, message):
    (tmp_path / "bad.bed").write_text("chr9\t0\t10\n")
    args = {
        "--model": str(data / "model"),
        "--fasta": str(data / "genome.fa"),
        "--regions": str(data / "regions.bed"),
        "--out": str(tmp_path / "attr.h5"),
    }
    for key, value in change.items():
        args[key] = (
            value
            if key in ("--baseline", "--target", "--steps", "--width")
            else str(tmp_path / value)
        )
    argv = ["attribute", "--no-progress", "--steps", "2"]
    for key, value in args.items():
        argv += [key, value]
    try:
        status = main(argv)
    except SystemExit as exit:  # argparse's own checks (--steps 0)
        status = exit.code
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("seqsal attribute: error:") and message in err[0], (
        err
    )
    assert not any(p.suffix in (".h5", ".txt") for p in tmp_path.iterdir())


def _dinucleotide_counts(X):
    codes = np.where(X.sum(axis=1) > 0, X.argmax(axis=1), 4)
    pairs = codes[:, :-1] * 5 + codes[:, 1:]
    return np.stack([np.bincount(row, minlength=25) for row in pairs])


def test_shuffle_control_attributes_shuffled_copies_of_the_same_windows(data, tmp_path):
    real, control = tmp_path / "real.h5", tmp_path / "null.h5"
    assert _attribute(data, real, "--method", "grad_x_input") == 0
    assert _attribute(data, control, "--method", "grad_x_input", "--shuffle-control") == 0
    assert (
        _attribute(data, tmp_path / "null2.h5", "--method", "grad_x_input", "--shuffle-control")
        == 0
    )
    a, b, c = open_store(real), open_store(control), open_store(tmp_path / "null2.h5")
    try:
        X, Xs = a.raw[:], b.raw[:]
        # Same windows (coordinates), shuffled sequence with the same dinucleotide counts.
        for key in ("chrom", "start", "end", "strand", "name"):
            assert list(a.coords[key]) == list(b.coords[key])
        np.testing.assert_array_equal(_dinucleotide_counts(X), _dinucleotide_counts(Xs))
        assert (X != Xs).any(axis=(1, 2)).sum() >= len(X) - 1
        assert b.attrs["control"] == "dinucleotide_shuffle" and a.attrs["control"] == "none"
        # The stored attributions are those of the shuffled sequences, through the same model.
        from seqsal.models.load import load_model

        model = load_model(data / "model")
        expected = attribute_dna(model.module, Xs, method="grad_x_input")
        np.testing.assert_allclose(b.projected[:], expected.projected, atol=1e-5)
        # Seeded: the same seed gives the same control store.
        np.testing.assert_array_equal(Xs, c.raw[:])
    finally:
        for store in (a, b, c):
            store.close()

"""``seqsal.io.imports``: attributions computed elsewhere become a store that calls the same
seqlets as the store seqsal writes from the same arrays."""

from __future__ import annotations

import subprocess
import sys

import h5py
import numpy as np
import pandas as pd
import pytest
from _toys import IMPORT_LENGTH as LENGTH
from _toys import IMPORT_REGIONS as N_REGIONS
from _toys import gattaca_attributions

from seqsal.cli import main
from seqsal.errors import InputError
from seqsal.io.imports import import_attributions
from seqsal.io.store import open_store
from seqsal.seqlets import check_control_store


@pytest.fixture(scope="module")
def attributed(tmp_path_factory):
    """:func:`_toys.gattaca_attributions`: stores, controls and their modisco npz pairs."""
    return gattaca_attributions(tmp_path_factory.mktemp("imports"))


def _seqlets(store, null, out):
    argv = ["seqlets", "--store", store, "--null", null, "--out", out, "--no-progress"]
    assert main([str(a) for a in [*argv, "--max-length", "10", "--seed", "0"]]) == 0
    return out.read_bytes()


def _import(root, name, out, **kwargs):
    return import_attributions(
        out,
        kwargs.pop("contributions", root / f"{name}_attr.npz"),
        root / "regions.bed",
        sequences=kwargs.pop("sequences", root / f"{name}_seq.npz"),
        control=name == "control",
        **kwargs,
    )


def _nlc_pair(root, name, tmp_path):
    """The pair as bpnet-lite writes it but channels-last: savez_compressed, (n, L, 4)."""
    seq, attr = tmp_path / f"{name}_nlc_seq.npz", tmp_path / f"{name}_nlc_attr.npz"
    for src, dst in ((f"{name}_seq.npz", seq), (f"{name}_attr.npz", attr)):
        np.savez_compressed(dst, np.load(root / src)["arr_0"].transpose(0, 2, 1))
    return seq, attr


def test_an_imported_modisco_pair_stores_the_arrays_and_coordinates(attributed, tmp_path):
    out = _import(attributed, "observed", tmp_path / "imported.h5")
    with open_store(attributed / "observed.h5") as ref, open_store(out) as got:
        for key in ("raw", "hypothetical", "projected"):
            np.testing.assert_array_equal(getattr(got, key)[:], getattr(ref, key)[:])
        pd.testing.assert_frame_equal(got.coords, ref.coords)
        assert got.attrs["method"] == "imported" and got.attrs["control"] == "none"
        assert got.attrs["import_format"] == "modisco_npz"
        sources = got.attrs["import_sources"]
        assert "observed_seq.npz" in sources and "observed_attr.npz" in sources
        assert got.attrs["hypothetical"] == "imported" and got.attrs["width"] == LENGTH


@pytest.mark.parametrize("layout", ["NCL", "NLC"])
def test_imported_npz_pairs_give_byte_identical_seqlets(attributed, tmp_path, layout):
    stores = {}
    for name in ("observed", "control"):
        kwargs = {}
        if layout == "NLC":
            kwargs["sequences"], kwargs["contributions"] = _nlc_pair(attributed, name, tmp_path)
        stores[name] = _import(attributed, name, tmp_path / f"{name}.h5", **kwargs)
    with open_store(stores["observed"]) as got:
        assert got.attrs["import_layout"] == layout
    with open_store(stores["observed"]) as a, open_store(stores["control"]) as b:
        assert check_control_store(a, b) == []
    expected = _seqlets(
        attributed / "observed.h5", attributed / "control.h5", tmp_path / "seqsal.bed"
    )
    got = _seqlets(stores["observed"], stores["control"], tmp_path / "imported.bed")
    assert got == expected
    assert len(expected.decode().splitlines()) > N_REGIONS  # GATTACA sites called


def test_an_imported_null_is_refused_against_a_store_from_another_source(attributed, tmp_path):
    control = _import(attributed, "control", tmp_path / "control.h5")
    with open_store(attributed / "observed.h5") as a, open_store(control) as b:
        with pytest.raises(InputError, match=r"model_checksum|method"):
            check_control_store(a, b)
    other = _import(attributed, "observed", tmp_path / "other.h5", method="deeplift")
    with open_store(other) as a, open_store(control) as b:
        with pytest.raises(InputError, match=r"method is 'imported'.*'deeplift'"):
            check_control_store(a, b)


def _chrombpnet_h5(store_path, out, *, projected=True, compression=None):
    """An h5 written the way ChromBPNet writes its contribution scores: int8 one-hot,
    float16 hypothetical and projected contributions, (n, 4, L), no coordinates."""
    kw = {} if compression is None else dict(compression)
    with open_store(store_path) as store, h5py.File(out, "w") as f:
        X = store.raw[:]
        hyp = store.hypothetical[:]
        f.create_dataset("raw/seq", data=X.astype(np.int8), **kw)
        f.create_dataset("shap/seq", data=hyp.astype(np.float16), **kw)
        if projected:
            f.create_dataset("projected_shap/seq", data=(hyp * X).astype(np.float16), **kw)
    return out


def test_a_blosc_compressed_chrombpnet_h5_imports(attributed, tmp_path):
    """ChromBPNet saves its scores with deepdish, compression='blosc' (HDF5 filter 32001)."""
    hdf5plugin = pytest.importorskip("hdf5plugin", reason="blosc filter for h5py")
    h5 = _chrombpnet_h5(
        attributed / "observed.h5", tmp_path / "scores.h5", compression=hdf5plugin.Blosc()
    )
    with h5py.File(h5, "r") as f:
        assert "32001" in f["shap/seq"]._filters
    # a fresh process, where only seqsal can have registered the filter
    out = tmp_path / "attr.h5"
    argv = ["import", "--contributions", h5, "--regions", attributed / "regions.bed"]
    result = subprocess.run(
        [sys.executable, "-m", "seqsal", *map(str, argv), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    with open_store(out) as got, open_store(attributed / "observed.h5") as ref:
        np.testing.assert_array_equal(got.raw[:], ref.raw[:])
        np.testing.assert_array_equal(got.hypothetical[:], ref.hypothetical[:].astype(np.float16))


def test_a_float16_chrombpnet_h5_gives_the_seqlets_of_its_float32_source(attributed, tmp_path):
    stores = {}
    for name in ("observed", "control"):
        h5 = _chrombpnet_h5(attributed / f"{name}.h5", tmp_path / f"{name}.scores.h5")
        stores[name] = import_attributions(
            tmp_path / f"{name}.h5", h5, attributed / "regions.bed", control=name == "control"
        )
    with open_store(stores["observed"]) as got, open_store(attributed / "observed.h5") as ref:
        assert got.hypothetical.dtype == np.float16 and got.raw.dtype == np.float32
        assert got.attrs["import_format"] == "chrombpnet_h5" and got.attrs["float16"]
        np.testing.assert_array_equal(got.raw[:], ref.raw[:])
        np.testing.assert_allclose(got.projected[:], ref.projected[:], rtol=1e-3, atol=1e-4)
        pd.testing.assert_frame_equal(got.coords, ref.coords)
    with open_store(stores["observed"]) as a, open_store(stores["control"]) as b:
        assert check_control_store(a, b) == []
    ref_bed = tmp_path / "seqsal.bed"
    _seqlets(attributed / "observed.h5", attributed / "control.h5", ref_bed)
    _seqlets(stores["observed"], stores["control"], tmp_path / "imported.bed")
    expected = pd.read_csv(ref_bed, sep="\t")
    got = pd.read_csv(tmp_path / "imported.bed", sep="\t")
    assert len(expected) > N_REGIONS
    # float16 rounding may move a seqlet's edge by a base where two spans score alike: the same
    # seqlets, at most 1 % of them one base off
    same = ["#chrom", "strand", "region", "sign"]
    pd.testing.assert_frame_equal(got[same], expected[same])
    for column in ("start", "end"):
        shift = (got[column] - expected[column]).abs()
        assert shift.max() <= 1 and (shift > 0).mean() <= 0.01
    moved = (got["start"] != expected["start"]) | (got["end"] != expected["end"])
    np.testing.assert_allclose(
        got["attribution"][~moved], expected["attribution"][~moved], rtol=2e-3
    )


def test_projected_contributions_alone_are_stored_as_both_and_call_the_same_seqlets(
    attributed, tmp_path
):
    stores = {}
    for name in ("observed", "control"):
        with open_store(attributed / f"{name}.h5") as store:
            np.save(tmp_path / f"{name}_proj.npy", store.projected[:])
        stores[name] = _import(
            attributed,
            name,
            tmp_path / f"{name}.h5",
            contributions=tmp_path / f"{name}_proj.npy",
            kind="projected",
        )
    with open_store(stores["observed"]) as got, open_store(attributed / "observed.h5") as ref:
        np.testing.assert_array_equal(got.hypothetical[:], ref.projected[:])
        np.testing.assert_array_equal(got.projected[:], ref.projected[:])
        assert got.attrs["hypothetical"] == "projected" and got.attrs["import_format"] == "npy"
    expected = _seqlets(
        attributed / "observed.h5", attributed / "control.h5", tmp_path / "seqsal.bed"
    )
    assert _seqlets(stores["observed"], stores["control"], tmp_path / "imported.bed") == expected
    # a null of hypothetical contributions is not a null for projected-only ones
    hypothetical = _import(attributed, "control", tmp_path / "hyp_control.h5")
    with open_store(stores["observed"]) as a, open_store(hypothetical) as b:
        with pytest.raises(InputError, match=r"hypothetical is 'imported'"):
            check_control_store(a, b)


def test_a_torch_file_and_stranded_regions(attributed, tmp_path):
    """'-' strand regions: seqsal stores their reverse complements; stranded=True keeps the
    strand (the store's coordinates equal seqsal's), the default stores '.'."""
    import torch

    bed = pd.read_csv(attributed / "regions.bed", sep="\t", header=None)
    bed[3] = [f"r{i}" for i in range(len(bed))]
    bed[4] = 0
    bed[5] = np.where(np.arange(len(bed)) % 2 == 0, "+", "-")
    bed.to_csv(tmp_path / "stranded.bed", sep="\t", header=False, index=False)
    argv = [
        "attribute", "--model", attributed / "model", "--fasta", attributed / "genome.fa",
        "--regions", tmp_path / "stranded.bed", "--out", tmp_path / "ref.h5", "--steps", 2,
        "--baseline", "shuffle:2", "--seed", 1, "--no-progress",
    ]  # fmt: skip
    assert main([str(a) for a in argv]) == 0
    with open_store(tmp_path / "ref.h5") as ref:
        torch.save({"X": torch.from_numpy(ref.raw[:])}, tmp_path / "seq.pt")
        torch.save(torch.from_numpy(ref.hypothetical[:]), tmp_path / "hyp.pt")
        for stranded in (True, False):
            out = import_attributions(
                tmp_path / f"imported_{stranded}.h5",
                tmp_path / "hyp.pt",
                tmp_path / "stranded.bed",
                sequences=tmp_path / "seq.pt",
                stranded=stranded,
            )
            with open_store(out) as got:
                assert got.attrs["import_format"] == "torch"
                np.testing.assert_array_equal(got.projected[:], ref.projected[:])
                if stranded:
                    pd.testing.assert_frame_equal(got.coords, ref.coords)
                else:
                    assert set(got.coords["strand"]) == {"."}
                    assert list(got.coords["name"]) == list(ref.coords["name"])


# --------------------------------------------------------------------------------------------
# the command


def _cli(*argv):
    return main(["import", *(str(a) for a in argv)])


def test_the_command_imports_a_pair_and_a_null(attributed, tmp_path, capsys):
    root = attributed
    for name, extra in (("observed", []), ("control", ["--control"])):
        argv = [
            "--contributions",
            root / f"{name}_attr.npz",
            "--sequences",
            root / f"{name}_seq.npz",
        ]
        argv += ["--regions", root / "regions.bed", "--out", tmp_path / f"{name}.h5", *extra]
        assert _cli(*argv, "--chunk-size", 7) == 0
    err = capsys.readouterr().err
    assert f"seqsal import: {N_REGIONS} windows of {LENGTH} bp from modisco_npz" in err
    assert "(shuffled controls)" in err
    expected = _seqlets(root / "observed.h5", root / "control.h5", tmp_path / "seqsal.bed")
    got = _seqlets(tmp_path / "observed.h5", tmp_path / "control.h5", tmp_path / "imported.bed")
    assert got == expected


@pytest.fixture(scope="module")
def bad_inputs(attributed, tmp_path_factory):
    """Files that are wrong in one way each."""
    root = tmp_path_factory.mktemp("bad_imports")
    X = np.load(attributed / "observed_seq.npz")["arr_0"]
    hyp = np.load(attributed / "observed_attr.npz")["arr_0"]
    bed = pd.read_csv(attributed / "regions.bed", sep="\t", header=None)
    bed.iloc[:-2].to_csv(root / "short.bed", sep="\t", header=False, index=False)
    np.save(root / "seq.npy", X)
    np.save(root / "hyp.npy", hyp)
    np.save(root / "hyp_short.npy", hyp[:, :, :-1])
    notonehot = X.copy()
    notonehot[57, :, 12] = [0.25, 0.25, 0.25, 0.25]
    np.save(root / "notonehot.npy", notonehot)
    (root / "hyp.csv").write_text("1,2,3\n")
    nan = hyp.copy()
    nan[71, 2, 5] = np.nan
    np.save(root / "nan.npy", nan)
    _chrombpnet_h5(attributed / "observed.h5", root / "scores.h5")
    return root


@pytest.mark.parametrize(
    ("case", "message"),
    [
        (
            ["--regions", "short.bed"],
            f"the arrays of seq.npy hold {N_REGIONS} windows but short.bed has "
            f"{N_REGIONS - 2} regions; expected one BED row per window, in the same order",
        ),
        (
            ["--sequences", "notonehot.npy"],
            "error: notonehot.npy is not one-hot: window 57, position 12 holds "
            "[0.25, 0.25, 0.25, 0.25]",
        ),
        (
            ["--contributions", "hyp_short.npy"],
            f"hyp_short.npy has shape ({N_REGIONS}, 4, {LENGTH - 1}) but seq.npy "
            f"({N_REGIONS}, 4, {LENGTH}); expected arrays of the same windows",
        ),
        (["--contributions", "hyp.csv"], "hyp.csv: unknown format '.csv'; expected one of"),
        (
            ["--layout", "NLC"],
            f"error: seq.npy has shape ({N_REGIONS}, 4, {LENGTH}); layout NLC expects (n, L, 4)",
        ),
        (["--width", 2114], f"width 2114; the arrays of seq.npy hold windows of {LENGTH} bp"),
        (
            ["--contributions", "scores.h5"],
            "scores.h5 holds its sequences (raw/seq); sequences seq.npy has no use",
        ),
        (["--sequences", None], "hyp.npy holds contributions only; give the one-hot sequences"),
        (
            ["--contributions", "nan.npy"],
            "error: nan.npy holds NaN or infinite contributions in window 71; expected finite",
        ),
    ],
    ids=[
        "count",
        "onehot",
        "shapes",
        "format",
        "layout",
        "width",
        "h5+sequences",
        "no-seq",
        "nan",
    ],
)
def test_bad_input_is_one_line_naming_both_sides_and_nothing_is_written(
    bad_inputs, attributed, tmp_path, capsys, case, message
):
    options = {
        "--contributions": "hyp.npy",
        "--sequences": "seq.npy",
        "--regions": "short.bed",
        "--chunk-size": 16,
    }
    options["--regions"] = attributed / "regions.bed"
    for key, value in zip(case[::2], case[1::2], strict=True):
        options[key] = value
    argv = []
    for key, value in options.items():
        if value is None:
            continue
        if key in ("--contributions", "--sequences") or value == "short.bed":
            value = bad_inputs / value
        argv += [key, value]
    out = tmp_path / "out.h5"
    assert _cli(*argv, "--out", out) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("seqsal import: error: ")
    assert message in err[0], err[0]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("compressed", [False, True], ids=["stored", "deflated"])
def test_memory_stays_flat_in_the_number_of_windows(tmp_path, compressed):
    """Chunks of 64 windows: the peak of Python-tracked memory is a small part of one array."""
    import tracemalloc

    n, length = 2000, 500
    rng = np.random.default_rng(0)
    X = np.zeros((n, 4, length), dtype=np.float32)
    X[np.arange(n)[:, None], rng.integers(0, 4, (n, length)), np.arange(length)] = 1
    save = np.savez_compressed if compressed else np.savez
    save(tmp_path / "seq.npz", X)
    save(tmp_path / "attr.npz", rng.normal(size=X.shape).astype(np.float32))
    pd.DataFrame(
        {"chrom": "chr1", "start": np.arange(n) * 10, "end": np.arange(n) * 10 + 5}
    ).to_csv(tmp_path / "r.bed", sep="\t", header=False, index=False)
    size = X.nbytes
    del X
    tracemalloc.start()
    try:
        import_attributions(
            tmp_path / "out.h5",
            tmp_path / "attr.npz",
            tmp_path / "r.bed",
            sequences=tmp_path / "seq.npz",
            chunk_size=64,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < size / 4, (peak, size)
    with open_store(tmp_path / "out.h5") as store:
        assert store.n == n and store.length == length


def test_a_row_mask_selects_the_bed_rows_the_arrays_hold(attributed, tmp_path, capsys):
    """bpnet-lite leaves loci out and writes a boolean mask over the BED (idx.npy)."""
    bed = pd.read_csv(attributed / "regions.bed", sep="\t", header=None)
    extra = bed.iloc[:5].copy()
    extra[1] += 7  # five other regions, left out of the arrays
    extra[2] += 7
    both = pd.concat([bed, extra]).sort_values([1]).reset_index(drop=True)
    both.to_csv(tmp_path / "all.bed", sep="\t", header=False, index=False)
    mask = np.isin(both[1], bed[1])
    np.save(tmp_path / "idx.npy", mask)
    np.save(tmp_path / "rows.npy", np.flatnonzero(mask))
    with open_store(attributed / "observed.h5") as ref:
        for rows in ("idx.npy", "rows.npy"):
            out = import_attributions(
                tmp_path / f"{rows}.h5",
                attributed / "observed_attr.npz",
                tmp_path / "all.bed",
                sequences=attributed / "observed_seq.npz",
                rows=tmp_path / rows,
            )
            with open_store(out) as got:
                pd.testing.assert_frame_equal(got.coords, ref.coords)
                assert got.attrs["rows"] == str(tmp_path / rows)
    argv = ["--contributions", attributed / "observed_attr.npz"]
    argv += ["--sequences", attributed / "observed_seq.npz", "--out", tmp_path / "x.h5"]
    np.save(tmp_path / "short.npy", mask[:-1])
    assert _cli(*argv, "--regions", tmp_path / "all.bed", "--rows", tmp_path / "short.npy") == 2
    err = capsys.readouterr().err
    assert (
        f"short.npy is a mask of {len(mask) - 1} entries but all.bed has {len(mask)} regions" in err
    )
    np.save(tmp_path / "fewer.npy", np.flatnonzero(mask)[:-1])
    assert _cli(*argv, "--regions", tmp_path / "all.bed", "--rows", tmp_path / "fewer.npy") == 2
    err = capsys.readouterr().err
    assert (
        f"hold {N_REGIONS} windows but all.bed has {len(mask)} regions "
        f"({N_REGIONS - 1} selected by fewer.npy)" in err
    )
    assert not (tmp_path / "x.h5").exists()


# --------------------------------------------------------------------------------------------
# bpnet-lite as the oracle


@pytest.mark.parametrize("summits", [False, True], ids=["middle", "summit"])
def test_bpnet_lite_attributions_import_on_the_windows_tangermeme_cut(
    attributed, tmp_path, summits
):
    """Windows cut by tangermeme's extract_loci (what bpnet-lite's `bpnet attribute` reads)
    from regions of odd and even widths (and narrowPeak summits), attributed by bpnet-lite's
    deep_lift_shap and saved as `bpnet attribute` saves them: the imported store's windows are
    the ones seqsal cuts at the coordinates it records, and its contributions are bpnet-lite's."""
    import torch

    pytest.importorskip("bpnetlite", reason="bpnet-lite is the oracle (dev extra)")
    from bpnetlite import BPNet
    from bpnetlite.attribute import deep_lift_shap
    from bpnetlite.bpnet import CountWrapper
    from tangermeme.io import extract_loci

    from seqsal.io.fasta import open_genome
    from seqsal.sequence.windows import extract_onehot

    rng = np.random.default_rng(4)
    starts = np.arange(30) * 500 + 200
    widths = rng.integers(20, 300, size=30)
    peaks = pd.DataFrame({"chrom": "chr1", "start": starts, "end": starts + widths})
    for column in ("name", "score", "strand", "signal", "p", "q"):
        peaks[column] = "." if column in ("name", "strand") else 0
    peaks["summit"] = (rng.random(30) * widths).astype(int)
    peaks.to_csv(tmp_path / "peaks.narrowPeak", sep="\t", header=False, index=False)
    X = extract_loci(
        loci=str(tmp_path / "peaks.narrowPeak"),
        sequences=str(attributed / "genome.fa"),
        in_window=LENGTH,
        summits=summits,
    )
    assert X.shape == (30, 4, LENGTH)
    torch.manual_seed(0)
    model = BPNet(n_filters=8, n_layers=2, n_outputs=1, n_control_tracks=0, trimming=0)
    hyp = deep_lift_shap(
        CountWrapper(model.eval()),
        X.float(),
        hypothetical=True,
        n_shuffles=4,
        device="cpu",
        random_state=0,
        warning_threshold=1e9,
    )
    np.savez_compressed(tmp_path / "attributions.ohe.npz", X)  # as `bpnet attribute` does
    np.savez_compressed(tmp_path / "attributions.attr.npz", hyp)
    out = import_attributions(
        tmp_path / "attr.h5",
        tmp_path / "attributions.attr.npz",
        tmp_path / "peaks.narrowPeak",
        sequences=tmp_path / "attributions.ohe.npz",
        summit_column=10 if summits else None,
    )
    with open_store(out) as store, open_genome(attributed / "genome.fa") as genome:
        np.testing.assert_array_equal(store.raw[:], X.numpy())
        np.testing.assert_array_equal(store.hypothetical[:], hyp.numpy())
        np.testing.assert_array_equal(store.projected[:], (hyp * X).numpy())
        coords = store.coords
        centre = starts + (peaks["summit"].to_numpy() if summits else widths // 2)
        np.testing.assert_array_equal(coords["start"], centre - LENGTH // 2)
        np.testing.assert_array_equal(extract_onehot(genome, coords), X.numpy())


def test_the_output_is_checked_before_any_input_is_read(attributed, tmp_path, capsys):
    from _toys import unwritable_folder

    argv = ["--contributions", tmp_path / "missing_attr.npz", "--sequences", tmp_path / "s.npz"]
    argv += ["--regions", attributed / "regions.bed"]
    assert _cli(*argv, "--out", tmp_path / "attr.txt") == 2
    err = capsys.readouterr().err
    assert err.startswith("seqsal import: error: --out") and "expected an .h5 file" in err
    folder = unwritable_folder(tmp_path)
    if folder is not None:
        assert _cli(*argv, "--out", folder / "attr.h5") == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and str(folder) in err[0] and "missing_attr" not in err[0]
    h5 = _chrombpnet_h5(attributed / "observed.h5", tmp_path / "scores.h5")
    before = h5.read_bytes()
    same = ["--contributions", h5, "--regions", attributed / "regions.bed"]
    assert _cli(*same, "--out", h5) == 2
    assert h5.read_bytes() == before
    assert "is one of the inputs" in capsys.readouterr().err

"""Tests for the HDF5 attribution store and its exporters (modisco npz, bigWig)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from _toys import onehot_codes

from seqsal.errors import InputError
from seqsal.io.bigwig import export_bigwig
from seqsal.io.modisco import export_modisco_npz
from seqsal.io.store import COORD_COLUMNS, AttributionStore, merge_stores, open_store

MODISCO = Path(sys.executable).with_name("modisco")
MOTIF = "GATAAGAT"


def _random_shard(n=10, length=16, seed=0):
    rng = np.random.default_rng(seed)
    X = onehot_codes(rng.integers(0, 4, size=(n, length)))
    hyp = rng.normal(size=(n, 4, length)).astype(np.float32)
    coords = pd.DataFrame(
        {
            "chrom": [f"chr{i % 3}" for i in range(n)],
            "start": np.arange(n) * 100,
            "end": np.arange(n) * 100 + length,
            "strand": ["+", "-"] * (n // 2) + ["+"] * (n % 2),
            "name": [f"peak{seed}_{i}" for i in range(n)],
        }
    )
    delta = rng.normal(size=n).astype(np.float32)
    return X, hyp, coords, delta


def _planted(n=300, length=120, seed=0):
    """One-hot sequences with GATAAGAT planted and hypothetical scores that light it up."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, 4, size=(n, length))
    motif = ["ACGT".index(c) for c in MOTIF]
    pos = rng.integers(30, length - 40, size=n)
    for i in range(n):
        idx[i, pos[i] : pos[i] + len(motif)] = motif
    X = onehot_codes(idx)
    hyp = rng.normal(0, 0.05, size=X.shape).astype(np.float32)
    for i in range(n):
        for j, base in enumerate(motif):
            hyp[i, :, pos[i] + j] -= 0.3
            hyp[i, base, pos[i] + j] += 1.3
    return X, hyp


def test_round_trip_with_coords_delta_and_attrs(tmp_path):
    X, hyp, coords, delta = _random_shard()
    path = tmp_path / "a.h5"
    attrs = {
        "method": "ig",
        "steps": 32,
        "baseline": "shuffle:10",
        "correction": True,
        "target": None,
        "seed": 7,
    }
    with AttributionStore(path, length=16, attrs=attrs, with_delta=True) as store:
        store.append(X, hyp, coords=coords, delta=delta)
    with open_store(path) as s:
        np.testing.assert_array_equal(s.raw[:], X)
        np.testing.assert_array_equal(s.hypothetical[:], hyp)
        np.testing.assert_array_equal(s.projected[:], hyp * X)
        np.testing.assert_array_equal(s.delta[:], delta)
        pd.testing.assert_frame_equal(
            s.coords[list(COORD_COLUMNS)], coords.astype({"start": np.int64, "end": np.int64})
        )
        assert (s.coords["pad_left"] == 0).all() and (s.coords["pad_right"] == 0).all()
        assert (
            s.attrs["method"] == "ig" and s.attrs["steps"] == 32 and s.attrs["correction"] is True
        )
        assert s.attrs["target"] == "none" and s.attrs["seed"] == 7 and s.attrs["n_regions"] == 10
        assert "seqsal_version" in s.attrs and "created" in s.attrs
        assert s.hypothetical.maxshape[0] is None


def test_layout_is_chrombpnet_keys_channels_first(tmp_path):
    X, hyp, _, _ = _random_shard()
    path = tmp_path / "a.h5"
    with AttributionStore(path, length=16) as store:
        store.append(X, hyp)
    with h5py.File(path) as f:
        assert f["raw/seq"].shape == (10, 4, 16)
        assert f["shap/seq"].shape == (10, 4, 16)
        assert f["projected_shap/seq"].shape == (10, 4, 16)
        assert set(f["coords"]) == {
            "chrom",
            "start",
            "end",
            "strand",
            "name",
            "pad_left",
            "pad_right",
        }


def test_appending_shards_equals_writing_at_once(tmp_path):
    shards = [_random_shard(n, seed=s) for s, n in enumerate([3, 7, 5])]
    joined = [np.concatenate([s[i] for s in shards]) for i in (0, 1, 3)]
    coords = pd.concat([s[2] for s in shards], ignore_index=True)
    with AttributionStore(tmp_path / "once.h5", length=16, with_delta=True, chunk_size=4) as store:
        store.append(joined[0], joined[1], coords=coords, delta=joined[2])
    with AttributionStore(
        tmp_path / "append.h5", length=16, with_delta=True, chunk_size=4
    ) as store:
        for X, hyp, c, d in shards:
            store.append(X, hyp, coords=c, delta=d)
    paths = []
    for i, (X, hyp, c, d) in enumerate(shards):
        paths.append(tmp_path / f"shard{i}.h5")
        with AttributionStore(paths[-1], length=16, with_delta=True) as store:
            store.append(X, hyp, coords=c, delta=d)
    merge_stores(paths, tmp_path / "merged.h5", chunk_size=2)
    with (
        open_store(tmp_path / "once.h5") as a,
        open_store(tmp_path / "append.h5") as b,
        open_store(tmp_path / "merged.h5") as m,
    ):
        for other in (b, m):
            for key in ("raw", "hypothetical", "projected", "delta"):
                np.testing.assert_array_equal(getattr(a, key)[:], getattr(other, key)[:])
            pd.testing.assert_frame_equal(a.coords, other.coords)


def test_merge_refuses_shards_of_different_runs(tmp_path):
    X, hyp, _, _ = _random_shard()
    for name, steps in (("a.h5", 32), ("b.h5", 64)):
        with AttributionStore(
            tmp_path / name, length=16, attrs={"method": "ig", "steps": steps}
        ) as store:
            store.append(X, hyp)
    with pytest.raises(InputError, match="steps"):
        merge_stores([tmp_path / "a.h5", tmp_path / "b.h5"], tmp_path / "m.h5")
    assert not (tmp_path / "m.h5").exists()


def test_float16_round_trip(tmp_path):
    X, hyp, _, _ = _random_shard(n=20, length=32)
    with AttributionStore(tmp_path / "h.h5", length=32, float16=True) as store:
        store.append(X, hyp)
    with open_store(tmp_path / "h.h5") as s:
        assert s.hypothetical.dtype == np.float16 and s.raw.dtype == np.float32
        np.testing.assert_allclose(s.hypothetical[:].astype(np.float32), hyp, rtol=1e-3, atol=1e-4)
        np.testing.assert_array_equal(s.raw[:], X)
        assert s.attrs["float16"] is True


def test_crash_leaves_no_finished_store(tmp_path):
    X, hyp, _, _ = _random_shard()
    path = tmp_path / "a.h5"
    with pytest.raises(RuntimeError), AttributionStore(path, length=16) as store:
        store.append(X, hyp)
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
    store = AttributionStore(path, length=16)
    store.append(X, hyp)
    assert not path.exists()  # still open: only the temporary name exists
    store.close()
    assert path.exists()


def test_bad_shapes_and_files_raise_input_errors(tmp_path):
    X, hyp, coords, _ = _random_shard()
    with AttributionStore(tmp_path / "a.h5", length=16) as store:
        with pytest.raises(InputError, match=r"expected \(10, 4, 16\)"):
            store.append(X, hyp[:, :, :8])
        with pytest.raises(InputError, match="coords"):
            store.append(X, hyp, coords=coords.drop(columns="strand"))
        with pytest.raises(InputError, match="delta"):
            store.append(X, hyp, delta=np.zeros(10))
    (tmp_path / "b.h5").write_text("not hdf5")
    with pytest.raises(InputError, match="not an HDF5 file"):
        open_store(tmp_path / "b.h5")
    with pytest.raises(InputError, match="no such"):
        open_store(tmp_path / "missing.h5")


def _store_at(path, values_by_window, coords, length):
    """A store whose per-position projected sums equal ``values_by_window``."""
    n = len(values_by_window)
    X = np.zeros((n, 4, length), np.float32)
    X[:, 1, :] = 1  # all C
    hyp = np.zeros_like(X)
    hyp[:, 1, :] = values_by_window
    with AttributionStore(path, length=length) as store:
        store.append(X, hyp, coords=pd.DataFrame(coords))


def test_bigwig_places_both_strands_and_averages_overlaps(tmp_path):
    import pyBigWig

    length = 5
    values = np.array(
        [[1, 2, 3, 4, 5], [10, 20, 30, 40, 50], [7, 7, 7, 7, 7], [1, 1, 1, 1, 1]], np.float32
    )
    coords = {
        "chrom": ["chr1", "chr1", "chr2", "chr2"],
        "start": [10, 30, 0, 3],
        "end": [15, 35, 5, 8],
        "strand": ["+", "-", "+", "+"],
        "name": list("abcd"),
    }
    store = tmp_path / "a.h5"
    _store_at(store, values, coords, length)
    out = export_bigwig(store, tmp_path / "x.bw", {"chr1": 100, "chr2": 50})
    bw = pyBigWig.open(str(out))
    try:
        np.testing.assert_allclose(bw.values("chr1", 10, 15), [1, 2, 3, 4, 5])
        # a - strand window: its first value belongs at the window's + strand end
        np.testing.assert_allclose(bw.values("chr1", 30, 35), [50, 40, 30, 20, 10])
        assert np.isnan(bw.values("chr1", 15, 16)[0])
        # overlap of 0-5 and 3-8 on chr2: positions 3 and 4 are means
        np.testing.assert_allclose(bw.values("chr2", 0, 8), [7, 7, 7, 4, 4, 1, 1, 1])
    finally:
        bw.close()


def test_bigwig_clips_padded_windows_and_rejects_unknown_chromosomes(tmp_path):
    import pyBigWig

    store = tmp_path / "a.h5"
    # windows of 6 padded with N past the ends of chr1 (20 bp), as make_windows records them:
    # + strand, 2 N before 0; - strand, 2 N after 20 (+ strand order); a store from elsewhere
    # without padding columns, hanging off the left end.
    coords = {
        "chrom": ["chr1", "chr1"],
        "start": [0, 16],
        "end": [4, 20],
        "strand": ["+", "-"],
        "name": ["a", "b"],
        "pad_left": [2, 0],
        "pad_right": [0, 2],
    }
    values = np.array([[9, 9, 1, 2, 3, 4], [0, 0, 8, 7, 6, 5]], np.float32)
    _store_at(store, values, coords, 6)
    out = export_bigwig(store, tmp_path / "x.bw", {"chr1": 20})
    bw = pyBigWig.open(str(out))
    try:
        np.testing.assert_allclose(bw.values("chr1", 0, 4), [1, 2, 3, 4])
        np.testing.assert_allclose(bw.values("chr1", 16, 20), [5, 6, 7, 8])
    finally:
        bw.close()
    del coords["pad_left"], coords["pad_right"]
    _store_at(store, values[:1], {k: v[:1] for k, v in coords.items()}, 6)
    out = export_bigwig(store, tmp_path / "x.bw", {"chr1": 20})
    with pyBigWig.open(str(out)) as bw:
        np.testing.assert_allclose(bw.values("chr1", 0, 4), [1, 2, 3, 4])
    _store_at(
        tmp_path / "b.h5",
        np.ones((1, 6), np.float32),
        {"chrom": ["chrX"], "start": [0], "end": [6], "strand": ["+"], "name": ["a"]},
        6,
    )
    with pytest.raises(InputError, match="chrX"):
        export_bigwig(tmp_path / "b.h5", tmp_path / "y.bw", {"chr1": 20})
    assert not (tmp_path / "y.bw").exists()


def _modisco_finds_motif(result: Path) -> None:
    with h5py.File(result) as f:
        assert "pos_patterns" in f and len(f["pos_patterns"]) >= 1
        ppm = f["pos_patterns/pattern_0/sequence"][:]  # (width, 4)
    consensus = "".join("ACGT"[i] for i in ppm.argmax(axis=1))
    revcomp = consensus[::-1].translate(str.maketrans("ACGT", "TGCA"))
    assert MOTIF[1:-1] in consensus or MOTIF[1:-1] in revcomp, consensus


@pytest.mark.slow
def test_real_modisco_reads_the_store_and_the_npz_export(tmp_path):
    if not MODISCO.exists():
        pytest.skip("modisco-lite CLI not installed")
    X, hyp = _planted()
    store = tmp_path / "attr.h5"
    with AttributionStore(store, length=X.shape[2], float16=True) as writer:
        for rows in (slice(0, 100), slice(100, None)):
            writer.append(X[rows], hyp[rows])
    files = export_modisco_npz(store, tmp_path / "m")
    np.testing.assert_array_equal(np.load(files.sequences)["arr_0"], X)
    np.testing.assert_allclose(np.load(files.attributions)["arr_0"], hyp, rtol=1e-3, atol=1e-4)
    common = ["-n", "2000", "-w", "100", "-l", "1"]
    runs = [
        subprocess.Popen(
            [str(MODISCO), "motifs", "-i", str(store), *common, "-o", str(tmp_path / "h5.out.h5")]
        ),
        subprocess.Popen(
            [
                str(MODISCO),
                "motifs",
                "-s",
                str(files.sequences),
                "-a",
                str(files.attributions),
                *common,
                "-o",
                str(tmp_path / "npz.out.h5"),
            ]
        ),
    ]
    assert [p.wait(timeout=300) for p in runs] == [0, 0]
    _modisco_finds_motif(tmp_path / "h5.out.h5")
    _modisco_finds_motif(tmp_path / "npz.out.h5")
    shutil.rmtree(tmp_path, ignore_errors=True)


# ----------------------------------------------------------------------------- damaged files


def _damaged_copies(path: Path, folder: Path):
    """Copies of the HDF5 file ``path``, each damaged in one place: every B-tree, heap and
    symbol-table signature overwritten in turn (HDF5's metadata), the superblock zeroed, and
    the file cut in half."""
    data = path.read_bytes()
    copies = []
    for signature in (b"TREE", b"HEAP", b"SNOD"):
        at = data.find(signature)
        while at >= 0:
            broken = bytearray(data)
            broken[at : at + 4] = b"XXXX"
            copies.append((f"{signature.decode()} at byte {at}", bytes(broken)))
            at = data.find(signature, at + 1)
    copies.append(("superblock zeroed", b"\0" * 512 + data[512:]))
    copies.append(("truncated", data[: len(data) // 2]))
    for i, (what, content) in enumerate(copies):
        target = folder / f"damaged{i}.h5"
        target.write_bytes(content)
        yield what, target


def _read_everything(path):
    with open_store(path) as store:
        store.coords  # noqa: B018
        for array in (store.raw, store.hypothetical, store.projected, store.delta):
            array[:]


def test_a_damaged_store_is_a_one_line_input_error_naming_the_file(tmp_path):
    X, hyp, coords, delta = _random_shard(n=40, length=30)
    good = tmp_path / "good.h5"
    with AttributionStore(good, length=30, attrs={"method": "ig"}, with_delta=True) as store:
        store.append(X, hyp, coords=coords, delta=delta)
    copies = list(_damaged_copies(good, tmp_path))
    assert len(copies) >= 10  # several metadata structures of each kind
    for what, path in copies:
        with pytest.raises(InputError) as info:
            _read_everything(path)
        message = str(info.value)
        assert message.startswith(f"{path}: "), (what, message)
        assert "damaged" in message and "\n" not in message, (what, message)


def test_merge_names_the_damaged_shard(tmp_path):
    X, hyp, coords, _ = _random_shard(n=12, length=16)
    shards = []
    for i in range(2):
        shards.append(tmp_path / f"shard{i}.h5")
        with AttributionStore(shards[-1], length=16) as store:
            store.append(X, hyp, coords=coords)
    data = bytearray(shards[1].read_bytes())
    at = data.find(b"TREE")
    data[at : at + 4] = b"XXXX"
    shards[1].write_bytes(bytes(data))
    with pytest.raises(InputError, match="damaged") as info:
        merge_stores(shards, tmp_path / "merged.h5")
    assert str(info.value).startswith(f"{shards[1]}: ")
    assert not (tmp_path / "merged.h5").exists()


def test_a_damaged_motifs_file_is_a_one_line_input_error(tmp_path):
    from seqsal.motifs.cwm_io import read_motifs, write_motifs
    from seqsal.motifs.types import Motif

    rng = np.random.default_rng(0)
    motifs = [
        Motif(name=f"m{i}", ppm=rng.dirichlet(np.ones(4), size=8).T, n_seqlets=5, source="test")
        for i in range(3)
    ]
    good = tmp_path / "motifs.h5"
    write_motifs(motifs, good)
    assert [m.name for m in read_motifs(good)] == ["m0", "m1", "m2"]
    errors = 0
    for what, path in _damaged_copies(good, tmp_path):
        try:
            back = read_motifs(path)
        except InputError as err:
            message = str(err)
            assert message.startswith(f"{path}: ") and "\n" not in message, (what, message)
            errors += 1
            continue
        # a few structures are not read at all (a spare heap): then the motifs come back whole
        assert [m.name for m in back] == ["m0", "m1", "m2"], what
        for m, original in zip(back, motifs, strict=True):
            np.testing.assert_allclose(m.ppm, original.ppm)
    assert errors >= 10


def test_set_attrs_adds_provenance_and_merge_adds_up_skipped_counts(tmp_path):
    X, hyp, coords, _ = _random_shard(n=6, length=16)
    shards = []
    for i, skipped in enumerate((2, 3)):
        shards.append(tmp_path / f"s{i}.h5")
        with AttributionStore(shards[-1], length=16, attrs={"method": "ig"}) as store:
            store.append(X, hyp, coords=coords)
            store.set_attrs({"n_skipped_nonfinite": skipped})
    merged = merge_stores(shards, tmp_path / "m.h5")
    with open_store(merged) as store:
        assert store.attrs["n_skipped_nonfinite"] == 5 and store.attrs["method"] == "ig"
        assert store.n == 12


def test_position_contributions_are_the_projected_sum_over_bases(tmp_path, monkeypatch):
    import seqsal.io.store as store_module
    from seqsal.io.store import read_position_contributions

    X, hyp, coords, _ = _random_shard(n=9, length=16)
    path = tmp_path / "attr.h5"
    with AttributionStore(path, length=16) as store:
        store.append(X[:5], hyp[:5], coords=coords[:5])
        store.append(X[5:], hyp[5:], coords=coords[5:])
    monkeypatch.setattr(store_module, "POSITION_READ_CHUNK", 4)  # 3 reads, the last partial
    values, read = read_position_contributions(path, progress=False)
    assert values.dtype == np.float64 and values.shape == (9, 16)
    np.testing.assert_allclose(values, (hyp * X).sum(axis=1), rtol=1e-6, atol=1e-7)
    # each position holds the hypothetical contribution of the base present
    observed = hyp[np.arange(9)[:, None], X.argmax(axis=1), np.arange(16)[None, :]]
    np.testing.assert_allclose(values, observed, rtol=1e-6, atol=1e-7)
    for column in COORD_COLUMNS:
        assert read[column].tolist() == coords[column].tolist()

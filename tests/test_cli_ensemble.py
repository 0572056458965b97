"""Fold ensembles through the command line: several --model values (bpnet-lite BPNets with
different seeds) in predict (mean and per-model columns), attribute (mean of the members'
attributions, every checksum recorded), the seqlets null check, scan, candidates and evaluate;
the one-line errors (nothing written) for models that disagree or cannot be loaded."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from _toys import (
    SMALL_BPNET_KWARGS,
    TwoHeads,
    plain_torchscript,
    small_bpnet,
    two_chromosomes_five_regions,
)

from seqsal.cli import main
from seqsal.errors import InputError
from seqsal.io.store import open_store
from seqsal.models.load import save_torchscript
from seqsal.seqlets.control import check_control_store

pytest.importorskip("bpnetlite")

L = 80
SEEDS = (21, 22)
KWARGS = SMALL_BPNET_KWARGS
COLUMNS = ["0.0.sum", "0.1.sum", "1"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A genome, 5 regions, two BPNet folds as TorchScript and as state dicts."""
    root = tmp_path_factory.mktemp("ensemble")
    two_chromosomes_five_regions(root, seed=2)
    for i, seed in enumerate(SEEDS):
        model = small_bpnet(seed=seed, trimming=10)
        plain_torchscript(model, L, root / f"fold{i}.pt")
        torch.save(model.state_dict(), root / f"fold{i}.state.pt")
    (root / "kwargs.json").write_text(json.dumps(KWARGS))
    return root


def folds(data):
    return [str(data / f"fold{i}.pt") for i in range(len(SEEDS))]


def run(data, command, *extra):
    argv = [command, "--fasta", str(data / "genome.fa"), "--regions", str(data / "regions.bed")]
    try:
        return main([*argv, *extra, "--no-progress"])
    except SystemExit as exit:  # argparse's own errors
        return exit.code


def test_predict_writes_the_mean_and_each_models_columns(data, tmp_path):
    out = tmp_path / "ens.tsv"
    assert run(data, "predict", "--model", *folds(data), "--width", str(L), "--out", str(out)) == 0
    table = pd.read_csv(out, sep="\t")
    members = [f"model{i}:{c}" for i in range(2) for c in COLUMNS]
    assert list(table.columns[-9:]) == COLUMNS + members
    for i, path in enumerate(folds(data)):
        single = tmp_path / f"single{i}.tsv"
        assert run(data, "predict", "--model", path, "--width", str(L), "--out", str(single)) == 0
        alone = pd.read_csv(single, sep="\t")
        for c in COLUMNS:
            np.testing.assert_allclose(table[f"model{i}:{c}"], alone[c], rtol=1e-5, atol=1e-6)
    for c in COLUMNS:
        mean = (table[f"model0:{c}"] + table[f"model1:{c}"]) / 2
        np.testing.assert_allclose(table[c], mean, rtol=1e-5, atol=1e-5)


def test_repeated_model_and_state_dicts_give_the_same_predictions(data, tmp_path):
    first = tmp_path / "a.tsv"
    argv = ["--model", folds(data)[0], "--model", folds(data)[1], "--width", str(L)]
    assert run(data, "predict", *argv, "--out", str(first)) == 0
    second = tmp_path / "b.tsv"
    argv = ["--model", "bpnetlite.bpnet:BPNet", "bpnetlite.bpnet:BPNet"]
    argv += ["--state-dict", str(data / "fold0.state.pt"), str(data / "fold1.state.pt")]
    argv += ["--model-kwargs", str(data / "kwargs.json"), "--width", str(L)]
    assert run(data, "predict", *argv, "--out", str(second)) == 0
    a, b = pd.read_csv(first, sep="\t"), pd.read_csv(second, sep="\t")
    np.testing.assert_allclose(a[COLUMNS], b[COLUMNS], rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def stores(data, tmp_path_factory):
    """Attribution stores (IG, counts head, 2 shuffles): the ensemble, each fold alone, and
    shuffled controls of the ensemble in both orders."""
    root = tmp_path_factory.mktemp("stores")
    common = ["--width", str(L), "--output", "1", "--baseline", "shuffle:2", "--steps", "6"]
    common += ["--seed", "3", "--chunk-size", "2"]
    paths = {}
    for name, models, extra in [
        ("ensemble", folds(data), []),
        ("fold0", folds(data)[:1], []),
        ("fold1", folds(data)[1:], []),
        ("control", folds(data), ["--shuffle-control"]),
        ("control_reversed", folds(data)[::-1], ["--shuffle-control"]),
    ]:
        paths[name] = root / f"{name}.h5"
        argv = ["--model", *models, *common, *extra, "--out", str(paths[name])]
        assert run(data, "attribute", *argv) == 0
    return paths


def test_attribute_stores_the_mean_of_the_models_attributions(data, stores):
    ens, a, b = (open_store(stores[k]) for k in ("ensemble", "fold0", "fold1"))
    np.testing.assert_allclose(
        ens.hypothetical[:], (a.hypothetical[:] + b.hypothetical[:]) / 2, rtol=1e-6, atol=1e-6
    )
    np.testing.assert_allclose(
        ens.projected[:], (a.projected[:] + b.projected[:]) / 2, rtol=1e-6, atol=1e-6
    )
    assert ens.attrs["n_models"] == 2
    checksums = json.loads(ens.attrs["model_checksums"])
    assert checksums == [a.attrs["model_checksum"], b.attrs["model_checksum"]]
    assert ens.attrs["model_checksum"] == ",".join(checksums)
    assert json.loads(ens.attrs["model_sources"]) == [
        a.attrs["model_source"],
        b.attrs["model_source"],
    ]
    assert "n_models" not in a.attrs  # a single model's store is as before


def test_null_check_compares_the_ensembles_checksums(stores):
    observed = open_store(stores["ensemble"])
    check_control_store(observed, open_store(stores["control"]))  # same set, same order
    with pytest.raises(InputError, match="model_checksum") as err:
        check_control_store(observed, open_store(stores["control_reversed"]))
    assert "\n" not in str(err.value)
    with pytest.raises(InputError, match="model_checksum"):
        check_control_store(open_store(stores["fold0"]), open_store(stores["control"]))


def test_scan_of_an_ensemble_is_the_mean_of_the_scans(data, tmp_path):
    base = ["--fasta", str(data / "genome.fa"), "--stride", "20", "--no-progress"]
    base += ["--width", str(L), "--output", "1"]
    tables = []
    for name, models in [("ens", folds(data)), ("a", folds(data)[:1]), ("b", folds(data)[1:])]:
        out = tmp_path / f"{name}.tsv"
        assert main(["scan", "--model", *models, *base, "--out", str(out)]) == 0
        tables.append(pd.read_csv(out, sep="\t"))
    ens, a, b = tables
    assert len(ens) > 10
    np.testing.assert_allclose(ens["score"], (a["score"] + b["score"]) / 2, rtol=1e-5, atol=1e-5)
    bed = tmp_path / "cand.bed"
    argv = ["candidates", "--scores", str(tmp_path / "ens.tsv"), "--model", *folds(data)]
    argv += ["--width", str(L), "--output", "1", "--fasta", str(data / "genome.fa")]
    argv += ["--quantile", "0.8", "--null-windows", "50", "--out", str(bed)]
    assert main(argv) == 0
    assert len(bed.read_text().splitlines()) > 1


def test_evaluate_scores_the_mean_and_refuses_sanity(data, stores, tmp_path, capsys):
    out = tmp_path / "eval"
    argv = ["evaluate", "--store", str(stores["ensemble"]), "--model", *folds(data)]
    argv += ["--output", "1", "--eval-steps", "4", "--n-random", "1", "--no-progress"]
    assert main([*argv, "--out", str(out)]) == 0
    assert (out / "auc.tsv").is_file()
    capsys.readouterr()
    bad = tmp_path / "eval2"
    assert main([*argv, "--sanity", "--out", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--sanity with 2 --model values" in err, err
    assert not bad.exists()


@pytest.fixture(scope="module")
def odd_models(data, tmp_path_factory):
    """Models that do not fit the folds: recorded input lengths 80 and 100, other heads."""
    root = tmp_path_factory.mktemp("odd")
    names = ["p0", "p1", "counts"]
    for length in (L, L + 20):
        model = small_bpnet(seed=SEEDS[0], trimming=10)
        save_torchscript(
            model, root / f"len{length}.pt", input_length=length, targets=names, task="regression"
        )
    plain_torchscript(TwoHeads(), L, root / "twoheads.pt")
    return root


@pytest.mark.parametrize("command", ["attribute", "predict"])
@pytest.mark.parametrize(
    ("models", "width", "fragment"),
    [
        (["len80.pt", "len100.pt"], False, "disagree on input length"),
        (["FOLD0", "twoheads.pt"], True, "disagree on heads"),
        (["FOLD0", "missing.pt"], True, "missing.pt' not found"),
    ],
)
def test_models_that_do_not_fit_are_one_line_errors_and_nothing_is_written(
    data, odd_models, tmp_path, capsys, command, models, width, fragment
):
    paths = [folds(data)[0] if m == "FOLD0" else str(odd_models / m) for m in models]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / ("attr.h5" if command == "attribute" else "pred.tsv")
    argv = ["--model", *paths, "--out", str(out)] + (["--width", str(L)] if width else [])
    status = run(data, command, *argv)
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert len(err.splitlines()) == 1 and fragment in err, err
    assert not list(out_dir.iterdir())


def test_state_dicts_must_be_one_per_model(data, tmp_path, capsys):
    out = tmp_path / "pred.tsv"
    argv = ["--model", "bpnetlite.bpnet:BPNet", "bpnetlite.bpnet:BPNet"]
    argv += ["--state-dict", str(data / "fold0.state.pt")]
    argv += ["--model-kwargs", str(data / "kwargs.json"), "--width", str(L), "--out", str(out)]
    assert run(data, "predict", *argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--state-dict got 1 file(s) for 2 --model" in err, err
    assert not out.exists()

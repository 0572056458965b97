"""End-to-end tests of ``seqsal evaluate`` on a store written by ``seqsal attribute``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _toys import motif_detector

from seqsal.cli import main
from seqsal.io.store import open_store

MOTIF = "GATTACA"
LENGTH = 40
BASES = "ACGT"
N_REGIONS = 5


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A genome of 5 chromosomes, each one region with GATTACA planted, the model as
    TorchScript, and the IG store of ``seqsal attribute``."""
    from seqsal.models.load import save_torchscript

    root = tmp_path_factory.mktemp("evaluate")
    rng = np.random.default_rng(0)
    rows = []
    with open(root / "genome.fa", "w") as handle:
        for i in range(N_REGIONS):
            seq = list(rng.choice(list(BASES), size=LENGTH))
            at = int(rng.integers(0, LENGTH - len(MOTIF)))
            seq[at : at + len(MOTIF)] = MOTIF
            handle.write(f">chr{i}\n{''.join(seq)}\n")
            rows.append((f"chr{i}", 0, LENGTH, f"r{i}", 0, "+"))
    pd.DataFrame(rows).to_csv(root / "regions.bed", sep="\t", header=False, index=False)
    save_torchscript(
        motif_detector(MOTIF, threshold=6.0, length=LENGTH),
        root / "model.pt",
        input_length=LENGTH,
        targets=["motif"],
        task="regression",
    )
    store = root / "attr.h5"
    code = main(
        [
            "attribute", "--model", str(root / "model.pt"), "--fasta", str(root / "genome.fa"),
            "--regions", str(root / "regions.bed"), "--out", str(store), "--steps", "8",
            "--baseline", "shuffle:2", "--no-progress",
        ]
    )  # fmt: skip
    assert code == 0
    return root


def _evaluate(data, out, *extra):
    return main(
        [
            "evaluate", "--store", str(data / "attr.h5"), "--model", str(data / "model.pt"),
            "--out", str(out), "--no-progress", "--eval-steps", "20", *extra,
        ]
    )  # fmt: skip


def test_outputs_match_the_library_and_beat_random(data, tmp_path, capsys):
    from seqsal.evaluate import faithfulness
    from seqsal.models.load import load_model

    out = tmp_path / "ev"
    assert _evaluate(data, out, "--chunk-size", "2") == 0
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"seqsal evaluate: {N_REGIONS} regions; deletion AUC ")
    assert sorted(p.name for p in out.iterdir()) == [
        "auc.tsv",
        "curves.png",
        "curves.tsv",
        "summary.json",
    ]
    auc = pd.read_csv(out / "auc.tsv", sep="\t")
    assert list(auc.columns[:6]) == ["name", "chrom", "start", "end", "strand", "kind"]
    assert auc["name"].tolist() == [f"r{i}" for i in range(N_REGIONS)] * 2
    with open_store(data / "attr.h5") as store:
        X, projected = store.raw[:], store.projected[:]
    model = load_model(str(data / "model.pt")).module
    expected = faithfulness(model, X, projected, target=0, score="raw", steps=20, seed=0)
    np.testing.assert_allclose(auc["auc"], expected.table()["auc"], atol=1e-6)
    np.testing.assert_allclose(auc["random_auc"], expected.table()["random_auc"], atol=1e-6)
    # the planted motif: IG ordering removes the score faster than chance in every region
    deletion = auc[auc["kind"] == "deletion"]
    assert (deletion["auc"] < deletion["random_auc"]).all()
    curves = pd.read_csv(out / "curves.tsv", sep="\t")
    assert len(curves) == 2 * N_REGIONS * (1 + 3) * 21
    first = curves[(curves["name"] == "r0") & (curves["kind"] == "deletion")]
    first = first[first["ordering"] == "attribution"]
    np.testing.assert_allclose(first["score"], expected.deletion.curves[0], atol=1e-6)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["target"] == "motif" and summary["score"] == "raw"
    assert summary["deletion"]["auc"] == pytest.approx(expected.deletion.auc.mean())
    png = (out / "curves.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_chunk_size_and_batch_size_do_not_change_results(data, tmp_path):
    tables = []
    for i, extra in enumerate([("--chunk-size", "1"), ("--batch-size", "3")]):
        assert _evaluate(data, tmp_path / f"e{i}", *extra) == 0
        tables.append(pd.read_csv(tmp_path / f"e{i}" / "auc.tsv", sep="\t"))
    np.testing.assert_allclose(tables[0]["auc"], tables[1]["auc"], atol=1e-6)
    np.testing.assert_allclose(tables[0]["random_auc"], tables[1]["random_auc"], atol=1e-6)


def test_sanity_uses_the_store_method(data, tmp_path, capsys):
    out = tmp_path / "s"
    assert _evaluate(data, out, "--sanity", "--max-regions", "3") == 0
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "randomising the top layer: Spearman |map|" in err
    table = pd.read_csv(out / "sanity.tsv", sep="\t")
    assert (table["method"] == "ig").all()
    first = table.iloc[0]
    assert (first["mode"], first["spearman_abs"], first["ssim"]) == ("original", 1.0, 1.0)
    assert set(table["mode"]) == {"original", "cascading", "independent"}
    assert (out / "sanity.png").read_bytes()[:4] == b"\x89PNG"
    assert len(pd.read_csv(out / "auc.tsv", sep="\t")) == 2 * 3


def test_errors_are_one_line_and_leave_no_output(data, tmp_path, capsys):
    out = tmp_path / "none"
    code = main(
        ["evaluate", "--store", str(tmp_path / "missing.h5"), "--model", str(data / "model.pt"),
         "--out", str(out)]
    )  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "missing.h5" in err
    assert not out.exists()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("x")
    assert _evaluate(data, busy) == 2
    assert "exists" in capsys.readouterr().err
    assert [p.name for p in busy.iterdir()] == ["keep.txt"]
    assert _evaluate(data, tmp_path / "t", "--target", "other") == 2
    assert "target='other'" in capsys.readouterr().err
    assert not (tmp_path / "t").exists()


def _options(parser, path=()):
    """(command path, option string, argparse action) of every option of every subcommand."""
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _options(sub, (*path, name))
        else:
            for option in action.option_strings:
                yield path, option, action


def test_an_option_word_means_one_thing_in_every_subcommand(data, tmp_path):
    from seqsal.cli import build_parser

    options = list(_options(build_parser()))
    steps = {path: action for path, option, action in options if option == "--steps"}
    assert {("attribute",), ("image", "attribute"), ("image", "evaluate")} <= set(steps)
    for path, action in steps.items():  # Integrated Gradients' steps, wherever it appears
        assert "IG" in action.help or "integration" in action.help, (path, action.help)
    # curve segments are --eval-steps, --patch and --n-random: one definition for DNA and images
    for word in ("--eval-steps", "--patch", "--n-random"):
        found = {path: a for path, option, a in options if option == word}
        assert set(found) == {("evaluate",), ("image", "evaluate")}, word
        dna, images = found[("evaluate",)], found[("image", "evaluate")]
        assert (dna.help, dna.default, dna.type) == (images.help, images.default, images.type)
    # and --eval-steps really sets the curves' segments: 7 segments, 8 points per curve
    out = tmp_path / "seven"
    assert _evaluate(data, out, "--eval-steps", "7") == 0
    curves = pd.read_csv(out / "curves.tsv", sep="\t")
    assert sorted(set(curves["step"])) == list(range(8))
    assert json.loads((out / "summary.json").read_text())["eval_steps"] == 7

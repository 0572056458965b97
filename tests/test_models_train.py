"""Training: learns a planted motif (beats a shuffled-label control), seeded determinism,
chromosome split, outputs written only on success, CLI."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from seqsal.cli import main
from seqsal.errors import InputError
from seqsal.io.bed import write_bed
from seqsal.io.fasta import write_fasta
from seqsal.models import load_model, predict
from seqsal.models.train import (
    choose_split,
    default_context,
    load_training_data,
    train,
)

MOTIF = "TGACGTCA"  # palindromic CRE site: strand-symmetric, as the RC augmentation assumes
LENGTH = 48
TINY = {"filters": 8, "kernel_size": 9, "conv_filters": 8, "n_blocks": 0, "hidden": 8}


def _planted(tmp_path, n_per_chrom=(160, 50, 50), seed=0, shuffle_labels=False):
    """Regions of random sequence; activity = number of planted motif copies (0-2) + noise."""
    g = np.random.default_rng(seed)
    records, rows = [], []
    for c, n in enumerate(n_per_chrom, start=1):
        chrom = f"chr{c}"
        pieces, pos = [], 0
        for i in range(n):
            spacer = "".join(g.choice(list("ACGT"), size=20))
            region = list(g.choice(list("ACGT"), size=LENGTH))
            copies = int(g.integers(0, 3))
            for k in range(copies):
                at = 4 + k * 22 + int(g.integers(0, 8))
                region[at : at + len(MOTIF)] = MOTIF
            pieces += [spacer, "".join(region)]
            start = pos + len(spacer)
            rows.append(
                (
                    chrom,
                    start,
                    start + LENGTH,
                    f"{chrom}_{i}",
                    copies + 0.1 * g.normal(),
                    int(copies > 0),
                )
            )
            pos = start + LENGTH
        pieces.append("A" * 20)
        records.append((chrom, "".join(pieces)))
    write_fasta(records, tmp_path / "genome.fa")
    df = pd.DataFrame(rows, columns=["chrom", "start", "end", "name", "activity", "label"])
    if shuffle_labels:
        df["activity"] = g.permutation(df["activity"].to_numpy())
    write_bed(df, tmp_path / "regions.bed", header=True)
    return tmp_path / "genome.fa", tmp_path / "regions.bed"


def _train(fasta, regions, **kw):
    options = dict(
        targets="activity", arch_kwargs=TINY, epochs=12, batch_size=16, lr=5e-3, patience=12, seed=0
    )
    options.update(kw)
    return train(fasta, regions, **options)


def test_learns_planted_motif_and_beats_shuffled_labels(tmp_path):
    real = _train(*_planted(tmp_path / "real"))
    control = _train(*_planted(tmp_path / "control", shuffle_labels=True))
    r_real = real.metrics["test"]["pearson"]["activity"]
    r_control = control.metrics["test"]["pearson"]["activity"]
    assert real.metrics["splits"]["test"] == {"n": 50, "chroms": ["chr3"]}
    assert real.metrics["splits"]["val"] == {"n": 50, "chroms": ["chr2"]}
    assert r_real > 0.7, real.metrics
    assert r_real > r_control + 0.4, (r_real, r_control)
    # Outputs are in the original units (standardization folded into the model).
    fasta, regions = tmp_path / "real" / "genome.fa", tmp_path / "real" / "regions.bed"
    from seqsal.models.predict import predict_regions

    table = predict_regions(real.model, fasta, regions)
    assert abs(table["pred_activity"].mean() - table["activity"].mean()) < 0.3


def test_same_seed_gives_identical_weights_and_leaves_global_rng(tmp_path):
    fasta, regions = _planted(tmp_path)
    torch.manual_seed(5)
    before = torch.random.get_rng_state()
    deterministic = torch.are_deterministic_algorithms_enabled()
    a = _train(fasta, regions, epochs=2)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert torch.are_deterministic_algorithms_enabled() == deterministic
    b = _train(fasta, regions, epochs=2)
    c = _train(fasta, regions, epochs=2, seed=1)
    for (name, va), vb in zip(
        a.model.state_dict().items(), b.model.state_dict().values(), strict=True
    ):
        assert torch.equal(va, vb), name
    assert any(
        not torch.equal(va, vc)
        for va, vc in zip(a.model.parameters(), c.model.parameters(), strict=True)
    )
    assert [h["train_loss"] for h in a.history] == [h["train_loss"] for h in b.history]


def test_outputs_round_trip_and_classification_task(tmp_path):
    fasta, regions = _planted(tmp_path)
    result = _train(fasta, regions, targets=["label"], epochs=3, out_dir=tmp_path / "model")
    assert result.metrics["task"] == "classification"
    assert set(result.metrics["test"]) == {"n", "auroc", "auprc"}
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == [
        "history.tsv",
        "metrics.json",
        "model.json",
        "weights.pt",
    ]
    assert json.loads((tmp_path / "model" / "metrics.json").read_text()) == result.metrics
    loaded = load_model(tmp_path / "model")
    assert (
        loaded.task == "classification"
        and loaded.targets == ["label"]
        and loaded.input_length == LENGTH + 8  # the regions and 4 flanking bases per side
    )
    assert loaded.metadata["metrics"] == result.metrics
    assert loaded.metadata["training"]["seed"] == 0
    x = torch.zeros(3, 4, LENGTH + 8)
    np.testing.assert_array_equal(predict(loaded, x), predict(result.model, x))
    history = pd.read_csv(tmp_path / "model" / "history.tsv", sep="\t")
    assert len(history) == result.metrics["epochs_run"] and history["best"].sum() == 1


def test_default_window_is_the_region_with_flanks(tmp_path):
    """The default window adds (kernel_size - 1) // 2 bases of the genome on each side of the
    region, centred, so that a site at a region's edge fits the first layer in every placement."""
    fasta, regions = _planted(tmp_path, n_per_chrom=(20, 10, 10))
    bare = load_training_data(fasta, regions, targets="activity")
    wide = load_training_data(fasta, regions, targets="activity", context=4)
    assert bare.X.shape[-1] == LENGTH and wide.X.shape[-1] == LENGTH + 8
    np.testing.assert_array_equal(wide.X[:, :, 4:-4], bare.X)
    # The flanks are the genome's own bases (the spacers), not N padding.
    genome = (tmp_path / "genome.fa").read_text().split("\n")[1]
    table = pd.read_csv(regions, sep="\t")
    first = table.iloc[0]
    left = genome[first["start"] - 4 : first["start"]]
    assert "".join("ACGT"[i] for i in wide.X[0, :, :4].argmax(axis=0)) == left
    assert (wide.X.sum(axis=1) == 1).all()

    assert default_context("cnn", TINY) == 4 and default_context("cnn") == 9
    assert default_context("dilated") == 10
    result = _train(fasta, regions, epochs=1)
    assert result.model.input_length == LENGTH + 8
    assert result.metrics["width"] == LENGTH + 8 and result.metrics["context"] == 4
    result = _train(fasta, regions, epochs=1, context=0)
    assert result.model.input_length == LENGTH and result.metrics["context"] == 0
    result = _train(fasta, regions, epochs=1, width=LENGTH + 2)
    assert result.model.input_length == LENGTH + 2 and result.metrics["context"] is None
    with pytest.raises(InputError, match="give one"):
        _train(fasta, regions, width=LENGTH, context=2)
    with pytest.raises(InputError, match="context=-1"):
        _train(fasta, regions, context=-1)


def test_default_split_and_errors():
    split = choose_split(["c", "a", "b", "a"], ["a", "b", "c", "d"])
    assert split == {"train": ["a"], "val": ["b"], "test": ["c"]}
    assert choose_split(["a", "b", "c"], ["a", "b", "c"], test_chroms="a")["val"] == ["c"]
    with pytest.raises(InputError, match="default hold-out needs"):
        choose_split(["a", "b"], ["a", "b"])
    with pytest.raises(InputError, match="chrZ holds no region"):
        choose_split(["a", "b", "c"], ["a", "b", "c"], val_chroms="chrZ")
    with pytest.raises(InputError, match="share b"):
        choose_split(["a", "b", "c"], ["a", "b", "c"], val_chroms="b", test_chroms="b,c")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--targets", "nope"], "no target column 'nope'"),
        (["--val-chroms", "chr9"], "chr9 holds no region"),
        (["--epochs", "0"], "epochs=0"),
        (["--arch-kwargs", "{bad"], "--arch-kwargs is not valid JSON"),
        (["--width", "48", "--context", "2"], "width=48 and context=2; give one"),
        (["--context", "-1"], "context"),
        (
            ["--task", "classification", "--targets", "activity"],
            "needs targets holding only 0 and 1",
        ),
    ],
)
def test_cli_bad_input_is_one_line_exit_2_and_no_output(tmp_path, capsys, extra, message):
    fasta, regions = _planted(tmp_path, n_per_chrom=(20, 10, 10))
    out = tmp_path / "out"
    code = main(
        [
            "train",
            "--fasta",
            str(fasta),
            "--regions",
            str(regions),
            "--out",
            str(out),
            "--no-progress",
            *extra,
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err and err.startswith("seqsal train: error:") and len(err.splitlines()) == 1
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_cli_train_then_predict(tmp_path, capsys):
    fasta, regions = _planted(tmp_path, n_per_chrom=(40, 12, 12))
    out = tmp_path / "model"
    args = [
        "train",
        "--fasta",
        str(fasta),
        "--regions",
        str(regions),
        "--out",
        str(out),
        "--targets",
        "activity",
    ]
    args += ["--epochs", "1", "--arch-kwargs", json.dumps(TINY), "--no-progress"]
    assert main(args) == 0
    assert "test (12 regions on chr3): pearson activity" in capsys.readouterr().out
    table_path = tmp_path / "pred.tsv"
    args = [
        "predict",
        "--model",
        str(out),
        "--fasta",
        str(fasta),
        "--regions",
        str(regions),
        "--out",
        str(table_path),
    ]
    assert main([*args, "--batch-size", "7", "--no-progress"]) == 0
    table = pd.read_csv(table_path, sep="\t")
    assert list(table.columns[:6]) == ["chrom", "start", "end", "name", "score", "strand"]
    assert list(table.columns[-1:]) == ["pred_activity"] and len(table) == 64
    from seqsal.io.bed import read_bed
    from seqsal.sequence.windows import extract_onehot, make_windows

    windows = make_windows(read_bed(regions), LENGTH + 8)  # the model's input length
    expected = predict(load_model(out), extract_onehot(str(fasta), windows))[:, 0]
    np.testing.assert_allclose(table["pred_activity"].to_numpy(), expected, rtol=1e-4, atol=1e-5)
    # A model folder that does not exist: one line, exit 2, no table.
    missing = [
        "predict",
        "--model",
        str(tmp_path / "nope"),
        "--fasta",
        str(fasta),
        "--regions",
        str(regions),
    ]
    assert main([*missing, "--out", str(tmp_path / "x.tsv")]) == 2
    assert "not found" in capsys.readouterr().err and not (tmp_path / "x.tsv").exists()

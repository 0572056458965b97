"""A bpnet-lite BPNet (profile and counts heads) through the command line: saved as a
TorchScript file and as package.module:Class + state dict; predict's columns, attribute with
--output / --reduce / --positions, and the one-line errors (nothing written)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from _toys import SMALL_BPNET_KWARGS, plain_torchscript, small_bpnet, two_chromosomes_five_regions

from seqsal.attribution import Target
from seqsal.cli import main
from seqsal.dna import attribute_dna
from seqsal.errors import InputError
from seqsal.io.store import open_store

pytest.importorskip("bpnetlite")

L = 80
KWARGS = SMALL_BPNET_KWARGS


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A 2-chromosome genome, 5 regions (both strands), a BPNet as TorchScript and as a
    class spec with its state dict."""
    root = tmp_path_factory.mktemp("heads")
    two_chromosomes_five_regions(root, seed=1)
    model = small_bpnet(seed=7, trimming=10)
    plain_torchscript(model, L, root / "bpnet.pt")
    torch.save(model.state_dict(), root / "bpnet.state.pt")
    (root / "kwargs.json").write_text(json.dumps(KWARGS))
    return root


@pytest.fixture(scope="module")
def windows_X(data):
    from seqsal.io.bed import read_bed
    from seqsal.io.fasta import open_genome
    from seqsal.sequence.windows import extract_onehot, make_windows

    with open_genome(data / "genome.fa") as genome:
        windows = make_windows(read_bed(data / "regions.bed"), L, chrom_sizes=genome.chrom_sizes)
        return windows, torch.from_numpy(extract_onehot(genome, windows))


def model_args(data, kind):
    if kind == "torchscript":
        return ["--model", str(data / "bpnet.pt"), "--width", str(L)]
    return [
        "--model", "bpnetlite.bpnet:BPNet",
        "--state-dict", str(data / "bpnet.state.pt"),
        "--model-kwargs", str(data / "kwargs.json"),
        "--width", str(L),
    ]  # fmt: skip


def run(data, command, *extra):
    argv = [command, "--fasta", str(data / "genome.fa"), "--regions", str(data / "regions.bed")]
    try:
        return main([*argv, *extra])
    except SystemExit as exit:  # argparse's own errors
        return exit.code


@pytest.mark.parametrize("kind", ["torchscript", "class"])
def test_predict_writes_a_column_per_scalar_target_of_every_head(data, windows_X, tmp_path, kind):
    _, X = windows_X
    out = tmp_path / "pred.tsv"
    assert run(data, "predict", *model_args(data, kind), "--out", str(out), "--no-progress") == 0
    table = pd.read_csv(out, sep="\t")
    assert list(table.columns[-3:]) == ["0.0.sum", "0.1.sum", "1"]
    model = small_bpnet(seed=7, trimming=10)
    with torch.no_grad():
        profile, counts = model(X)
    expected = np.column_stack([profile.sum(dim=2).numpy(), counts.numpy()])
    np.testing.assert_allclose(table[["0.0.sum", "0.1.sum", "1"]].to_numpy(), expected, rtol=1e-5)

    out = tmp_path / "counts.tsv"
    extra = ["--output", "0", "--reduce", "profile", "--out", str(out), "--no-progress"]
    assert run(data, "predict", *model_args(data, kind), *extra) == 0
    table = pd.read_csv(out, sep="\t")
    assert table.columns[-1] == "0.profile"
    from seqsal.attribution import resolve_targets

    with torch.no_grad():
        value = resolve_targets(Target(output=0, reduce="profile")).select((profile, counts), 0)
    np.testing.assert_allclose(table["0.profile"].to_numpy(), value.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("extra", "target", "attrs"),
    [
        (
            ["--output", "1"],
            Target(output=1),
            {"output": "1", "reduce": "", "target_index": -1, "target": "1"},
        ),
        (
            ["--output", "0", "--reduce", "profile", "--positions", "10:50"],
            Target(output=0, reduce="profile", positions=(10, 50)),
            {"output": "0", "reduce": "profile", "positions": "10:50", "target": "0.profile.10:50"},
        ),
        (
            ["--output", "0", "--target", "1", "--reduce", "sum"],
            Target(output=0, channel=1, reduce="sum"),
            {"output": "0", "reduce": "sum", "target_index": 1, "target": "1"},
        ),
    ],
)
def test_attribute_heads_write_what_the_dna_layer_computes(
    data, windows_X, tmp_path, extra, target, attrs
):
    _, X = windows_X
    out = tmp_path / "attr.h5"
    argv = [*model_args(data, "torchscript"), "--out", str(out), "--method", "saliency"]
    assert run(data, "attribute", *argv, *extra, "--no-progress") == 0
    expected = attribute_dna(small_bpnet(seed=7, trimming=10), X, method="saliency", target=target)
    with open_store(out) as store:
        np.testing.assert_allclose(store.projected[:], expected.projected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(
            store.hypothetical[:], expected.hypothetical, rtol=1e-5, atol=1e-6
        )
        for key, value in attrs.items():
            assert store.attrs[key] == value, key
    assert np.abs(expected.projected).sum() > 0


BAD = [
    (
        [],
        "output=None but the model returns 2 heads: 0 (n, 2, 60), 1 (n, 1); choose one with --output",
    ),
    (["--output", "2"], "output=2 is not a head of the model"),
    (["--output", "0"], "head 0 has a position axis, shape (n, 2, 60): choose --reduce from"),
    (["--output", "1", "--reduce", "sum"], "reduce='sum' needs a head with a position axis"),
    (
        ["--output", "0", "--reduce", "sum", "--positions", "50:70"],
        "positions=50:70 lie outside head 0",
    ),
    (
        ["--output", "0", "--target", "3", "--reduce", "mean"],
        "target=3 is out of range: head 0 has 2 channel(s)",
    ),
    (["--output", "0", "--positions", "5:9"], "without reduce"),
    (
        ["--output", "0", "--reduce", "sum", "--positions", "9:5"],
        "argument --positions: '9:5'; expected START:END with 0 <= START < END",
    ),
]


@pytest.mark.parametrize(
    ("command", "extra", "fragment"),
    [("attribute", *case) for case in BAD] + [("predict", *case) for case in BAD[1:]],
)
def test_bad_heads_are_one_line_errors_and_nothing_is_written(
    data, tmp_path, capsys, command, extra, fragment
):
    out = tmp_path / ("attr.h5" if command == "attribute" else "pred.tsv")
    argv = [*model_args(data, "torchscript"), "--out", str(out), "--no-progress", *extra]
    status = run(data, command, *argv)
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert len(err.splitlines()) == 1 and fragment in err, err
    assert not list(tmp_path.iterdir())


@pytest.fixture(scope="module")
def counts_store(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("store") / "counts.h5"
    argv = [*model_args(data, "torchscript"), "--out", str(out), "--method", "saliency"]
    assert run(data, "attribute", *argv, "--output", "1", "--no-progress") == 0
    return out


def test_evaluate_scores_the_head_the_store_explains(data, windows_X, counts_store, tmp_path):
    from seqsal.models.load import load_model
    from seqsal.store_evaluation import evaluate_store

    _, X = windows_X
    out = tmp_path / "eval"
    argv = [
        "evaluate", "--store", str(counts_store), *model_args(data, "torchscript")[:2],
        "--out", str(out), "--eval-steps", "4", "--n-random", "1", "--no-progress",
    ]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["target"] == "1" and summary["n_regions"] == 5
    result = evaluate_store(
        counts_store, load_model(data / "bpnet.pt", input_length=L), eval_steps=4, n_random=1
    )
    with torch.no_grad():
        counts = small_bpnet(seed=7, trimming=10)(X)[1][:, 0].numpy()
    # the first point of each deletion curve is the counts head on the intact window
    np.testing.assert_allclose(result.faithfulness.deletion.curves[:, 0], counts, rtol=1e-5)
    other = evaluate_store(
        counts_store,
        load_model(data / "bpnet.pt", input_length=L),
        target=Target(output=0, reduce="profile"),
        eval_steps=4,
        n_random=1,
    )
    assert other.target_name == "0.profile"
    assert not np.allclose(other.faithfulness.deletion.curves[:, 0], counts)


def test_a_null_of_another_head_is_refused(data, counts_store, tmp_path):
    from seqsal.io.store import open_store
    from seqsal.seqlets.control import check_control_store

    argv = [*model_args(data, "torchscript"), "--method", "saliency", "--shuffle-control"]
    profile = tmp_path / "profile_null.h5"
    extra = ["--output", "0", "--reduce", "profile", "--no-progress"]
    assert run(data, "attribute", *argv, "--out", str(profile), *extra) == 0
    same = tmp_path / "counts_null.h5"
    assert run(data, "attribute", *argv, "--out", str(same), "--output", "1", "--no-progress") == 0
    with open_store(counts_store) as observed, open_store(same) as control:
        assert check_control_store(observed, control) == []
    with open_store(counts_store) as observed, open_store(profile) as control:
        with pytest.raises(InputError, match=r"target is '0\.profile' in the control store"):
            check_control_store(observed, control)


@pytest.fixture(scope="module")
def counts_alone(data):
    """The counts head of the same BPNet as a plain single-output TorchScript model."""
    from _toys import OneHead

    return plain_torchscript(OneHead(small_bpnet(seed=7, trimming=10), 1), L, data / "counts.pt")


@pytest.mark.parametrize(
    ("head_args", "alone_target"),
    [(["--output", "1"], []), (["--output", "0", "--reduce", "profile"], None)],
)
def test_scan_and_candidates_of_a_head_equal_the_head_alone(
    data, tmp_path, counts_alone, head_args, alone_target
):
    """scan and candidates with --output on the BPNet equal the same commands on a model
    returning that head alone (the profile target: checked against the library)."""
    from seqsal.scan.genome import scan

    base = ["--fasta", str(data / "genome.fa"), "--stride", "20", "--no-progress"]
    ours = tmp_path / "ours.tsv"
    assert (
        main(["scan", *model_args(data, "torchscript"), *base, *head_args, "--out", str(ours)]) == 0
    )
    got = pd.read_csv(ours, sep="\t")
    assert len(got) > 10
    if alone_target is not None:
        alone = tmp_path / "alone.tsv"
        argv = ["scan", "--model", str(counts_alone), "--width", str(L), *base, "--out", str(alone)]
        assert main(argv) == 0
        pd.testing.assert_frame_equal(got, pd.read_csv(alone, sep="\t"))
    else:
        model = small_bpnet(seed=7, trimming=10)
        expected = scan(
            model,
            data / "genome.fa",
            width=L,
            stride=20,
            target=Target(output=0, reduce="profile"),
        ).to_frame()
        np.testing.assert_allclose(got["score"], expected["score"], rtol=1e-5, atol=1e-6)
    bed = tmp_path / "ours.bed"
    argv = ["candidates", "--scores", str(ours), *model_args(data, "torchscript"), *head_args]
    argv += ["--fasta", str(data / "genome.fa"), "--quantile", "0.8", "--null-windows", "50"]
    assert main([*argv, "--out", str(bed)]) == 0
    if alone_target is not None:
        other = tmp_path / "alone.bed"
        argv = ["candidates", "--scores", str(tmp_path / "alone.tsv"), "--model", str(counts_alone)]
        argv += ["--width", str(L), "--fasta", str(data / "genome.fa"), "--quantile", "0.8"]
        assert main([*argv, "--null-windows", "50", "--out", str(other)]) == 0
        assert bed.read_text() == other.read_text()
    assert len(bed.read_text().splitlines()) > 1


def test_scan_without_a_head_is_a_one_line_error(data, tmp_path, capsys):
    out = tmp_path / "s.tsv"
    argv = ["scan", *model_args(data, "torchscript"), "--fasta", str(data / "genome.fa")]
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "returns 2 heads: 0 (n, 2, 60), 1 (n, 1)" in err, err
    assert not out.exists()


@pytest.mark.parametrize("command", ["predict", "attribute"])
def test_a_model_without_a_length_asks_for_the_width_option(data, tmp_path, capsys, command):
    out = tmp_path / ("p.tsv" if command == "predict" else "a.h5")
    code = run(data, command, "--model", str(data / "bpnet.pt"), "--output", "1", "--out", str(out))
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--width" in err, err
    assert not out.exists()

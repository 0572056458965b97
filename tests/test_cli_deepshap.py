"""DeepSHAP from the command line: ``seqsal attribute --method deepshap --baseline shuffle:K``
writes what the DNA layer computes (with the delta), ``seqsal image attribute --methods
deepshap`` what the core computes, the workflow schema accepts ``attribute.method: deepshap``,
and a model without a DeepLIFT rule or ``shuffle:0`` is a one-line error, exit 2, nothing
written."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _toys import cli_status, saved_zoo_cnn, two_chromosomes_five_regions
from torch import nn

from seqsal.cli import main

LENGTH = 40


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("deepshap-cli")
    two_chromosomes_five_regions(root)
    saved_zoo_cnn(root / "model", length=LENGTH, targets=("activity", "label"))
    return root


def _attribute(data, out, *extra, model=None):
    return cli_status(
        [
            "attribute",
            "--model", model or data / "model",
            "--fasta", data / "genome.fa",
            "--regions", data / "regions.bed",
            "--out", out,
            "--no-progress",
            *extra,
        ]
    )  # fmt: skip


def test_attribute_deepshap_writes_what_the_dna_layer_computes(data, tmp_path, capsys):
    from seqsal.dna import attribute_dna
    from seqsal.io.bed import read_bed
    from seqsal.io.fasta import open_genome
    from seqsal.io.store import open_store
    from seqsal.models.load import load_model
    from seqsal.sequence.windows import extract_onehot, make_windows

    out = tmp_path / "attr.h5"
    extra = ["--method", "deepshap", "--baseline", "shuffle:3", "--target", "label"]
    assert _attribute(data, out, *extra, "--seed", 4, "--chunk-size", 2) == 0
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(
        "seqsal attribute: 5 regions, method deepshap, median |completeness delta| "
    )
    model = load_model(str(data / "model"))
    with open_genome(data / "genome.fa") as genome:
        windows = make_windows(
            read_bed(data / "regions.bed"), LENGTH, chrom_sizes=genome.chrom_sizes
        )
        X = extract_onehot(genome, windows)
    expected = attribute_dna(
        model.module, X, method="deepshap", baseline="shuffle:3", target=1, seed=4
    )
    with open_store(out) as store:
        np.testing.assert_allclose(store.hypothetical[:], expected.hypothetical, atol=1e-6)
        np.testing.assert_allclose(store.projected[:], expected.projected, atol=1e-6)
        np.testing.assert_allclose(store.delta[:], expected.delta, atol=1e-6)
        assert np.abs(store.delta[:]).max() < 1e-4
        assert store.attrs["method"] == "deepshap" and store.attrs["baseline"] == "shuffle:3"


class WithLayerNorm(nn.Module):
    input_length = LENGTH

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 3, 5)
        self.norm = nn.LayerNorm(LENGTH - 4)
        self.fc = nn.Linear(3, 1)

    def forward(self, x):
        return self.fc(self.norm(self.conv(x)).mean(-1))


@pytest.mark.parametrize(
    ("case", "pattern"),
    [
        ("no rule", r"no DeepLIFT rule for module 'norm' \(LayerNorm\)"),
        ("k = 0", r"shuffle:K needs K >= 1"),
    ],
)
def test_errors_are_one_line_exit_2_and_write_nothing(data, tmp_path, capsys, case, pattern):
    import re

    model = data / "model"
    if case == "no rule":
        torch.manual_seed(0)
        model = tmp_path / "norm.pt"
        torch.save(WithLayerNorm(), model)
    baseline = "shuffle:0" if case == "k = 0" else "shuffle:2"
    out = tmp_path / "out" / "attr.h5"
    (tmp_path / "out").mkdir()
    extra = ["--method", "deepshap", "--baseline", baseline, "--target", 0, "--trust-pickle"]
    status = _attribute(data, out, *extra, model=model)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert status == 2 and len(lines) == 1, captured.err
    assert "Traceback" not in captured.err and re.search(pattern, lines[0]), lines[0]
    assert list((tmp_path / "out").iterdir()) == []


def test_image_attribute_deepshap_equals_the_core(tmp_path, capsys):
    from seqsal import attribution as A
    from seqsal.io.images import read_images
    from seqsal.models import zoo
    from seqsal.models.images import load_image_model, save_image_model

    pngs = tmp_path / "pngs"
    assert main(["image", "demo-images", "--out", str(pngs), "--n", "2", "--size", "16"]) == 0
    module = zoo.build(
        "imagecnn", n_targets=10, task="classification", in_channels=1, channels=(4, 8), seed=1
    )
    save_image_model(
        module,
        tmp_path / "model",
        arch="imagecnn",
        arch_kwargs={"in_channels": 1, "channels": [4, 8]},
        class_names=[str(i) for i in range(10)],
        input_shape=(1, 16, 16),
    )
    paths = sorted(pngs.glob("digit*.png"))
    out = tmp_path / "out"
    argv = ["image", "attribute", "--model", tmp_path / "model", "--images", *paths]
    argv += ["--methods", "deepshap", "--target", "3", "--out", out, "--no-progress"]
    assert cli_status(argv) == 0, capsys.readouterr().err
    model = load_image_model(tmp_path / "model")
    X = np.asarray(read_images(paths, metadata=model.metadata), dtype=np.float32)
    expected = A.deepshap(model.module, X, target=3, baseline="black").attributions
    with np.load(out / "maps.npz") as npz:
        assert "deepshap" in npz.files and "ig" not in npz.files
        np.testing.assert_allclose(npz["deepshap"], expected.numpy(), rtol=1e-6, atol=1e-7)
    assert np.abs(expected.numpy()).max() > 0


def test_workflow_schema_accepts_deepshap():
    from seqsal.pipeline import _schema_problems

    def problems(method):
        found = _schema_problems({"attribute": {"method": method}}, {})
        return [f"{p.key}: {p.message}" for p in found if "method" in p.key]

    assert problems("deepshap") == []
    assert problems("ig") == []
    assert problems("deeplift") and "deepshap" in problems("deeplift")[0]

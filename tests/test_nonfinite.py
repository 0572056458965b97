"""A model that returns NaN for some windows: stopped (or, by option, skipped and reported) at
the source, ``seqsal attribute`` / ``attribute_to_store``, naming the regions; ``seqsal
predict`` warns, naming them."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from _toys import cli_status
from torch import nn

from seqsal.errors import ModelError

KMER = "GATTACA"
LENGTH = 40
#: regions (name, start) on chr1; the k-mer is planted inside r1 and r4
REGIONS = [("r0", 0), ("r1", 50), ("r2", 100), ("r3", 150), ("r4", 200), ("r5", 250)]
POISONED = ("r1", "r4")


class NaNOnKmer(nn.Module):
    """``sum(x * w)`` per window, but NaN (``mode="where"``: through ``torch.where``, so the
    gradient stays finite; ``mode="multiply"``: times NaN, so the gradient is NaN too) for a
    window holding ``KMER`` on its forward strand."""

    def __init__(self, mode: str = "where"):
        super().__init__()
        code = torch.zeros(1, 4, len(KMER))
        for j, base in enumerate(KMER):
            code[0, "ACGT".index(base), j] = 1.0
        self.register_buffer("kmer", code)
        self.weight = nn.Parameter(torch.linspace(-1, 1, 4 * LENGTH).reshape(1, 4, LENGTH))
        self.multiply = mode == "multiply"

    def forward(self, x):
        hits = torch.nn.functional.conv1d(x, self.kmer).amax(dim=(1, 2)) > len(KMER) - 0.5
        out = (x * self.weight).sum(dim=(1, 2))[:, None]
        nan = torch.full_like(out, float("nan"))
        if self.multiply:
            return out * torch.where(hits[:, None], nan, torch.ones_like(out))
        return torch.where(hits[:, None], nan, out)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """chr1 with KMER planted in the middle of r1 and r4; the regions BED; the model as a
    TorchScript file."""
    root = tmp_path_factory.mktemp("nonfinite")
    rng = np.random.default_rng(3)
    bases = np.array(list("ACGT"))
    sequence = list("".join(rng.choice(bases[[0, 1, 3]], size=320)))  # no G: no stray KMER
    for name, start in REGIONS:
        if name in POISONED:
            middle = start + LENGTH // 2 - len(KMER) // 2
            sequence[middle : middle + len(KMER)] = KMER
    (root / "genome.fa").write_text(">chr1\n" + "".join(sequence) + "\n")
    pd.DataFrame(
        {
            "chrom": "chr1",
            "start": [s for _, s in REGIONS],
            "end": [s + LENGTH for _, s in REGIONS],
            "name": [n for n, _ in REGIONS],
            "score": 0,
            "strand": "+",
        }
    ).to_csv(root / "regions.bed", sep="\t", header=False, index=False)
    example = torch.zeros(2, 4, LENGTH)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit is deprecated, but users still have such files
        for mode in ("where", "multiply"):
            torch.jit.trace(NaNOnKmer(mode), example).save(str(root / f"nan_{mode}.pt"))
    return root


def _windows(data):
    from seqsal.io.bed import read_bed
    from seqsal.io.fasta import open_genome
    from seqsal.sequence.windows import make_windows

    with open_genome(data / "genome.fa") as genome:
        return make_windows(read_bed(data / "regions.bed"), LENGTH, chrom_sizes=genome.chrom_sizes)


@pytest.mark.parametrize("mode", ["where", "multiply"])
@pytest.mark.parametrize("method", ["ig", "saliency", "grad_x_input", "smoothgrad", "ism"])
def test_attribute_to_store_stops_naming_the_regions_and_writes_nothing(
    data, tmp_path, method, mode
):
    from seqsal.dna import attribute_to_store

    module = NaNOnKmer(mode)
    out = tmp_path / "attr.h5"
    with pytest.raises(ModelError) as info:
        attribute_to_store(
            module,
            data / "genome.fa",
            _windows(data),
            out,
            method=method,
            steps=4,
            baseline="shuffle:2",
            n_samples=3,
            seed=0,
            chunk_size=4,  # r1 in the first chunk, r4 in the second
        )
    message = str(info.value)
    assert "\n" not in message
    assert "for 1 of the first 4 regions" in message and "region 'r1' (chr1:50-90 +)" in message
    assert list(tmp_path.iterdir()) == []  # no store, no temporary file, no side table


@pytest.mark.parametrize("method", ["ig", "saliency", "smoothgrad", "ism"])
def test_skip_leaves_the_regions_out_and_lists_them(data, tmp_path, caplog, method):
    from seqsal.dna import attribute_dna, attribute_to_store, skipped_regions_path
    from seqsal.io.fasta import open_genome
    from seqsal.io.store import open_store
    from seqsal.sequence.windows import extract_onehot

    module = NaNOnKmer("where")
    windows = _windows(data)
    out = tmp_path / "attr.h5"
    settings = {"steps": 4, "baseline": "shuffle:2", "n_samples": 3, "seed": 0}
    with caplog.at_level(logging.WARNING, logger="seqsal"):
        summary = attribute_to_store(
            module,
            data / "genome.fa",
            windows,
            out,
            method=method,
            nonfinite="skip",
            chunk_size=4,
            **settings,
        )
    assert (summary.n_regions, summary.n_skipped) == (4, 2)
    kept = [n for n, _ in REGIONS if n not in POISONED]
    with open_store(out) as store:
        assert store.coords["name"].tolist() == kept
        assert store.attrs["n_skipped_nonfinite"] == 2 and store.attrs["nonfinite"] == "skip"
        assert np.isfinite(store.hypothetical[:]).all()
        # the kept regions are attributed exactly as alone
        with open_genome(data / "genome.fa") as genome:
            X = extract_onehot(genome, windows[windows["name"].isin(kept)])
        expected = attribute_dna(module, X, method=method, **settings)
        np.testing.assert_allclose(store.hypothetical[:], expected.hypothetical, atol=1e-6)
    listed = pd.read_csv(skipped_regions_path(out), sep="\t")
    assert listed["name"].tolist() == list(POISONED)
    assert listed["start"].tolist() == [50, 200]
    assert "region 'r1' (chr1:50-90 +)" in caplog.text and "region 'r4'" in caplog.text


def test_skip_of_every_region_is_an_error(data, tmp_path):
    from seqsal.dna import attribute_to_store

    windows = _windows(data)
    with pytest.raises(ModelError, match="for all 2 regions"):
        attribute_to_store(
            NaNOnKmer("where"),
            data / "genome.fa",
            windows[windows["name"].isin(POISONED)],
            tmp_path / "a.h5",
            method="saliency",
            nonfinite="skip",
        )
    assert list(tmp_path.iterdir()) == []


def test_cli_attribute_fails_in_one_line_or_skips_by_option(data, tmp_path, capsys):
    from seqsal.io.store import open_store

    argv = [
        "attribute",
        "--model", str(data / "nan_where.pt"),
        "--width", str(LENGTH),
        "--fasta", str(data / "genome.fa"),
        "--regions", str(data / "regions.bed"),
        "--method", "saliency",
        "--no-progress",
    ]  # fmt: skip
    out = tmp_path / "attr.h5"
    assert cli_status([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("seqsal attribute: error: ")
    assert "2 of the first 6 regions: region 'r1' (chr1:50-90 +), region 'r4'" in err[0]
    assert "--skip-nonfinite" in err[0] and not out.exists()

    assert cli_status([*argv, "--out", str(out), "--skip-nonfinite"]) == 0
    err = capsys.readouterr().err
    assert "4 regions, 2 left out for NaN/inf (listed in " in err
    with open_store(out) as store:
        assert store.n == 4 and store.attrs["n_skipped_nonfinite"] == 2
    assert (tmp_path / "attr.skipped.tsv").is_file()
    # a later run with nothing to skip removes the stale list
    regions = tmp_path / "clean.bed"
    lines = (data / "regions.bed").read_text().splitlines()
    regions.write_text("\n".join(lines[i] for i in (0, 2)) + "\n")
    clean = [*argv[: argv.index("--regions") + 1], str(regions), *argv[argv.index("--method") :]]
    assert cli_status([*clean, "--out", str(out), "--skip-nonfinite"]) == 0
    assert not (tmp_path / "attr.skipped.tsv").exists()


def test_predict_warns_naming_the_regions(data, tmp_path, capsys, caplog):
    out = tmp_path / "predictions.tsv"
    argv = [
        "predict",
        "--model", str(data / "nan_where.pt"),
        "--width", str(LENGTH),
        "--fasta", str(data / "genome.fa"),
        "--regions", str(data / "regions.bed"),
        "--out", str(out),
        "--no-progress",
    ]  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="seqsal"):
        assert cli_status(argv) == 0
    assert (
        "NaN or infinite predictions for 2 of 6 regions: region 'r1' (chr1:50-90 +), "
        "region 'r4' (chr1:200-240 +)" in caplog.text
    )
    assert "2 with non-finite predictions" in capsys.readouterr().out
    table = pd.read_csv(out, sep="\t")
    values = table.iloc[:, -1]
    assert values.isna().tolist() == [name in POISONED for name in table["name"]]

"""Every subcommand: a bad input or an output that cannot be written is one line on stderr,
exit status 2, no traceback, and no work done (nothing computed, nothing written)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _toys import cli_status, saved_zoo_cnn, unwritable_folder

LENGTH = 40


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Valid inputs for every subcommand: a genome, regions with a numeric target, a model,
    an attribution store and its shuffled control, a scores table and an image."""
    from seqsal.dna import attribute_to_store
    from seqsal.io.bed import read_bed
    from seqsal.io.fasta import open_genome
    from seqsal.io.images import write_image
    from seqsal.models.load import load_model
    from seqsal.sequence.windows import make_windows

    root = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(0)
    chroms = {"chr1": 600, "chr2": 400, "chr3": 400}  # three: train holds two out
    with open(root / "genome.fa", "w") as handle:
        for chrom, size in chroms.items():
            handle.write(f">{chrom}\n{''.join(rng.choice(list('ACGT'), size))}\n")
    rows = [(f"chr{1 + min(i // 6, 2)}", 20 + 60 * (i % 6), f"r{i}") for i in range(16)]
    regions = pd.DataFrame(
        {
            "chrom": [c for c, _, _ in rows],
            "start": [s for _, s, _ in rows],
            "end": [s + LENGTH for _, s, _ in rows],
            "name": [n for _, _, n in rows],
            "score": 0,
            "strand": "+",
            "activity": rng.normal(size=len(rows)).round(3),
        }
    )
    with open(root / "regions.bed", "w") as handle:
        handle.write("#" + "\t".join(regions.columns) + "\n")
        regions.to_csv(handle, sep="\t", header=False, index=False)
    saved_zoo_cnn(root / "model", length=LENGTH)
    model = load_model(root / "model")
    with open_genome(root / "genome.fa") as genome:
        windows = make_windows(read_bed(root / "regions.bed"), LENGTH, chrom_sizes=chroms)
        for name, control in (("store.h5", False), ("null.h5", True)):
            attribute_to_store(
                model, genome, windows, root / name, method="saliency", shuffle_control=control
            )
    (root / "seqlets.bed").write_text("chr1\t25\t33\tr0\t0\t+\n")
    (root / "scores.tsv").write_text(
        "chrom\tstart\tend\tscore\tforward\treverse\nchr1\t0\t40\t0.5\t0.4\t0.6\n"
    )
    (root / "images").mkdir()
    write_image(root / "images" / "a.png", rng.random((1, 8, 8)))
    return root


# command -> (kind of --out, argv for an --out)
def _commands(d: Path) -> dict:
    model = ["--model", d / "model"]
    genome = ["--fasta", d / "genome.fa"]
    regions = ["--regions", d / "regions.bed"]
    store = ["--store", d / "store.h5"]
    image = ["--model", "digits-demo", "--images", d / "images", "--cache", d / "cache"]
    return {
        "simulate": ("folder", lambda out: ["simulate", "--n-regions", 10, "--out", out]),
        "extract": (
            "file",
            lambda out: ["extract", *genome, *regions, "--width", 20, "--out", out],
        ),
        "train": ("folder", lambda out: ["train", *genome, *regions, "--epochs", 1, "--out", out]),
        "predict": ("file", lambda out: ["predict", *model, *genome, *regions, "--out", out]),
        "attribute": ("file", lambda out: ["attribute", *model, *genome, *regions, "--out", out]),
        "merge": ("file", lambda out: ["merge", "--out", out, d / "store.h5", d / "store.h5"]),
        "export modisco": ("file", lambda out: ["export", "modisco", *store, "--out", out]),
        "export bigwig": ("file", lambda out: ["export", "bigwig", *store, *genome, "--out", out]),
        "seqlets": ("file", lambda out: ["seqlets", *store, "--null", d / "null.h5", "--out", out]),
        "motifs": (
            "folder",
            lambda out: ["motifs", *store, "--seqlets", d / "seqlets.bed", "--out", out],
        ),
        "report": ("file", lambda out: ["report", *store, "--out", out]),
        "scan": ("file", lambda out: ["scan", *model, *genome, "--out", out]),
        "candidates": (
            "file",
            lambda out: [
                *("candidates", *model, *genome, "--scores", d / "scores.tsv"),
                *("--quantile", 0.5, "--out", out),
            ],
        ),
        "evaluate": ("folder", lambda out: ["evaluate", *store, *model, "--out", out]),
        "image attribute": ("folder", lambda out: ["image", "attribute", *image, "--out", out]),
        "image evaluate": ("folder", lambda out: ["image", "evaluate", *image, "--out", out]),
        "image sanity": ("folder", lambda out: ["image", "sanity", *image, "--out", out]),
        "image demo-images": ("folder", lambda out: ["image", "demo-images", "--out", out]),
    }


COMMANDS = list(_commands(Path(".")))
SUFFIX = {
    "extract": ".npz",
    "predict": ".tsv",
    "attribute": ".h5",
    "merge": ".h5",
    "export modisco": "",
    "export bigwig": ".bw",
    "seqlets": ".bed",
    "report": ".html",
    "scan": ".tsv",
    "candidates": ".bed",
}


def _one_error_line(capsys, command: str) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    # argparse names the nested action (seqsal export bigwig: ...), the command's own
    # errors the command (seqsal export: ...)
    first = command.split()[0]
    assert re.match(rf"seqsal {first}( [a-z-]+)?: error: ", lines[0]), lines[0]
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


@pytest.mark.parametrize("problem", ["wrong kind", "under a file", "unwritable folder"])
@pytest.mark.parametrize("command", COMMANDS)
def test_an_output_that_cannot_be_written_stops_before_any_work(
    inputs, tmp_path, capsys, caplog, command, problem
):
    kind, argv = _commands(inputs)[command]
    name = "out" + SUFFIX.get(command, "")
    if problem == "wrong kind":
        out = tmp_path / (name + ("_seq.npz" if command == "export modisco" else ""))
        out.mkdir() if kind == "file" else out.write_text("a file")
        if command == "export modisco":
            out = tmp_path / name
        words = "is an existing folder" if kind == "file" else "is an existing file"
    elif problem == "under a file":
        (tmp_path / "a-file").write_text("x")
        out = tmp_path / "a-file" / "sub" / name
        words = "is a file, so no folder can be made below it"
    else:
        folder = unwritable_folder(tmp_path)
        if folder is None:
            pytest.skip("no folder refuses new files to this user")
        out = folder / "sub" / name
        words = "cannot write in folder"
    before = sorted(p.name for p in tmp_path.rglob("*"))
    inputs_before = sorted(p.name for p in inputs.rglob("*"))
    with caplog.at_level(logging.INFO):
        assert cli_status(argv(out)) == 2
    line = _one_error_line(capsys, command)
    assert "--out" in line and words in line, line
    # nothing was done: no new file anywhere (no temporary, no cache), no log line of work
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert sorted(p.name for p in inputs.rglob("*")) == inputs_before
    assert not [r for r in caplog.records if r.levelno >= logging.INFO], caplog.records


def test_train_in_an_unwritable_place_fails_before_the_first_epoch(
    inputs, tmp_path, capsys, caplog
):
    (tmp_path / "a-file").write_text("x")
    argv = ["train", "--fasta", inputs / "genome.fa", "--regions", inputs / "regions.bed"]
    with caplog.at_level(logging.DEBUG):
        assert cli_status([*argv, "--out", tmp_path / "a-file" / "model", "--no-progress"]) == 2
    assert "is a file, so no folder can be made below it" in _one_error_line(capsys, "train")
    assert not any("epoch" in r.getMessage() for r in caplog.records)


# command -> bad argv variants and a fragment of the one-line message
def _bad_inputs(d: Path, out: Path) -> list:
    missing = d / "missing"
    model = ["--model", d / "model"]
    genome = ["--fasta", d / "genome.fa"]
    regions = ["--regions", d / "regions.bed"]
    store = ["--store", d / "store.h5"]
    return [
        ("simulate", ["--out", out, "--n-regions", "many"], "--n-regions: 'many'"),
        ("simulate", ["--out", out, "--seed", "-1"], "--seed: '-1'; expected a non-negative"),
        ("extract", [*genome, "--regions", missing, "--width", 20, "--out", out / "x.npz"], "BED"),
        ("extract", [*genome, *regions, "--width", "x", "--out", out / "x.npz"], "--width: 'x'"),
        ("train", ["--fasta", missing, *regions, "--out", out / "m"], "missing"),
        ("train", [*genome, *regions, "--out", out / "m", "--train-batch-size", 0], "'0'"),
        ("predict", ["--model", missing, *genome, *regions, "--out", out / "p.tsv"], "missing"),
        ("predict", [*model, *genome, *regions, "--out", out / "p.tsv", "--batch-size", "x"], "x"),
        ("attribute", [*model, *genome, *regions, "--out", out / "a.h5", "--method", "nope"], "nope"),
        ("attribute", [*model, "--fasta", missing, *regions, "--out", out / "a.h5"], "missing"),
        ("merge", ["--out", out / "m.h5", missing], "no such attribution store"),
        ("merge", ["--out", out / "m.h5", d / "regions.bed"], "not an HDF5 file"),
        ("export", ["modisco", "--store", missing, "--out", out / "m"], "missing"),
        ("export", ["bigwig", *store, "--chrom-sizes", missing, "--out", out / "x.bw"], "missing"),
        ("seqlets", ["--store", missing, "--out", out / "s.bed"], "missing"),
        ("seqlets", [*store, "--out", out / "s.bed", "--fdr", "x"], "--fdr: invalid float"),
        ("motifs", [*store, "--seqlets", missing, "--out", out / "m"], "missing"),
        ("motifs", [*store, "--seqlets", missing, "--out", out / "m", "--top-matches", 0], "'0'"),
        ("report", ["--store", missing, "--out", out / "r.html"], "missing"),
        ("report", [*store, "--out", out / "r.html", "--jobs", "two"], "--jobs: 'two'"),
        ("scan", ["--model", missing, *genome, "--out", out / "s.tsv"], "missing"),
        ("scan", [*model, *genome, "--out", out / "s.tsv", "--strategy", "fast"], "fast"),
        ("candidates", [*model, *genome, "--scores", missing, "--fdr", 0.1, "--out", out / "c"], "missing"),
        ("candidates", [*model, *genome, "--out", out / "c.bed"], "--scores"),
        ("evaluate", ["--store", missing, *model, "--out", out / "e"], "missing"),
        ("evaluate", [*store, *model, "--out", out / "e", "--seed", "1.5"], "--seed: '1.5'"),
        ("image", ["attribute", "--model", "digits-demo", "--images", missing, "--out", out / "i"], "missing"),
        ("image", ["sanity", "--model", "m", "--images", "x", "--out", out / "i", "--steps", 0], "'0'"),
        ("image", ["demo-images", "--out", out / "d", "--n", "-3"], "--n: '-3'"),
    ]  # fmt: skip


@pytest.mark.parametrize("case", range(len(_bad_inputs(Path("."), Path(".")))))
def test_a_bad_input_is_one_line_and_exit_2(inputs, tmp_path, capsys, case):
    command, argv, fragment = _bad_inputs(inputs, tmp_path / "out")[case]
    if command in ("export", "image"):
        command = f"{command} {argv[0]}"
        argv = [*command.split(), *argv[1:]]
    else:
        argv = [command, *argv]
    assert cli_status(argv) == 2
    line = _one_error_line(capsys, command)
    assert str(fragment) in line, line
    assert not (tmp_path / "out").exists()


def test_a_damaged_store_is_one_line_in_every_reader(inputs, tmp_path, capsys):
    data = bytearray((inputs / "store.h5").read_bytes())
    at = data.find(b"TREE")
    data[at : at + 4] = b"XXXX"
    damaged = tmp_path / "damaged.h5"
    damaged.write_bytes(bytes(data))
    for argv in (
        ["seqlets", "--store", damaged, "--out", tmp_path / "s.bed"],
        ["export", "modisco", "--store", damaged, "--out", tmp_path / "m"],
        ["merge", "--out", tmp_path / "m.h5", damaged],
        ["report", "--store", damaged, "--out", tmp_path / "r.html", "--no-checksums"],
    ):
        assert cli_status(argv) == 2
        command = " ".join(argv[:2]) if argv[0] == "export" else argv[0]
        line = _one_error_line(capsys, command)
        assert f"{damaged}: " in line and "damaged" in line, line


def test_the_duplicate_name_error_says_what_a_command_line_user_can_do(inputs, tmp_path, capsys):
    bed = tmp_path / "dup.bed"
    bed.write_text("chr1\t0\t40\tpeak\nchr1\t100\t140\tpeak\n")
    argv = ["extract", "--fasta", inputs / "genome.fa", "--width", 20]
    assert cli_status([*argv, "--regions", bed, "--out", tmp_path / "x.npz"]) == 2
    line = _one_error_line(capsys, "extract")
    assert "line 2: duplicate region name 'peak' (also on line 1)" in line
    assert "rename one" in line and "unique_names" not in line
    bed.write_text("chr1\t200\t240\t.\nchr1\t200\t240\t.\n")
    assert cli_status([*argv, "--regions", bed, "--out", tmp_path / "x.npz"]) == 2
    line = _one_error_line(capsys, "extract")
    assert "duplicate region name 'chr1:200-240'" in line
    assert "remove the repeated region" in line and "unique_names" not in line

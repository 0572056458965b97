"""``seqsal run`` checks its config before Snakemake starts: one line, the file, the key, the fix.

The three cases of the issue (a misspelt key, a missing genome, a bad sample name) used to
end in 6 to 893 lines of Snakemake traceback with exit status 1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from seqsal.errors import ConfigError
from seqsal.pipeline import check_config, snakemake_error

ENV = {
    **os.environ,
    "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
}


@pytest.fixture
def inputs(tmp_path) -> Path:
    """A two-chromosome genome and a BED of three regions with an activity column."""
    folder = tmp_path / "inputs"
    folder.mkdir()
    (folder / "genome.fa").write_text(">chr1\n" + "ACGT" * 50 + "\n>chr2\n" + "TTGCA" * 40 + "\n")
    (folder / "regions.bed").write_text(
        "chrom\tstart\tend\tactivity\nchr1\t0\t50\t1.0\nchr1\t60\t110\t0.5\nchr2\t10\t60\t0.1\n"
    )
    return folder


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def seqsal_run(config: Path, run_dir: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "seqsal", "run", "--config", str(config)]
    return subprocess.run(
        [*command, "--directory", str(run_dir), "--dry-run"],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess) -> str:
    """The single stderr line of a refused run (exit status 2, no traceback)."""
    assert result.returncode == 2, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith("seqsal run: error: ")
    return lines[0].removeprefix("seqsal run: error: ")


def test_misspelt_key_names_the_line_and_the_closest_key(inputs, tmp_path):
    config = write(
        tmp_path / "c.yaml",
        f"genome: {inputs / 'genome.fa'}\nregoins: {inputs / 'regions.bed'}\n",
    )
    message = one_line_error(seqsal_run(config, tmp_path / "run"))
    assert message == f"{config}, line 2: regoins: unknown key; did you mean 'regions'?"
    assert not (tmp_path / "run").exists()


def test_missing_genome_names_the_value_and_where_it_was_looked_for(inputs, tmp_path):
    config = write(
        tmp_path / "c.yaml", f"regions: {inputs / 'regions.bed'}\ngenome: genome.fasta\n"
    )
    message = one_line_error(seqsal_run(config, tmp_path / "run"))
    assert message.startswith(f"{config}, line 2: genome: 'genome.fasta' not found (looked in ")
    assert message.endswith("; give an existing FASTA file")


def test_bad_sample_name_says_what_a_name_may_hold(inputs, tmp_path):
    config = write(
        tmp_path / "c.yaml",
        f"genome: {inputs / 'genome.fa'}\nregions: {inputs / 'regions.bed'}\nsample: my sample\n",
    )
    message = one_line_error(seqsal_run(config, tmp_path / "run"))
    assert message == (
        f"{config}, line 3: sample: 'my sample'; expected letters, digits, '_', '.' and '-' "
        "only (it names the folder results/<sample>/)"
    )


def test_bad_sample_name_in_a_sheet_names_the_sheet_and_its_line(inputs, tmp_path):
    sheet = write(
        tmp_path / "samples.tsv",
        f"sample\tregions\nok\t{inputs / 'regions.bed'}\nno/slash\t{inputs / 'regions.bed'}\n",
    )
    config = write(tmp_path / "c.yaml", f"genome: {inputs / 'genome.fa'}\nsamples: {sheet}\n")
    message = one_line_error(seqsal_run(config, tmp_path / "run"))
    assert message.startswith(f"{sheet}, line 3: sample: 'no/slash'; expected letters, digits")


def test_a_problem_snakemake_finds_while_planning_is_one_line_too(inputs, tmp_path):
    """A BED that seqsal reads inside the workflow (rules/common.smk) fails before any job."""
    bad = write(tmp_path / "bad.bed", "chr1\t10\tx\n")
    config = write(tmp_path / "c.yaml", f"genome: {inputs / 'genome.fa'}\nregions: {bad}\n")
    message = one_line_error(seqsal_run(config, tmp_path / "run"))
    assert message.startswith(f"{config}: Snakemake cannot plan the run: regions BED: ")
    assert f"{bad}, line 1: end 'x' is not an integer" in message
    assert not (tmp_path / "run" / "results").exists()


def test_a_good_config_still_plans(inputs, tmp_path):
    config = write(
        tmp_path / "c.yaml",
        f"genome: {inputs / 'genome.fa'}\nregions: {inputs / 'regions.bed'}\nsample: s1\n",
    )
    result = seqsal_run(config, tmp_path / "run")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "results/s1/report.html" in result.stdout + result.stderr


def _check(tmp_path: Path, text: str, inputs: Path) -> str:
    config = write(tmp_path / "c.yaml", text.format(inputs=inputs))
    with pytest.raises(ConfigError) as info:
        check_config(yaml.safe_load(config.read_text()), config, tmp_path)
    message = str(info.value)
    assert message.startswith(f"{config}")
    return message.removeprefix(f"{config}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "genome: {inputs}/genome.fa\nregions: {inputs}/regions.bed\ntrain:\n  epoch: 3\n",
            ", line 4: train.epoch: unknown key; did you mean 'train.epochs'?",
        ),
        (
            "genome: {inputs}/genome.fa\nregions: {inputs}/regions.bed\nseqlets:\n  sign: postive\n",
            ", line 4: seqlets.sign: 'postive'; expected one of both, positive, negative "
            "(did you mean 'positive'?)",
        ),
        (
            "genome: {inputs}/genome.fa\nregions: {inputs}/regions.bed\nwidth: wide\n",
            ", line 3: width: 'wide' (str); expected an integer or null",
        ),
        (
            "genome: {inputs}/genome.fa\nregions: {inputs}/regions.bed\n"
            "attribute:\n  shard_size: 0\n",
            ", line 4: attribute.shard_size: 0; expected a number >= 1",
        ),
        (
            "genome: {inputs}/genome.fa\nregions: {inputs}/regions.bed\nmodel: nowhere/model\n",
            ", line 3: model: 'nowhere/model' not found; give a seqsal model folder, a "
            "TorchScript file, package.module:Class, or null to train one",
        ),
        (
            "genome: {inputs}/genome.fa\nregions: {inputs}/regions.bed\nzzz: 1\n",
            ", line 3: zzz: unknown key; expected one of attribute, attributions, device, genome, "
            "gpus, layout, mem_mb, mode, model, motifs, predict, regions, report, results, runtime, "
            "sample, samples, scan, seqlets, threads, train, trust_pickle, width",
        ),
        (
            "attributions:\n  control:\n    store: nowhere.h5\n",
            ", line 3: attributions.control.store: 'nowhere.h5' not found (looked in the "
            "current folder, the run folder, and beside the config file and above); give an "
            "existing file or null",
        ),
        (
            "regions: {inputs}/regions.bed\nmodel: {inputs}/genome.fa\n"
            "attributions:\n  contributions: {inputs}/regions.bed\n",
            ", line 3: attributions: given with 'model' (line 2); attributions replace the "
            "model (train, predict and attribute are skipped) and explain one region set in "
            "regions mode: give one",
        ),
    ],
    ids=[
        "nested-key",
        "enum",
        "type",
        "minimum",
        "model",
        "no-close-key",
        "attributions-file",
        "attributions-and-model",
    ],
)
def test_check_config_messages(tmp_path, inputs, text, expected):
    assert _check(tmp_path, text, inputs) == expected


def test_every_problem_found_is_named_in_the_one_line(tmp_path, inputs):
    message = _check(tmp_path, "genome: nowhere.fa\nregions: nowhere.bed\n", inputs)
    assert message.startswith(", line 1: genome: 'nowhere.fa' not found")
    assert "(also: regions: 'nowhere.bed' not found" in message


def test_a_module_class_model_is_not_looked_up_as_a_file(tmp_path, inputs):
    config = write(
        tmp_path / "c.yaml",
        f"genome: {inputs}/genome.fa\nregions: {inputs}/regions.bed\nmodel: mypkg.nets:Net\n",
    )
    check_config(yaml.safe_load(config.read_text()), config, tmp_path)


def test_snakemake_error_takes_the_message_not_the_traceback():
    output = (
        "Using workflow specific profile /x/profiles/default for setting default command line "
        "arguments.\n"
        'WorkflowError in file "/x/rules/common.smk", line 119:\n'
        "genome: missing.fa: FASTA file not found\n"
        '  File "/x/rules/common.smk", line 135, in <module>\n'
        '  File "/x/rules/common.smk", line 119, in _index_genome\n'
    )
    assert snakemake_error(output) == "genome: missing.fa: FASTA file not found"
    missing = (
        "MissingInputException in rule predict in file /x/rules/predict.smk, line 4:\n"
        "Missing input files for rule predict:\n"
        "    affected files:\n"
        "        /data/model\n"
    )
    assert snakemake_error(missing) == (
        "MissingInputException: Missing input files for rule predict: affected files: /data/model"
    )
    assert snakemake_error("Building DAG of jobs...\nNothing to be done.\n") is None

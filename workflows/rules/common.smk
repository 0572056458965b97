# Configuration, sample table, shard counts and output paths shared by every rule.

import json
import math
import shlex
from pathlib import Path

import pandas as pd
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

validate(config, schema="../schemas/config.schema.yaml", set_default=True)

RESULTS = config["results"]


def _path_near(path, anchor):
    """``path`` as given when it exists (run directory), else relative to ``anchor``'s folder."""
    path = Path(path)
    if path.is_absolute() or path.exists() or anchor is None:
        return str(path)
    near = Path(anchor).parent / path
    return str(near) if near.exists() else str(path)


def _sample_table():
    """Sample name -> regions BED and model (None: train one), from the sheet or the config."""
    if config["genome"] is None:
        raise WorkflowError("config: 'genome' is required (a FASTA file); it is null")
    if config["samples"]:
        sheet = Path(config["samples"])
        if not sheet.exists():
            raise WorkflowError(f"config 'samples': no such sample sheet {sheet}")
        table = pd.read_csv(
            sheet, sep="\t", dtype=str, comment="#", keep_default_na=False
        )
        if "model" not in table:
            table["model"] = ""
        validate(table, schema="../schemas/samples.schema.yaml")
        rows = [
            {
                "sample": row["sample"],
                "regions": _path_near(row["regions"], sheet),
                "model": (
                    _path_near(row["model"], sheet) if row["model"].strip() else None
                ),
            }
            for row in table.to_dict("records")
        ]
    elif config["regions"]:
        rows = [
            {"sample": config["sample"], "regions": config["regions"], "model": None}
        ]
    else:
        raise WorkflowError(
            "config: give 'regions' (one BED) or 'samples' (a sample sheet)"
        )
    names = [row["sample"] for row in rows]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise WorkflowError(f"sample sheet: sample names repeat: {repeated}")
    for row in rows:
        if row["model"] is None:
            row["model"] = config["model"]
    return pd.DataFrame(rows, dtype=object).set_index("sample", drop=False)


def _count_regions(path):
    """Regions in a BED (read with seqsal, so a bad file fails here, naming file and line)."""
    from seqsal.errors import SeqsalError
    from seqsal.io.bed import read_bed

    try:
        return len(read_bed(path))
    except SeqsalError as err:
        raise WorkflowError(f"regions BED: {err}") from err


def _index_genome(path):
    """Open the genome once so its .fai exists before parallel jobs read it."""
    from seqsal.errors import SeqsalError
    from seqsal.io.fasta import open_genome

    try:
        open_genome(path).close()
    except SeqsalError as err:
        raise WorkflowError(f"genome: {err}") from err
    except FileNotFoundError as err:
        raise WorkflowError(f"config 'genome': no such FASTA {path}") from err


SAMPLES = _sample_table()
N_REGIONS = {s: _count_regions(SAMPLES.loc[s, "regions"]) for s in SAMPLES.index}
N_SHARDS = {
    s: max(1, math.ceil(n / config["attribute"]["shard_size"]))
    for s, n in N_REGIONS.items()
}
_index_genome(config["genome"])


def out(sample, name):
    """Path of an output of a sample."""
    return f"{RESULTS}/{sample}/{name}"


def regions_of(wildcards):
    return SAMPLES.loc[wildcards.sample, "regions"]


def trained(sample):
    return SAMPLES.loc[sample, "model"] is None


def model_of(wildcards):
    """The model folder trained for the sample, or the model named in the config/sheet."""
    if trained(wildcards.sample):
        return out(wildcards.sample, "model")
    return SAMPLES.loc[wildcards.sample, "model"]


def model_input(wildcards):
    """Model as an input of a job: the trained folder (a dependency) or nothing for a given model."""
    return [out(wildcards.sample, "model")] if trained(wildcards.sample) else []


def shard_names(sample):
    width = len(str(N_SHARDS[sample] - 1))
    return [f"{i:0{width}d}" for i in range(N_SHARDS[sample])]


def shard_stores(wildcards):
    """Every shard store of one kind ("attr" or "null") of a sample, in BED order."""
    return [
        out(wildcards.sample, f"shards/{wildcards.kind}.{shard}.h5")
        for shard in shard_names(wildcards.sample)
    ]


def null_store(wildcards):
    """The shuffled-control store when the config asks for one (else the seqlet fallback)."""
    return (
        [out(wildcards.sample, "null.h5")]
        if config["attribute"]["shuffle_control"]
        else []
    )


def option(flag, value):
    """``--flag value`` (shell-quoted) or nothing when value is None."""
    return "" if value is None else f"{flag} {shlex.quote(str(value))}"


def switch(flag, on):
    return flag if on else ""


def threads_of(stage):
    return config["threads"].get(stage, config["threads"]["default"])


def resources_of(stage):
    return {
        "mem_mb": config["mem_mb"].get(stage, config["mem_mb"]["default"]),
        "runtime": config["runtime"].get(stage, config["runtime"]["default"]),
    }


GPUS = config["gpus"]


def final_outputs():
    """The targets of the whole run, per sample: the report, logos and (optionally) predictions."""
    targets = []
    for sample in SAMPLES.index:
        targets.append(out(sample, "report.html"))
        targets.append(out(sample, "logos"))
        if config["predict"]["enabled"]:
            targets.append(out(sample, "predictions.tsv"))
        if config["width"] is not None:
            targets.append(out(sample, "sequences.fa"))
    return targets

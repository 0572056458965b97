# Configuration, sample table, shard counts and output paths shared by every rule.

import json
import math
import re
import shlex
from pathlib import Path

import pandas as pd
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

validate(config, schema="../schemas/config.schema.yaml", set_default=True)

RESULTS = config["results"]
SCAN = config["mode"] == "scan"
# Attributions mode: start from a store or imported files; no model (rules/import.smk).
ATTRIBUTIONS = bool(
    config["attributions"]["store"] or config["attributions"]["contributions"]
)
if ATTRIBUTIONS and config["genome"] is None:
    config["genome"] = []  # no rule that reads the genome runs; the rules still name it


def _path_near(path, anchor):
    """``path`` as given when it exists (run directory), else relative to ``anchor``'s folder."""
    path = Path(path)
    if path.is_absolute() or path.exists() or anchor is None:
        return str(path)
    near = Path(anchor).parent / path
    return str(near) if near.exists() else str(path)


def _sample_table():
    """Sample name -> regions BED and model (None: train one), from the sheet or the config."""
    if ATTRIBUTIONS:
        return _attributions_sample()
    if config["genome"] is None:
        raise WorkflowError("config: 'genome' is required (a FASTA file); it is null")
    if config["width"] is not None and config["train"]["context"] is not None:
        raise WorkflowError(
            f"config: 'width' is {config['width']} and 'train.context' is "
            f"{config['train']['context']}; set one (width is the whole window, context widens "
            "the regions' own width)"
        )
    if SCAN:
        return _scan_sample()
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


def _attributions_sample():
    """The one sample of attributions mode: no model, regions only as the import's BED."""
    given = [k for k in ("model", "samples") if config[k]]
    if SCAN:
        given.insert(0, "mode: scan")
    if given:
        raise WorkflowError(
            f"config: 'attributions' and {', '.join(map(repr, given))} are both given; "
            "attributions replace the model (train, predict and attribute are skipped): "
            "give one"
        )
    for block, name in (
        (config["attributions"], "attributions"),
        (config["attributions"]["control"], "attributions.control"),
    ):
        if block["store"] and block["contributions"]:
            raise WorkflowError(
                f"config: '{name}.store' and '{name}.contributions' are both given; give one"
            )
    settings = config["attributions"]
    if settings["contributions"] and not settings["regions"]:
        raise WorkflowError(
            "config: 'attributions.contributions' needs 'attributions.regions', the BED of "
            "its rows"
        )
    row = {"sample": config["sample"], "regions": settings["regions"], "model": None}
    return pd.DataFrame([row], dtype=object).set_index("sample", drop=False)


def _scan_sample():
    """The one sample of scan mode: its model is given, or trained on ``regions``."""
    if config["samples"]:
        raise WorkflowError(
            "config: scan mode explains the candidates of one model; give 'model' or "
            "'regions' (to train one), not 'samples'"
        )
    if config["model"] is None and not config["regions"]:
        raise WorkflowError(
            "config: scan mode needs a model: give 'model', or 'regions' to train one on"
        )
    row = {
        "sample": config["sample"],
        "regions": config["regions"] or None,
        "model": config["model"],
    }
    return pd.DataFrame([row], dtype=object).set_index("sample", drop=False)


def _count_regions(path):
    """Regions in a BED (read with seqsal, so a bad file fails here, naming file and line)."""
    from seqsal.errors import SeqsalError
    from seqsal.io.bed import read_bed

    try:
        return len(read_bed(path))
    except SeqsalError as err:
        raise WorkflowError(f"regions BED: {err}") from err


def _index_genome(path):
    """Open the genome once so its .fai exists before parallel jobs read it; its sizes."""
    from seqsal.errors import SeqsalError
    from seqsal.io.fasta import open_genome

    try:
        genome = open_genome(path)
        sizes = dict(genome.chrom_sizes)
        genome.close()
        return sizes
    except SeqsalError as err:
        raise WorkflowError(f"genome: {err}") from err
    except FileNotFoundError as err:
        raise WorkflowError(f"config 'genome': no such FASTA {path}") from err


SAMPLES = _sample_table()
N_REGIONS = {
    s: _count_regions(SAMPLES.loc[s, "regions"])
    for s in SAMPLES.index
    if SAMPLES.loc[s, "regions"] is not None
}
# Regions mode: shards fixed now. Scan mode: counted from the top candidates (checkpoint).
N_SHARDS = {
    s: max(1, math.ceil(n / config["attribute"]["shard_size"]))
    for s, n in N_REGIONS.items()
}
CHROM_SIZES = (
    {} if ATTRIBUTIONS and not config["genome"] else _index_genome(config["genome"])
)


def _scan_spans():
    """Scan mode: ``{chrom: (first, last)}``, the span of window starts scanned per sequence.

    Whole sequences, or from the first to the last base of ``scan.regions`` on it, for the
    chromosomes named by ``scan.chroms`` (all when null), in genome order.
    """
    from seqsal.errors import SeqsalError
    from seqsal.io.bed import read_bed

    settings = config["scan"]
    if settings["regions"]:
        try:
            table = read_bed(settings["regions"], chrom_sizes=CHROM_SIZES)
        except SeqsalError as err:
            raise WorkflowError(f"config scan.regions: {err}") from err
        except FileNotFoundError as err:
            raise WorkflowError(
                f"config scan.regions: no such BED {settings['regions']}"
            ) from err
        grouped = table.groupby("chrom", sort=False)
        spans = {c: (int(g["start"].min()), int(g["end"].max())) for c, g in grouped}
    else:
        spans = {c: (0, n) for c, n in CHROM_SIZES.items()}
    if settings["chroms"]:
        wanted = [c.strip() for c in settings["chroms"].split(",") if c.strip()]
        unknown = [c for c in wanted if c not in CHROM_SIZES]
        if unknown:
            raise WorkflowError(
                f"config scan.chroms: {', '.join(unknown)} not in the genome "
                f"({', '.join(list(CHROM_SIZES)[:10])}...)"
            )
        spans = {c: spans[c] for c in wanted if c in spans}
    if not spans:
        raise WorkflowError(
            "config scan: no chromosome left to scan (scan.chroms, scan.regions)"
        )
    return {c: spans[c] for c in CHROM_SIZES if c in spans}


def _scan_chunks():
    """Scan mode: ``{chrom: [chunk, ...]}``; chunk k scans window starts in
    ``[k * chunk_size, (k + 1) * chunk_size)`` (clipped to the sequence)."""
    size = config["scan"]["chunk_size"]
    return {
        chrom: list(
            range(first // size, max(first // size + 1, math.ceil(last / size)))
        )
        for chrom, (first, last) in _scan_spans().items()
    }


SCAN_CHUNKS = _scan_chunks() if SCAN else {}


def out(sample, name):
    """Path of an output of a sample."""
    return f"{RESULTS}/{sample}/{name}"


def regions_of(wildcards):
    """Regions explained: the sample's BED, or in scan mode the top candidates' windows."""
    if SCAN:
        return out(wildcards.sample, "scan/top.bed")
    # attributions mode: a store may come without its BED (no rule needs it then)
    return SAMPLES.loc[wildcards.sample, "regions"] or []


def training_regions_of(wildcards):
    """Regions a model is trained on (the sample's BED, in either mode)."""
    return SAMPLES.loc[wildcards.sample, "regions"]


def trained(sample):
    return not ATTRIBUTIONS and SAMPLES.loc[sample, "model"] is None


def model_of(wildcards):
    """The model folder trained for the sample, or the model named in the config/sheet."""
    if trained(wildcards.sample):
        return out(wildcards.sample, "model")
    return SAMPLES.loc[wildcards.sample, "model"]


def layout_of(wildcards):
    """``--layout`` for a given model (config ``layout``); nothing for a model trained here."""
    if trained(wildcards.sample):
        return ""
    return option("--layout", config["layout"])


def model_input(wildcards):
    """Model as an input of a job: the trained folder (a dependency) or nothing for a given model."""
    return [out(wildcards.sample, "model")] if trained(wildcards.sample) else []


def n_shards(sample):
    """Attribution shards of a sample; in scan mode once the top candidates exist."""
    if SCAN:
        top = checkpoints.scan_regions.get(sample=sample).output.bed
        n = _count_regions(top)
        return max(1, math.ceil(n / config["attribute"]["shard_size"]))
    return N_SHARDS[sample]


def shard_names(sample):
    count = n_shards(sample)
    width = len(str(count - 1))
    return [f"{i:0{width}d}" for i in range(count)]


def chunk_name(chunk):
    width = len(str(max(max(c) for c in SCAN_CHUNKS.values())))
    return f"{chunk:0{width}d}"


def scan_shards(wildcards):
    """Every scan shard (scores table) of a sample, in genome order."""
    return [
        out(wildcards.sample, f"scan/{chrom}.{chunk_name(chunk)}.tsv.gz")
        for chrom, chunks in SCAN_CHUNKS.items()
        for chunk in chunks
    ]


def scan_span(wildcards):
    """``chrom:start-end`` of window starts scanned by one shard."""
    size = config["scan"]["chunk_size"]
    start = int(wildcards.chunk) * size
    end = min(start + size, CHROM_SIZES[wildcards.chrom])
    return f"{wildcards.chrom}:{start}-{end}"


def shard_stores(wildcards):
    """Every shard store of one kind ("attr" or "null") of a sample, in BED order."""
    return [
        out(wildcards.sample, f"shards/{wildcards.kind}.{shard}.h5")
        for shard in shard_names(wildcards.sample)
    ]


def null_store(wildcards):
    """The shuffled-control store when the config asks for one (else the seqlet fallback)."""
    if ATTRIBUTIONS:
        control = config["attributions"]["control"]
        wanted = bool(control["store"] or control["contributions"])
    else:
        wanted = config["attribute"]["shuffle_control"]
    return [out(wildcards.sample, "null.h5")] if wanted else []


def option(flag, value):
    """``--flag value`` (shell-quoted) or nothing when value is None."""
    return "" if value is None else f"{flag} {shlex.quote(str(value))}"


def switch(flag, on):
    return flag if on else ""


def target_options():
    """--target, --output, --reduce, --positions from the attribute settings (each only when
    set): the one output that attribute, scan and candidates explain or score."""
    settings = config["attribute"]
    return " ".join(
        part
        for part in (
            option("--target", settings.get("target")),
            option("--output", settings.get("output")),
            option("--reduce", settings.get("reduce")),
            option("--positions", settings.get("positions")),
        )
        if part
    )


def threads_of(stage):
    return config["threads"].get(stage, config["threads"]["default"])


def resources_of(stage):
    return {
        "mem_mb": config["mem_mb"].get(stage, config["mem_mb"]["default"]),
        "runtime": config["runtime"].get(stage, config["runtime"]["default"]),
    }


GPUS = config["gpus"]


def report_title(wildcards):
    """Title of a sample's report: the configured title, the sample and (scan) the run mode."""
    title = f"{config['report']['title']}: {wildcards.sample}"
    if SCAN:
        title += f" (scan mode: top {config['scan']['top']} candidates)"
    return title


def final_outputs():
    """The targets of the whole run, per sample: the report, logos and (optionally) predictions;
    in scan mode also the candidates and the bigWig of window scores."""
    targets = []
    for sample in SAMPLES.index:
        if SCAN:
            targets.append(out(sample, "candidates.bed"))
            targets.append(out(sample, "scores.bw"))
        targets.append(out(sample, "report.html"))
        targets.append(out(sample, "logos"))
        if ATTRIBUTIONS:  # no model, no genome needed: no predictions, no windows
            continue
        if config["predict"]["enabled"]:
            targets.append(out(sample, "predictions.tsv"))
        if config["width"] is not None:
            targets.append(out(sample, "sequences.fa"))
    return targets


# --- attributions mode (rules/import.smk) ---


def attributions_block(kind):
    """The config block of a store kind: the attributions ("attr") or their control ("null")."""
    settings = config["attributions"]
    return settings if kind == "attr" else settings["control"]


def attributions_inputs(wildcards):
    """The files a store kind is made from."""
    block = attributions_block(wildcards.kind)
    if block["store"]:
        return {"store": block["store"]}
    regions = block.get("regions") or config["attributions"]["regions"]
    files = {"contributions": block["contributions"], "regions": regions}
    if block["sequences"]:
        files["sequences"] = block["sequences"]
    return files


def import_command(wildcards, input, output):
    """``ln -s`` of a given store, or the ``seqsal import`` command line."""
    if "store" in input.keys():
        source = shlex.quote(str(Path(input.store).resolve()))
        return f"ln -sfn {source} {shlex.quote(output.store)}"
    settings = config["attributions"]
    words = [
        "seqsal import",
        f"--contributions {shlex.quote(input.contributions)}",
        option("--sequences", input.get("sequences")),
        f"--regions {shlex.quote(input.regions)}",
        f"--out {shlex.quote(output.store)}",
        f"--kind {settings['kind']} --layout {settings['layout']}",
        option("--summit-column", settings["summit_column"]),
        switch("--stranded", settings["stranded"]),
        switch("--control", wildcards.kind == "null"),
        option("--source-method", settings["method"]),
    ]
    return " ".join(w for w in words if w)

"""Scan mode: the top candidates as windows of the scan's window length, centred on each.

The window length is the config's ``width`` when given (the scan used it too), else the
model's input length.  A window is centred on the candidate's best window
(``peak_start``/``peak_end`` of ``seqsal candidates``, already that long), else on the
candidate's middle.

Run by Snakemake's ``script:`` directive (checkpoint ``scan_regions``), which defines
``snakemake``. The windows are the regions of the attribution chain, so attribution sees
exactly the window the output BED shows (no further re-centring).
"""

import logging

from seqsal.errors import InputError
from seqsal.io.bed import read_bed, write_bed
from seqsal.io.fasta import open_genome
from seqsal.models.ensemble import load_ensemble
from seqsal.models.load import load_model
from seqsal.sequence.windows import make_windows

log = logging.getLogger("scan_regions")

#: Whole-number columns of ``seqsal candidates`` (read back as floats: extra BED columns).
INTEGER_COLUMNS = ("score", "rank", "n_windows", "peak_start", "peak_end")


def model_length(model, *, trust_pickle: bool = False, width=None, layout=None) -> int:
    """The window length: ``width`` from the config, else the model's input length.

    The model is loaded (and checked at ``width`` when its files record no length) either way,
    so a model that cannot run fails here, naming the file; a list of models (a fold
    ensemble) is loaded as one, so models that disagree fail here too.
    """
    models = list(model) if isinstance(model, (list, tuple)) else [model]
    options = {"trust_pickle": trust_pickle, "input_length": width, "layout": layout}
    if len(models) > 1:  # a fold ensemble: every model loads and they agree
        loaded = load_ensemble(models, **options)
    else:
        loaded = load_model(models[0], **options)
    length = width if width is not None else loaded.input_length
    if length is None:
        raise InputError(
            f"model {model} does not record its input length; set 'width' in the config"
        )
    return int(length)


def top_windows(candidates, out, *, top: int, length: int, chrom_sizes) -> int:
    """Write the ``top`` best-ranked candidates of ``candidates`` as ``length``-base windows.

    Each window is centred on its candidate's best window (``peak_start``/``peak_end``) or,
    without those columns, on the candidate's middle (``seqsal.sequence.windows.make_windows``);
    the candidate's own span is kept as ``candidate_start``/``candidate_end`` and its other
    columns (score, rank, q-value, ...) follow. Returns the number of windows written.
    """
    table = read_bed(candidates, chrom_sizes=chrom_sizes)
    if len(table) == 0:
        raise InputError(
            "no candidate passed the threshold; loosen scan.fdr / scan.quantile", path=candidates
        )
    if "rank" in table.columns:
        table = table.sort_values("rank", kind="stable")
    table = table.head(top).copy()
    table["candidate_start"] = table["start"]
    table["candidate_end"] = table["end"]
    if {"peak_start", "peak_end"} <= set(table.columns):
        table["start"] = table["peak_start"].astype("int64")
        table["end"] = table["peak_end"].astype("int64")
    windows = make_windows(table, length, chrom_sizes=chrom_sizes, out_of_bounds="error")
    windows = windows.drop(columns=["pad_left", "pad_right"])
    for column in INTEGER_COLUMNS:
        if column in windows.columns:
            windows[column] = windows[column].round().astype("int64")
    write_bed(windows, out, header=True)
    return len(windows)


if __name__ == "__main__":
    smk = globals()["snakemake"]
    logging.basicConfig(filename=smk.log[0], level=logging.INFO, format="%(message)s")
    genome = open_genome(smk.input.genome)
    sizes = dict(genome.chrom_sizes)
    genome.close()
    length = model_length(
        smk.params.model,
        trust_pickle=bool(smk.params.trust_pickle),
        width=smk.params.width,
        layout=smk.params.layout,
    )
    n = top_windows(
        smk.input.candidates,
        smk.output.bed,
        top=int(smk.params.top),
        length=length,
        chrom_sizes=sizes,
    )
    log.info("%d top candidates as %d-base windows -> %s", n, length, smk.output.bed)

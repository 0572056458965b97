"""The motif report: one self-contained HTML file that opens from disk with no server.

:func:`write_report` gathers what a run left behind (attribution store, motifs folder,
seqlets BED, model folder), renders every logo as an inline PNG and fills the jinja2 template
``templates/report.html.j2`` (shipped as package data).  Nothing in the page is fetched:
images are ``data:`` URIs, histograms inline SVG, CSS and the table-sorting script inline.
Every string that comes from an input (region, motif, sample and file names) goes through
jinja2's autoescaping, so a name such as ``<img src=x onerror=alert(1)>`` shows as text.

Missing pieces (no store, a store without motifs, motifs without matches, an empty run) give a
report that says so; only a path that does not exist raises :class:`~seqsal.errors.InputError`.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

import numpy as np

from seqsal.errors import InputError
from seqsal.io.checksum import sha256_file

log = logging.getLogger(__name__)

#: Files of a ``seqsal motifs`` output folder, in the order listed in the report.
MOTIF_FILES = {
    "motifs.meme": "motif PPMs (MEME v4)",
    "motifs.h5": "motifs with CWMs, sign, trim, members (TF-MoDISco layout)",
    "motifs.tsv": "annotation: database matches with p-, q- and E-values",
    "hits.bed": "motif instances (BED6+, genome coordinates)",
    "seqlets.bed": "seqlets with their motif assignment (BED6+)",
    "discovery.json": "which seqlets the motifs were built from (source, FDR, null, count)",
}

#: Packages whose versions are listed under provenance (read from metadata, not imported).
DEPENDENCIES = (
    "numpy",
    "pandas",
    "torch",
    "h5py",
    "memelite",
    "pyjaspar",
    "logomaker",
    "matplotlib",
    "jinja2",
)

#: Matches listed per motif in the table (the best one with its logo).
MATCHES_SHOWN = 3

#: Example seqlets listed per motif.
EXAMPLES_SHOWN = 8

#: Histogram bins of the per-motif distributions.
HISTOGRAM_BINS = 20

#: Logos rendered at once before a process pool is worth its start-up.
POOL_THRESHOLD = 16


class ReportResult(NamedTuple):
    """What :func:`write_report` wrote."""

    path: Path
    n_motifs: int
    n_regions: int
    n_images: int
    seconds: float
    size: int


@dataclasses.dataclass
class MotifResults:
    """A ``seqsal motifs`` output folder, read for the report.

    ``motifs`` in file order; ``annotation`` (motifs.tsv), ``hits`` (hits.bed) and
    ``seqlets`` (seqlets.bed) are DataFrames or None; ``discovery`` is discovery.json (which
    seqlets the motifs were built from) or None; ``files`` maps each existing output
    file to its role; ``problems`` lists what was missing or unreadable, in words.
    """

    motifs: list
    annotation: Any = None
    hits: Any = None
    seqlets: Any = None
    discovery: dict | None = None
    files: dict = dataclasses.field(default_factory=dict)
    problems: list = dataclasses.field(default_factory=list)


def read_bed_table(path) -> Any:
    """Read a seqsal BED6+ file with a ``#``-prefixed header row (hits.bed, seqlets.bed)."""
    import csv

    import pandas as pd

    try:  # fields are verbatim: a quote is part of a name, not a CSV quote
        table = pd.read_csv(
            path,
            sep="\t",
            header=0,
            keep_default_na=False,
            na_values=["NaN"],
            quoting=csv.QUOTE_NONE,
        )
    except pd.errors.EmptyDataError:
        return pd.DataFrame(columns=["chrom", "start", "end", "name", "score", "strand"])
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read BED table: {err}", path=path) from err
    table = table.rename(columns={table.columns[0]: table.columns[0].lstrip("#")})
    return table


def load_motif_dir(path) -> MotifResults:
    """Read a ``seqsal motifs`` output folder: motifs, annotation, hits and seqlets.

    Motifs come from ``motifs.h5`` (CWMs, sign, trim) or, without it, ``motifs.meme``
    (PPMs only).  A missing or unreadable file is recorded in ``problems``, not raised.

    Raises
    ------
    InputError
        If ``path`` is not a folder.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise InputError("no such motifs folder", path=folder)
    result = MotifResults(motifs=[])
    for name, role in MOTIF_FILES.items():
        if (folder / name).exists():
            result.files[folder / name] = role
    h5, meme = folder / "motifs.h5", folder / "motifs.meme"
    try:
        if h5.exists():
            from seqsal.motifs.cwm_io import read_motifs

            result.motifs = read_motifs(h5)
        elif meme.exists():
            from seqsal.motifs.meme import read_meme

            result.motifs = read_meme(meme)
            result.problems.append("motifs.h5 is missing: motifs have no CWM (PPM logos shown)")
        else:
            result.problems.append(f"no motifs.h5 or motifs.meme in {folder}")
    except InputError as err:
        result.problems.append(f"motifs could not be read: {err}")
    tsv = folder / "motifs.tsv"
    if tsv.exists():
        try:
            from seqsal.motifs.match import read_annotation

            result.annotation = read_annotation(tsv)
        except InputError as err:
            result.problems.append(f"motifs.tsv could not be read: {err}")
    else:
        result.problems.append("motifs.tsv is missing: no database matches")
    for name, attr in (("hits.bed", "hits"), ("seqlets.bed", "seqlets")):
        if (folder / name).exists():
            try:
                setattr(result, attr, read_bed_table(folder / name))
            except InputError as err:
                result.problems.append(f"{name} could not be read: {err}")
    if (folder / "discovery.json").exists():
        try:
            discovery = json.loads((folder / "discovery.json").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as err:
            result.problems.append(f"discovery.json could not be read: {err}")
        else:
            if isinstance(discovery, dict) and isinstance(discovery.get("n_seqlets"), int):
                result.discovery = discovery
            else:
                result.problems.append("discovery.json holds no seqlet count: not described")
    return result


def discovery_sentence(discovery: Mapping | None, seqlets_fdr: float | None = None) -> str:
    """One sentence saying which seqlets the motifs were built from ("" when not known).

    Parameters
    ----------
    discovery : mapping or None
        ``discovery.json`` of a ``seqsal motifs`` folder: ``source`` ("called" or the seqlets
        BED read), ``fdr`` and ``n_seqlets``.
    seqlets_fdr : float, optional
        The FDR of the reported seqlets (``seqsal seqlets --fdr``), said beside the discovery
        FDR since the two sets differ by design; left out when not known.
    """
    if not discovery:
        return ""
    n = int(discovery["n_seqlets"])
    if discovery.get("source") == "called" and discovery.get("fdr") is not None:
        sentence = f"Motifs were built from {n:,} seqlets called at FDR {float(discovery['fdr']):g}"
        if seqlets_fdr is not None:
            sentence += f" (the reported seqlets use FDR {float(seqlets_fdr):g})"
        return sentence + "."
    return f"Motifs were built from {n:,} seqlets read from {discovery.get('source')}."


def dependency_versions() -> dict[str, str]:
    """Installed versions of seqsal and its main dependencies (from package metadata)."""
    from seqsal import __version__

    versions = {"seqsal": __version__}
    for package in DEPENDENCIES:
        try:
            versions[package] = importlib_metadata.version(package)
        except importlib_metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def _flatten(value, prefix: str = "", out: dict | None = None, limit: int = 60) -> dict:
    out = {} if out is None else out
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out, limit)
    elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        for i, item in enumerate(value):
            _flatten(item, f"{prefix}[{i}]", out, limit)
    elif len(out) < limit:
        if isinstance(value, float):
            value = f"{value:.4g}"
        elif isinstance(value, list):
            value = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in value)
        out[prefix] = str(value)
    return out


def read_model_dir(path) -> tuple[dict, dict, list[Path]]:
    """Model description (model.json) and metrics (metrics.json) of a seqsal model folder.

    Returns ``(model, metrics, files)``: flattened key -> text mappings and the files found.
    A file that cannot be read shows as an ``error`` entry, so the report still renders.
    """
    from seqsal.errors import ModelError
    from seqsal.models import files as model_files

    folder = Path(path)
    if not folder.exists():
        raise InputError("no such model folder", path=folder)
    if folder.is_file():
        return {"file": folder.name}, {}, [folder]
    model, metrics = {}, {}
    embedded_metrics = None
    if (folder / model_files.MODEL_JSON).exists():
        try:
            content = model_files.read_model_json(folder, check=False)
        except ModelError as err:
            model["error"] = str(err)
        else:
            # model.json repeats the metrics under metadata.metrics: list them once
            metadata = dict(content.get("metadata") or {})
            embedded_metrics = metadata.pop("metrics", None)
            _flatten({**content, "metadata": metadata}, out=model)
    try:
        recorded = model_files.read_metrics(folder)
    except ModelError as err:
        metrics["error"] = str(err)
    else:
        if recorded is not None:
            _flatten(recorded, out=metrics)
    if not metrics and embedded_metrics:
        _flatten(embedded_metrics, out=metrics)
    return model, metrics, model_files.folder_files(folder)


# ---------------------------------------------------------------------------------------
# logo rendering (possibly in worker processes)


class LogoJob(NamedTuple):
    """One image to render: ``kind`` names a function of :mod:`seqsal.plot.logo`."""

    kind: str
    args: tuple
    kwargs: dict


def _render_job(job: LogoJob) -> str:
    from seqsal.plot import logo

    if job.kind == "attribution":
        fig, _ = logo.attribution_logo(*job.args, **job.kwargs)
    else:
        fig = getattr(logo, job.kind)(*job.args, **job.kwargs)
    return "data:image/png;base64," + base64.b64encode(logo.render(fig, "png", dpi=90)).decode(
        "ascii"
    )


def render_jobs(jobs: Sequence[LogoJob], *, n_jobs: int = 2) -> list[str]:
    """Render logo jobs to ``data:`` URIs, in ``n_jobs`` processes when there are many."""
    if n_jobs > 1 and len(jobs) >= POOL_THRESHOLD:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        import logomaker  # noqa: F401  (loaded once, inherited by forked workers)

        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
        context = multiprocessing.get_context(method)
        with ProcessPoolExecutor(max_workers=n_jobs, mp_context=context) as pool:
            return list(pool.map(_render_job, jobs, chunksize=max(1, len(jobs) // (8 * n_jobs))))
    return [_render_job(job) for job in jobs]


class _Images:
    """Logo jobs collected while the page is assembled; identical jobs render once."""

    def __init__(self):
        self.jobs: list[LogoJob] = []
        self._keys: dict = {}
        self.uris: list[str] = []

    def add(self, key, kind: str, *args, **kwargs) -> int:
        if key is not None and key in self._keys:
            return self._keys[key]
        self.jobs.append(LogoJob(kind, args, kwargs))
        index = len(self.jobs) - 1
        if key is not None:
            self._keys[key] = index
        return index

    def render(self, n_jobs: int) -> None:
        self.uris = render_jobs(self.jobs, n_jobs=n_jobs)

    def __getitem__(self, index):
        return None if index is None else self.uris[index]


# ---------------------------------------------------------------------------------------
# page data


def histogram(values, *, bins: int = HISTOGRAM_BINS, range: tuple | None = None) -> dict | None:
    """Bin edges and counts for an inline SVG histogram; None without finite values."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    if range is None:
        low, high = float(values.min()), float(values.max())
        if high <= low:
            low, high = low - 0.5, high + 0.5
        range = (low, high)
    counts, edges = np.histogram(values, bins=bins, range=range)
    peak = max(int(counts.max()), 1)
    return {
        "counts": [int(c) for c in counts],
        "heights": [float(c) / peak for c in counts],
        "low": float(edges[0]),
        "high": float(edges[-1]),
        "peak": peak,
        "n": int(values.size),
    }


def _format_p(value) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not np.isfinite(value):
        return "NA"
    return f"{value:.2e}" if value < 1e-3 else f"{value:.3f}"


def _href(target: Path, base: Path) -> str:
    return quote(Path(os.path.relpath(Path(target).resolve(), base.resolve())).as_posix())


def _file_row(path: Path, role: str, base: Path, *, checksum: bool = True) -> dict:
    stat = path.stat()
    return {
        "name": path.name,
        "href": _href(path, base),
        "role": role,
        "size": _format_size(stat.st_size),
        "sha256": sha256_file(path) if checksum and path.is_file() else "",
    }


def _format_size(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


#: Store attributes that name input files (written by ``seqsal attribute``), with their role.
INPUT_ATTRIBUTES = {"fasta": "input: genome FASTA", "regions": "input: regions BED"}


def _input_files(attrs: Mapping, store_path: Path) -> list[tuple[Path, str]]:
    """Input files named in the store's attributes that exist (as given, or beside the store)."""
    found = []
    for key, role in INPUT_ATTRIBUTES.items():
        value = attrs.get(key)
        if not isinstance(value, str) or not value or value == "none":
            continue
        for candidate in (Path(value), store_path.parent / value):
            if candidate.is_file():
                found.append((candidate, role))
                break
    return found


def _matches_by_motif(annotation) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    if annotation is None or len(annotation) == 0:
        return out
    table = annotation.sort_values(["motif", "rank"], kind="stable")
    for row in table.itertuples(index=False):
        out.setdefault(str(row.motif), []).append(row._asdict())
    return out


def _database_lookup(annotation, problems: list) -> dict:
    """Database motifs named in the annotation, by id and by name (for match logos)."""
    if annotation is None or len(annotation) == 0 or "database" not in annotation:
        return {}
    from seqsal.motifs.database import load_database

    lookup: dict = {}
    for spec in sorted({str(s) for s in annotation["database"] if str(s)}):
        try:
            motifs = load_database(spec)
        except (InputError, OSError, ValueError) as err:
            problems.append(f"database {spec!r} could not be loaded for match logos: {err}")
            continue
        for motif in motifs:
            lookup.setdefault(motif.id, motif)
            lookup.setdefault(motif.name, motif)
    return lookup


def _motif_rows(
    results: MotifResults,
    *,
    n_regions: int | None,
    length: int | None,
    images: _Images,
    problems: list,
) -> list[dict]:
    import pandas as pd

    matches = _matches_by_motif(results.annotation)
    database = _database_lookup(results.annotation, problems)
    hits = results.hits
    seqlets = results.seqlets
    rows = []
    for index, motif in enumerate(results.motifs):
        motif = dataclasses.replace(motif, seqlets=None)  # members are not drawn: don't ship them
        trimmed = motif.trimmed()
        row: dict = {
            "index": index,
            "anchor": f"motif-{index}",
            "id": motif.id,
            "name": motif.name,
            "sign": "+" if motif.sign > 0 else "−",
            "sign_value": motif.sign,
            "width": motif.width,
            "trim": motif.trim,
            "n_seqlets": motif.n_seqlets,
            "cwm_logo": images.add(None, "motif_logo", trimmed, "cwm"),
            "ppm_logo": images.add(None, "ppm_logo", trimmed.ppm),
        }
        motif_matches = matches.get(motif.id, [])
        shown = []
        for match in motif_matches[:MATCHES_SHOWN]:
            status = str(match.get("status", ""))
            entry = {
                "id": str(match.get("match_id", "")),
                "name": str(match.get("match_name", "")),
                "q": _format_p(match.get("q_value")),
                "p": _format_p(match.get("p_value")),
                "e": _format_p(match.get("e_value")),
                "q_value": float(match.get("q_value", np.nan)) if status != "no_match" else np.nan,
                "significant": bool(match.get("significant", False)),
                "status": status,
                "orientation": str(match.get("orientation", "+")),
                "offset": match.get("offset"),
                "family": str(match.get("family", "") or ""),
                "logo": None,
            }
            target = database.get(entry["id"]) or database.get(entry["name"])
            if status != "no_match" and target is not None and not shown:
                entry["logo"] = images.add(
                    ("db", entry["id"], entry["orientation"]),
                    "ppm_logo",
                    (target.reverse_complement() if entry["orientation"] == "-" else target).ppm,
                )
                row["aligned_logo"] = images.add(
                    None,
                    "aligned_logos",
                    motif,
                    target,
                    orientation=entry["orientation"] if entry["orientation"] in "+-" else "+",
                    offset=int(float(match.get("offset", 0) or 0)),
                    trim_start=int(float(match.get("trim_start", 0) or 0)),
                    query_title=motif.id,
                    target_title=f"{entry['id']} {entry['name']}",
                )
            shown.append(entry)
        row["matches"] = shown
        row["n_matches"] = len([m for m in motif_matches if m.get("status") != "no_match"])
        best = shown[0] if shown else None
        row["best_q"] = best["q_value"] if best else np.nan
        row["best_q_text"] = best["q"] if best and best["status"] != "no_match" else "NA"
        row["annotated"] = bool(motif_matches)

        motif_hits = (
            hits[hits["name"].astype(str) == motif.id]
            if hits is not None and "name" in hits
            else pd.DataFrame()
        )
        row["n_hits"] = len(motif_hits)
        if n_regions and len(motif_hits) and "region" in motif_hits:
            row["hit_fraction"] = motif_hits["region"].astype(str).nunique() / n_regions
        else:
            row["hit_fraction"] = 0.0 if n_regions else np.nan
        row["hit_fraction_text"] = (
            "NA" if not np.isfinite(row["hit_fraction"]) else f"{100 * row['hit_fraction']:.1f}%"
        )
        if len(motif_hits) and "offset" in motif_hits:
            width = motif_hits["end"].to_numpy(np.int64) - motif_hits["start"].to_numpy(np.int64)
            centre = motif_hits["offset"].to_numpy(np.float64) + width / 2.0
            span = length if length else float(np.nanmax(centre)) + 1
            row["position_hist"] = histogram(centre, range=(0.0, float(span)))
        else:
            row["position_hist"] = None
        row["attribution_hist"] = (
            histogram(motif_hits["attribution"].to_numpy(np.float64))
            if len(motif_hits) and "attribution" in motif_hits
            else None
        )
        row["examples"] = _examples(motif, seqlets, motif_hits)
        rows.append(row)
    return rows


def _examples(motif, seqlets, motif_hits) -> list[dict]:
    """The strongest member seqlets (or, without a seqlets table, hits) in genome coordinates."""
    table = None
    if seqlets is not None and "motif" in seqlets and len(seqlets):
        table = seqlets[seqlets["motif"].astype(str) == motif.id]
    if (table is None or len(table) == 0) and len(motif_hits):
        table = motif_hits
    if table is None or len(table) == 0:
        return []
    if "attribution" in table:
        order = np.argsort(-np.abs(table["attribution"].to_numpy(np.float64)), kind="stable")
        table = table.iloc[order]
    out = []
    for row in table.head(EXAMPLES_SHOWN).itertuples(index=False):
        d = row._asdict()
        out.append(
            {
                "locus": f"{d.get('chrom', '')}:{int(d.get('start', 0)):,}-{int(d.get('end', 0)):,}",
                "strand": str(d.get("strand", ".")),
                "region": str(d.get("region", "")),
                "offset": d.get("offset", ""),
                "attribution": f"{float(d.get('attribution', np.nan)):.3g}",
            }
        )
    return out


def _region_marks(name, chrom, first, last, seqlets, hits) -> list:
    from seqsal.plot.logo import Mark

    marks = []
    for table, kind in ((seqlets, "seqlet"), (hits, "hit")):
        if table is None or len(table) == 0:
            continue
        rows = table[
            (table["chrom"].astype(str) == chrom) & (table["end"] > first) & (table["start"] < last)
        ]
        if "region" in rows:  # overlapping windows: keep the marks called in this one
            rows = rows[rows["region"].astype(str) == name]
        for row in rows.itertuples(index=False):
            d = row._asdict()
            label = str(d.get("name", "")) if kind == "hit" else ""
            marks.append(
                Mark(int(d["start"]), int(d["end"]), kind, int(d.get("sign", 1) or 1), label)
            )
    return marks


def _region_rows(
    store, seqlets, hits, *, n_regions: int, images: _Images, chunk: int = 1024
) -> list[dict]:
    """The ``n_regions`` regions with the largest total absolute attribution."""
    if store is None or store.n == 0 or n_regions == 0:
        return []
    totals = np.empty(store.n)
    for begin in range(0, store.n, chunk):
        block = np.asarray(store.projected[begin : begin + chunk], dtype=np.float64)
        totals[begin : begin + len(block)] = np.abs(block).sum(axis=(1, 2))
    from seqsal.sequence.geometry import window_geometry

    order = np.argsort(-totals, kind="stable")[:n_regions]
    coords = store.coords
    windows = window_geometry(coords, store.length, what=f"{store.path} coords")
    rows = []
    for rank, i in enumerate(order):
        c = coords.iloc[int(i)]
        name, chrom = str(c["name"]), str(c["chrom"])
        start, end = int(c["start"]), int(c["end"])
        first, last = int(windows.origin[i]), int(windows.last[i])
        marks = _region_marks(name, chrom, first, last, seqlets, hits)
        projected = np.asarray(store.projected[int(i)], dtype=np.float32)
        rows.append(
            {
                "rank": rank + 1,
                "index": int(i),
                "name": name,
                "locus": f"{chrom}:{start:,}-{end:,}" if chrom else f"window {int(i)}",
                "strand": str(c["strand"]),
                "total": f"{totals[i]:.3g}",
                "n_seqlets": sum(m.kind == "seqlet" for m in marks),
                "n_hits": sum(m.kind == "hit" for m in marks),
                "logo": images.add(
                    None,
                    "attribution",
                    projected,
                    chrom=chrom,
                    origin=first,
                    strand=str(c["strand"]),
                    marks=marks,
                ),
            }
        )
    return rows


def _template():
    from jinja2 import Environment, PackageLoader

    env = Environment(
        loader=PackageLoader("seqsal.plot", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2")


def write_report(
    out,
    *,
    store=None,
    motifs_dir=None,
    seqlets=None,
    model_dir=None,
    seqlets_fdr: float | None = None,
    title: str = "seqsal motif report",
    n_regions: int = 12,
    timings: Mapping[str, float] | None = None,
    extra_files: Mapping | None = None,
    checksums: bool = True,
    n_jobs: int = 2,
) -> ReportResult:
    """Write the self-contained HTML motif report of a run.

    Parameters
    ----------
    out : str or os.PathLike
        The ``.html`` file, written under a temporary name and renamed when complete.
    store : str or os.PathLike, optional
        Attribution store (``seqsal attribute``): provenance, region count, gallery logos.
    motifs_dir : str or os.PathLike, optional
        Output folder of ``seqsal motifs`` (motifs.h5/.meme, motifs.tsv, hits.bed,
        seqlets.bed).
    seqlets : str or os.PathLike, optional
        Seqlets BED (``seqsal seqlets``); defaults to ``motifs_dir/seqlets.bed`` (which carries
        the motif assignment).
    model_dir : str or os.PathLike, optional
        seqsal model folder (model.json, metrics.json) for the model and its metrics.
    seqlets_fdr : float, optional
        FDR the reported seqlets were called at (``seqsal seqlets --fdr``); said beside the
        FDR of the discovery seqlets the motifs were built from (``discovery.json``).
    title : str, default "seqsal motif report"
    n_regions : int, default 12
        Regions in the gallery: those with the largest total absolute attribution.
    timings : mapping of str to float, optional
        Seconds per stage of the run, listed under provenance.
    extra_files : mapping of path to str, optional
        More output files to link, with their role.
    checksums : bool, default True
        SHA-256 of every input and linked file (reads each file once).
    n_jobs : int, default 2
        Processes rendering logos (one is used below 16 logos).

    Returns
    -------
    ReportResult
    """
    from seqsal._runtime import check_non_negative_int, check_positive_int
    from seqsal.io.atomic import atomic_open

    began = time.perf_counter()
    n_regions = check_non_negative_int(n_regions, "n_regions")
    n_jobs = check_positive_int(n_jobs, "n_jobs")
    out = Path(out)
    base = out.parent if str(out.parent) else Path(".")
    base.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    files: list[dict] = []
    images = _Images()

    results = MotifResults(motifs=[])
    if motifs_dir is not None:
        results = load_motif_dir(motifs_dir)
        problems.extend(results.problems)
        for path, role in results.files.items():
            files.append(_file_row(path, role, base, checksum=checksums))
    else:
        problems.append("no motifs folder given: no motif table")
    seqlet_table = results.seqlets
    if seqlets is not None:
        seqlets = Path(seqlets)
        if not seqlets.exists():
            raise InputError("no such seqlets BED", path=seqlets)
        seqlet_table = read_bed_table(seqlets)
        if seqlet_table is not None and results.seqlets is not None and "motif" not in seqlet_table:
            seqlet_table = results.seqlets
        files.append(_file_row(seqlets, "seqlets (BED6+)", base, checksum=checksums))
    for path, role in dict(extra_files or {}).items():
        path = Path(path)
        if path.exists():
            files.append(_file_row(path, str(role), base, checksum=checksums))
        else:
            problems.append(f"listed output file {path} does not exist: not linked")

    store_info: dict = {}
    region_rows: list = []
    n_windows = None
    length = None
    handle = None
    if store is not None:
        from seqsal.io.store import open_store

        handle = open_store(store)
    try:
        if handle is not None:
            n_windows, length = handle.n, handle.length
            store_info = {key: str(value) for key, value in sorted(handle.attrs.items())}
            inputs = [(Path(store), "attribution store (HDF5)")]
            inputs += _input_files(handle.attrs, Path(store))
            files[:0] = [_file_row(path, role, base, checksum=checksums) for path, role in inputs]
            if n_windows == 0:
                problems.append("the attribution store holds no regions")
            region_rows = _region_rows(
                handle, seqlet_table, results.hits, n_regions=int(n_regions), images=images
            )
        else:
            problems.append("no attribution store given: no region gallery")
        motif_rows = _motif_rows(
            results, n_regions=n_windows, length=length, images=images, problems=problems
        )
    finally:
        if handle is not None:
            handle.close()
    if motifs_dir is not None and not results.motifs:
        problems.append("the run found no motifs")
    if results.motifs and (results.annotation is None or len(results.annotation) == 0):
        problems.append("the motifs have no database matches")

    model_info, metrics = {}, {}
    if model_dir is not None:
        model_info, metrics, model_files = read_model_dir(model_dir)
        for path in model_files:
            files.append(_file_row(path, "model", base, checksum=checksums))

    images.render(n_jobs)
    for row in motif_rows:
        for key in ("cwm_logo", "ppm_logo", "aligned_logo"):
            row[key] = images[row.get(key)]
        for match in row["matches"]:
            match["logo"] = images[match["logo"]]
    for row in region_rows:
        row["logo"] = images[row["logo"]]

    n_seqlets_total = len(seqlet_table) if seqlet_table is not None else None
    n_hits_total = len(results.hits) if results.hits is not None else None
    hit_regions = None
    if n_windows and results.hits is not None and "region" in results.hits:
        hit_regions = results.hits["region"].astype(str).nunique() / n_windows
    summary = {
        "regions": n_windows if n_windows is not None else "NA",
        "window length": length if length is not None else "NA",
        "seqlets": n_seqlets_total if n_seqlets_total is not None else "NA",
        "motifs": f"{len(results.motifs)} ({sum(m.sign > 0 for m in results.motifs)} positive, "
        f"{sum(m.sign < 0 for m in results.motifs)} negative)",
        "motifs with a significant match": sum(
            1 for row in motif_rows if row["matches"] and row["matches"][0]["significant"]
        ),
        "motif instances (hits)": n_hits_total if n_hits_total is not None else "NA",
        "regions with a hit": f"{100 * hit_regions:.1f}%" if hit_regions is not None else "NA",
    }
    timing_rows = {str(k): f"{float(v):.2f} s" for k, v in dict(timings or {}).items()}
    context = {
        "title": title,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "summary": summary,
        "problems": problems,
        "files": files,
        "store_info": store_info,
        "model_info": model_info,
        "metrics": metrics,
        "versions": dependency_versions(),
        "timings": timing_rows,
        "motifs": motif_rows,
        "discovery": discovery_sentence(results.discovery, seqlets_fdr),
        "positive": [r for r in motif_rows if r["sign_value"] > 0],
        "negative": [r for r in motif_rows if r["sign_value"] < 0],
        "regions": region_rows,
        "n_images": len(images.jobs),
    }
    html = _template().render(**context)
    with atomic_open(out, "w", encoding="utf-8") as handle_out:
        handle_out.write(html)
    seconds = time.perf_counter() - began
    log.info(
        "wrote report %s: %d motifs, %d regions, %d images in %.1f s",
        out,
        len(motif_rows),
        len(region_rows),
        len(images.jobs),
        seconds,
    )
    return ReportResult(
        out, len(motif_rows), len(region_rows), len(images.jobs), seconds, out.stat().st_size
    )

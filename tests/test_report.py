"""The HTML motif report: built from a small synthetic run through seqsal's own writers, then
opened in headless Chromium (Debian ``chromium``) as a reader would open it."""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pytest
from _toys import onehot_codes

from seqsal.errors import InputError
from seqsal.io.store import AttributionStore
from seqsal.motifs.cwm_io import write_motifs
from seqsal.motifs.match import ANNOTATION_COLUMNS, read_annotation, write_annotation
from seqsal.motifs.meme import write_meme
from seqsal.motifs.scan import HIT_COLUMNS, write_hits_bed
from seqsal.motifs.types import Motif
from seqsal.plot.report import load_motif_dir, write_report
from seqsal.seqlets.bed import BED_COLUMNS

EVIL = "<img src=x onerror=alert(1)>"
#: The same attack without whitespace (motif ids cannot hold spaces); browsers run it too.
EVIL_ID = "<img/src=x/onerror=alert(1)>"
L = 80
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _database_motifs(rng) -> list[Motif]:
    return [
        Motif(
            f"TF{i}",
            rng.dirichlet(np.full(4, 0.3), size=8).T,
            matrix_id=f"MA{9000 + i}.1",
            n_seqlets=20,
        )
        for i in range(3)
    ]


def make_run(
    folder: Path,
    *,
    region_names=None,
    motif_names=("pos_pattern_0", "pos_pattern_1", "neg_pattern_0"),
    n_regions: int = 6,
    matches: bool = True,
    seed: int = 0,
) -> dict:
    """A small run: store, motifs folder (meme, h5, tsv, hits, seqlets), database MEME."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    X = onehot_codes(rng.integers(0, 4, size=(n_regions, L)))
    hypothetical = rng.normal(scale=0.05, size=X.shape).astype(np.float32)
    hypothetical[:, :, 30:40] *= 30
    names = list(region_names or [f"peak{i}" for i in range(n_regions)])
    coords = pd.DataFrame(
        {
            "chrom": ["chr1"] * n_regions,
            "start": 1000 + 200 * np.arange(n_regions),
            "end": 1000 + 200 * np.arange(n_regions) + L,
            "strand": ["+", "-"] * (n_regions // 2) + ["+"] * (n_regions % 2),
            "name": names,
        }
    )
    store = folder / "attr.h5"
    (folder / "genome.fa").write_text(">chr1\n" + "ACGT" * 20 + "\n")
    attrs = {
        "method": "ig",
        "target": 0,
        "steps": 8,
        "fasta": str(folder / "genome.fa"),
        "regions": str(folder / "deleted.bed"),  # an input that is gone: not linked
    }
    with AttributionStore(store, length=L, attrs=attrs) as s:
        s.append(X, hypothetical, coords=coords)

    motifs_dir = folder / "motifs"
    motifs_dir.mkdir()
    motifs = []
    for k, name in enumerate(motif_names):
        sign = -1 if name.startswith("neg") else 1
        cwm = sign * np.abs(rng.normal(size=(4, 10)))
        motifs.append(
            Motif(
                name,
                rng.dirichlet(np.full(4, 0.4), size=10).T,
                cwm=cwm,
                hypothetical_cwm=cwm,
                sign=sign,
                n_seqlets=20 + k,
                trim=(1, 9),
                source="seqsal.discover",
            )
        )
    write_meme(motifs, motifs_dir / "motifs.meme")
    write_motifs(motifs, motifs_dir / "motifs.h5")

    database = _database_motifs(rng)
    db_path = folder / "db.meme"
    write_meme(database, db_path)
    rows = []
    for k, motif in enumerate(motifs):
        if not matches:
            break
        for rank in (1, 2):
            target = database[(k + rank - 1) % len(database)]
            q = 0.001 if rank == 1 and k != 1 else 0.4
            rows.append(
                {
                    "motif": motif.id,
                    "sign": motif.sign,
                    "n_seqlets": motif.n_seqlets,
                    "matched_matrix": "ppm_trimmed_by_cwm",
                    "trim_start": 1,
                    "trim_end": 9,
                    "query_width": 10,
                    "rank": rank,
                    "match_id": target.matrix_id,
                    "match_name": EVIL if (k, rank) == (0, 2) else target.name,
                    "family": "",
                    "tf_class": "",
                    "p_value": q / 10,
                    "q_value": q,
                    "e_value": q * 3,
                    "orientation": "-" if rank == 1 else "+",
                    "offset": -1,
                    "overlap": 7,
                    "significant": q < 0.05,
                    "status": "significant" if q < 0.05 else "not_significant",
                    "database": str(db_path),
                }
            )
    write_annotation(pd.DataFrame(rows, columns=ANNOTATION_COLUMNS), motifs_dir / "motifs.tsv")

    hits = []
    for k, motif in enumerate(motifs):
        for i in range(0, n_regions, 2):
            start = int(coords.start[i]) + 30
            hits.append(
                {
                    "chrom": "chr1",
                    "start": start,
                    "end": start + 8,
                    "motif": motif.id,
                    "score": 300,
                    "strand": "+",
                    "region": names[i],
                    "region_index": i,
                    "offset": 30,
                    "window_strand": "+",
                    "sign": motif.sign,
                    "pwm_score": 8.0,
                    "p_value": 1e-4,
                    "attribution": float(motif.sign * (1 + k + i)),
                    "attribution_p_value": 0.01,
                    "cwm_similarity": 0.9,
                    "trim_start": 1,
                    "trim_end": 9,
                }
            )
    write_hits_bed(pd.DataFrame(hits, columns=HIT_COLUMNS), motifs_dir / "hits.bed")

    seqlet_rows = []
    for i in range(n_regions):
        start = int(coords.start[i]) + 29
        seqlet_rows.append(
            [
                *("chr1", start, start + 12, f"{names[i]}:29+", 500, coords.strand[i]),
                *(names[i], 29, 1, 3.5, 1e-5, 1e-3, motifs[i % len(motifs)].id),
            ]
        )
    seqlets = motifs_dir / "seqlets.bed"
    with open(seqlets, "w") as handle:
        handle.write("#" + "\t".join(BED_COLUMNS) + "\n")
        for row in seqlet_rows:
            handle.write("\t".join(str(v) for v in row) + "\n")
    return {"store": store, "motifs_dir": motifs_dir, "motifs": motifs, "database": database}


# ---------------------------------------------------------------------------------------
# HTML inspection


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.links, self.sources, self.scripts_src = [], [], [], []
        self.motif_rows = []
        self._row = None
        self.svg_depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src", ""))
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        for key in ("src", "href", "action", "data", "poster"):
            if key in a:
                self.sources.append(a[key])
        if tag == "tr" and "motif-row" in (a.get("class") or ""):
            self._row = {"motif": a.get("data-motif"), "matches": []}
            self.motif_rows.append(self._row)
        if tag == "li" and self._row is not None and "data-match-id" in a:
            self._row["matches"].append(a["data-match-id"])

    def handle_endtag(self, tag):
        if tag == "tr":
            self._row = None


def collect(html: str) -> _Collector:
    c = _Collector()
    c.feed(html)
    return c


def check_image(src: str) -> None:
    """A data: URI that decodes: PNG through Pillow, SVG through an XML parser."""
    from PIL import Image

    match = re.fullmatch(r"data:image/(png|svg\+xml);base64,([A-Za-z0-9+/=]+)", src)
    assert match, f"image source is not an inline data URI: {src[:60]!r}"
    data = base64.b64decode(match.group(2), validate=True)
    if match.group(1) == "png":
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            assert image.size[0] > 10 and image.size[1] > 10
    else:
        ET.fromstring(data)


def no_remote(html: str, collected: _Collector) -> None:
    for value in collected.sources:
        assert not re.match(r"\s*(https?:|//|ftp:|ws:)", value, re.I), value
    for url in re.findall(r"url\(([^)]*)\)", html):
        assert url.strip("'\" ").startswith("data:"), url
    assert "@import" not in html
    assert "<script src" not in html.lower()
    assert "<link" not in html.lower()


def links_exist(report: Path, collected: _Collector) -> None:
    for href in collected.links:
        if href.startswith("#"):
            continue
        target = (report.parent / unquote(href)).resolve()
        assert target.exists(), f"the report links to a missing file: {href}"


def _chromium(args: list[str], tmp_path: Path, *, timeout: int = 90) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        *args,
    ]
    env = dict(os.environ, HOME=str(tmp_path))
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)


def page_requests(netlog: Path) -> list[str]:
    """URLs other than file: and data: that a page asked for, from a Chromium net log."""
    import json

    text = netlog.read_text()
    try:
        log = json.loads(text)
    except json.JSONDecodeError:  # the browser may exit before closing the event list
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    urls = []
    for event in log["events"]:
        params = event.get("params") or {}
        if names.get(event["type"]) != "URL_REQUEST_START_JOB" or "url" not in params:
            continue
        if params.get("initiator") == "not an origin":
            continue
        if not params["url"].startswith(("file:", "data:")):
            urls.append(params["url"])
    return urls


needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


# ---------------------------------------------------------------------------------------
# tests


@pytest.fixture(scope="module")
def run_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    names = [f"peak{i}" for i in range(6)]
    names[0] = EVIL
    run = make_run(
        folder, region_names=names, motif_names=("pos_pattern_0", EVIL_ID, "neg_pattern_0")
    )
    out = folder / "report" / "report.html"
    result = write_report(
        out,
        store=run["store"],
        motifs_dir=run["motifs_dir"],
        n_regions=4,
        timings={"attribute": 1.5},
        n_jobs=1,
    )
    return run, out, result


def test_report_content_and_files(run_report):
    run, out, result = run_report
    html = out.read_text()
    c = collect(html)
    # one row per motif, each with the matches of motifs.tsv, in rank order
    annotation = read_annotation(run["motifs_dir"] / "motifs.tsv")
    assert sorted(r["motif"] for r in c.motif_rows) == sorted(m.id for m in run["motifs"])
    for row in c.motif_rows:
        expected = annotation[annotation["motif"] == row["motif"]].sort_values("rank")
        assert row["matches"] == list(expected["match_id"])
    assert result.n_motifs == 3 and result.n_regions == 4
    # every image decodes, nothing is fetched, every link resolves
    assert len(c.images) >= result.n_images
    for src in c.images:
        check_image(src)
    no_remote(html, c)
    links_exist(out, c)
    linked = {Path(unquote(h)).name for h in c.links if not h.startswith("#")}
    assert {
        "motifs.meme",
        "motifs.h5",
        "motifs.tsv",
        "hits.bed",
        "seqlets.bed",
        "attr.h5",
    } <= linked
    # non-significant matches are marked
    assert html.count('class="ns" title="not significant"') == len(annotation) - int(
        annotation["significant"].sum()
    )
    # provenance from the store attrs and the checksum of the store
    from seqsal.io.checksum import sha256_file

    assert sha256_file(run["store"]) in html
    assert sha256_file(run["store"].parent / "genome.fa") in html and "genome.fa" in linked
    assert "deleted.bed" not in linked
    assert ">ig<" in html


def test_names_from_inputs_are_escaped(run_report):
    _, out, _ = run_report
    html = out.read_text()
    for evil in (EVIL, EVIL_ID):
        assert evil not in html
        escaped = evil.replace("<", "&lt;").replace(">", "&gt;")
        assert escaped in html
    assert "<img src=x" not in html and "<img/src" not in html
    # every <img> the page holds is one of seqsal's inline logos
    assert all(src.startswith("data:image/png;base64,") for src in collect(html).images)


@needs_chromium
def test_chromium_dom_screenshot_and_no_network(run_report, tmp_path):
    from PIL import Image

    _, out, _ = run_report
    url = out.resolve().as_uri()
    netlog = tmp_path / "netlog.json"
    dom = _chromium(
        [
            "--virtual-time-budget=2000",
            f"--log-net-log={netlog}",
            "--enable-logging=stderr",
            "--dump-dom",
            url,
        ],
        tmp_path,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    # the inline script ran without an error and the page's security policy blocked nothing
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line]
    assert not [line for line in console if "Uncaught" in line or "Content Security" in line]
    c = collect(dom.stdout)
    # the script ran and left the table intact; the escaped names are text, not elements
    assert len(c.motif_rows) == 3
    assert all(src.startswith("data:image/") for src in c.images)
    assert "x" not in c.images
    text = unescape_text(dom.stdout)
    assert EVIL in text and EVIL_ID in text
    # the network log holds no request made by the page (the browser's own background
    # requests, initiator "not an origin", are not the page's)
    assert page_requests(netlog) == []
    shot = tmp_path / "shot.png"
    result = _chromium(["--window-size=1280,2000", f"--screenshot={shot}", url], tmp_path)
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    assert pixels.std() > 10, "the screenshot is blank"
    assert (pixels < 128).mean() > 0.005, "almost no dark pixels: no text or logos rendered"


@needs_chromium
def test_network_check_sees_a_remote_image(tmp_path):
    """The net-log check is not vacuous: a page with a remote image is caught."""
    page = tmp_path / "remote.html"
    page.write_text('<html><body><img src="http://example.invalid/x.png">x</body></html>')
    netlog = tmp_path / "netlog.json"
    _chromium(
        ["--virtual-time-budget=1000", f"--log-net-log={netlog}", "--dump-dom", page.as_uri()],
        tmp_path,
    )
    assert page_requests(netlog) == ["http://example.invalid/x.png"]


def unescape_text(html: str) -> str:
    import html as html_module

    return html_module.unescape(re.sub(r"<[^>]+>", " ", html))


def test_link_to_missing_file_fails_the_check(run_report, tmp_path):
    _, out, _ = run_report
    html = out.read_text().replace('href="', 'href="gone-', 1)
    broken = out.parent / "broken.html"
    broken.write_text(html)
    with pytest.raises(AssertionError, match="missing file"):
        links_exist(broken, collect(html))


def test_bad_inputs_give_a_report_that_says_so(tmp_path):
    # an empty run: nothing given
    empty = write_report(tmp_path / "empty.html", n_jobs=1)
    html = empty.path.read_text()
    assert "No motifs in this run" in html and "no attribution store given" in html
    # a store that holds no regions
    with AttributionStore(tmp_path / "empty.h5", length=10):
        pass
    html = write_report(tmp_path / "e.html", store=tmp_path / "empty.h5", n_jobs=1).path.read_text()
    assert "the attribution store holds no regions" in html and "No regions to show" in html
    # a store without motifs, and motifs without matches
    run = make_run(tmp_path / "nomatch", matches=False, n_regions=2, motif_names=("pos_pattern_0",))
    (run["motifs_dir"] / "hits.bed").unlink()
    result = write_report(
        tmp_path / "nomatch.html", store=run["store"], motifs_dir=run["motifs_dir"], n_jobs=1
    )
    html = result.path.read_text()
    assert "the motifs have no database matches" in html
    assert html.count('class="motif-row"') == 1
    assert "not annotated" in html
    folder = tmp_path / "nomotifs"
    folder.mkdir()
    result = write_report(
        tmp_path / "nomotifs.html", store=run["store"], motifs_dir=folder, n_jobs=1
    )
    html = result.path.read_text()
    assert "no motifs.h5 or motifs.meme" in html and "No motifs in this run" in html
    links_exist(result.path, collect(html))
    # a path that does not exist is an error, and nothing is written
    with pytest.raises(InputError, match="no such"):
        write_report(tmp_path / "x.html", motifs_dir=tmp_path / "missing")
    assert not (tmp_path / "x.html").exists()


def test_loader_prefers_h5_cwms(tmp_path):
    run = make_run(tmp_path, n_regions=2)
    loaded = load_motif_dir(run["motifs_dir"])
    assert [m.id for m in loaded.motifs] == [m.id for m in run["motifs"]]
    for got, want in zip(loaded.motifs, run["motifs"], strict=True):
        np.testing.assert_allclose(got.cwm, want.cwm)
        assert got.sign == want.sign and got.trim == want.trim
    assert len(loaded.hits) == 3 * 1 and loaded.problems == []
    (run["motifs_dir"] / "motifs.h5").unlink()
    loaded = load_motif_dir(run["motifs_dir"])
    assert all(m.cwm is None for m in loaded.motifs)
    assert any("motifs.h5 is missing" in p for p in loaded.problems)


def test_cli_writes_the_report(tmp_path):
    from seqsal.cli import main

    run = make_run(tmp_path, n_regions=2, motif_names=("neg_pattern_0",))
    out = tmp_path / "cli" / "report.html"
    code = main(
        [
            "report",
            "--store",
            str(run["store"]),
            "--motifs",
            str(run["motifs_dir"]),
            "--out",
            str(out),
            "--title",
            "My <run>",
            "--gallery-regions",
            "1",
        ]
    )
    assert code == 0
    html = out.read_text()
    assert "<title>My &lt;run&gt;</title>" in html
    assert html.count('class="region"') == 1
    assert main(["report", "--motifs", str(tmp_path / "nope"), "--out", str(out)]) == 2


def test_model_metrics_timings_and_versions_in_provenance(tmp_path):
    import json

    model = tmp_path / "model"
    model.mkdir()
    (model / "model.json").write_text(json.dumps({"arch": "cnn", "input_length": 200}))
    (model / "metrics.json").write_text(json.dumps({"val": {"pearson": 0.8123456}}))
    result = write_report(
        tmp_path / "r.html", model_dir=model, timings={"train": 12.345}, title="t", n_jobs=1
    )
    html = result.path.read_text()
    assert "val.pearson" in html and "0.8123" in html
    assert "input_length" in html and "12.35 s" in html
    from importlib.metadata import version

    assert version("numpy") in html and version("logomaker") in html
    c = collect(html)
    links_exist(result.path, c)
    assert {unquote(h) for h in c.links if not h.startswith("#")} == {
        "model/model.json",
        "model/metrics.json",
    }


def test_report_is_written_atomically(tmp_path, monkeypatch):
    """A failure while the file is written leaves the previous report and no temporary file."""
    from seqsal.plot import report

    class Template:
        def render(self, **context):
            return 12345  # not text: the write into the temporary file fails

    monkeypatch.setattr(report, "_template", Template)
    (tmp_path / "r.html").write_text("previous report")
    with pytest.raises(TypeError):
        write_report(tmp_path / "r.html", n_jobs=1)
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]
    assert (tmp_path / "r.html").read_text() == "previous report"

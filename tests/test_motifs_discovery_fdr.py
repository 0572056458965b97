"""``seqsal motifs`` calls its own discovery seqlets, at a looser FDR than the reported ones.

Without ``--seqlets`` the command calls seqlets from ``--store`` against ``--null`` at
``--discovery-fdr`` (default 0.2) with :func:`seqsal.seqlets.call_seqlets`; with ``--seqlets``
it discovers from that BED, as before.  The stores hold planted JASPAR sites (one per region,
some of them weak) and a control store of noise like the planted maps' background.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _toys import CTCF, REST, SPI1, planted_maps

from seqsal.cli import main
from seqsal.io.store import AttributionStore, read_position_contributions
from seqsal.motifs.database import load_database
from seqsal.motifs.discover import discover
from seqsal.motifs.match import match, write_annotation
from seqsal.motifs.meme import write_meme
from seqsal.seqlets import call_seqlets, read_seqlets_bed, seqlets_to_bed, write_seqlets_bed
from seqsal.sequence.geometry import window_geometry

OBSERVED = {"control": "none", "method": "deepshap", "target": "0"}
CONTROL = {**OBSERVED, "control": "dinucleotide_shuffle"}
DATABASE = "JASPAR2026:CORE:vertebrates"


def _coords(n: int, L: int, prefix: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "chrom": "chr1",
            "start": 1000 * np.arange(n) + 500,
            "end": 1000 * np.arange(n) + 500 + L,
            "strand": np.where(np.arange(n) % 2 == 0, "+", "-"),
            "name": [f"{prefix}{i:03d}" for i in range(n)],
        }
    )


@pytest.fixture(scope="module")
def stores(tmp_path_factory, jaspar_by_id):
    """attr.h5 (planted sites, a third of them at a fifth of the strength), null.h5 (its
    shuffled-control stand-in: background noise only), null_other.h5 (a control made with
    another method) and seqlets.bed (``seqsal seqlets`` at the default FDR 0.05)."""
    X, hyp, _, _ = planted_maps(jaspar_by_id, [CTCF, SPI1, REST], [1, 1, -1], n=150, seed=5)
    n, _, L = X.shape
    weak = np.arange(n) % 3 == 2
    hyp[weak] *= 0.2
    root = tmp_path_factory.mktemp("discovery_fdr")
    with AttributionStore(root / "attr.h5", length=L, attrs=OBSERVED) as store:
        store.append(X, hyp, projected=hyp * X, coords=_coords(n, L, "region"))
    g = np.random.default_rng(9)
    m = 2 * n
    X_null = np.eye(4, dtype=np.float32)[g.integers(0, 4, size=(m, L))].transpose(0, 2, 1)
    hyp_null = g.normal(0, 0.02, size=(m, 4, L)).astype(np.float32)
    for name, attrs in (("null.h5", CONTROL), ("null_other.h5", {**CONTROL, "method": "ig"})):
        with AttributionStore(root / name, length=L, attrs=attrs) as store:
            store.append(X_null, hyp_null, projected=hyp_null * X_null, coords=_coords(m, L, "s"))
    argv = ["seqlets", "--store", str(root / "attr.h5"), "--null", str(root / "null.h5")]
    assert main([*argv, "--out", str(root / "seqlets.bed"), "--no-progress"]) == 0
    return root


def _motifs(root, out, *extra):
    argv = ["motifs", "--store", str(root / "attr.h5"), "--out", str(out), "--min-seqlets", "15"]
    return main([*argv, *map(str, extra), "--seed", "0", "--no-progress"])


def _read_bed(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", keep_default_na=False).rename(columns={"#chrom": "chrom"})


def _call(root, fdr):
    projected, coords = read_position_contributions(root / "attr.h5", progress=False)
    null, _ = read_position_contributions(root / "null.h5", progress=False)
    return call_seqlets(projected, null=null, coords=coords, fdr=fdr, seed=0, progress=False)


def test_without_seqlets_the_discovery_seqlets_are_call_seqlets_at_0_2(stores, capsys):
    out = stores / "called"
    assert _motifs(stores, out, "--null", stores / "null.h5") == 0
    summary = capsys.readouterr().err.strip().splitlines()[-1]

    called = _call(stores, 0.2)
    bed = _read_bed(out / "seqlets.bed")
    expected = seqlets_to_bed(called).sort_values(["chrom", "start", "end"], kind="stable")
    expected = expected.reset_index(drop=True)
    columns = ["chrom", "start", "end", "name", "score", "strand", "region", "offset", "sign"]
    pd.testing.assert_frame_equal(bed[columns], expected[columns], check_dtype=False)
    for column in ("attribution", "p_value", "q_value"):
        np.testing.assert_allclose(bed[column], expected[column], rtol=1e-5)
    assert (bed["q_value"] <= 0.2).all() and (bed["q_value"] > 0.05).any()

    # the looser FDR gives more seqlets to build motifs from than the reported 0.05
    reported = _read_bed(stores / "seqlets.bed")
    assert len(reported) == len(_call(stores, 0.05))
    assert len(bed) > len(reported)
    assert f"{len(bed)} discovery seqlets at FDR 0.2 (shuffled null)" in summary

    # every seqlet joins a motif or none, and the motifs are the planted ones
    table = pd.read_csv(out / "motifs.tsv", sep="\t")
    best = table[table["rank"] == 1]
    assert set(zip(best["match_id"], best["sign"], strict=True)) == {
        (CTCF, 1),
        (SPI1, 1),
        (REST, -1),
    }
    assert set(bed["motif"]) - {"."} == set(best["motif"])

    record = json.loads((out / "discovery.json").read_text())
    assert record == {
        "source": "called",
        "fdr": 0.2,
        "null": "shuffled",
        "n_seqlets": len(bed),
        "min_length": 4,
        "max_length": 20,
    }


def test_calling_here_equals_seqlets_then_motifs_at_the_same_fdr(stores, tmp_path):
    """Same outputs as ``seqsal seqlets --fdr 0.1`` followed by ``seqsal motifs --seqlets``."""
    bed = tmp_path / "seqlets.bed"
    null = ["--null", stores / "null.h5"]
    argv = ["seqlets", "--store", str(stores / "attr.h5"), *map(str, null), "--out", str(bed)]
    assert main([*argv, "--fdr", "0.1", "--min-length", "5", "--no-progress"]) == 0
    assert _motifs(stores, tmp_path / "two", "--seqlets", bed) == 0
    assert _motifs(stores, tmp_path / "one", *null, "--discovery-fdr", 0.1, "--min-length", 5) == 0
    for name in ("motifs.meme", "motifs.tsv", "hits.bed", "seqlets.bed"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    record = json.loads((tmp_path / "one" / "discovery.json").read_text())
    assert (record["fdr"], record["min_length"], record["max_length"]) == (0.1, 5, 20)


def test_seqlets_alone_gives_the_outputs_of_discovery_on_that_bed(stores, capsys):
    out = stores / "from_bed"
    bed = stores / "seqlets.bed"
    assert _motifs(stores, out, "--seqlets", bed) == 0
    summary = capsys.readouterr().err.strip().splitlines()[-1]

    # what the command did before it could call seqlets: discover from the BED, as given
    from seqsal.io.store import open_store

    with open_store(stores / "attr.h5") as store:
        X, hyp, proj = store.raw[:], store.hypothetical[:], store.projected[:]
        coords = store.coords.copy()
    X, hyp, proj = (np.asarray(a, dtype=np.float32) for a in (X, hyp, proj))
    table = read_seqlets_bed(bed, windows=window_geometry(coords, X.shape[2], n=X.shape[0]))
    motifs = discover(table, X, hyp, proj, coords=coords, min_seqlets=15, seed=0, progress=False)
    expected = stores / "expected"
    expected.mkdir()
    write_meme(motifs, expected / "motifs.meme")
    write_annotation(match(motifs, load_database(DATABASE), top=5), expected / "motifs.tsv")
    assignment = np.full(len(table), ".", dtype=object)
    for motif in motifs:
        assignment[motif.seqlets["seqlet"].to_numpy()] = motif.id
    write_seqlets_bed(table.assign(motif=assignment), expected / "seqlets.bed")
    for name in ("motifs.meme", "motifs.tsv", "seqlets.bed"):
        assert (out / name).read_bytes() == (expected / name).read_bytes(), name
    assert len(motifs) == 3

    record = json.loads((out / "discovery.json").read_text())
    assert record == {
        "source": str(bed),
        "fdr": None,
        "null": None,
        "n_seqlets": len(table),
        "min_length": None,
        "max_length": None,
    }
    assert f"{len(table)} discovery seqlets from {bed}" in summary


def test_without_a_null_the_gaussian_fallback_is_recorded(stores, tmp_path, caplog):
    assert _motifs(stores, tmp_path / "o", "--discovery-fdr", 0.3) == 0
    record = json.loads((tmp_path / "o" / "discovery.json").read_text())
    assert (record["fdr"], record["null"]) == (0.3, "gaussian")
    assert any("gaussian" in r.getMessage().lower() for r in caplog.records)
    projected, coords = read_position_contributions(stores / "attr.h5", progress=False)
    called = call_seqlets(projected, coords=coords, fdr=0.3, seed=0, progress=False)
    assert record["n_seqlets"] == len(called) == len(_read_bed(tmp_path / "o" / "seqlets.bed"))


@pytest.mark.parametrize(
    ("extra", "wanted"),
    [
        (["--seqlets", "{root}/seqlets.bed", "--discovery-fdr", "0.2"], "--discovery-fdr"),
        (["--seqlets", "{root}/seqlets.bed", "--null", "{root}/null.h5"], "--null"),
        (["--discovery-fdr", "0"], "--discovery-fdr: '0'"),
        (["--discovery-fdr", "1.5"], "--discovery-fdr: '1.5'"),
        (["--discovery-fdr", "1"], "--discovery-fdr: '1'"),
        (["--null", "{root}/null_other.h5"], "method is 'ig' in the control store"),
        (["--null", "{root}/attr.h5"], "is not a shuffled-control store"),
    ],
)
def test_bad_options_are_one_line_exit_2_nothing_written(stores, tmp_path, capsys, extra, wanted):
    extra = [e.format(root=stores) for e in extra]
    try:
        code = _motifs(stores, tmp_path / "o", *extra)
    except SystemExit as exited:  # an argparse error exits
        code = exited.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and wanted in err[0], err
    assert not (tmp_path / "o").exists()


def _report(stores, tmp_path, motifs, *extra) -> str:
    html = tmp_path / "report.html"
    argv = ["report", "--store", str(stores / "attr.h5"), "--motifs", str(motifs)]
    argv += [*map(str, extra), "--out", str(html), "--gallery-regions", "0"]
    assert main([*argv, "--jobs", "1", "--no-checksums"]) == 0
    return html.read_text(encoding="utf-8")


def test_the_report_says_which_seqlets_the_motifs_were_built_from(stores, tmp_path):
    called = tmp_path / "called"
    assert _motifs(stores, called, "--null", stores / "null.h5") == 0
    n = json.loads((called / "discovery.json").read_text())["n_seqlets"]
    html = _report(stores, tmp_path, called, "--seqlets", stores / "seqlets.bed")
    assert f'<p class="discovery">Motifs were built from {n} seqlets called at FDR 0.2.</p>' in html
    html = _report(
        stores, tmp_path, called, "--seqlets", stores / "seqlets.bed", "--seqlets-fdr", 0.05
    )
    sentence = (
        f"Motifs were built from {n} seqlets called at FDR 0.2 (the reported seqlets use FDR 0.05)."
    )
    assert f'<p class="discovery">{sentence}</p>' in html
    # the region marks and the seqlet count are the reported seqlets', not the discovery set's
    n_reported = len(_read_bed(stores / "seqlets.bed"))
    assert n_reported < n and f"<td>seqlets</td><td>{n_reported}</td>" in html

    from_bed = tmp_path / "from_bed"
    assert _motifs(stores, from_bed, "--seqlets", stores / "seqlets.bed") == 0
    html = _report(stores, tmp_path, from_bed, "--seqlets-fdr", 0.05)
    sentence = f"Motifs were built from {n_reported} seqlets read from {stores / 'seqlets.bed'}."
    assert f'<p class="discovery">{sentence}</p>' in html
    (from_bed / "discovery.json").unlink()  # a folder from an older seqsal: no sentence
    assert 'class="discovery"' not in _report(stores, tmp_path, from_bed)


# --------------------------------------------------------------------------------------------
# workflow: the motifs rule calls its own discovery seqlets


def _shell_commands(workflow_sim, tmp_path, **settings) -> dict[str, str]:
    """The shell command of each rule of a dry run (``snakemake --printshellcmds``)."""
    import subprocess
    import sys

    from _toys import write_config

    tmp_path.mkdir()
    config = write_config(
        tmp_path / "c.yaml",
        genome=str(workflow_sim / "genome.fa"),
        regions=str(workflow_sim / "regions.bed"),
        sample="s",
        **settings,
    )
    run = [str(tmp_path), "--dry-run", "--", "--printshellcmds"]
    result = subprocess.run(
        [sys.executable, "-m", "seqsal", "run", "--config", str(config), "--directory", *run],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = [
        line.strip().removeprefix("Shell command: ")
        for line in (result.stdout + result.stderr).splitlines()
    ]
    return {
        command: next(
            line.strip() for line in lines if line.strip().startswith(f"seqsal {command} ")
        )
        for command in ("seqlets", "motifs", "report")
    }


@pytest.mark.slow
def test_workflow_motifs_rule_calls_discovery_seqlets_at_the_config_fdr(workflow_sim, tmp_path):
    shell = _shell_commands(workflow_sim, tmp_path / "default")
    assert "--seqlets" not in shell["motifs"]
    assert (
        "--null results/s/null.h5 --discovery-fdr 0.2 --min-length 4 --max-length 20"
        in (shell["motifs"])
    )
    assert "--fdr 0.05" in shell["seqlets"]
    # the reported seqlets still go to the report (its region marks and seqlet count)
    assert "--seqlets results/s/seqlets.bed --seqlets-fdr 0.05" in shell["report"]

    shell = _shell_commands(
        workflow_sim,
        tmp_path / "set",
        attribute={"shuffle_control": False},
        seqlets={"min_length": 6, "max_length": 15},
        motifs={"discovery_fdr": 0.3},
    )
    assert "--null" not in shell["motifs"]
    assert "--discovery-fdr 0.3 --min-length 6 --max-length 15" in shell["motifs"]


def test_workflow_schema_default_and_bounds(tmp_path):
    import yaml

    from seqsal.errors import SeqsalError
    from seqsal.pipeline import check_config, workflow_dir

    schema = yaml.safe_load((workflow_dir() / "schemas" / "config.schema.yaml").read_text())
    setting = schema["properties"]["motifs"]["properties"]["discovery_fdr"]
    assert setting["default"] == 0.2
    for bad, wanted in ((1, "< 1"), (0, "> 0")):
        config = tmp_path / f"c{bad}.yaml"
        config.write_text(f"motifs:\n  discovery_fdr: {bad}\n")
        with pytest.raises(SeqsalError) as info:
            check_config(yaml.safe_load(config.read_text()), config, tmp_path)
        assert f"line 2: motifs.discovery_fdr: {bad}; expected a number {wanted}" in str(info.value)

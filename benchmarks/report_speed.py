"""Time seqsal's HTML motif report against ``modisco report`` on the same 50 motifs.

One synthetic run (JASPAR-derived motifs with flanks, member seqlets, an attribution store,
hits and seqlets) is written once; then, in this process:

* seqsal: ``seqsal.motifs.match`` (TOMTOM vs JASPAR2026 CORE vertebrates, what ``seqsal
  motifs`` does before the report) and ``write_report`` with ``--n-regions`` region logos;
* anchor: ``modisco report -l`` (modisco-lite's descriptive HTML report, tomtom-lite against
  the same JASPAR matrices as a MEME file, its default 10 example seqlets per motif) on a
  TF-MoDISco results file holding the same motifs and seqlets, run as a subprocess.

Prints one JSON line: seconds and bytes of each, their ratios (``speedup`` > 1: seqsal
faster; ``size_ratio``: seqsal's single file over modisco's HTML plus the image files it
refers to).

    nice .venv/bin/python benchmarks/report_speed.py [--n-motifs 50] [--n-regions 100]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def make_motifs(db, n_motifs: int, n_members: int, rng):
    """Motifs built from JASPAR matrices (flanked, sampled), with member seqlets."""
    from seqsal.motifs import Motif

    motifs, members = [], []
    for k, i in enumerate(rng.choice(len(db), size=n_motifs, replace=False)):
        source = db[i]
        sign = -1 if k % 4 == 3 else 1
        core = source.ppm[:, : min(source.width, 14)]
        flank = np.full((4, 4), 0.25)
        ppm = np.concatenate([flank, core, flank], axis=1)
        width = ppm.shape[1]
        seqs = np.stack(
            [rng.choice(4, size=n_members, p=ppm[:, j] / ppm[:, j].sum()) for j in range(width)],
            axis=1,
        )
        onehot = np.eye(4)[seqs].transpose(0, 2, 1)  # (m, 4, w)
        weight = np.r_[np.full(4, 0.05), np.ones(core.shape[1]), np.full(4, 0.05)]
        hypothetical = sign * (ppm * weight)[None] + rng.normal(scale=0.02, size=onehot.shape)
        contrib = hypothetical * onehot
        sampled = onehot.mean(axis=0) + 1e-3
        group = "neg" if sign < 0 else "pos"
        name = f"{group}_pattern_{sum(m.sign == sign for m in motifs)}"
        motifs.append(
            Motif(
                name,
                sampled,
                cwm=contrib.mean(axis=0),
                hypothetical_cwm=hypothetical.mean(axis=0),
                sign=sign,
                n_seqlets=n_members,
                trim=(4, 4 + core.shape[1]),
                source="benchmark",
            )
        )
        members.append((onehot, contrib, hypothetical))
    return motifs, members


def write_modisco_h5(path: Path, motifs, members, length: int, rng) -> None:
    """The layout ``modisco motifs`` writes (modiscolite.io.save_pattern), matrices (w, 4)."""
    import h5py

    counters = {"pos_patterns": 0, "neg_patterns": 0}
    with h5py.File(path, "w") as f:
        for motif, (onehot, contrib, hypothetical) in zip(motifs, members, strict=True):
            kind = "pos_patterns" if motif.sign > 0 else "neg_patterns"
            group = f.require_group(kind).create_group(f"pattern_{counters[kind]}")
            counters[kind] += 1
            group.create_dataset("sequence", data=motif.ppm.T)
            group.create_dataset("contrib_scores", data=motif.cwm.T)
            group.create_dataset("hypothetical_contribs", data=motif.hypothetical_cwm.T)
            s = group.create_group("seqlets")
            m = len(onehot)
            start = rng.integers(0, length - motif.width, size=m)
            s.create_dataset("n_seqlets", data=np.array([m]))
            s.create_dataset("start", data=start)
            s.create_dataset("end", data=start + motif.width)
            s.create_dataset("example_idx", data=rng.integers(0, 300, size=m))
            s.create_dataset("is_revcomp", data=np.zeros(m, dtype=bool))
            s.create_dataset("sequence", data=onehot.transpose(0, 2, 1))
            s.create_dataset("contrib_scores", data=contrib.transpose(0, 2, 1))
            s.create_dataset("hypothetical_contribs", data=hypothetical.transpose(0, 2, 1))


def write_run(folder: Path, motifs, members, n_store: int, length: int, rng) -> dict:
    """Store, motifs folder (meme, h5, hits, seqlets) as ``seqsal motifs`` leaves them."""
    from seqsal.io.store import AttributionStore
    from seqsal.motifs.cwm_io import write_motifs
    from seqsal.motifs.meme import write_meme
    from seqsal.motifs.scan import HIT_COLUMNS, write_hits_bed
    from seqsal.seqlets.bed import BED_COLUMNS

    X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(n_store, length))].transpose(0, 2, 1)
    hyp = rng.normal(scale=0.02, size=X.shape).astype(np.float32)
    starts = rng.integers(10, length - 30, size=n_store)
    for i, s in enumerate(starts):
        hyp[i, :, s : s + 12] += rng.normal(scale=0.5, size=(4, 12)).astype(np.float32)
    names = [f"peak{i}" for i in range(n_store)]
    coords = pd.DataFrame(
        {
            "chrom": "chr1",
            "start": 10_000 + 1_000 * np.arange(n_store),
            "end": 10_000 + 1_000 * np.arange(n_store) + length,
            "strand": "+",
            "name": names,
        }
    )
    store = folder / "attr.h5"
    with AttributionStore(store, length=length, attrs={"method": "ig", "steps": 32}) as s:
        s.append(X, hyp, coords=coords)
    out = folder / "motifs"
    out.mkdir()
    write_meme(motifs, out / "motifs.meme")
    write_motifs(motifs, out / "motifs.h5")
    hits, seqlets = [], []
    for motif in motifs:
        for i in rng.choice(n_store, size=20, replace=False):
            offset = int(starts[i])
            begin = int(coords.start[i]) + offset
            row = {c: 0 for c in HIT_COLUMNS}
            row.update(
                chrom="chr1", start=begin, end=begin + 10, motif=motif.id, score=400,
                strand="+", region=names[i], region_index=int(i), offset=offset,
                window_strand="+", sign=motif.sign, pwm_score=9.0, p_value=1e-4,
                attribution=float(motif.sign * rng.gamma(2.0)), attribution_p_value=0.01,
                cwm_similarity=0.8, trim_start=motif.trim[0], trim_end=motif.trim[1],
            )  # fmt: skip
            hits.append(row)
            seqlets.append(
                [
                    *("chr1", begin - 1, begin + 11, f"peak{i}:{offset}+", 500, "+", names[i]),
                    *(offset, motif.sign, float(row["attribution"]), 1e-5, 1e-3, motif.id),
                ]
            )
    write_hits_bed(pd.DataFrame(hits, columns=HIT_COLUMNS), out / "hits.bed")
    with open(out / "seqlets.bed", "w") as handle:
        handle.write("#" + "\t".join(BED_COLUMNS) + "\n")
        for row in seqlets:
            handle.write("\t".join(str(v) for v in row) + "\n")
    return {"store": store, "motifs_dir": out}


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-motifs", type=int, default=50)
    parser.add_argument("--n-regions", type=int, default=100, help="region logos in the report")
    parser.add_argument("--n-members", type=int, default=30, help="seqlets per motif")
    parser.add_argument("--length", type=int, default=200, help="window length of the store")
    parser.add_argument("--jobs", type=int, default=2, help="seqsal logo processes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", default=None, help="copy both reports into this folder")
    args = parser.parse_args()

    from seqsal.motifs import load_jaspar, match, write_annotation
    from seqsal.motifs.meme import write_meme
    from seqsal.plot.report import write_report

    rng = np.random.default_rng(args.seed)
    db = load_jaspar()
    motifs, members = make_motifs(db, args.n_motifs, args.n_members, rng)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run = write_run(tmp, motifs, members, max(args.n_regions, 300), args.length, rng)
        db_meme = tmp / "jaspar.meme"
        write_meme(db, db_meme)
        modisco_h5 = tmp / "modisco.h5"
        write_modisco_h5(modisco_h5, motifs, members, args.length, rng)

        # seqsal: annotation (as `seqsal motifs` does) then the report
        t0 = time.perf_counter()
        table = match(motifs, db, top=3)
        match_s = time.perf_counter() - t0
        write_annotation(table, run["motifs_dir"] / "motifs.tsv")
        t0 = time.perf_counter()
        result = write_report(
            tmp / "report" / "report.html",
            store=run["store"],
            motifs_dir=run["motifs_dir"],
            n_regions=args.n_regions,
            n_jobs=args.jobs,
        )
        report_s = time.perf_counter() - t0

        # anchor: modisco report (descriptive HTML), tomtom-lite on the same JASPAR matrices
        modisco = Path(sys.executable).with_name("modisco")
        out_dir = tmp / "modisco_report"
        t0 = time.perf_counter()
        subprocess.run(
            [str(modisco), "report", "-i", str(modisco_h5), "-o", str(out_dir), "-s",
             str(out_dir) + "/", "-m", str(db_meme), "-l", "-n", "3"],
            check=True, capture_output=True, env=dict(os.environ, MPLBACKEND="Agg"),
        )  # fmt: skip
        modisco_s = time.perf_counter() - t0
        modisco_html_bytes = next(out_dir.glob("*.html")).stat().st_size
        modisco_bytes = folder_bytes(out_dir)
        if args.keep:
            keep = Path(args.keep)
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(result.path, keep / "seqsal_report.html")
            shutil.copytree(out_dir, keep / "modisco_report", dirs_exist_ok=True)

    print(
        json.dumps(
            {
                "benchmark": "report_speed",
                "n_motifs": args.n_motifs,
                "n_region_logos": result.n_regions,
                "seqsal_images": result.n_images,
                "jobs": args.jobs,
                "seqsal_report_s": round(report_s, 2),
                "seqsal_match_s": round(match_s, 2),
                "seqsal_bytes": result.size,
                "modisco_report_s": round(modisco_s, 2),
                "modisco_html_bytes": modisco_html_bytes,
                "modisco_total_bytes": modisco_bytes,
                "speedup": round(modisco_s / report_s, 2),
                "speedup_with_match": round(modisco_s / (report_s + match_s), 2),
                "size_ratio": round(result.size / modisco_bytes, 2),
            }
        )
    )


if __name__ == "__main__":
    main()

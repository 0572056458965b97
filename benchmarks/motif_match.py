"""Time seqsal.motifs.match for 50 discovered-like motifs against JASPAR2026 CORE vertebrates.

Prints one JSON line: the JASPAR load, the first match call in this process (numba cache
loaded from disk; a fresh install compiles first, see docs/motifs.md), warm calls, and the
anchor: memelite's tomtom alone on the same trimmed matrices, in the same run.

    .venv/bin/python benchmarks/motif_match.py [--n-motifs 50] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def sampled_motifs(db, n_motifs, seed):
    from seqsal.motifs import Motif

    rng = np.random.default_rng(seed)
    motifs, sources = [], []
    for k, i in enumerate(rng.choice(len(db), size=n_motifs, replace=False)):
        source = db[i]
        core = (
            np.stack([rng.multinomial(200, source.ppm[:, j]) for j in range(source.width)], axis=1)
            / 200
        )
        flank = np.full((4, 5), 0.25)
        ppm = np.concatenate([flank, core, flank], axis=1)
        weight = np.r_[np.full(5, 0.05), np.ones(source.width), np.full(5, 0.05)]
        motifs.append(Motif(name=f"pattern_{k}", ppm=ppm, cwm=ppm * weight, n_seqlets=200))
        sources.append(source.id)
    return motifs, sources


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-motifs", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    t0 = time.perf_counter()
    from seqsal.motifs import load_jaspar, match
    from seqsal.motifs.match import query_matrix

    db = load_jaspar()
    load_s = time.perf_counter() - t0
    motifs, sources = sampled_motifs(db, args.n_motifs, args.seed)

    t0 = time.perf_counter()
    table = match(motifs, db)
    first_s = time.perf_counter() - t0

    warm = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        match(motifs, db)
        warm.append(time.perf_counter() - t0)

    from memelite import tomtom

    queries = [query_matrix(m).ppm for m in motifs]
    targets = [np.ascontiguousarray(m.ppm) for m in db]
    anchor = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        tomtom(queries, targets)
        anchor.append(time.perf_counter() - t0)

    best = table[table["rank"] == 1].set_index("motif")
    top1_source = sum(best.loc[m.id, "match_id"] == s for m, s in zip(motifs, sources, strict=True))
    print(
        json.dumps(
            {
                "benchmark": "motif_match",
                "n_motifs": len(motifs),
                "n_database": len(db),
                "jaspar_load_s": round(load_s, 3),
                "match_first_call_s": round(first_s, 3),
                "match_warm_s": round(float(np.median(warm)), 4),
                "tomtom_anchor_s": round(float(np.median(anchor)), 4),
                "ratio_match_over_tomtom": round(float(np.median(warm) / np.median(anchor)), 2),
                "significant_best": int(best["significant"].sum()),
                "best_is_source": int(top1_source),
            }
        )
    )


if __name__ == "__main__":
    main()

"""Seqlet recall and precision of seqsal and tangermeme at several target FDRs, same attributions.

Works on the cache of ``benchmarks/motif_recovery.py`` (run it first, without ``--quick``;
``--out`` picks another cache, e.g. the ``--clean-background`` one).  For each target FDR both
callers run on the same projected attributions and the same shuffled-sequence null: seqsal's
``call_seqlets(fdr=...)`` with its defaults, and tangermeme's ``recursive_seqlets`` (its
``X_control`` / ``target_fdr`` mode, run once per sign on the negated arrays for negative
seqlets, as its docstring says) with ``max_seqlet_len`` 20 (motif_recovery's setting) and 25
(its default).  Recall and precision are motif_recovery's: planted instances >= 50 % covered
by a seqlet of their sign; seqlets overlapping an instance of their sign.  tangermeme's own
default is ``target_fdr=0.1``, seqsal's ``fdr=0.05``.

tangermeme tries 117 thresholds, four per decade, and calls at the loosest one whose estimated
FDR is at or below the target, so its calls stand at an estimate below the target
(``estimated_fdr_attained``, per sign, from its ``return_fdr`` table).  Each target therefore
also has a row for seqsal called at that same estimate, per sign, with the precision
difference and its paired bootstrap over regions.  Prints one JSON line.

    nice .venv/bin/python benchmarks/seqlet_fdr_grid.py [--out benchmarks/out/motif_recovery]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from motif_recovery import (  # noqa: E402
    planted_instances,
    precision_difference,
    seqlet_scores,
    seqsal_at,
)
from seqlet_errors import tangermeme_seqlets  # noqa: E402

FDRS = (0.01, 0.02, 0.05, 0.1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "out" / "motif_recovery"))
    parser.add_argument("--fdr", type=float, nargs="*", default=list(FDRS))
    args = parser.parse_args()
    out = Path(args.out)
    if not (out / "attributions.npz").exists():
        raise SystemExit(f"{out / 'attributions.npz'} is missing: run motif_recovery.py first")

    from seqsal.seqlets import call_seqlets

    d = np.load(out / "attributions.npz")
    P, N = d["projected"].sum(axis=1), d["projected_null"].sum(axis=1)
    planted = planted_instances(out / "sim", d["name"], d["start"])
    columns = ["example_idx", "core_start", "core_end", "sign"]
    rows = []
    for fdr in args.fdr:
        table = call_seqlets(P, null=N, fdr=fdr, progress=False).table
        score = seqlet_scores(table[columns].reset_index(drop=True), planted)
        rows.append({"caller": "seqsal", "fdr": fdr, "max_len": None, **_figures(score)})
        for max_len in (20, 25):
            theirs = tangermeme_seqlets(P, N, fdr, max_len)
            attained = theirs.attrs["estimated_fdr_attained"]
            score = seqlet_scores(theirs, planted)
            rows.append(
                {
                    "caller": "tangermeme",
                    "fdr": fdr,
                    "max_len": max_len,
                    "estimated_fdr_attained": attained,
                    **_figures(score),
                }
            )
            if max_len != 20:
                continue
            # seqsal at the FDR estimate tangermeme's calls actually stand at, per sign.
            matched = seqsal_at({"projected": P, "projected_null": N}, attained)
            rows.append(
                {
                    "caller": "seqsal at tangermeme's estimate",
                    "fdr": attained,
                    "max_len": None,
                    **_figures(seqlet_scores(matched, planted)),
                    "precision_minus_tangermeme": precision_difference(
                        matched, theirs, planted, P.shape[0]
                    ),
                }
            )
    print(json.dumps({"benchmark": "seqlet_fdr_grid", "cache": str(out), "rows": rows}))
    return 0


def _figures(score: dict) -> dict:
    return {k: score[k] for k in ("n_seqlets", "recall", "precision")}


if __name__ == "__main__":
    raise SystemExit(main())

"""Where the false seqlets of ``motif_recovery`` come from, for seqsal and tangermeme.

Works on the cache of ``benchmarks/motif_recovery.py`` (run it first, without ``--quick``):
calls seqlets with both callers at FDR 0.05 on the same attributions (in this process; the
timings are motif_recovery's business), then for each caller counts seqlets and false calls
(no overlap with a planted instance of the same sign) by sign, and scores every false call,
a sample of true calls and random spans clear of planted sites by their best relative PWM score against the planted
motifs (both strands, any offset touching the span; 0 = worst, 1 = best possible
score). A false call that scores like a planted site is the model responding to a background
site nobody planted.  Prints one JSON line.

    nice .venv/bin/python benchmarks/seqlet_errors.py [--out benchmarks/out/motif_recovery]
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from motif_recovery import planted_instances, seqlet_hits, seqlet_scores  # noqa: E402


def tangermeme_seqlets(P, N, fdr: float, max_len: int = 20) -> pd.DataFrame:
    """tangermeme ``recursive_seqlets`` at a target FDR against the control ``N``, once per
    sign (negated arrays for negative seqlets, as its docstring says): example_idx,
    core_start, core_end, sign.  ``attrs["estimated_fdr_attained"]`` holds, per sign, its own
    FDR estimate at the threshold it used (None where no threshold reached the target)."""
    import torch
    from tangermeme.seqlet import recursive_seqlets

    parts, attained = [], {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for sign in (1, -1):
            result = recursive_seqlets(
                torch.from_numpy(sign * P.astype(np.float32)),
                min_seqlet_len=4,
                max_seqlet_len=max_len,
                X_control=torch.from_numpy(sign * N.astype(np.float32)),
                target_fdr=fdr,
                return_fdr=True,
            )
            s = result.seqlets
            ok = result.fdr[result.fdr["fdr"] <= fdr]
            attained[sign] = float(ok.loc[ok["threshold"].idxmax(), "fdr"]) if len(ok) else None
            parts.append(
                pd.DataFrame(
                    {
                        "example_idx": s["example_idx"].to_numpy(),
                        "core_start": s["start"].to_numpy(),
                        "core_end": s["end"].to_numpy(),
                        "sign": sign,
                    }
                )
            )
    table = pd.concat(parts, ignore_index=True)
    table.attrs["estimated_fdr_attained"] = attained
    return table


def false_calls(seqlets: pd.DataFrame, planted: pd.DataFrame) -> np.ndarray:
    """True where a seqlet overlaps no planted instance of its sign."""
    return ~seqlet_hits(seqlets, planted)[1]


def best_relative_score(X, example, start, end, matrices) -> float:
    """Best relative log-odds score of any matrix, either strand, at offsets touching the span."""
    best = 0.0
    L = X.shape[2]
    for lo in matrices:
        w = lo.shape[1]
        low, high = lo.min(axis=0).sum(), lo.max(axis=0).sum()
        first, last = max(0, start - w + 1), min(L - w, end - 1)
        if last < first:
            continue
        windows = np.lib.stride_tricks.sliding_window_view(X[example], w, axis=1)[
            :, first : last + 1
        ]  # (4, positions, w)
        for strand in (lo, lo[::-1, ::-1]):
            scores = np.einsum("bpw,bw->p", windows, strand)
            best = max(best, float((scores.max() - low) / (high - low)))
    return best


def quantiles(values) -> list[float]:
    return [round(float(v), 3) for v in np.percentile(values, [10, 25, 50, 75, 90])]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "out" / "motif_recovery"))
    parser.add_argument("--fdr", type=float, default=0.05)
    parser.add_argument("--sample", type=int, default=300, help="true calls and random spans")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = Path(args.out)
    if not (out / "attributions.npz").exists():
        raise SystemExit(f"{out / 'attributions.npz'} is missing: run motif_recovery.py first")

    from seqsal.seqlets import call_seqlets
    from seqsal.sequence.synthetic import (
        _log_odds_matrix,
        _stationary,
        _transition_matrix,
        load_motifs,
    )

    d = np.load(out / "attributions.npz")
    X = d["X"].astype(np.float64)
    P, N = d["projected"].sum(axis=1), d["projected_null"].sum(axis=1)
    planted = planted_instances(out / "sim", d["name"], d["start"])

    calls = {}
    table = call_seqlets(P, null=N, fdr=args.fdr, progress=False).table
    calls["seqsal"] = table[["example_idx", "core_start", "core_end", "sign"]]
    calls["tangermeme"] = tangermeme_seqlets(P, N, args.fdr)

    background = _stationary(_transition_matrix())
    motifs = load_motifs()
    matrices = {
        1: [_log_odds_matrix(m.ppm, background) for m in motifs if m.role == "activator"],
        -1: [_log_odds_matrix(m.ppm, background) for m in motifs if m.role == "repressor"],
    }
    rng = np.random.default_rng(args.seed)
    result = {"benchmark": "seqlet_errors", "fdr": args.fdr, "n_planted": len(planted)}
    for name, seqlets in calls.items():
        seqlets = seqlets.reset_index(drop=True)
        false = false_calls(seqlets, planted)
        scores = seqlet_scores(seqlets, planted)
        entry = {
            "n_seqlets": len(seqlets),
            "n_false": int(false.sum()),
            "recall": scores["recall"],
            "precision": scores["precision"],
            "false_fraction_by_sign": {
                str(s): round(float(false[seqlets["sign"].to_numpy() == s].mean()), 4)
                for s in (1, -1)
                if (seqlets["sign"] == s).any()
            },
            "mean_length_true": round(
                float((seqlets.core_end - seqlets.core_start)[~false].mean()), 2
            ),
        }
        rows = seqlets[false]
        entry["false_best_relative_pwm_score_q10_25_50_75_90"] = quantiles(
            [
                best_relative_score(X, r.example_idx, r.core_start, r.core_end, matrices[r.sign])
                for r in rows.itertuples()
            ]
        )
        true_rows = seqlets[~false]
        pick = rng.choice(len(true_rows), size=min(args.sample, len(true_rows)), replace=False)
        entry["true_best_relative_pwm_score_q10_25_50_75_90"] = quantiles(
            [
                best_relative_score(X, r.example_idx, r.core_start, r.core_end, matrices[r.sign])
                for r in true_rows.iloc[pick].itertuples()
            ]
        )
        result[name] = entry
    spans = []
    by_example = {e: g for e, g in planted.groupby("example_idx")}
    while len(spans) < args.sample:  # random 12 bp spans clear of every planted instance
        e, a = int(rng.integers(X.shape[0])), int(rng.integers(0, X.shape[2] - 12))
        g = by_example.get(e)
        if g is not None and ((g["s_start"] < a + 12) & (g["s_end"] > a)).any():
            continue
        spans.append(best_relative_score(X, e, a, a + 12, matrices[1]))
    result["random_12bp_best_relative_pwm_score_q10_25_50_75_90"] = quantiles(spans)
    result["planting_floor_relative_score"] = 0.7
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

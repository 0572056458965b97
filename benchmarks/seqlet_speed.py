"""Seqlet calling speed and accuracy: seqsal vs tangermeme ``recursive_seqlets``.

Synthetic per-position attribution maps (correlated heavy-tailed background, planted blocks of
positive or negative attribution) and a control of the same background without blocks, as a
shuffled-sequence control would be.  Each caller runs in a FRESH Python process, so numba
compilation (tangermeme, every process) or cache loading (seqsal) is included in its time.
Both call both signs at the same target FDR (tangermeme on the negated maps for the negative
sign, as its documentation says).  Prints one JSON line.

    nice .venv/bin/python benchmarks/seqlet_speed.py [--n 10000] [--length 300] [--seed 0]

Each caller runs ``--repeats`` times (default 3), alternating with the other; the figures are
those of the median run by wall time (all runs' wall times are listed beside them).

Times: ``*_call_s`` is the first call in a fresh process (seqsal: numba start-up and cache
loading included; tangermeme: its compilation included); ``*_fresh_process_s`` the whole
process (interpreter, imports, loading the maps, calling); CPU seconds beside them because the
machine is shared.  ``seqsal_per_process_kernel_startup_s``: in another fresh process, first
tiny call minus second.

Recall: planted blocks overlapped >= 50% by a called seqlet of the same sign.
Precision: called seqlets that overlap a planted block of the same sign.
Accuracy is also reported (not timed) on a second set with an i.i.d. Gaussian background, the
background tangermeme's null assumes (``iid_*``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SEQSAL = r"""
import sys, time
t0 = time.perf_counter()
import numpy as np
from seqsal.seqlets import call_seqlets
d = np.load(sys.argv[1])
X, null = d["X"], d["null"]
t1 = time.perf_counter()
# The first call in the process: numba start-up and cache loading included.
res = call_seqlets(X, null=null, min_length=4, max_length=20, fdr=float(sys.argv[3]), progress=False)
t2 = time.perf_counter()
t = res.table
np.savez(sys.argv[2], example=t["example_idx"].to_numpy(), start=t["core_start"].to_numpy(),
         end=t["core_end"].to_numpy(), sign=t["sign"].to_numpy(), call_s=t2 - t1, import_s=t1 - t0)
"""

# Per-process start-up of the kernels (numba init + cache load): first tiny call minus second.
STARTUP = r"""
import sys, time
import numpy as np
from seqsal.seqlets import call_seqlets
d = np.load(sys.argv[1])
tiny = np.ascontiguousarray(d["X"][:64]), np.ascontiguousarray(d["null"][:64])
ta, ca = time.perf_counter(), time.process_time()
call_seqlets(tiny[0], null=tiny[1], progress=False)
tb, cb = time.perf_counter(), time.process_time()
call_seqlets(tiny[0], null=tiny[1], progress=False)
tc, cc = time.perf_counter(), time.process_time()
np.savez(sys.argv[2], startup_s=(tb - ta) - (tc - tb), startup_cpu_s=(cb - ca) - (cc - cb))
"""

TANGERMEME = r"""
import sys, time, warnings
t0 = time.perf_counter()
import numpy as np
import torch
from tangermeme.seqlet import recursive_seqlets
fdr = float(sys.argv[3])


def call(path):
    d = np.load(path)
    X = torch.from_numpy(d["X"].astype(np.float32)); C = torch.from_numpy(d["null"].astype(np.float32))
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for sign in (1, -1):
            s = recursive_seqlets(sign * X, min_seqlet_len=4, max_seqlet_len=20, X_control=sign * C, target_fdr=fdr)
            out.append((s, sign))
    ex = np.concatenate([s["example_idx"].to_numpy() for s, _ in out]).astype(np.int64)
    st = np.concatenate([s["start"].to_numpy() for s, _ in out]).astype(np.int64)
    en = np.concatenate([s["end"].to_numpy() for s, _ in out]).astype(np.int64)
    sg = np.concatenate([np.full(len(s), g) for s, g in out]).astype(np.int64)
    return ex, st, en, sg


t1 = time.perf_counter()
ex, st, en, sg = call(sys.argv[1])
t2 = time.perf_counter()
np.savez(sys.argv[2], example=ex, start=st, end=en, sign=sg, call_s=t2 - t1, import_s=t1 - t0)
"""


def background(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """Autocorrelated, heavy-tailed (Student t, 5 df) noise, as attributions of plain sequence look."""
    kernel = np.array([0.3, 0.6, 1.0, 0.6, 0.3])
    raw = rng.standard_t(5, size=(n, length + kernel.size - 1))
    out = np.empty((n, length))
    for i in range(n):
        out[i] = np.convolve(raw[i], kernel, mode="valid")
    return 0.1 * out


def iid_background(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """Independent Gaussian noise: the background tangermeme's null assumes."""
    return 0.1 * rng.standard_normal((n, length))


def planted_maps(n: int, length: int, seed: int, make_background=background):
    """Maps with 0-2 planted blocks each (75% positive, 25% negative), and a block-free control."""
    rng = np.random.default_rng(seed)
    X = make_background(rng, n, length)
    control = make_background(rng, n, length)
    blocks = []
    for i in range(n):
        taken = np.zeros(length, dtype=bool)
        for _ in range(rng.integers(0, 3)):
            width = int(rng.integers(6, 16))
            start = int(rng.integers(0, length - width))
            if taken[max(0, start - 5) : start + width + 5].any():
                continue
            taken[start : start + width] = True
            sign = 1 if rng.random() < 0.75 else -1
            amp = rng.uniform(0.3, 0.8)
            X[i, start : start + width] += sign * amp * rng.uniform(0.5, 1.5, width)
            blocks.append((i, start, start + width, sign))
    return X, control, np.array(blocks, dtype=np.int64).reshape(-1, 4)


def score(calls: dict, blocks: np.ndarray) -> tuple[float, float]:
    """(recall, precision) of calls against planted blocks, same sign required."""
    ex, st, en, sg = (np.asarray(calls[k]) for k in ("example", "start", "end", "sign"))
    by_example: dict[int, list[int]] = {}
    for c, e in enumerate(ex):
        by_example.setdefault(int(e), []).append(c)
    hit_block = 0
    call_hits = np.zeros(ex.size, dtype=bool)
    for i, a, b, s in blocks:
        found = False
        for c in by_example.get(int(i), []):
            if sg[c] != s:
                continue
            overlap = min(b, en[c]) - max(a, st[c])
            if overlap > 0:
                call_hits[c] = True
                if overlap >= 0.5 * (b - a):
                    found = True
        hit_block += found
    recall = hit_block / max(1, len(blocks))
    precision = float(call_hits.mean()) if ex.size else float("nan")
    return recall, precision


def run_fresh(code: str, data: Path, out: Path, fdr: float, env: dict) -> tuple[float, float, dict]:
    """Run ``code`` in a new interpreter; (wall seconds, CPU seconds, its saved arrays).

    CPU time (user + system of the child) is reported beside wall time because this machine
    is shared: wall time stretches with other people's load, CPU time much less.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(data), str(out), str(fdr)], check=True, env=env)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with np.load(out) as f:
        return wall, cpu, {k: f[k] for k in f.files}


def median_run(runs: list) -> tuple[float, float, dict]:
    """The run with the median wall time (its CPU time and arrays with it)."""
    ordered = sorted(runs, key=lambda r: r[0])
    return ordered[(len(ordered) - 1) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="regions")
    parser.add_argument("--length", type=int, default=300, help="window length")
    parser.add_argument("--fdr", type=float, default=0.05, help="target FDR for both callers")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--repeats", type=int, default=3, help="fresh processes per caller (median reported)"
    )
    args = parser.parse_args()

    X, control, blocks = planted_maps(args.n, args.length, args.seed)
    X_iid, control_iid, blocks_iid = planted_maps(
        args.n, args.length, args.seed + 1, iid_background
    )
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "maps.npz"
        np.savez(data, X=X, null=control)
        iid = Path(tmp) / "iid.npz"
        np.savez(iid, X=X_iid, null=control_iid)
        # Warm the on-disk numba cache once (what the first run after install does), then
        # time a fresh process that only loads it.
        first_wall, _, _ = run_fresh(SEQSAL, data, Path(tmp) / "warm.npz", args.fdr, env)
        _, _, startup = run_fresh(STARTUP, data, Path(tmp) / "startup.npz", args.fdr, env)
        # Alternate the two callers, so that a change of load hits both alike; medians.
        runs = {"seqsal": [], "tangermeme": []}
        for _ in range(args.repeats):
            runs["seqsal"].append(run_fresh(SEQSAL, data, Path(tmp) / "seqsal.npz", args.fdr, env))
            runs["tangermeme"].append(
                run_fresh(TANGERMEME, data, Path(tmp) / "tm.npz", args.fdr, env)
            )
        seqsal_wall, seqsal_cpu, ours = median_run(runs["seqsal"])
        tm_wall, tm_cpu, theirs = median_run(runs["tangermeme"])
        # Accuracy only (not timed): the i.i.d. background, each caller in its own process.
        ours_iid = run_fresh(SEQSAL, iid, Path(tmp) / "seqsal_iid.npz", args.fdr, env)[2]
        theirs_iid = run_fresh(TANGERMEME, iid, Path(tmp) / "tm_iid.npz", args.fdr, env)[2]

    r_ours, p_ours = score(ours, blocks)
    r_tm, p_tm = score(theirs, blocks)
    r_ours_iid, p_ours_iid = score(ours_iid, blocks_iid)
    r_tm_iid, p_tm_iid = score(theirs_iid, blocks_iid)
    print(
        json.dumps(
            {
                "benchmark": "seqlet_speed",
                "regions": args.n,
                "length": args.length,
                "planted": len(blocks),
                "fdr": args.fdr,
                "repeats": args.repeats,
                "seqsal_fresh_process_s_runs": [round(r[0], 3) for r in runs["seqsal"]],
                "tangermeme_fresh_process_s_runs": [round(r[0], 3) for r in runs["tangermeme"]],
                "seqsal_fresh_process_s": round(seqsal_wall, 3),
                "seqsal_call_s": round(float(ours["call_s"]), 3),
                "seqsal_first_run_s": round(first_wall, 3),
                "seqsal_per_process_kernel_startup_s": round(float(startup["startup_s"]), 3),
                "seqsal_per_process_kernel_startup_cpu_s": round(
                    float(startup["startup_cpu_s"]), 3
                ),
                "tangermeme_fresh_process_s": round(tm_wall, 3),
                "tangermeme_call_s": round(float(theirs["call_s"]), 3),
                "seqsal_fresh_process_cpu_s": round(seqsal_cpu, 3),
                "tangermeme_fresh_process_cpu_s": round(tm_cpu, 3),
                "speedup_fresh_process": round(tm_wall / seqsal_wall, 2),
                "speedup_fresh_process_cpu": round(tm_cpu / seqsal_cpu, 2),
                "load_average_1min": round(os.getloadavg()[0], 2),
                "speedup_call": round(float(theirs["call_s"]) / float(ours["call_s"]), 2),
                "seqsal_seqlets": int(ours["example"].size),
                "tangermeme_seqlets": int(theirs["example"].size),
                "seqsal_recall": round(r_ours, 4),
                "seqsal_precision": round(p_ours, 4),
                "tangermeme_recall": round(r_tm, 4),
                "tangermeme_precision": round(p_tm, 4),
                "iid_background_planted": len(blocks_iid),
                "iid_seqsal_recall": round(r_ours_iid, 4),
                "iid_seqsal_precision": round(p_ours_iid, 4),
                "iid_tangermeme_recall": round(r_tm_iid, 4),
                "iid_tangermeme_precision": round(p_tm_iid, 4),
            }
        )
    )


if __name__ == "__main__":
    main()

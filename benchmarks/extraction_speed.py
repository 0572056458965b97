"""Extraction of fixed-width windows from a FASTA: seqsal vs tangermeme, and streaming memory.

Simulates a multi-chromosome genome (random bases with soft-masked and N stretches) in a
temporary folder, then, in this one process:

* times ``make_windows`` + ``extract_onehot`` against tangermeme's ``extract_loci`` on the
  same FASTA and loci, like with like: seqsal ``dtype=np.int8`` against tangermeme's int8
  output (its default ``n_jobs=4``, which numba caps at its thread count, the cores here:
  ``tangermeme_threads``), and seqsal's default float32 against tangermeme + ``.float()`` (it
  has no dtype option); both at their default thread counts (seqsal's ``n_jobs=-1``: every
  core), and both on one thread (seqsal ``n_jobs=1``, tangermeme ``n_jobs=1``); checks that
  the arrays are equal for both pairs, and reports windows/s and the ratios (above 1: seqsal
  faster);
* measures the peak RSS of streaming extraction (``iter_onehot``, batches consumed and
  discarded) for N and 10N windows, each in a fresh child process (``ru_maxrss``).

Prints ONE JSON line.  ``--quick`` runs a smaller configuration for development.

    nice .venv/bin/python benchmarks/extraction_speed.py            # 100,000 x 1 kb, ~50 Mb
    nice .venv/bin/python benchmarks/extraction_speed.py --quick
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def simulate_genome(path: Path, sizes: dict[str, int], seed: int) -> None:
    """Random ACGT with lowercase and N stretches, written 60 bases a line."""
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    with open(path, "wb") as handle:
        for name, size in sizes.items():
            seq = letters[rng.integers(0, 4, size=size)]
            for _ in range(size // 100_000 + 1):  # soft-masked stretches
                a = int(rng.integers(0, size - 500))
                seq[a : a + 500] |= 0x20
            for _ in range(size // 1_000_000 + 1):  # assembly gaps
                a = int(rng.integers(0, size - 200))
                seq[a : a + 200] = ord("N")
            handle.write(f">{name}\n".encode())
            full = size // 60 * 60
            body = np.concatenate(
                [seq[:full].reshape(-1, 60), np.full((size // 60, 1), ord("\n"), np.uint8)], axis=1
            )
            handle.write(body.tobytes())
            if size > full:
                handle.write(seq[full:].tobytes() + b"\n")


def random_loci(sizes: dict[str, int], n: int, width: int, seed: int) -> pd.DataFrame:
    """Loci whose windows lie inside their chromosome (tangermeme drops the others)."""
    rng = np.random.default_rng(seed)
    names = list(sizes)
    lengths = np.array([sizes[c] for c in names])
    which = rng.choice(len(names), size=n, p=lengths / lengths.sum())
    region = rng.integers(50, 500, size=n)
    starts = width + (rng.random(n) * (lengths[which] - 2 * width - region)).astype(np.int64)
    df = pd.DataFrame(
        {
            "chrom": np.array(names, dtype=object)[which],
            "start": starts,
            "end": starts + region,
            "name": [f"r{i}" for i in range(n)],
            "score": 0.0,
            "strand": "+",
        }
    )
    return df.sort_values(["chrom", "start"], kind="stable").reset_index(drop=True)


def child_peak_rss(fasta: Path, bed: Path, width: int, batch_size: int) -> dict:
    """Stream the windows of ``bed`` in a fresh process; return its peak memory (MiB).

    ``peak_rss_mib`` is the child's ``ru_maxrss``; ``vmhwm_mib`` its ``VmHWM`` (the high-water
    mark of its own address space after exec; Linux only).
    """
    code = "\n".join(
        [
            "import json, resource",
            "from seqsal.io.bed import read_bed",
            "from seqsal.io.fasta import open_genome",
            "from seqsal.sequence.windows import iter_onehot, make_windows",
            f"g = open_genome({str(fasta)!r})",
            f"w = make_windows(read_bed({str(bed)!r}, chrom_sizes=g.chrom_sizes), {width}, chrom_sizes=g.chrom_sizes)",
            "n = 0",
            f"for X in iter_onehot(g, w, batch_size={batch_size}):",
            "    n += len(X)",
            "hwm = [line for line in open('/proc/self/status') if line.startswith('VmHWM')]",
            "print(json.dumps({'n': n,",
            "    'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,",
            "    'vmhwm_mib': int(hwm[0].split()[1]) / 1024 if hwm else None}))",
        ]
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _timed(fn):
    t0 = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="small run: 10,000 windows from a ~10 Mb genome"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulated genome and loci")
    parser.add_argument(
        "--repeats", type=int, default=3, help="timings are the best of this many runs"
    )
    args = parser.parse_args()
    load_start = os.getloadavg()[0]
    # Each extraction logs one WARNING (N counts); keep the output to the one JSON line.
    logging.getLogger("seqsal").setLevel(logging.ERROR)

    n, width = (10_000, 1000) if args.quick else (100_000, 1000)
    chrom_size = 2_000_000 if args.quick else 10_000_000
    sizes = {f"chr{i + 1}": chrom_size + 1_234 * i for i in range(5)}
    n_mem = 2_000 if args.quick else 10_000  # N for the memory test; 10N is also run

    from seqsal.io.bed import write_bed
    from seqsal.io.fasta import open_genome
    from seqsal.sequence.windows import extract_onehot, iter_onehot, make_windows

    with tempfile.TemporaryDirectory(prefix="seqsal-bench-") as tmp:
        tmp = Path(tmp)
        fasta = tmp / "genome.fa"
        simulate_genome(fasta, sizes, args.seed)
        open_genome(fasta).close()  # build the .fai once, outside the timings

        # Memory first, while this process is small: on Linux a child's ru_maxrss starts from
        # the RSS of the process it was forked from, so a big parent would mask the child's
        # own peak.  VmHWM (the child's own high-water mark) is reported beside it.
        mem = {}
        for k in (1, 10):
            bed = tmp / f"mem{k}.bed"
            write_bed(random_loci(sizes, k * n_mem, width, args.seed + 2), bed)
            mem[k] = child_peak_rss(fasta, bed, width, batch_size=1024)

        from tangermeme.io import extract_loci

        loci = random_loci(sizes, n, width, args.seed + 1)

        def seqsal_run(dtype=np.float32, n_jobs=-1):
            with open_genome(fasta) as g:
                windows = make_windows(loci, width, chrom_sizes=g.chrom_sizes)
                return extract_onehot(g, windows, dtype=dtype, n_jobs=n_jobs)

        # Warm up (tangermeme compiles numba kernels on first use, per thread setting).
        extract_loci(loci.iloc[:100], str(fasta), in_window=width, n_jobs=1)
        extract_loci(loci.iloc[:100], str(fasta), in_window=width)
        with open_genome(fasta) as g:
            extract_onehot(g, make_windows(loci.iloc[:100], width, chrom_sizes=g.chrom_sizes))

        def seqsal_stream():  # batches consumed one at a time, as attribution does
            with open_genome(fasta) as g:
                windows = make_windows(loci, width, chrom_sizes=g.chrom_sizes)
                return sum(len(X) for X in iter_onehot(g, windows, batch_size=1024))

        def tangermeme_run(**kwargs):
            return extract_loci(loci, str(fasta), in_window=width, **kwargs)

        # Correctness once: the same windows, the same one-hot values, in each dtype pair.
        theirs = tangermeme_run(n_jobs=1)
        ours = seqsal_run(np.int8)
        equal_int8 = bool(ours.dtype == np.int8 and np.array_equal(ours, theirs.numpy()))
        del ours
        ours = seqsal_run()
        equal = bool(np.array_equal(ours, theirs.float().numpy()))
        del ours, theirs

        # Timings: the shared machine is noisy, so each is the best of --repeats runs,
        # interleaved so that a busy spell hits every contender alike.
        contenders = {
            "seqsal": seqsal_run,
            "seqsal_int8": lambda: seqsal_run(np.int8),
            "seqsal_int8_1thread": lambda: seqsal_run(np.int8, n_jobs=1),
            "stream": seqsal_stream,
            "tm": tangermeme_run,
            "tm1": lambda: tangermeme_run(n_jobs=1),
            # float32, what a model takes: tangermeme has no dtype option, so + .float().
            "tm_float": lambda: tangermeme_run().float(),
            "tm1_float": lambda: tangermeme_run(n_jobs=1).float(),
        }
        times: dict[str, list[float]] = {k: [] for k in contenders}
        for _ in range(args.repeats):
            for key, fn in contenders.items():
                times[key].append(_timed(fn)[1])
        best = {k: min(v) for k, v in times.items()}
        t_seqsal, t_int8, t_int8_1, t_stream, t_tm, t_tm1, t_tm_float, t_tm1_float = (
            best[k] for k in contenders
        )
        import numba

        tm_threads = min(4, numba.config.NUMBA_NUM_THREADS)  # extract_loci's n_jobs=4, capped

    print(
        json.dumps(
            {
                "benchmark": "extraction_speed",
                "quick": args.quick,
                "genome_mb": round(sum(sizes.values()) / 1e6, 1),
                "n_windows": n,
                "width": width,
                "repeats": args.repeats,
                "arrays_equal": equal,
                "arrays_equal_int8": equal_int8,
                "seqsal_s": round(t_seqsal, 3),
                "seqsal_int8_s": round(t_int8, 3),
                "seqsal_int8_1thread_s": round(t_int8_1, 3),
                "tangermeme_s": round(t_tm, 3),
                "tangermeme_1thread_s": round(t_tm1, 3),
                "tangermeme_float32_s": round(t_tm_float, 3),
                "tangermeme_1thread_float32_s": round(t_tm1_float, 3),
                "seqsal_stream_s": round(t_stream, 3),
                "seqsal_windows_per_s": round(n / t_seqsal),
                "seqsal_stream_windows_per_s": round(n / t_stream),
                "tangermeme_windows_per_s": round(n / t_tm),
                "speed_ratio_int8_vs_tangermeme_int8": round(t_tm / t_int8, 3),
                "speed_ratio_int8_vs_tangermeme_int8_1thread": round(t_tm1 / t_int8, 3),
                "speed_ratio_int8_1thread_vs_tangermeme_int8_1thread": round(t_tm1 / t_int8_1, 3),
                "speed_ratio_float32_vs_tangermeme_float32": round(t_tm_float / t_seqsal, 3),
                "speed_ratio_float32_vs_tangermeme_float32_1thread": round(
                    t_tm1_float / t_seqsal, 3
                ),
                "speed_ratio_float32_vs_tangermeme_int8": round(t_tm / t_seqsal, 3),
                "stream_speed_ratio_float32_vs_tangermeme_float32_1thread": round(
                    t_tm1_float / t_stream, 3
                ),
                "cpu_count": os.cpu_count(),
                "tangermeme_threads": tm_threads,
                "load_average_1min_start_end": [round(load_start, 2), round(os.getloadavg()[0], 2)],
                "stream_n": n_mem,
                "stream_peak_rss_mib_n": round(mem[1]["peak_rss_mib"], 1),
                "stream_peak_rss_mib_10n": round(mem[10]["peak_rss_mib"], 1),
                "stream_rss_ratio_10n_over_n": round(
                    mem[10]["peak_rss_mib"] / mem[1]["peak_rss_mib"], 3
                ),
                "stream_vmhwm_mib_n": mem[1]["vmhwm_mib"] and round(mem[1]["vmhwm_mib"], 1),
                "stream_vmhwm_mib_10n": mem[10]["vmhwm_mib"] and round(mem[10]["vmhwm_mib"], 1),
            }
        )
    )


if __name__ == "__main__":
    main()

"""Which seqlet FDR should feed motif discovery: seqlets and motifs recovered per FDR.

On the two planted-motif benchmarks of ``attribution_default.py`` (the model ``seqsal train``
makes, and a plain CNN seqsal did not train), the held-out regions are attributed at seqsal's
default (``method="auto"``: DeepSHAP, 20 shuffles) with one dinucleotide-shuffled copy of each
as the null; seqlets are called at each FDR, scored against the planted instances (recall,
precision: as ``motif_recovery.py``), and motifs are discovered from them and matched to JASPAR
(recovered: rank-1 match of the TF or its family at q < 0.05, the repressor as a negative
motif).  ``seqsal motifs`` calls its discovery seqlets at ``DISCOVERY_FDR``; ``seqsal seqlets``
reports at 0.05.

    nice .venv/bin/python benchmarks/discovery_fdr.py [--regions 1000]

Prints one JSON line per benchmark and FDR.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd
import torch
from attribution_default import load_benchmark, planted_benchmark
from motif_recovery import motif_scores, planted_instances, seqlet_scores

FDRS = (0.05, 0.1, 0.2, 0.3)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=1000, help="held-out regions per benchmark")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from seqsal.dna import attribute_dna
    from seqsal.motifs.discover import discover
    from seqsal.motifs.match import match
    from seqsal.seqlets import call_seqlets
    from seqsal.sequence.shuffle import dinucleotide_shuffle

    info = planted_benchmark()
    sim_dir = Path(info["sim_dir"])
    truth = pd.read_csv(sim_dir / "truth.tsv", sep="\t")
    for bench in ("seqsal-trained", "plain-cnn"):
        model, _, X, windows = load_benchmark(bench, info, args.regions)
        X_null = dinucleotide_shuffle(X, n=1, seed=args.seed + 1)[:, 0]
        attr = attribute_dna(model, X, seed=args.seed, progress=False)
        null = attribute_dna(model, X_null, seed=args.seed, progress=False)
        planted = planted_instances(
            sim_dir, windows["name"].to_numpy(), windows["start"].to_numpy()
        )
        coords = windows[["chrom", "start", "end", "strand", "name"]].reset_index(drop=True)
        for fdr in FDRS:
            table = call_seqlets(
                attr.projected, null=null.projected, coords=coords, fdr=fdr, progress=False
            ).table
            motifs = (
                discover(
                    table, X, attr.hypothetical, attr.projected, coords=coords, seed=args.seed,
                    progress=False,
                )
                if len(table)
                else []
            )  # fmt: skip
            annotation = (
                match(motifs) if motifs else pd.DataFrame(columns=["motif", "rank", "sign"])
            )
            scored = motif_scores(annotation, truth)
            seqlets = seqlet_scores(table, planted)
            row = {
                "benchmark": bench,
                "regions": args.regions,
                "fdr": fdr,
                "n_seqlets": seqlets["n_seqlets"],
                "recall": seqlets["recall"],
                "precision": seqlets["precision"],
                "motifs_recovered": scored["recovered"],
                "of": scored["of"],
                "missed": [k for k, v in scored["per_motif"].items() if v is None],
            }
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

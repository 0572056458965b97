"""Genome scanning and candidate calling: a model's score for every window along chromosomes,
and the regions whose windows score high.

:mod:`seqsal.scan.genome` tiles chromosomes (or BED regions) with windows and scores each on
both strands, reusing one trunk pass across overlapping windows for zoo models, and writes the
scores table (:func:`~seqsal.scan.genome.write_scores`);
:mod:`seqsal.scan.candidates` thresholds the scores (quantile, or empirical FDR against
dinucleotide-shuffled windows), merges passing windows into regions and ranks them.
docs/scan.md describes both.
"""

from seqsal.scan.candidates import Candidates, call_candidates, read_scores, write_candidates
from seqsal.scan.genome import COLUMNS, STRANDS, Scan, scan, score_windows, write_scores

__all__ = [
    "COLUMNS",
    "STRANDS",
    "Candidates",
    "Scan",
    "call_candidates",
    "read_scores",
    "scan",
    "score_windows",
    "write_candidates",
    "write_scores",
]

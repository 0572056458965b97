"""Seqlet calling: salient stretches of attribution, both signs, at a target FDR.

See :func:`call_seqlets` (:mod:`seqsal.seqlets.call`), the seqlets BED
(:mod:`seqsal.seqlets.bed`) and docs/seqlets.md.
"""

from seqsal.seqlets.bed import BED_COLUMNS, read_seqlets_bed, seqlets_to_bed, write_seqlets_bed
from seqsal.seqlets.call import Seqlets, call_seqlets
from seqsal.seqlets.control import check_control_store

__all__ = [
    "BED_COLUMNS",
    "Seqlets",
    "call_seqlets",
    "check_control_store",
    "read_seqlets_bed",
    "seqlets_to_bed",
    "write_seqlets_bed",
]

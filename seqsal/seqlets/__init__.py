"""Seqlet calling: salient stretches of attribution, both signs, at a target FDR.

See :func:`call_seqlets` and docs/seqlets.md.
"""

from seqsal.seqlets.call import (
    Seqlets,
    call_seqlets,
    read_seqlets_bed,
    seqlets_to_bed,
    window_to_genome,
    write_seqlets_bed,
)

__all__ = [
    "Seqlets",
    "call_seqlets",
    "read_seqlets_bed",
    "seqlets_to_bed",
    "window_to_genome",
    "write_seqlets_bed",
]

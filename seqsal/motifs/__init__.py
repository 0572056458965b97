"""Motifs: the Motif object, annotation against JASPAR or a MEME file, and instance scanning.

``Motif`` (types), ``load_jaspar`` / ``load_database`` (database), ``match`` /
``write_annotation`` (match), ``scan`` / ``write_hits_bed`` (scan).  Submodules load their
heavy dependencies (memelite, pyjaspar) only when called.
"""

from seqsal.motifs.database import load_database, load_jaspar
from seqsal.motifs.match import benjamini_hochberg, match, read_annotation, write_annotation
from seqsal.motifs.scan import scan, write_hits_bed
from seqsal.motifs.types import Motif, TrimSpan, information_content

__all__ = [
    "Motif",
    "TrimSpan",
    "benjamini_hochberg",
    "information_content",
    "load_database",
    "load_jaspar",
    "match",
    "read_annotation",
    "scan",
    "write_annotation",
    "write_hits_bed",
]

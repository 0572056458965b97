"""Motifs: the Motif object, annotation against JASPAR or a MEME file, and instance scanning.

``Motif`` (types), ``load_jaspar`` / ``load_database`` (database), ``match`` /
``write_annotation`` (match), ``scan`` / ``write_hits_bed`` (scan).  Submodules load their
heavy dependencies (memelite, pyjaspar) only when called.  ``benjamini_hochberg`` is
:func:`seqsal.stats.benjamini_hochberg`, the correction the annotation table's q-values use;
``information_content`` is :func:`seqsal.sequence.pwm.information_content`.
"""

from seqsal.motifs.database import load_database, load_jaspar
from seqsal.motifs.match import match, read_annotation, write_annotation
from seqsal.motifs.scan import scan, write_hits_bed
from seqsal.motifs.types import Motif, TrimSpan
from seqsal.sequence.pwm import information_content
from seqsal.stats import benjamini_hochberg

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

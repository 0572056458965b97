"""seqsal.sequence: DNA only, no models.

- :mod:`seqsal.sequence.onehot`: strings <-> float32 one-hot ``(n, 4, L)``, reverse complement.
- :mod:`seqsal.sequence.shuffle`: dinucleotide shuffles that keep exact dinucleotide counts.
- :mod:`seqsal.sequence.windows`: fixed-width windows and sequence extraction.
- :mod:`seqsal.sequence.pwm`: log-odds scores and information content of a ``(4, w)`` matrix.
- :mod:`seqsal.sequence.synthetic`: planted-motif data sets.

The most used functions are re-exported here.  All but the one-hot ones are imported when
first asked for (``seqsal.sequence.make_windows``), so importing this package stays cheap (no
numba, no pandas) and a module that is missing or broken fails only where it is used.
"""

import importlib

from seqsal.sequence.onehot import ALPHABET, decode, encode, reverse_complement

_LAZY = {
    "dinucleotide_shuffle": "seqsal.sequence.shuffle",
    "make_windows": "seqsal.sequence.windows",
    "extract_sequences": "seqsal.sequence.windows",
    "extract_onehot": "seqsal.sequence.windows",
    "iter_onehot": "seqsal.sequence.windows",
    "simulate": "seqsal.sequence.synthetic",
}

__all__ = ["ALPHABET", "decode", "encode", "reverse_complement", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'seqsal.sequence' has no attribute {name!r}")

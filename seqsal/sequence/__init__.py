"""seqsal.sequence: DNA only, no models.

- :mod:`seqsal.sequence.onehot`: strings <-> float32 one-hot ``(n, 4, L)``, reverse complement.
- :mod:`seqsal.sequence.shuffle`: dinucleotide shuffles that keep exact dinucleotide counts.
- :mod:`seqsal.sequence.windows`: fixed-width windows and sequence extraction.
- :mod:`seqsal.sequence.synthetic`: planted-motif data sets.

The most used functions are re-exported here; the windows and synthetic modules are imported
when first asked for, so importing this package stays cheap and works while they are built.
"""

from seqsal.sequence.onehot import ALPHABET, decode, encode, reverse_complement

__all__ = ["ALPHABET", "decode", "dinucleotide_shuffle", "encode", "reverse_complement"]


def __getattr__(name):
    if name == "dinucleotide_shuffle":
        from seqsal.sequence.shuffle import dinucleotide_shuffle

        return dinucleotide_shuffle
    raise AttributeError(f"module 'seqsal.sequence' has no attribute {name!r}")

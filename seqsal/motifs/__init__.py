"""seqsal.motifs."""

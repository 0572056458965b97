"""seqsal.sequence."""

"""seqsal.evaluate."""

"""seqsal.attribution."""

"""seqsal.seqlets."""

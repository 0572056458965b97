"""seqsal.plot."""

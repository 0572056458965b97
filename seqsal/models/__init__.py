"""seqsal.models."""

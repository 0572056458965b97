"""Files <-> Python objects, nothing else."""

"""Write one shard of a regions BED: rows [shard * size, (shard + 1) * size), header kept.

Run by Snakemake's ``script:`` directive (rule ``shard_regions``), which defines ``snakemake``.
"""

import logging

from seqsal.io.bed import read_bed, write_bed


def write_shard(regions, out, *, shard: int, size: int) -> int:
    """Write rows ``[shard * size, (shard + 1) * size)`` of ``regions`` to ``out``; the count."""
    table = read_bed(regions)
    part = table.iloc[shard * size : (shard + 1) * size]
    part.attrs = dict(table.attrs)
    write_bed(part, out, header=True)
    return len(part)


if __name__ == "__main__":
    smk = globals()["snakemake"]
    logging.basicConfig(filename=smk.log[0], level=logging.INFO, format="%(message)s")
    shard = int(smk.wildcards.shard)
    n = write_shard(smk.input.regions, smk.output.bed, shard=shard, size=int(smk.params.shard_size))
    logging.getLogger("shard_regions").info("shard %d: %d regions -> %s", shard, n, smk.output.bed)

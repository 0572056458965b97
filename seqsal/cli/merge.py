"""``seqsal merge``: concatenate attribution store shards into one store."""

from __future__ import annotations

import logging

from seqsal.cli._options import add_chunk_size_option, add_out_option, one_line_errors

log = logging.getLogger(__name__)

HELP = "merge attribution store shards (same run) into one store, in the order given"
DESCRIPTION = (
    "Concatenate the attribution stores of one run's shards (seqsal attribute on parts of a "
    "BED) into one store, in the order given, streaming chunk by chunk. The shards must share "
    "window length, float16 setting and provenance (method, model checksum, settings); "
    "otherwise the first shard and attribute that differ are named. The store appears only "
    "when complete."
)


def add_arguments(parser) -> None:
    one_line_errors(parser)
    add_out_option(parser, metavar="H5", help="merged store (.h5)")
    parser.add_argument("shards", nargs="+", metavar="SHARD", help="shard stores (.h5), in order")
    parser.add_argument(
        "--regions",
        default=None,
        metavar="BED",
        help="the whole BED the shards were cut from, recorded as the merged store's "
        "'regions' provenance (each shard records only its own part)",
    )
    add_chunk_size_option(parser, default=1024)


def run(args) -> int:
    from seqsal.io.atomic import check_writable
    from seqsal.io.store import merge_stores, open_store

    check_writable(args.out)
    attrs = {} if args.regions is None else {"regions": str(args.regions)}
    merged = merge_stores(args.shards, args.out, chunk_size=args.chunk_size, attrs=attrs)
    with open_store(merged) as store:
        n = store.n
    log.info("merged %d shards (%d windows) -> %s", len(args.shards), n, merged)
    return 0

"""seqsal's command line: one subcommand per stage, thin over the library.

Each subcommand lives in its own module ``seqsal.cli.<name>`` that defines

* ``HELP``: a one-line description for ``seqsal --help``;
* ``add_arguments(parser)``: its options, every one with ``help=``;
* ``run(args) -> int``: the work, calling the library.

A ``SeqsalError`` (bad input) prints one line on stderr and exits 2; no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from seqsal import __version__
from seqsal.errors import SeqsalError

# Order shown in --help.  A module that does not exist yet is skipped.
SUBCOMMANDS = [
    "simulate",
    "extract",
    "train",
    "predict",
    "attribute",
    "merge",
    "export",
    "seqlets",
    "motifs",
    "report",
    "run",
    "scan",
    "candidates",
    "image",
    "evaluate",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seqsal",
        description="Explain DNA sequence models: extract sequences, train, attribute, "
        "call seqlets and motifs, match JASPAR and write a report.",
    )
    parser.add_argument("--version", action="version", version=f"seqsal {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"seqsal.cli.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"seqsal.cli.{name}":
                continue
            raise
        p = sub.add_parser(
            name,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING if args.quiet else (logging.INFO if args.verbose < 2 else logging.DEBUG)
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 0
    try:
        return int(args._run(args) or 0)
    except SeqsalError as err:
        print(f"seqsal {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"seqsal {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

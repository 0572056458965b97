"""The command line: version, help, and one-line errors without a traceback."""

import argparse
import subprocess
import sys

import seqsal
from seqsal.cli import SUBCOMMANDS, build_parser


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "seqsal", *args], capture_output=True, text=True, check=False
    )


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"seqsal {seqsal.__version__}"


def _assert_every_option_has_help(parser, where):
    for action in parser._actions:
        if action.dest == "help":
            continue
        assert action.help, f"{where}: option {action.option_strings or action.dest} has no help"
        if isinstance(action, argparse._SubParsersAction):  # nested commands (seqsal export ...)
            for name, nested in action.choices.items():
                _assert_every_option_has_help(nested, f"{where} {name}")


def test_help_lists_every_available_subcommand_with_help_for_every_option():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) <= set(SUBCOMMANDS)
    assert {"simulate", "extract", "train", "predict"} <= set(sub.choices)
    for name, subparser in sub.choices.items():
        _assert_every_option_has_help(subparser, f"seqsal {name}")
    result = run_cli("--help")
    assert result.returncode == 0
    for name in sub.choices:
        assert name in result.stdout


def test_unknown_command_fails():
    result = run_cli("no-such-command")
    assert result.returncode != 0
    assert "invalid choice" in result.stderr

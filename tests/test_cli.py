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


def _parsers(parser, name="seqsal"):
    """Every parser of the command line, nested subcommands included, with its name."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, nested in action.choices.items():
                yield from _parsers(nested, f"{name} {sub_name}")


def test_help_states_each_default_once_and_never_an_empty_one():
    checked = 0
    for name, parser in _parsers(build_parser()):
        text = parser.format_help()
        for empty in ("(default: None)", "(default: False)", "(default: True)"):
            assert empty not in text, f"{name} --help shows {empty}"
        formatter = parser._get_formatter()
        for action in parser._actions:
            if not action.help or action.help == argparse.SUPPRESS:
                continue
            shown = formatter._expand_help(action)
            stated = action.help.lower().count("default")
            if stated:
                assert shown.lower().count("default") == stated, f"{name}: {shown}"
                checked += 1
    assert checked >= 20
    attribute = dict(_parsers(build_parser()))["seqsal attribute"].format_help()
    text = " ".join(attribute.split())
    assert "integration steps (quadrature points) per reference (default: 32)" in text
    assert "(default: the model's input length; required for" in text
    assert "(default: None)" not in text


def test_log_levels_follow_v_and_q():
    import logging

    from seqsal.cli import log_levels

    assert log_levels(0, 0) == (logging.INFO, logging.WARNING)
    assert log_levels(1, 0) == (logging.DEBUG, logging.WARNING)
    assert log_levels(2, 0) == (logging.DEBUG, logging.DEBUG)
    assert log_levels(0, 1) == (logging.WARNING, logging.WARNING)
    assert log_levels(0, 2) == (logging.ERROR, logging.ERROR)
    assert log_levels(3, 1) == (logging.WARNING, logging.WARNING)


def test_verbose_adds_debug_messages_and_quiet_removes_progress(tmp_path):
    """-v shows seqsal's debug messages, the default its progress (INFO) messages, -q neither;
    the command's own summary line is printed in every case."""
    outputs = {}
    for flags in ([], ["-v"], ["-q"]):
        result = run_cli(
            *flags,
            "simulate",
            "--out",
            str(tmp_path / f"sim{len(outputs)}"),
            "--n-regions",
            "20",
            "--clean-background",
        )
        assert result.returncode == 0, result.stderr
        outputs[" ".join(flags)] = result.stderr
    debug = "simulated 20 regions x 300 bp"
    progress = "background cleaned of chance sites"
    summary = "seqsal simulate: 20 regions x 300 bp"
    assert debug in outputs["-v"] and progress in outputs["-v"]
    assert debug not in outputs[""] and progress in outputs[""]
    assert debug not in outputs["-q"] and progress not in outputs["-q"]
    assert all(summary in err for err in outputs.values())

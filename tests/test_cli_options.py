"""One option name, one meaning: the same help, type, default and choices in every subcommand.

The walk covers every subcommand and nested action (``seqsal export bigwig``, ``seqsal image
evaluate``, ...).  Deliberate differences are listed in :data:`EXCEPTIONS` with the commands
that differ and why; anything else that differs fails, naming the option, the field and the
commands.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import pytest

from seqsal.cli import build_parser
from seqsal.cli._options import positive_int, seed

FIELDS = ("help", "type", "default", "choices", "nargs", "action")

#: (option, field) -> (commands whose value may differ from the others', reason).  None for
#: the commands: every command says its own.
EXCEPTIONS = {
    ("--out", "help"): (None, "says what the command writes (a file, a folder, a prefix)"),
    ("--model", "help"): (
        {"seqsal report", "seqsal image attribute", "seqsal image evaluate", "seqsal image sanity"},
        "report only reads a model folder's metrics (it runs no model); image models also "
        "come as the built-in digits-demo",
    ),
    ("--model", "nargs"): (
        {"seqsal report", "seqsal image attribute", "seqsal image evaluate", "seqsal image sanity"},
        "the DNA commands that run a model take several (a fold ensemble); report reads one "
        "folder's metrics and the image commands explain one image model",
    ),
    ("--model", "action"): (
        {"seqsal report", "seqsal image attribute", "seqsal image evaluate", "seqsal image sanity"},
        "as for nargs",
    ),
    ("--target", "help"): (
        {
            "seqsal evaluate",
            "seqsal image attribute",
            "seqsal image evaluate",
            "seqsal image sanity",
        },
        "evaluate defaults to the target the store explains; image to each image's predicted class",
    ),
    ("--target", "default"): (
        {
            "seqsal evaluate",
            "seqsal image attribute",
            "seqsal image evaluate",
            "seqsal image sanity",
        },
        "as for the help",
    ),
    ("--width", "help"): (
        {"seqsal train", "seqsal extract", "seqsal import"},
        "no model to take the length from: train derives it from the regions, extract needs "
        "it, import takes it from the arrays and only checks it",
    ),
    ("--layout", "help"): (
        {"seqsal import"},
        "the same NCL/NLC axis orders; import says it of the arrays it reads (and can find it: "
        "auto), the other commands of the model's input",
    ),
    ("--layout", "choices"): ({"seqsal import"}, "as for the help"),
    ("--layout", "default"): ({"seqsal import"}, "as for the help"),
    ("--regions", "help"): (
        {"seqsal scan", "seqsal merge"},
        "scan tiles the regions' stretches; merge only records the whole BED as provenance",
    ),
    ("--chunk-size", "default"): (
        None,
        "the memory of one region differs by command (one-hot only, attributions, copies)",
    ),
    ("--baseline", "help"): (
        {"seqsal image attribute", "seqsal image evaluate", "seqsal image sanity"},
        "the same role (Integrated Gradients' reference), but DNA and images have different "
        "references (shuffles vs black/blur/noise images)",
    ),
    ("--baseline", "default"): (
        {"seqsal image attribute", "seqsal image evaluate", "seqsal image sanity"},
        "as for the help",
    ),
    ("--baseline", "choices"): (
        {"seqsal image attribute", "seqsal image evaluate", "seqsal image sanity"},
        "as for the help",
    ),
    ("--stride", "help"): (
        {"seqsal image attribute", "seqsal image evaluate", "seqsal image sanity"},
        "the step between window starts in both, in bases (scan) or pixels (occlusion)",
    ),
    ("--stride", "default"): (
        {"seqsal image attribute", "seqsal image evaluate", "seqsal image sanity"},
        "as for the help",
    ),
    ("--fdr", "help"): (
        {"seqsal candidates"},
        "the false discovery rate to call at in both; candidates chooses it or --quantile",
    ),
    ("--fdr", "default"): ({"seqsal candidates"}, "as for the help"),
    ("--strand", "help"): (
        {"seqsal candidates"},
        "the scan's strand combination in both; candidates reads it from the scores by default",
    ),
    ("--strand", "default"): ({"seqsal candidates"}, "as for the help"),
    ("--seqlets", "help"): (
        {"seqsal report"},
        "report takes the motifs folder's copy (with motif assignments) by default",
    ),
}


def _parsers():
    """(command, parser) for every subcommand and nested action."""
    top = build_parser()

    def walk(parser, where):
        nested = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not nested:
            yield where, parser
        for action in nested:
            for name, sub in action.choices.items():
                yield from walk(sub, f"{where} {name}")

    sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in sub.choices.items():
        yield from walk(parser, f"seqsal {name}")


def _signature(action) -> dict:
    return {
        "help": action.help,
        "type": getattr(action.type, "__name__", action.type),
        "default": action.default,
        "choices": tuple(action.choices) if action.choices is not None else None,
        "nargs": action.nargs,
        "action": type(action).__name__,
    }


def _options():
    """option -> field -> value -> commands."""
    table = defaultdict(lambda: defaultdict(lambda: defaultdict(set)))
    for where, parser in _parsers():
        for action in parser._actions:
            for option in action.option_strings:
                if option.startswith("--") and option != "--help":
                    for field, value in _signature(action).items():
                        table[option][field][repr(value)].add(where)
    return table


def test_the_walk_sees_every_command_and_the_shared_options():
    commands = {where for where, _ in _parsers()}
    assert {"seqsal attribute", "seqsal export bigwig", "seqsal image sanity"} <= commands
    options = _options()
    for option in ("--device", "--batch-size", "--seed", "--width", "--out", "--no-progress"):
        assert len(set().union(*options[option]["help"].values())) >= 3, option


def test_one_option_name_has_one_meaning_everywhere():
    problems = []
    for option, fields in sorted(_options().items()):
        for field, values in fields.items():
            if len(values) == 1:
                continue
            odd, _reason = EXCEPTIONS.get((option, field), (set(), ""))
            if odd is None:
                continue
            # every command outside the listed exceptions shares one value
            usual = {value for value, where in values.items() if where - odd}
            if len(usual) > 1:
                detail = "; ".join(f"{v} in {sorted(w)}" for v, w in values.items())
                problems.append(f"{option} {field}: {detail}")
    assert not problems, "\n".join(problems)


def test_every_listed_exception_is_still_needed():
    options = _options()
    for (option, field), (_odd, reason) in EXCEPTIONS.items():
        assert reason
        assert len(options[option][field]) > 1, f"{option} {field} no longer differs"


@pytest.mark.parametrize(
    "option, value",
    [("--device", None), ("--batch-size", None), ("--seed", 0), ("--no-progress", None)],
)
def test_shared_options_share_their_definition(option, value):
    options = _options()
    assert set(options[option]["default"]) == {repr(value)}
    assert len(options[option]["help"]) == 1


def test_counts_and_seeds_are_checked_by_argparse():
    options = _options()
    for option in ("--batch-size", "--chunk-size", "--width", "--steps", "--n-samples"):
        assert set(options[option]["type"]) == {repr("positive_int")}, option
    assert set(options["--seed"]["type"]) == {repr("seed")}
    assert seed("0") == 0 and positive_int("3") == 3
    for bad in ("-1", "x", "1.5"):
        with pytest.raises(argparse.ArgumentTypeError, match="expected a non-negative integer"):
            seed(bad)
    for bad in ("0", "-2", "x"):
        with pytest.raises(argparse.ArgumentTypeError, match="expected a positive integer"):
            positive_int(bad)


def test_the_renamed_words_keep_one_meaning():
    options = _options()
    # --method: the attribution method only (scan's scoring strategy is --strategy)
    assert {w for ws in options["--method"]["help"].values() for w in ws} == {"seqsal attribute"}
    assert "--strategy" in options
    # --batch-size: rows per model call; train's optimiser batch is --train-batch-size
    assert "seqsal train" not in set().union(*options["--batch-size"]["help"].values())
    assert "--train-batch-size" in options
    # --top: N best candidate regions; motifs' matches per motif are --top-matches
    assert set().union(*options["--top"]["help"].values()) == {"seqsal candidates"}
    assert "--top-matches" in options
    # --motifs: the motifs folder (report); simulate's planted matrices are --activators
    assert set().union(*options["--motifs"]["help"].values()) == {"seqsal report"}
    # --n-regions: how many regions to simulate; report's gallery size is --gallery-regions
    assert set().union(*options["--n-regions"]["help"].values()) == {"seqsal simulate"}

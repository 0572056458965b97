"""Run the packaged Snakemake workflow: check its config, build the command line, run it.

The workflow (``workflows/``, shipped as ``seqsal/workflow``) takes a genome and regions to a
report through every stage of seqsal.  :func:`run_workflow` runs it as ``seqsal run`` does:

1. the config file is read (:func:`load_config`) and checked (:func:`check_config`) against
   the workflow's JSON schema, with the closest key suggested for a misspelt one, and its input
   files and sample sheet are looked up, so that a problem is one line naming the file, the
   line and the key, not a Snakemake traceback;
2. relative paths are resolved (:func:`resolved_paths`) before Snakemake changes into the run
   folder, and passed on as ``--config`` overrides;
3. Snakemake plans the run quietly first (a dry run, :func:`plan_workflow`), and an error it
   finds then is reduced to one line (:func:`snakemake_error`);
4. Snakemake runs in a child process (:func:`snakemake_command`), with SIGINT and SIGTERM
   passed on to it so that it marks unfinished outputs incomplete
   (:func:`wait_forwarding_signals`).

docs/workflow.md describes the config keys and the profiles.
"""

from __future__ import annotations

import csv
import difflib
import importlib.util
import json
import logging
import os
import re
import signal
import subprocess
import sys
import sysconfig
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

from seqsal.errors import ConfigError, SeqsalError

log = logging.getLogger(__name__)

#: Keys of the workflow's ``attributions`` block (and of its ``control``) that name files.
ATTRIBUTION_FILES = ("store", "contributions", "sequences", "regions")

#: Config keys holding paths that are resolved before Snakemake changes directory (a dot
#: names a key inside a block: ``scan.regions``).
PATH_KEYS = (
    "genome",
    "regions",
    "samples",
    "model",
    "scan.regions",
    *(f"attributions.{k}" for k in ATTRIBUTION_FILES),
    *(f"attributions.control.{k}" for k in ATTRIBUTION_FILES),
)

#: Snakemake options (given in ``extra_args``) that do something other than run the workflow;
#: with them :func:`run_workflow` skips its planning dry run and hands over to Snakemake.
NOT_A_RUN = (
    "--report",
    "--unlock",
    "--lint",
    "--list",
    "--list-rules",
    "--list-target-rules",
    "--dag",
    "--rulegraph",
    "--filegraph",
    "--d3dag",
    "--summary",
    "--detailed-summary",
    "--archive",
    "--cleanup-metadata",
    "--cleanup-shadow",
    "--delete-all-output",
    "--delete-temp-output",
    "--touch",
    "--containerize",
    "--export-cwl",
    "--generate-unit-tests",
    "--conda-create-envs-only",
    "--help",
    "--version",
)


def workflow_dir() -> Path:
    """The packaged workflow folder (``seqsal/workflow``, holding the ``Snakefile``)."""
    return Path(str(resources.files("seqsal") / "workflow"))


def packaged_profiles() -> list[str]:
    """Names of the profiles shipped with the workflow (``default``, ``slurm``)."""
    folder = workflow_dir() / "profiles"
    return sorted(p.name for p in folder.iterdir() if (p / "config.yaml").exists())


def demo_config() -> Path:
    """The packaged demo config (``workflows/config/demo.yaml``, on ``data/demo``)."""
    return workflow_dir() / "config" / "demo.yaml"


# --- the config file --------------------------------------------------------------------


def load_config(path: str | os.PathLike[str], *, option: str = "--config") -> dict[str, Any]:
    """Read a workflow config (YAML) as a dict; an empty file gives ``{}``.

    Parameters
    ----------
    path : str or path
        The config file.
    option : str, default "--config"
        How the file is named in an error about the path itself.

    Raises
    ------
    seqsal.errors.ConfigError
        The file is missing, a folder, not valid YAML (with the line) or not a mapping.
    """
    import yaml

    path = Path(path)
    try:
        with open(path) as handle:
            data = yaml.safe_load(handle) or {}
    except FileNotFoundError as err:
        raise ConfigError(f"{option} {path}: no such file") from err
    except IsADirectoryError as err:
        raise ConfigError(f"{option} {path}: a folder; expected a YAML file") from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(
            f"not valid YAML ({problem}); expected 'key: value' lines (docs/workflow.md)",
            path=path,
            line=mark.line + 1 if mark is not None else None,
        ) from err
    if not isinstance(data, dict):
        raise ConfigError(
            f"a {type(data).__name__} at the top; expected a mapping of keys such as "
            "'genome: genome.fa' (docs/workflow.md)",
            path=path,
        )
    return data


def _key_lines(path: Path) -> dict[tuple[str, ...], int]:
    """1-based line of every key of a YAML mapping file, by key path (``("train", "epochs")``)."""
    import yaml

    try:
        root = yaml.compose(path.read_text())
    except (OSError, yaml.YAMLError):
        return {}
    lines: dict[tuple[str, ...], int] = {}

    def walk(node: Any, prefix: tuple[str, ...]) -> None:
        if not isinstance(node, yaml.MappingNode):
            return
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                lines[(*prefix, str(key.value))] = key.start_mark.line + 1
                walk(value, (*prefix, str(key.value)))

    walk(root, ())
    return lines


def resolve_path(value: str, config_file: Path) -> str:
    """An existing path for ``value``: as given (current folder), else next to the config file.

    Looks in the config file's folder and then each of its parents (so the packaged demo
    config finds ``data/demo`` at the top of a source checkout). A value found nowhere is
    returned unchanged, for the workflow to report.
    """
    path = Path(value).expanduser()
    if path.is_absolute():
        return str(path)
    if path.exists():
        return str(path.resolve())
    for folder in [config_file.parent, *config_file.parent.parents]:
        candidate = folder / path
        if candidate.exists():
            return str(candidate)
    return value


def _lookup(config: dict[str, Any], key: str) -> Any:
    """The value of a (dotted) key of ``config``, or None."""
    value: Any = config
    for part in key.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def resolved_paths(config: dict[str, Any], config_file: Path) -> dict[str, Any]:
    """``{key: absolute path}`` for the (dotted) path keys of ``config`` that were found (a
    list of paths, such as a ``model`` list, becomes a list)."""
    resolved: dict[str, Any] = {}
    for key in PATH_KEYS:
        value = _lookup(config, key)
        if isinstance(value, str) and value:
            found = resolve_path(value, config_file)
            if found != value:
                resolved[key] = found
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            # a list of models (a fold ensemble): resolved one by one, passed on as a list
            paths = [resolve_path(v, config_file) if v else v for v in value]
            if paths != value:
                resolved[key] = paths
    return resolved


@dataclass(frozen=True)
class _Problem:
    """One thing wrong in a config (or its sample sheet): where, which key, what and the fix."""

    key: str
    message: str
    line: int | None = None
    path: Path | None = None

    def error(self, config_file: Path, more: list[_Problem]) -> ConfigError:
        text = f"{self.key}: {self.message}"
        if more:
            text += " (also: " + "; ".join(f"{p.key}: {p.message}" for p in more[:3]) + ")"
        return ConfigError(text, path=self.path or config_file, line=self.line)


def _schema() -> dict[str, Any]:
    import yaml

    schema: dict[str, Any] = yaml.safe_load(
        (workflow_dir() / "schemas" / "config.schema.yaml").read_text()
    )
    return schema


def _closest(word: str, choices: list[str]) -> str | None:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return close[0] if close else None


_JSON_TYPES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a block of keys",
    "array": "a list",
    "null": "null",
}

_PATTERN_HINTS = {
    "^[A-Za-z0-9_.-]+$": "letters, digits, '_', '.' and '-' only (it names the folder "
    "results/<sample>/)",
}


def _schema_problems(config: dict[str, Any], lines: dict[tuple[str, ...], int]) -> list[_Problem]:
    """Every violation of the workflow's JSON schema, as :class:`_Problem`, in file order."""
    from jsonschema.validators import validator_for

    schema = _schema()
    validator = validator_for(schema)(schema)
    problems = []
    for error in validator.iter_errors(config):
        path = tuple(str(p) for p in error.absolute_path)
        value = error.instance
        kind = error.validator
        if kind == "additionalProperties":
            allowed = sorted(error.schema.get("properties", {}))
            for key in sorted(k for k in value if k not in allowed):
                full = (*path, str(key))
                close = _closest(str(key), allowed)
                dotted = ".".join(path)
                fix = (
                    f"did you mean '{'.'.join((*path, close))}'?"
                    if close
                    else f"expected one of {', '.join(allowed)}"
                    + (f" in '{dotted}'" if dotted else "")
                )
                problems.append(_Problem(".".join(full), f"unknown key; {fix}", lines.get(full)))
            continue
        if kind == "type":
            wanted = error.validator_value
            wanted = [wanted] if isinstance(wanted, str) else list(wanted)
            expected = " or ".join(_JSON_TYPES.get(t, t) for t in wanted)
            message = f"{value!r} ({type(value).__name__}); expected {expected}"
        elif kind == "enum":
            choices = [str(c) for c in error.validator_value]
            close = _closest(str(value), choices)
            message = f"{value!r}; expected one of {', '.join(choices)}"
            if close:
                message += f" (did you mean '{close}'?)"
        elif kind == "pattern":
            hint = _PATTERN_HINTS.get(error.validator_value)
            description = error.schema.get("description", "")
            message = f"{value!r}; expected " + (
                hint or f"a value matching {error.validator_value} ({description.rstrip('.')})"
            )
        elif kind in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
            sign = {
                "minimum": ">=",
                "exclusiveMinimum": ">",
                "maximum": "<=",
                "exclusiveMaximum": "<",
            }
            message = f"{value!r}; expected a number {sign[kind]} {error.validator_value}"
        else:
            message = error.message
        problems.append(_Problem(".".join(path) or "(top)", message, lines.get(path)))
    return sorted(problems, key=lambda p: (p.line is None, p.line or 0))


def _model_path(value: str) -> str | None:
    """The file or folder a ``model`` value names, or None for ``package.module:Class``."""
    if ":" not in value:
        return value
    source = value.rsplit(":", 1)[0]
    return source if source.endswith(".py") else None


def _exists(value: str, config_file: Path, directory: Path) -> bool:
    """Whether a config path exists where ``seqsal run`` or Snakemake will look for it."""
    path = Path(value).expanduser()
    if path.is_absolute():
        return path.exists()
    return Path(resolve_path(value, config_file)).exists() or (directory / path).exists()


def _near_sheet(value: str, sheet: Path, directory: Path) -> bool:
    """Whether a sample sheet's path exists as the workflow reads it: from the run folder, or
    beside the sheet."""
    path = Path(value).expanduser()
    return (directory / path).exists() or (sheet.parent / path).exists()


def read_sample_sheet(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the ``(line number, fields)`` rows of a tab-separated sample sheet.

    Lines starting with ``#`` and empty lines are skipped, as the workflow does.
    """
    with open(path, newline="") as handle:
        numbered = [
            (number, row)
            for number, row in enumerate(csv.reader(handle, delimiter="\t"), start=1)
            if row and not row[0].startswith("#")
        ]
    if not numbered:
        return [], []
    return numbered[0][1], numbered[1:]


def _sheet_problems(sheet: Path, config_file: Path, directory: Path) -> list[_Problem]:
    """What is wrong in a sample sheet: its columns, sample names and missing files."""
    import yaml

    try:
        header, rows = read_sample_sheet(sheet)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        return [_Problem("samples", f"{str(sheet)!r} cannot be read ({err}); expected a TSV")]
    missing = [c for c in ("sample", "regions") if c not in header]
    if missing:
        return [
            _Problem(
                "header",
                f"columns {header}; expected tab-separated columns 'sample' and 'regions' "
                f"(and optionally 'model'), missing {', '.join(missing)}",
                1,
                sheet,
            )
        ]
    pattern = yaml.safe_load((workflow_dir() / "schemas" / "samples.schema.yaml").read_text())
    name_pattern = pattern["properties"]["sample"]["pattern"]
    problems: list[_Problem] = []
    for number, row in rows:
        fields = dict.fromkeys(header, "")
        fields.update(zip(header, row, strict=False))
        name = fields["sample"]
        if not re.fullmatch(name_pattern, name):
            hint = _PATTERN_HINTS.get(name_pattern, f"a match of {name_pattern}")
            problems.append(_Problem("sample", f"{name!r}; expected {hint}", number, sheet))
        regions = fields["regions"]
        if not regions.strip():
            problems.append(_Problem("regions", "empty; expected a BED file", number, sheet))
        elif not _near_sheet(regions, sheet, directory):
            problems.append(
                _Problem(
                    "regions",
                    f"{regions!r} not found (looked in the run folder and beside the sheet); "
                    "give an existing BED file",
                    number,
                    sheet,
                )
            )
        model = fields.get("model", "").strip()
        source = _model_path(model) if model else None
        if source and not _near_sheet(source, sheet, directory):
            problems.append(
                _Problem(
                    "model",
                    f"{model!r} not found; give a seqsal model folder, a TorchScript file or "
                    "package.module:Class, or leave the column empty to train one",
                    number,
                    sheet,
                )
            )
    return problems


def _attributions_problems(
    config: dict[str, Any], lines: dict[tuple[str, ...], int]
) -> list[_Problem]:
    """``attributions`` given with what it replaces (a model, a sample sheet, scan mode)."""
    block = config.get("attributions")
    if not isinstance(block, dict) or not (block.get("store") or block.get("contributions")):
        return []
    given = [key for key in ("model", "samples") if config.get(key)]
    if config.get("mode") == "scan":
        given.append("mode")
    if not given:
        return []
    where = ", ".join(
        f"{key!r} (line {lines[(key,)]})" if (key,) in lines else repr(key) for key in given
    )
    return [
        _Problem(
            "attributions",
            f"given with {where}; attributions replace the model (train, predict and "
            "attribute are skipped) and explain one region set in regions mode: give one",
            lines.get(("attributions",)),
        )
    ]


def check_config(config: dict[str, Any], config_file: Path, directory: Path) -> None:
    """Check a workflow config before Snakemake starts; raise the first problem found.

    Checks, with the line of the key, what Snakemake would report as a long traceback or
    only when a job fails: the workflow's JSON schema (``workflows/schemas/
    config.schema.yaml``: unknown or misspelt keys with the closest key suggested, types,
    ranges, choices, the sample name), that input files exist (``genome``, ``regions``,
    ``samples``, ``model``, ``scan.regions``, the files of ``attributions``, looked up as
    :func:`resolve_path` and the run folder do), that ``attributions`` does not come with a
    ``model``, a sample sheet or scan mode, and that the sample sheet is readable, with the columns and the sample names
    of ``workflows/schemas/samples.schema.yaml``.  How keys go together (``width`` with
    ``train.context``, scan mode's model, repeated sample names) stays with the workflow
    (``rules/common.smk``), whose errors :func:`plan_workflow` turns into one line too.

    Parameters
    ----------
    config : dict
        The config as read from ``config_file`` (before Snakemake's defaults).
    config_file : pathlib.Path
        Its file, named in the error with the line of the key.
    directory : pathlib.Path
        The run folder, where relative paths are also looked up.

    Raises
    ------
    seqsal.errors.ConfigError
        ``<file>, line N: <key>: <what came>; <what is expected>``, with the other problems
        found (up to three) in brackets.
    """
    lines = _key_lines(config_file)
    problems = _schema_problems(config, lines)
    if problems:
        raise problems[0].error(config_file, problems[1:])
    scan = config.get("mode", "regions") == "scan"
    wanted = {
        "genome": "an existing FASTA file",
        "regions": "an existing BED file",
        "samples": "an existing sample sheet (TSV with columns sample, regions[, model])",
        "scan.regions": "an existing BED file of spans to scan, or null",
    }
    for key, expected in wanted.items():
        value = _lookup(config, key)
        if key == "regions" and config.get("samples"):
            continue  # ignored when a sample sheet is given
        if isinstance(value, str) and value and not _exists(value, config_file, directory):
            problems.append(
                _Problem(
                    key,
                    f"{value!r} not found (looked in the current folder, the run folder, and "
                    f"beside the config file and above); give {expected}",
                    lines.get(tuple(key.split("."))),
                )
            )
    for key in PATH_KEYS:
        if not key.startswith("attributions."):
            continue
        value = _lookup(config, key)
        if isinstance(value, str) and value and not _exists(value, config_file, directory):
            problems.append(
                _Problem(
                    key,
                    f"{value!r} not found (looked in the current folder, the run folder, and "
                    "beside the config file and above); give an existing file or null",
                    lines.get(tuple(key.split("."))),
                )
            )
    problems += _attributions_problems(config, lines)
    model = config.get("model")
    models = model if isinstance(model, list) else [model]
    for i, each in enumerate(models):
        source = _model_path(each) if isinstance(each, str) and each else None
        if source and not _exists(source, config_file, directory):
            where = "" if len(models) == 1 and not isinstance(model, list) else f" (model {i})"
            problems.append(
                _Problem(
                    "model",
                    f"{each!r}{where} not found; give a seqsal model folder, a TorchScript "
                    "file, package.module:Class, or null to train one",
                    lines.get(("model",)),
                )
            )
    sheet = config.get("samples")
    if isinstance(sheet, str) and sheet and not scan and _exists(sheet, config_file, directory):
        found = Path(resolve_path(sheet, config_file))
        sheet_path = found if found.exists() else directory / sheet
        problems += _sheet_problems(sheet_path, config_file, directory)
    if problems:
        problems.sort(key=lambda p: (p.path is not None, p.line is None, p.line or 0))
        raise problems[0].error(config_file, problems[1:])


def sample_names(config: dict[str, Any]) -> list[str]:
    """The samples a config produces (sample sheet's ``sample`` column, or ``sample``)."""
    sheet = config.get("samples")
    if sheet:
        try:
            header, rows = read_sample_sheet(Path(sheet))
        except OSError:
            return []
        if "sample" not in header:
            return []
        column = header.index("sample")
        return [row[column] for _, row in rows if len(row) > column]
    return [str(config.get("sample", "demo"))]


# --- Snakemake ---------------------------------------------------------------------------


def config_overrides(overrides: dict[str, Any]) -> list[str]:
    """``KEY=VALUE`` arguments of Snakemake's ``--config`` for resolved (dotted) path keys.

    A key inside a block is given as the block in JSON (``scan={"regions": "/abs/r.bed"}``),
    which Snakemake merges into the config file's block, keeping its other keys; a list
    (a ``model`` list) as JSON too.
    """
    nested: dict[str, Any] = {}
    for key, value in overrides.items():
        *blocks, last = key.split(".")
        level = nested
        for block in blocks:
            level = level.setdefault(block, {})
        level[last] = value
    return [
        f"{key}={json.dumps(value) if isinstance(value, (dict, list)) else value}"
        for key, value in nested.items()
    ]


def _extra_args(extra_args: Sequence[str] | None) -> list[str]:
    """``extra_args`` without the ``--`` that separates them on a command line."""
    extra = list(extra_args or [])
    if extra and extra[0] == "--":
        extra = extra[1:]
    return extra


def snakemake_command(
    config_file: Path,
    *,
    directory: str | os.PathLike[str] = ".",
    overrides: dict[str, Any] | None = None,
    profile: str | None = None,
    cores: int | str | None = None,
    dry_run: bool = False,
    extra_args: Sequence[str] | None = None,
) -> list[str]:
    """The Snakemake command line that runs the packaged workflow.

    Parameters
    ----------
    config_file : pathlib.Path
        The workflow config (``--configfile``).
    directory : path, default "."
        The run folder (``--directory``): results, logs and Snakemake's state.
    overrides : dict, optional
        Resolved path keys (:func:`resolved_paths`), passed as ``--config KEY=VALUE``.
    profile : str, optional
        A packaged profile (:func:`packaged_profiles`, applied as ``--workflow-profile``) or
        the folder of a Snakemake profile (``--profile``); default: the packaged ``default``
        profile, which Snakemake applies by itself.
    cores : int or str, optional
        ``--cores`` (default: the profile's).
    dry_run : bool, default False
        Add ``--dry-run``.
    extra_args : sequence of str, optional
        Further Snakemake arguments, appended as they are (a leading ``--`` is dropped).

    Raises
    ------
    seqsal.errors.ConfigError
        ``profile`` is neither a packaged profile nor a folder.
    """
    folder = workflow_dir()
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(folder / "Snakefile"),
        "--directory",
        str(directory),
        "--configfile",
        str(config_file),
    ]
    if overrides:
        cmd += ["--config", *config_overrides(overrides)]
    if profile:
        if profile in packaged_profiles():
            cmd += ["--workflow-profile", str(folder / "profiles" / profile)]
        elif Path(profile).is_dir():
            cmd += ["--profile", str(Path(profile).resolve())]
        else:
            raise ConfigError(
                f"--profile {profile!r}: not a packaged profile ({', '.join(packaged_profiles())}) "
                "nor a profile folder"
            )
    if cores is not None:
        cmd += ["--cores", str(cores)]
    if dry_run:
        cmd += ["--dry-run"]
    return cmd + _extra_args(extra_args)


def snakemake_environment() -> dict[str, str]:
    """This environment with this interpreter's scripts folder (``seqsal``) first on PATH."""
    env = dict(os.environ)
    scripts = sysconfig.get_path("scripts")
    env["PATH"] = os.pathsep.join([scripts, str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


_ERROR_HEADER = re.compile(r"^(?P<kind>[A-Z]\w*(?:Error|Exception))\b.*:\s*$")


def snakemake_error(output: str) -> str | None:
    """The first error Snakemake printed, as one line (``kind: message``), or None.

    Snakemake prints ``WorkflowError in file "...", line N:`` (or another exception's name),
    the message on the following lines, then the traceback (``  File ...``).
    """
    lines = output.splitlines()
    for i, line in enumerate(lines):
        match = _ERROR_HEADER.match(line.strip())
        if not match:
            continue
        message = []
        for follow in lines[i + 1 :]:
            if not follow.strip() or follow.startswith("  File "):
                break
            message.append(follow.strip())
        if message:
            text = " ".join(message)
            kind = match["kind"]
            return text if kind == "WorkflowError" else f"{kind}: {text}"
    return None


def plan_workflow(cmd: list[str], *, show: bool, verbose: bool, config_file: Path) -> int:
    """Dry-run ``cmd`` with its output captured; one-line error if Snakemake cannot plan.

    Snakemake reads the config and the inputs (the workflow's ``rules/common.smk``) and
    builds its job graph before running anything, and stops there on a bad input with a
    traceback. Planning first, quietly, turns such a stop into one line.

    Parameters
    ----------
    cmd : list of str
        The command of :func:`snakemake_command`.
    show : bool
        Run ``cmd`` as it is (it holds ``--dry-run``) and write Snakemake's plan to this
        process's stdout and stderr; otherwise add ``--dry-run --quiet progress rules`` and
        keep the plan to itself.
    verbose : bool
        When Snakemake cannot plan, write its output to stderr too.
    config_file : pathlib.Path
        Named in the error.

    Returns
    -------
    int
        0 when the run can go ahead; Snakemake's exit status when it failed without an error
        message this could read (its output is then written to stderr).

    Raises
    ------
    seqsal.errors.ConfigError
        ``<config>: Snakemake cannot plan the run: <Snakemake's error>``.
    """
    planning = cmd if show else [*cmd, "--dry-run", "--quiet", "progress", "rules"]
    result = subprocess.run(
        planning, env=snakemake_environment(), capture_output=True, text=True, check=False
    )
    if result.returncode == 0:
        if show:
            sys.stdout.write(result.stdout)
            sys.stderr.write(result.stderr)
        return 0
    output = result.stdout + result.stderr
    message = snakemake_error(output)
    if verbose or message is None:
        sys.stderr.write(output)
    if message is None:
        return result.returncode
    hint = "" if verbose else " (seqsal -v run shows Snakemake's output)"
    raise ConfigError(f"Snakemake cannot plan the run: {message}{hint}", path=config_file)


def wait_forwarding_signals(child: subprocess.Popen[Any]) -> int:
    """Wait for a child process; SIGINT and SIGTERM that come meanwhile are passed on to it.

    Snakemake then stops its jobs and marks their outputs incomplete, and this waits for it
    to finish doing so.  SIGINT is left alone when it is ignored (``nohup``).  Handlers are
    only changed in the main thread, and restored on return.

    Returns
    -------
    int
        The child's exit status.
    """

    def forward(signum: int, frame: object) -> None:
        child.send_signal(signum)

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(signum) is not signal.SIG_IGN:
                previous[signum] = signal.signal(signum, forward)
    try:
        return child.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


class WorkflowRun(NamedTuple):
    """What :func:`run_workflow` did."""

    #: Snakemake's exit status (0: success).
    status: int
    #: Absolute path of each sample's ``report.html`` present after a successful run (not a
    #: dry run), in sample order.
    reports: list[Path]


def run_workflow(
    config: str | os.PathLike[str] | None = None,
    *,
    profile: str | None = None,
    cores: int | str | None = None,
    directory: str | os.PathLike[str] = ".",
    dry_run: bool = False,
    extra_args: Sequence[str] | None = None,
    verbose: bool = False,
) -> WorkflowRun:
    """Run the packaged Snakemake workflow on a config file, as ``seqsal run`` does.

    The config is checked (:func:`check_config`) and Snakemake plans the run
    (:func:`plan_workflow`) before any job starts, so that a bad input stops with one
    :class:`~seqsal.errors.ConfigError` line; then Snakemake runs in a child process whose
    output goes to this process's stdout and stderr, and SIGINT/SIGTERM are passed on to it.

    Parameters
    ----------
    config : path, optional
        The workflow config (YAML, keys in docs/workflow.md); default: the packaged demo
        config (:func:`demo_config`, on ``data/demo``).  Relative paths in it are looked up in
        the current folder, then beside the config file and in its parents.
    profile : str, optional
        A packaged profile (``slurm``) or the folder of a Snakemake profile; default: local
        execution (``profiles/default``).
    cores : int or str, optional
        CPU cores for local jobs (default: all).
    directory : path, default "."
        The run folder (created): results, logs and Snakemake's state.
    dry_run : bool, default False
        Print the jobs that would run (Snakemake's plan), run nothing.
    extra_args : sequence of str, optional
        Further Snakemake arguments, as they are (a leading ``--`` is dropped).  With an option
        that does something other than run (:data:`NOT_A_RUN`, such as ``--report``), the
        planning dry run is skipped.
    verbose : bool, default False
        When Snakemake cannot plan, write its own output to stderr as well.

    Returns
    -------
    WorkflowRun
        Snakemake's exit status and the reports written.

    Raises
    ------
    seqsal.errors.SeqsalError
        Snakemake is not installed.
    seqsal.errors.ConfigError
        The config, a file it names or ``profile`` is wrong, or Snakemake cannot plan the run.
    """
    if importlib.util.find_spec("snakemake") is None:
        raise SeqsalError(
            "snakemake is not installed; seqsal run needs the hpc extra: pip install 'seqsal[hpc]'"
        )
    config_file = (demo_config() if config is None else Path(config)).resolve()
    settings = load_config(config_file)
    folder = Path(directory)
    check_config(settings, config_file, folder)
    overrides = resolved_paths(settings, config_file)
    cmd = snakemake_command(
        config_file,
        directory=directory,
        overrides=overrides,
        profile=profile,
        cores=cores,
        dry_run=dry_run,
        extra_args=extra_args,
    )
    log.debug("running: %s", " ".join(cmd))
    folder.mkdir(parents=True, exist_ok=True)
    extra = _extra_args(extra_args)
    if not any(a.split("=", 1)[0] in NOT_A_RUN for a in extra):
        code = plan_workflow(cmd, show=dry_run, verbose=verbose, config_file=config_file)
        if code != 0 or dry_run:
            return WorkflowRun(code, [])

    child = subprocess.Popen(cmd, env=snakemake_environment())
    code = wait_forwarding_signals(child)
    if code != 0 or dry_run:
        return WorkflowRun(code, [])
    results = folder / str(settings.get("results", "results"))
    settings.update({k: v for k, v in overrides.items() if "." not in k})
    reports = [results / sample / "report.html" for sample in sample_names(settings)]
    return WorkflowRun(code, [report.resolve() for report in reports if report.exists()])

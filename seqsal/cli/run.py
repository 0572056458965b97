"""``seqsal run``: the whole pipeline through the packaged Snakemake workflow."""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import signal
import subprocess
import sys
import sysconfig
from importlib import resources
from pathlib import Path

from seqsal.errors import ConfigError

log = logging.getLogger(__name__)

HELP = "run the whole pipeline (Snakemake workflow shipped with seqsal), locally or on SLURM"
DESCRIPTION = (
    "Run seqsal's Snakemake workflow (train or load a model, predict, attribute in shards, "
    "merge, seqlets, motifs, logos, report) with a config file (default: the packaged demo "
    "config on data/demo). Relative paths in the config are looked up in the current folder, "
    "then in the config file's folder and its parents. --profile slurm submits every job "
    "through snakemake-executor-plugin-slurm. Arguments after '--' go to Snakemake as they "
    "are (e.g. -- --forceall, -- --report report.html). The exit status is Snakemake's; on "
    "success the path of each sample's report.html is printed."
)

#: Config keys holding paths that are resolved before Snakemake changes directory (a dot
#: names a key inside a block: ``scan.regions``).
PATH_KEYS = ("genome", "regions", "samples", "model", "scan.regions")


def workflow_dir() -> Path:
    """The packaged workflow folder (``seqsal/workflow``, holding the ``Snakefile``)."""
    return Path(str(resources.files("seqsal") / "workflow"))


def packaged_profiles() -> list[str]:
    """Names of the profiles shipped with the workflow (``default``, ``slurm``)."""
    folder = workflow_dir() / "profiles"
    return sorted(p.name for p in folder.iterdir() if (p / "config.yaml").exists())


def add_arguments(parser) -> None:
    parser.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="workflow config (YAML; keys in docs/workflow.md); default: the packaged demo "
        "config (data/demo)",
    )
    parser.add_argument(
        "--profile",
        default=None,
        metavar="NAME",
        help="a packaged profile (slurm) or the folder of your own Snakemake profile; "
        "default: local execution (profiles/default)",
    )
    parser.add_argument(
        "--cores", default=None, metavar="N", help="CPU cores for local jobs (default: all)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="list the jobs that would run, run nothing"
    )
    parser.add_argument(
        "--directory",
        default=".",
        metavar="RUN",
        help="run folder: results/, logs and Snakemake's state go here",
    )
    parser.add_argument(
        "snakemake_args",
        nargs=argparse.REMAINDER,
        metavar="-- ARGS",
        help="extra Snakemake arguments, after '--'",
    )


def _load_yaml(path: Path) -> dict:
    import yaml

    try:
        with open(path) as handle:
            data = yaml.safe_load(handle) or {}
    except FileNotFoundError as err:
        raise ConfigError(f"--config {path}: no such file") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"--config {path}: not valid YAML ({err})") from err
    if not isinstance(data, dict):
        raise ConfigError(f"--config {path}: expected a mapping of keys, got {type(data).__name__}")
    return data


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


def _lookup(config: dict, key: str):
    """The value of a (dotted) key of ``config``, or None."""
    value = config
    for part in key.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def resolved_paths(config: dict, config_file: Path) -> dict[str, str]:
    """``{key: absolute path}`` for the (dotted) path keys of ``config`` that were found."""
    resolved = {}
    for key in PATH_KEYS:
        value = _lookup(config, key)
        if isinstance(value, str) and value:
            found = resolve_path(value, config_file)
            if found != value:
                resolved[key] = found
    return resolved


def sample_names(config: dict) -> list[str]:
    """The samples a config produces (sample sheet's ``sample`` column, or ``sample``)."""
    sheet = config.get("samples")
    if sheet:
        try:
            with open(sheet, newline="") as handle:
                rows = [
                    r for r in csv.reader(handle, delimiter="\t") if r and not r[0].startswith("#")
                ]
        except OSError:
            return []
        if not rows or "sample" not in rows[0]:
            return []
        column = rows[0].index("sample")
        return [row[column] for row in rows[1:] if len(row) > column]
    return [str(config.get("sample", "demo"))]


def config_overrides(overrides: dict[str, str]) -> list[str]:
    """``KEY=VALUE`` arguments of Snakemake's ``--config`` for resolved (dotted) path keys.

    A key inside a block is given as the block in JSON (``scan={"regions": "/abs/r.bed"}``),
    which Snakemake merges into the config file's block, keeping its other keys.
    """
    nested: dict = {}
    for key, value in overrides.items():
        *blocks, last = key.split(".")
        level = nested
        for block in blocks:
            level = level.setdefault(block, {})
        level[last] = value
    return [
        f"{key}={json.dumps(value) if isinstance(value, dict) else value}"
        for key, value in nested.items()
    ]


def snakemake_command(args, config_file: Path, overrides: dict[str, str]) -> list[str]:
    """The Snakemake command line that ``seqsal run`` executes."""
    folder = workflow_dir()
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(folder / "Snakefile"),
        "--directory",
        str(args.directory),
        "--configfile",
        str(config_file),
    ]
    if overrides:
        cmd += ["--config", *config_overrides(overrides)]
    if args.profile:
        if args.profile in packaged_profiles():
            cmd += ["--workflow-profile", str(folder / "profiles" / args.profile)]
        elif Path(args.profile).is_dir():
            cmd += ["--profile", str(Path(args.profile).resolve())]
        else:
            raise ConfigError(
                f"--profile {args.profile!r}: not a packaged profile ({', '.join(packaged_profiles())}) "
                "nor a profile folder"
            )
    if args.cores is not None:
        cmd += ["--cores", str(args.cores)]
    if args.dry_run:
        cmd += ["--dry-run"]
    extra = list(args.snakemake_args or [])
    if extra and extra[0] == "--":
        extra = extra[1:]
    return cmd + extra


def _environment() -> dict[str, str]:
    """This environment with this interpreter's scripts folder (``seqsal``) first on PATH."""
    env = dict(os.environ)
    scripts = sysconfig.get_path("scripts")
    env["PATH"] = os.pathsep.join([scripts, str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def run(args) -> int:
    if args.config is None:
        config_file = workflow_dir() / "config" / "demo.yaml"
    else:
        config_file = Path(args.config)
    config_file = config_file.resolve()
    config = _load_yaml(config_file)
    overrides = resolved_paths(config, config_file)
    cmd = snakemake_command(args, config_file, overrides)
    log.info("running: %s", " ".join(cmd))
    Path(args.directory).mkdir(parents=True, exist_ok=True)

    child = subprocess.Popen(cmd, env=_environment())
    previous = signal.getsignal(signal.SIGTERM)

    def forward(signum, frame):
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    try:
        code = child.wait()
    except KeyboardInterrupt:
        child.send_signal(signal.SIGINT)
        code = child.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
    if code != 0 or args.dry_run:
        return code
    results = Path(args.directory) / str(config.get("results", "results"))
    config.update({k: v for k, v in overrides.items() if "." not in k})
    for sample in sample_names(config):
        report = results / sample / "report.html"
        if report.exists():
            print(report.resolve())
    return code

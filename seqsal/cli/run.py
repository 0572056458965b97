"""``seqsal run``: the whole pipeline through the packaged Snakemake workflow
(:func:`seqsal.pipeline.run_workflow`)."""

from __future__ import annotations

import argparse

HELP = "run the whole pipeline (Snakemake workflow shipped with seqsal), locally or on SLURM"
DESCRIPTION = (
    "Run seqsal's Snakemake workflow (train or load a model, predict, attribute in shards, "
    "merge, seqlets, motifs, logos, report) with a config file (default: the packaged demo "
    "config on data/demo). Relative paths in the config are looked up in the current folder, "
    "then in the config file's folder and its parents. The config is checked first (keys, "
    "values, input files, sample names) and Snakemake plans the run before any job starts; "
    "a problem found then is one line naming the file, the key and the fix, exit status 2. "
    "--profile slurm submits every job through snakemake-executor-plugin-slurm. Arguments "
    "after '--' go to Snakemake as they are (e.g. -- --forceall, -- --report report.html). "
    "The exit status is Snakemake's; on success the path of each sample's report.html is "
    "printed."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
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


def run(args: argparse.Namespace) -> int:
    from seqsal.pipeline import run_workflow

    result = run_workflow(
        args.config,
        profile=args.profile,
        cores=args.cores,
        directory=args.directory,
        dry_run=args.dry_run,
        extra_args=args.snakemake_args,
        verbose=getattr(args, "verbose", 0) > 0,
    )
    for report in result.reports:
        print(report)
    return result.status

"""seqsal's command line: one subcommand per stage, thin over the library.

Each subcommand lives in its own module ``seqsal.cli.<name>`` (``import``:
``seqsal.cli.import_attributions``, see :data:`MODULES`) that defines

* ``HELP``: a one-line description for ``seqsal --help``;
* ``add_arguments(parser)``: its options, every one with ``help=``;
* ``run(args) -> int``: the work, calling the library.

A ``SeqsalError`` (bad input) prints one line on stderr and exits 2; no traceback.  SIGINT
and SIGTERM (what SLURM and Snakemake send to stop a job) both stop the command the same way:
the stack unwinds, the temporary outputs of :mod:`seqsal.io.atomic` are removed, one line goes
to stderr and the exit status is 128 + the signal number (130, 143).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

from seqsal import __version__
from seqsal._runtime import keep_freed_memory
from seqsal.errors import SeqsalError

# Order shown in --help.  A module that does not exist yet is skipped.
SUBCOMMANDS = [
    "simulate",
    "extract",
    "train",
    "predict",
    "attribute",
    "merge",
    "import",
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

#: Subcommands whose module cannot have their name (``import`` is a Python keyword).
MODULES = {"import": "import_attributions"}

#: Seconds between repeats of a stop signal that the program has not acted on yet.
STOP_REPEAT_S = 0.25


class Terminated(BaseException):
    """Raised in the main thread when the process receives SIGTERM.

    A ``BaseException`` (like ``KeyboardInterrupt`` for SIGINT), so that ``except Exception``
    blocks do not swallow it while ``finally`` blocks and context managers run on the way out.

    Parameters
    ----------
    signum : int
        The signal received.
    """

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"received {signal.Signals(signum).name}")


class _StopSignals:
    """SIGINT and SIGTERM raise ``KeyboardInterrupt`` and :class:`Terminated` in the main thread.

    Python runs a signal handler between two bytecodes of the main thread, wherever it is.
    An exception raised there is lost when that place is a weakref callback, a ``__del__`` or
    an import, and C extensions may turn it into an error of their own (h5py does).  So once a
    stop signal has come, a watcher thread sends it again to the main thread every :data:`STOP_REPEAT_S`
    seconds until :func:`main` has caught it; :func:`main` then treats any exception as the
    stop, and removes the temporaries a half-run ``finally`` block may have left.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.caught = threading.Event()
        self._previous: dict[int, Any] = {}
        self._watcher: threading.Thread | None = None
        self._previous_hook = sys.unraisablehook

    def handler(self, signum: int, frame: object) -> None:
        if self.caught.is_set():
            return  # already stopping: main is cleaning up
        if self.signum is None:
            self.signum = signum
            self._watcher = threading.Thread(target=self._repeat, name="seqsal-stop", daemon=True)
            self._watcher.start()
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated(signum)

    def _repeat(self) -> None:
        assert self.signum is not None
        main = threading.main_thread().ident
        assert main is not None
        while not self.caught.wait(STOP_REPEAT_S):
            # A real signal to the main thread (not _thread.interrupt_main), so that it also
            # wakes a blocking call such as time.sleep or a lock wait.
            signal.pthread_kill(main, self.signum)

    def _unraisable(self, info: Any) -> None:
        # The stop's own exception, lost where Python cannot raise it (a weakref callback, a
        # __del__): the watcher raises it again, so Python's "Exception ignored in" report
        # would only add lines to the one-line message.
        if self.signum is not None and isinstance(info.exc_value, (Terminated, KeyboardInterrupt)):
            return
        self._previous_hook(info)

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Handle SIGTERM, and SIGINT unless it is ignored (``nohup``), for the block."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        wanted = [signal.SIGTERM]
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            wanted.append(signal.SIGINT)
        for signum in wanted:
            self._previous[signum] = signal.signal(signum, self.handler)
        previous_hook = self._previous_hook = sys.unraisablehook
        sys.unraisablehook = self._unraisable
        try:
            yield
        finally:
            sys.unraisablehook = previous_hook
            self.caught.set()
            if self._watcher is not None:
                self._watcher.join(timeout=5)
            # A repeat the watcher sent before it stopped runs here, in this handler (which
            # ignores it now), not later in the handler restored below.
            _run_pending_handlers()
            for signum, previous in self._previous.items():
                signal.signal(signum, previous)


def _run_pending_handlers() -> None:
    # Entering a Python function runs the signal handlers that are due.
    return None


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Append ``(default: X)`` to an option's help only when it tells the reader something.

    Not for flags (their default is the absence of the flag), not for a default of None,
    False or an empty value, and not when the help text already states a default in its own
    words (``default: the model's input length``, ``by default``).
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            action.nargs == 0
            or default is None
            or default is False
            or default is argparse.SUPPRESS
            or (isinstance(default, (str, list, tuple, dict)) and len(default) == 0)
            or "default" in text.lower()
        ):
            return action.help
        return super()._get_help_string(action)


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose help uses :class:`HelpFormatter`.

    Subcommand parsers are made of this class too (``add_subparsers`` uses the parent's
    class), nested ones included (``seqsal export modisco``).  A subcommand that asks for
    argparse's ``HelpFormatter`` or ``ArgumentDefaultsHelpFormatter`` gets
    :class:`HelpFormatter` instead, so that every ``--help`` follows one rule.
    """

    def __init__(self, *args: Any, formatter_class: Any = HelpFormatter, **kwargs: Any):
        if formatter_class in (argparse.HelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
            formatter_class = HelpFormatter
        super().__init__(*args, formatter_class=formatter_class, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The ``seqsal`` parser with every subcommand whose module exists."""
    parser = ArgumentParser(
        prog="seqsal",
        description="Explain DNA sequence models: extract sequences, train, attribute, "
        "call seqlets and motifs, match JASPAR and write a report.",
    )
    parser.add_argument("--version", action="version", version=f"seqsal {__version__}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more log output: -v adds seqsal's debug messages, -vv other libraries' too "
        "(by default: seqsal's progress messages and every library's warnings)",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="count",
        default=0,
        help="less log output: -q only warnings and errors, -qq only errors (a command's "
        "one-line summary stays)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"seqsal.cli.{MODULES.get(name, name)}")
        except ModuleNotFoundError as err:
            if err.name == f"seqsal.cli.{MODULES.get(name, name)}":
                continue
            raise
        p = sub.add_parser(
            name,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
        )
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def log_levels(verbose: int, quiet: int) -> tuple[int, int]:
    """Logging levels of seqsal's loggers and of every other library, for ``-v``/``-q``.

    ========  =======  ===============
    options   seqsal   other libraries
    ========  =======  ===============
    (none)    INFO     WARNING
    -v        DEBUG    WARNING
    -vv       DEBUG    DEBUG
    -q        WARNING  WARNING
    -qq       ERROR    ERROR
    ========  =======  ===============

    Parameters
    ----------
    verbose, quiet : int
        How many times ``-v`` and ``-q`` were given; ``-q`` wins when both are.

    Returns
    -------
    tuple of int
        ``(seqsal_level, other_level)``.
    """
    if quiet >= 2:
        return logging.ERROR, logging.ERROR
    if quiet == 1:
        return logging.WARNING, logging.WARNING
    if verbose >= 2:
        return logging.DEBUG, logging.DEBUG
    if verbose == 1:
        return logging.DEBUG, logging.WARNING
    return logging.INFO, logging.WARNING


@contextlib.contextmanager
def _logging_for(verbose: int, quiet: int) -> Iterator[None]:
    """Log to stderr at :func:`log_levels`' levels for the block; restore the levels after."""
    own, other = log_levels(verbose, quiet)
    root, package = logging.getLogger(), logging.getLogger("seqsal")
    before = root.level, package.level
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        root.addHandler(handler)
    root.setLevel(other)
    package.setLevel(own)
    try:
        yield
    finally:
        root.setLevel(before[0])
        package.setLevel(before[1])


def _stopped(command: str, signum: int) -> int:
    """Clean up after SIGINT/SIGTERM: remove leftover temporaries, say so, return 128 + signum."""
    from seqsal.io.atomic import remove_temporaries

    remove_temporaries()
    what = "interrupted" if signum == signal.SIGINT else "terminated"
    print(f"seqsal {command}: {what} ({signal.Signals(signum).name})", file=sys.stderr)
    return 128 + signum


def main(argv: list[str] | None = None) -> int:
    """Run ``seqsal`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    0 on success; 2 for bad input (one line on stderr); 130 after SIGINT and 143 after
    SIGTERM (one line on stderr, temporary outputs removed).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 0
    keep_freed_memory()  # attribution's many same-size tensors: reuse, not page faults
    stop = _StopSignals()
    with _logging_for(args.verbose, args.quiet):
        try:
            with stop.installed():
                return int(args._run(args) or 0)
        except KeyboardInterrupt:
            return _stopped(args.command, stop.signum or signal.SIGINT)
        except Terminated as err:
            return _stopped(args.command, err.signum)
        except SeqsalError as err:
            if stop.signum is not None:
                return _stopped(args.command, stop.signum)
            print(f"seqsal {args.command}: error: {err}", file=sys.stderr)
            return 2
        except Exception:
            # An extension that turned the stop signal into an error of its own.
            if stop.signum is not None:
                return _stopped(args.command, stop.signum)
            raise


if __name__ == "__main__":
    sys.exit(main())

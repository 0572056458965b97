"""The exceptions seqsal raises at the boundary where a user called in.

Every message names what came, what was wanted and, for files, the file and line.  The CLI
prints ``str(error)`` as one line on stderr and exits non-zero, with no traceback.
"""

from __future__ import annotations

import os


class SeqsalError(Exception):
    """Base class of every error seqsal raises on purpose."""


class InputError(SeqsalError, ValueError):
    """Bad user input: a file, an argument or a value that cannot be used.

    Parameters
    ----------
    message : str
        What came and what was expected.
    path : str or os.PathLike, optional
        The file the problem is in; prefixed to the message.
    line : int, optional
        1-based line number in ``path``.
    """

    def __init__(
        self, message: str, *, path: str | os.PathLike | None = None, line: int | None = None
    ):
        self.path = os.fspath(path) if path is not None else None
        self.line = line
        where = ""
        if self.path is not None:
            where = self.path if line is None else f"{self.path}, line {line}"
            where += ": "
        super().__init__(where + message)


class ModelError(SeqsalError):
    """A model that cannot be loaded, or that does not behave as the contract says."""


class ConfigError(InputError):
    """A workflow or run configuration that does not validate."""


def first_line(err: BaseException) -> str:
    """The first line of another library's exception message, for a one-line seqsal error.

    Returns the exception's type name when its message is empty.
    """
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__

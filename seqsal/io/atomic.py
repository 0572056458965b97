"""Write outputs under a temporary name and rename them when complete.

A crash, a kill or an exception never leaves a half-written file under the final name.  Every
temporary file or folder is recorded from before it exists until it is renamed or removed, so
that :func:`remove_temporaries` can delete what an interrupted process left behind even when
a signal arrived between two statements of a ``finally`` block (the command line calls it on
SIGINT and SIGTERM).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from seqsal.errors import InputError

#: Temporary files and folders of this process that are not renamed or removed yet.
_TEMPORARIES: set[Path] = set()
#: What :func:`check_writable` is told an output is.
KINDS = ("file", "folder", "folder-in-place")


def _create_temporary(final: Path, suffix: str, create: Callable[[Path], None]) -> Path:
    """A new temporary ``.<name>.<random><suffix>`` beside ``final``, made by ``create``.

    The name is recorded before ``create`` makes it, so an interruption at any point leaves
    nothing that :func:`remove_temporaries` does not know of.
    """
    for _ in range(100):
        tmp = final.parent / f".{final.name}.{secrets.token_hex(4)}{suffix}"
        _TEMPORARIES.add(tmp)
        try:
            create(tmp)
        except FileExistsError:
            _TEMPORARIES.discard(tmp)
            continue
        return tmp
    raise FileExistsError(f"{final.parent}: no free temporary name for {final.name}")


def _create_file(path: Path) -> None:
    # Mode 0o666 filtered by the umask: the permissions a plain open() gives.
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))


def _create_folder(path: Path) -> None:
    # Mode 0o777 filtered by the umask: the permissions a plain mkdir gives.
    os.mkdir(path, 0o777)


def _remove(path: Path) -> None:
    """Remove a temporary file or folder (gone already is fine) and forget it."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    _TEMPORARIES.discard(path)


def remove_temporaries() -> list[Path]:
    """Delete every temporary file and folder of this process's atomic writers still on disk.

    For an interrupted process: what the writers' own clean-up missed (a signal can stop a
    ``finally`` block half way).  Outputs already renamed to their final names stay.

    Returns
    -------
    list of pathlib.Path
        The temporaries that were still on disk and are now removed.
    """
    removed = []
    for path in sorted(_TEMPORARIES):
        if path.exists() or path.is_symlink():
            removed.append(path)
        _remove(path)
    return removed


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    The temporary file lives in the same folder (so the rename is atomic on POSIX) and keeps
    the final suffix (some writers, such as h5py or matplotlib, look at it).  On any exception
    the temporary file is removed and the exception propagates; ``path`` is untouched.

    Parameters
    ----------
    path : str or os.PathLike
        Final output path.  Its folder is created if missing.
    suffix : str, optional
        Suffix of the temporary file; defaults to the suffix of ``path``.

    Yields
    ------
    pathlib.Path
        An empty file ``.<name>.<random>.tmp<suffix>`` beside ``path``, with the permissions
        a plain ``open()`` gives.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    suffix = final.suffix if suffix is None else suffix
    tmp = _create_temporary(final, f".tmp{suffix}", _create_file)
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        _remove(tmp)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file for writing that becomes ``path`` when the block completes.

    Parameters
    ----------
    path : str or os.PathLike
        Final output path (see :func:`atomic_path`).
    mode : str, default "w"
        Mode of :func:`open`: ``"w"`` for text, ``"wb"`` for bytes.
    **kwargs
        Passed to :func:`open` (``encoding``, ``newline``, ...).
    """
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as handle:
        yield handle


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path`` that replaces ``path`` when the block completes.

    The folder gets the permissions a plain ``mkdir`` would (not ``mkdtemp``'s 0700).  On an
    exception the temporary folder is removed and ``path`` is untouched.  Callers check first
    that an existing ``path`` may be replaced; this function replaces it.

    Parameters
    ----------
    path : str or os.PathLike
        Final output folder.  Its parent is created if missing.

    Yields
    ------
    pathlib.Path
        An empty folder ``.<name>.<random>.tmp`` beside ``path``.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_temporary(final, ".tmp", _create_folder)
    try:
        yield tmp
        if final.exists():
            old = _create_temporary(final, ".old", _create_folder)
            os.replace(final, old / "x")
            os.replace(tmp, final)
            _remove(old)
        else:
            os.replace(tmp, final)
    finally:
        _remove(tmp)


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists (the folder where creation starts)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(".")


def check_writable(path: str | os.PathLike, *, kind: str = "file", option: str = "--out") -> Path:
    """Refuse, before any work, an output that could not be written; return ``path``.

    Commands call it first, so a run that would compute for hours and then fail to write
    fails at once instead.  It refuses an output file that is an existing folder, an output
    folder that is an existing file, a parent that is a file, and a folder where nothing can
    be created (no permission, read-only file system).  Writability is tested by creating and
    removing a hidden empty file, since permission bits do not tell the whole story (root,
    ACLs, read-only mounts).  Missing folders are not created.

    Parameters
    ----------
    path : str or os.PathLike
        The output.
    kind : {"file", "folder", "folder-in-place"}, default "file"
        ``"file"`` and ``"folder"``: written under a temporary name beside ``path`` and
        renamed (:func:`atomic_path`, :func:`atomic_directory`), so the parent folder must
        take new entries.  ``"folder-in-place"``: a folder whose files are written into it one
        by one, so the folder itself must take them when it exists.
    option : str, default "--out"
        The command-line option (or argument name) that gave ``path``, for the message.

    Raises
    ------
    InputError
        One line naming ``option``, ``path`` and what is wrong.
    """
    if kind not in KINDS:
        raise InputError(f"kind={kind!r}; expected one of {', '.join(KINDS)}")
    final = Path(path)
    shown = f"{option} {str(final)!r}"
    if final.is_dir() and kind == "file":
        raise InputError(f"{shown} is an existing folder; expected the name of a file to write")
    if final.exists() and not final.is_dir() and kind != "file":
        raise InputError(f"{shown} is an existing file; expected a folder to write into")
    where = final if kind == "folder-in-place" and final.is_dir() else final.parent
    folder = _nearest_existing(where)
    if not folder.is_dir():
        raise InputError(f"{shown}: {str(folder)!r} is a file, so no folder can be made below it")
    try:
        fd, probe = tempfile.mkstemp(prefix=".seqsal-write-check.", dir=folder)
    except OSError as err:
        raise InputError(
            f"{shown}: cannot write in folder {str(folder)!r} ({err.strerror or err}); "
            "choose a folder you can write to"
        ) from None
    os.close(fd)
    os.unlink(probe)
    return final

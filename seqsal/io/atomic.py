"""Write outputs under a temporary name and rename them when complete.

A crash, a kill or an exception never leaves a half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from seqsal.errors import InputError

#: What :func:`check_writable` is told an output is.
KINDS = ("file", "folder", "folder-in-place")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    suffix = final.suffix if suffix is None else suffix
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{final.name}.", suffix=f".tmp{suffix}", dir=final.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp creates 0600; give the output the permissions a plain open() would.
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator:
    """Open a temporary file for writing that becomes ``path`` when the block completes."""
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as handle:
        yield handle


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path`` that replaces ``path`` when the block completes.

    The folder gets the permissions a plain ``mkdir`` would (not ``mkdtemp``'s 0700).  On an
    exception the temporary folder is removed and ``path`` is untouched.  Callers check first
    that an existing ``path`` may be replaced; this function replaces it.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
            os.replace(final, old / "x")
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


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

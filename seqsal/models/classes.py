"""The model class a spec names: ``"package.module:Class"`` or ``"path/to/file.py:Class"``.

A class spec is how a user model with a state dict comes in (``load_model(spec,
state_dict=...)``, ``--model SPEC --state-dict PT``).  Two forms:

* ``package.module:Class``: imported with :func:`importlib.import_module` (the module must be
  importable, e.g. an installed package);
* ``path/to/file.py:Class`` (any spec whose part before the colon ends in ``.py``): the file is
  executed as a module of its own, under a name made from its path and content, so two files
  called ``model.py`` do not collide and an edited file is imported again.  Its folder is a
  package for the import, so ``from .layers import Block`` finds ``layers.py`` beside it, and
  the folder is on ``sys.path`` while the file runs, so ``import layers`` does too (as when
  the file is run with ``python file.py``).

``Class`` may be dotted (``Outer.Inner``) and may be any callable returning an ``nn.Module``.
Importing a file runs its code: load only files whose source you trust.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
import traceback
import types
from pathlib import Path

from torch import nn

from seqsal.errors import ModelError, first_line

#: ``package.module:Class``.
MODULE_SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
#: ``path/to/file.py:Class``: a path ending in ``.py`` (the last colon separates the class).
FILE_SPEC = re.compile(r"^(?P<file>.+\.py):(?P<attr>[A-Za-z_][\w.]*)$")


def is_file_spec(text: str) -> bool:
    """True when ``text`` is ``"path/to/file.py:Class"``."""
    return bool(FILE_SPEC.match(text))


def is_class_spec(text: str) -> bool:
    """True when ``text`` is ``"package.module:Class"`` or ``"path/to/file.py:Class"``."""
    return bool(FILE_SPEC.match(text) or MODULE_SPEC.match(text))


def import_class(spec: str):
    """The class (or factory) a class spec names.

    Parameters
    ----------
    spec : str
        ``"package.module:Class"`` or ``"path/to/file.py:Class"`` (relative paths are relative
        to the working directory).

    Returns
    -------
    type or callable
        An ``nn.Module`` subclass, or another callable (a factory) the caller builds with.

    Raises
    ------
    ModelError
        The module cannot be imported (a missing file, a syntax error with its file and line,
        an error while the file runs), the attribute does not exist (the message lists the
        module's ``nn.Module`` classes), or it is not callable.
    """
    match = FILE_SPEC.match(spec)
    if match:
        module, attr = _import_file(spec, Path(match["file"])), match["attr"]
        where = f"file {match['file']!r}"
    elif MODULE_SPEC.match(spec):
        module_name, _, attr = spec.partition(":")
        where = f"module {module_name!r}"
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            raise ModelError(
                f"model class {spec!r}: cannot import module {module_name!r}: {first_line(err)}"
            ) from err
    else:
        raise ModelError(
            f"model class {spec!r}; expected 'package.module:Class' or 'path/to/file.py:Class'"
        )
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            classes = _module_classes(module)
            listed = ", ".join(classes) if classes else "none"
            raise ModelError(
                f"model class {spec!r}: {where} has no attribute {attr!r}; its torch.nn.Module "
                f"classes: {listed}"
            )
        obj = getattr(obj, part)
    if not callable(obj):
        raise ModelError(f"model class {spec!r} is a {type(obj).__name__}, not a class")
    return obj


def _module_classes(module) -> list[str]:
    return sorted(
        name
        for name, value in vars(module).items()
        if isinstance(value, type)
        and issubclass(value, nn.Module)
        and value.__module__ == module.__name__
    )


def _import_file(spec: str, path: Path) -> types.ModuleType:
    """Execute ``path`` as ``<package>.<stem>``, its folder a package of a unique name."""
    if not path.is_file():
        raise ModelError(f"model class {spec!r}: file {str(path)!r} not found")
    path = path.resolve()
    source = path.read_bytes()
    digest = hashlib.sha256(str(path).encode() + b"\0" + source).hexdigest()[:16]
    package_name = f"_seqsal_user_{digest}"
    name = f"{package_name}.{path.stem}"
    if name in sys.modules:
        return sys.modules[name]
    package = types.ModuleType(package_name)
    package.__path__ = [str(path.parent)]
    package.__package__ = package_name
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise ModelError(f"model class {spec!r}: {path} cannot be imported as a Python file")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[package_name] = package
    sys.modules[name] = module
    folder = str(path.parent)
    sys.path.insert(0, folder)
    try:
        module_spec.loader.exec_module(module)
    except SyntaxError as err:
        _forget(package_name)
        raise ModelError(
            f"model class {spec!r}: {err.filename or path}, line {err.lineno}: "
            f"syntax error: {err.msg}"
        ) from err
    except Exception as err:  # any failure while the user's file runs is reported in one line
        _forget(package_name)
        line = next(
            (
                f.lineno
                for f in reversed(traceback.extract_tb(err.__traceback__))
                if f.filename == str(path)
            ),
            None,
        )
        at = f"{path}, line {line}" if line is not None else str(path)
        raise ModelError(
            f"model class {spec!r}: importing {at} failed: {type(err).__name__}: {first_line(err)}"
        ) from err
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    return module


def _forget(package_name: str) -> None:
    for key in [k for k in sys.modules if k == package_name or k.startswith(package_name + ".")]:
        del sys.modules[key]


__all__ = ["FILE_SPEC", "MODULE_SPEC", "import_class", "is_class_spec", "is_file_spec"]

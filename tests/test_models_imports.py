"""Imports of seqsal.models and seqsal.scan: no cycle, one way (io -> models -> scan).

Every import statement counts, at module level or inside a function: a lazy import that closes
a cycle still makes two modules depend on each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import seqsal

ROOT = Path(seqsal.__file__).parent
PACKAGES = ("seqsal.models", "seqsal.scan")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules_of(package: str) -> dict[str, Path]:
    folder = ROOT.parent.joinpath(*package.split("."))
    return {module_name(p): p for p in sorted(folder.glob("*.py"))}


ALL = {name: path for package in PACKAGES for name, path in modules_of(package).items()}


def imported(path: Path) -> set[str]:
    """seqsal modules (or packages) that the file imports; ``from P import m`` of a submodule
    m counts as importing P.m, of any other name as importing P itself."""
    known = {module_name(p) for p in ROOT.rglob("*.py")}
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("seqsal"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if not node.module.startswith("seqsal"):
                continue
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.add(full if full in known else node.module)
    return out


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the directed graph (as a path that returns to its start), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_in_models_and_scan():
    graph = {name: imported(path) & set(ALL) for name, path in ALL.items()}
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph))}"


@pytest.mark.parametrize("package", PACKAGES)
def test_submodules_never_import_from_their_package(package):
    """``from seqsal.models import x`` in a submodule runs the package's __init__, which
    imports the submodules back: a cycle that Python survives only by import order.
    Submodules import from one another (``from seqsal.models.zoo import build``)."""
    offenders = []
    for name, path in modules_of(package).items():
        if name == package:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == package:
                offenders.append(f"{name}: from {package} import {node.names[0].name}")
    assert offenders == []


def test_imports_run_one_way():
    """io knows nothing of models; models know nothing of scanning; the model folder format
    (models.files) needs only the zoo among the models."""
    for path in (ROOT / "io").glob("*.py"):
        assert not {m for m in imported(path) if m.startswith(PACKAGES)}, path.name
    for name, path in modules_of("seqsal.models").items():
        assert not {m for m in imported(path) if m.startswith("seqsal.scan")}, name
    models = {m for m in imported(ALL["seqsal.models.files"]) if m.startswith("seqsal.models")}
    assert models == {"seqsal.models.zoo"}


def test_one_reader_of_model_json():
    """Only models.files names model.json, weights.pt or seqsal.json in code (docstrings
    and comments aside).  cli.image only asks whether its demo model's cache folder is
    complete (``is_model_folder`` says the same)."""
    names = {"model.json", "weights.pt", "seqsal.json"}
    readers = set()
    for path in ROOT.rglob("*.py"):
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and node.value in names
            ):
                readers.add(module_name(path))
    assert readers - {"seqsal.cli.image"} == {"seqsal.models.files"}

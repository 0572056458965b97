"""The import rules of docs/architecture.md, checked on the source.

``lint-imports`` (make lint) enforces the one-way contracts in pyproject.toml; this module
walks every import statement of seqsal with :mod:`ast`, including imports inside functions and
under ``TYPE_CHECKING``, to check what a contract cannot say: no import cycle between seqsal's
modules, the workflow calls only public library functions, the CLI takes no private helper of
the library, and docs/architecture.md names every package.  It also keeps the rules of
seqsal.models (submodules import each other, not their package; models.files needs only the
zoo; one reader of the model folder's file names).
"""

from __future__ import annotations

import ast
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "seqsal"
WORKFLOW = ROOT / "workflows"


def seqsal_modules() -> dict[str, Path]:
    """Dotted name -> source file of every module of seqsal (links to workflows/ and data/ are
    not followed: they hold no library code)."""
    modules = {}
    for folder, dirs, files in os.walk(PACKAGE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for file in sorted(files):
            if not file.endswith(".py"):
                continue
            parts = list((Path(folder) / file).relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = Path(folder) / file
    return modules


def imported_modules(tree: ast.AST, package: str, known: set[str] | None = None) -> set[str]:
    """The modules named by every import statement of ``tree``, wherever it stands.

    ``package`` resolves relative imports; ``from a import b`` names the module ``a.b`` when
    ``a.b`` is in ``known`` (a submodule), else ``a`` (a name defined in ``a``).
    """
    known = known or set()
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                found.add(submodule if submodule in known else module)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the seqsal modules it imports (edges within seqsal only)."""
    modules = seqsal_modules()
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(), filename=str(path))
        graph[name] = {m for m in imported_modules(tree, package, set(modules)) if m in modules}
        graph[name].discard(name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as ``[a, b, ..., a]``, or None when there is none."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_find_cycle_names_the_cycle_and_accepts_a_dag():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set(), "d": {"a", "c"}}) is None
    graph = {"a": {"b"}, "b": {"c"}, "c": {"d", "a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"x": {"x"}}) == ["x", "x"]


def test_imports_are_found_inside_functions_relative_and_under_type_checking():
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from seqsal.io.store import AttributionStore\n"
        "def f():\n    from seqsal import stats\n    from . import onehot\n    import seqsal.plot\n"
        "from .. import errors\n"
    )
    known = {"seqsal.stats", "seqsal.sequence.onehot", "seqsal.io.store"}
    found = imported_modules(ast.parse(source), "seqsal.sequence", known)
    assert found >= {
        "seqsal.io.store",
        "seqsal.stats",
        "seqsal.sequence.onehot",
        "seqsal.plot",
        "seqsal",
    }
    assert "seqsal.errors" not in found  # not in known: "errors" is read as a name of seqsal


def test_no_import_cycle_between_seqsal_modules():
    graph = import_graph()
    assert "seqsal.attribution.methods" in graph and "seqsal.cli" in graph
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def _workflow_imports() -> list[tuple[str, str, str]]:
    """(file, module, name) of every seqsal import in workflows/ (scripts and rules)."""
    found = []
    for path in sorted(WORKFLOW.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("seqsal"):
                found += [(path.name, node.module, a.name) for a in node.names]
            elif isinstance(node, ast.Import):
                found += [
                    (path.name, a.name, "") for a in node.names if a.name.startswith("seqsal")
                ]
    pattern = re.compile(
        r"^\s*from\s+(seqsal[\w.]*)\s+import\s+([\w ,]+)$|^\s*import\s+(seqsal\S*)"
    )
    rules = [*sorted(WORKFLOW.rglob("*.smk")), WORKFLOW / "Snakefile"]
    for path in rules:
        for line in path.read_text().splitlines():
            if match := pattern.match(line):
                module, names, plain = match.groups()
                if plain:
                    found.append((path.name, plain, ""))
                else:
                    found += [(path.name, module, n.strip()) for n in names.split(",")]
    return found


def test_workflow_calls_only_public_library_functions():
    found = _workflow_imports()
    assert {f for f, _, _ in found} >= {"logos.py", "scan_regions.py", "common.smk"}
    for file, module, name in found:
        where = f"{file}: from {module} import {name}"
        assert not any(part.startswith("_") for part in module.split(".")), where
        assert not module.startswith("seqsal.cli"), where
        assert not name.startswith("_"), where
        if name:
            assert hasattr(importlib.import_module(module), name), where


def test_cli_takes_no_private_helper_of_the_library():
    """The CLI parses arguments and calls the library; the shared runtime helper
    (seqsal._runtime: devices, batches, progress) is the one private module it may use."""
    modules = seqsal_modules()
    for name, path in modules.items():
        if not name.startswith("seqsal.cli"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("seqsal"):
                continue
            if node.module.startswith("seqsal.cli") or node.module == "seqsal._runtime":
                continue
            where = f"{name}: from {node.module} import ..."
            assert not any(p.startswith("_") for p in node.module.split(".")), where
            private = [
                a.name for a in node.names if a.name.startswith("_") and a.name != "__version__"
            ]
            assert not private, f"{where} {', '.join(private)}"


def test_architecture_page_names_every_package_and_module():
    page = (ROOT / "docs" / "architecture.md").read_text()
    tops = sorted(
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if not p.is_symlink()
        and (p.suffix == ".py" or (p / "__init__.py").exists())
        and p.name not in ("__init__.py", "__main__.py")
    )
    assert {"attribution", "io", "sequence", "cli", "errors"} <= set(tops)
    missing = [t for t in tops if f"seqsal.{t}" not in page]
    assert not missing, f"docs/architecture.md does not name {missing}"


def test_import_contracts_are_kept():
    """The contracts of pyproject.toml ([tool.importlinter]), as make lint runs them."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    if not lint_imports.exists():
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


MODEL_PACKAGES = ("seqsal.models", "seqsal.scan")


def _package_modules(package: str) -> dict[str, Path]:
    """The modules of ``package`` itself (its __init__ and direct submodules)."""
    return {
        name: path
        for name, path in seqsal_modules().items()
        if name == package or name.rpartition(".")[0] == package
    }


def _imports_of(name: str, path: Path) -> set[str]:
    modules = seqsal_modules()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), filename=str(path))
    return {m for m in imported_modules(tree, package, set(modules)) if m.startswith("seqsal")}


@pytest.mark.parametrize("package", MODEL_PACKAGES)
def test_submodules_never_import_from_their_package(package):
    """``from seqsal.models import x`` in a submodule runs the package's __init__, which
    imports the submodules back: a cycle that Python survives only by import order.
    Submodules import from one another (``from seqsal.models.zoo import build``)."""
    offenders = []
    for name, path in _package_modules(package).items():
        if name == package:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == package:
                offenders.append(f"{name}: from {package} import {node.names[0].name}")
    assert offenders == []


def test_imports_run_one_way_through_models():
    """io knows nothing of models; models know nothing of scanning; the model folder format
    (models.files) needs only the zoo among the models."""
    for name, path in seqsal_modules().items():
        if name.startswith("seqsal.io"):
            assert not {m for m in _imports_of(name, path) if m.startswith(MODEL_PACKAGES)}, name
    models = _package_modules("seqsal.models")
    for name, path in models.items():
        assert not {m for m in _imports_of(name, path) if m.startswith("seqsal.scan")}, name
    files = "seqsal.models.files"
    needs = {m for m in _imports_of(files, models[files]) if m.startswith("seqsal.models")}
    assert needs == {"seqsal.models.zoo"}


def test_one_reader_of_model_json():
    """Only models.files names model.json, weights.pt or seqsal.json in code (docstrings
    and comments aside).  cli.image only asks whether its demo model's cache folder is
    complete (``is_model_folder`` says the same)."""
    names = {"model.json", "weights.pt", "seqsal.json"}
    readers = set()
    for module, path in seqsal_modules().items():
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
                readers.add(module)
    assert readers - {"seqsal.cli.image"} == {"seqsal.models.files"}

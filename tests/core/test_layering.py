"""The house rules of ARCHITECTURE.md, checked on the source: which package may
import which. A rule broken here is a cycle or a shortcut waiting to bite."""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "core",
    "depots",
    "inventory",
    "rma",
    "planning",
    "reports",
    "optimizer",
    "demo",
    "search",
)
# Who may import whom (besides itself). Arrows point inward.
ALLOWED: dict[str, set[str]] = {
    "optimizer": set(),
    "core": set(),
    "depots": {"core"},
    "inventory": {"core", "depots", "optimizer"},
    "rma": {"core", "depots", "inventory", "optimizer"},
    "planning": {"core", "depots", "inventory", "rma", "optimizer"},
    "reports": {"core", "depots", "inventory", "rma", "planning", "optimizer"},
    "demo": {"core", "depots", "inventory", "rma"},
    "search": {"core", "depots", "inventory", "rma"},
}
# pyarrow: the offline rebalance's vectorised CSV reader and writer (files, never a
# database), so a million-part run reads its CSVs in C++.
OPTIMIZER_MAY_USE = {"numpy", "ortools", "pyarrow", "__future__"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(package: str) -> dict[str, set[str]]:
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[module.removesuffix(".__init__")] = _imports(path)
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_imports_only_the_packages_beneath_it(package):
    wrong = {
        module: sorted(
            name
            for name in imported
            if name.split(".")[0] in {*PACKAGES, "app"}
            and name.split(".")[0] not in {package, *ALLOWED[package]}
        )
        for module, imported in _modules(package).items()
    }
    assert {module: names for module, names in wrong.items() if names} == {}


def test_the_optimizer_is_pure():
    stdlib = set(sys.stdlib_module_names)
    impure = {
        module: sorted(
            name
            for name in imported
            if name.split(".")[0] not in stdlib | OPTIMIZER_MAY_USE | {"optimizer"}
        )
        for module, imported in _modules("optimizer").items()
    }
    assert {module: names for module, names in impure.items() if names} == {}


def test_no_module_cycle_within_a_package():
    """Module-level imports between the modules of one package form no cycle."""
    graph: dict[str, set[str]] = defaultdict(set)
    for package in PACKAGES:
        modules = _modules(package)
        for module, imported in modules.items():
            graph[module] |= {name for name in imported if name in modules and name != module}
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


@pytest.mark.parametrize(
    "models", sorted(p.parent.name for p in ROOT.glob("*/models.py") if p.parent.name in PACKAGES)
)
def test_each_packages_models_configure_when_imported_alone(models):
    """A relationship names a class of another package (``Rma.reservation``): its
    module must import that class itself, or a script importing these models alone
    (no app, no Alembic) fails when the mappers are configured."""
    import subprocess

    script = (
        f"import {models}.models\n"
        "from sqlalchemy.orm import configure_mappers\n"
        "configure_mappers()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]

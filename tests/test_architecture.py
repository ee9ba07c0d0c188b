"""The architecture's rules, held by a test: who may import whom, and no import cycles.

Data flows one way (ingest -> asr -> diarization -> classifiers -> store -> qa_dashboard); stages are pure and
know nothing of the store or the orchestration; the store persists and serves and knows no stage; the
dashboard reads only through the store. Every import counts, also one inside a function.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What each top-level package may import of the project (besides itself).
STAGES = {"ingest", "asr", "diarization", "classifiers"}
ALLOWED: dict[str, set[str]] = {
    "contracts": set(),
    "models": {"contracts"},
    "ingest": {"contracts", "models"},
    "asr": {"contracts", "models", "ingest"},
    "diarization": {"contracts", "models", "ingest", "asr"},
    "classifiers": {"contracts", "models", "ingest", "asr", "diarization"},
    "store": {"contracts"},
    "qa_dashboard": {"contracts", "store"},
    "simulator": {"contracts", "models", "store", *STAGES},
    # The orchestration wires everything; the CLI manages the dashboard's users file and starts it.
    "pipeline": {"contracts", "models", "store", "simulator", "qa_dashboard", *STAGES},
}
PACKAGES = set(ALLOWED)


def _modules() -> dict[str, Path]:
    """Every module of the project's packages by dotted name (`pkg.__init__` files named `pkg`)."""
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The project modules `name` imports, resolved to the deepest module that exists."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                # `from store import api` names a module; `from store import open_store` a function.
                targets.add(f"{module}.{alias.name}" if f"{module}.{alias.name}" in MODULES else module)
    resolved = set()
    for target in targets:
        while target and target not in MODULES:
            target = target.rpartition(".")[0]
        if target and target.split(".")[0] in PACKAGES:
            resolved.add(target)
    return resolved - {name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def test_every_project_package_has_a_rule():
    top_level = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()} - {"tests", "bench"}
    assert top_level <= PACKAGES, f"packages without an import rule: {sorted(top_level - PACKAGES)}"


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_package_imports_only_what_its_layer_allows(package):
    allowed = ALLOWED[package] | {package}
    broken = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if module.split(".")[0] == package
        for target in targets
        if target.split(".")[0] not in allowed
    )
    assert not broken, f"{package} may import only {sorted(allowed)}:\n" + "\n".join(broken)


def test_the_dashboard_reads_only_through_the_store_api():
    """Scope and masking hold on every page because no page can reach past `store.api`."""
    broken = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if module.startswith("qa_dashboard")
        for target in targets
        if target.startswith("store") and target != "store.api"
    )
    assert not broken, "\n".join(broken)


def test_no_sql_outside_the_store():
    """Only the store speaks SQL: nobody else builds statements from sqlalchemy or the store's tables."""
    statement_builders = {"select", "insert", "update", "delete", "text", "func", "and_", "or_"}
    broken = []
    for name, path in MODULES.items():
        if name.split(".")[0] == "store":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "store.schema":
                    broken.append(f"{name} imports the store's tables")
                if node.module.startswith("sqlalchemy") and statement_builders & {a.name for a in node.names}:
                    broken.append(f"{name} builds SQL ({node.module})")
    assert not broken, "\n".join(sorted(broken))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_modules():
    assert not _cycles(GRAPH), f"import cycles: {_cycles(GRAPH)}"


def test_no_import_cycle_between_packages():
    packages: dict[str, set[str]] = defaultdict(set)
    for module, targets in GRAPH.items():
        packages[module.split(".")[0]] |= {t.split(".")[0] for t in targets} - {module.split(".")[0]}
    assert not _cycles(packages), f"package cycles: {_cycles(packages)}"


def test_the_rules_catch_a_forbidden_import(tmp_path):
    """The checker itself: a stage importing the store and a two-module cycle are both seen."""
    graph = {"classifiers.x": {"store.api"}, "store.api": {"store.b"}, "store.b": {"store.api"}}
    assert _cycles(graph) == [["store.api", "store.b"]]
    assert "store" not in ALLOWED["classifiers"]

"""The engine's shape: the public surface is listed in one place; the import graph has no cycle."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import oms.engine
from oms.engine import OrderManager
from oms.engine.manager import PUBLIC_API

ENGINE = Path(oms.engine.__file__).parent


def test_public_surface_is_exactly_the_listed_one() -> None:
    """Adding a public name to OrderManager without listing it in PUBLIC_API fails here."""
    public = {name for name in dir(OrderManager) if not name.startswith("_")}
    assert public == PUBLIC_API


def test_nothing_internal_is_reachable_by_a_public_name() -> None:
    """No public name journals, skips the risk gate or reaches the outbox."""
    for forbidden in ("emit", "spawn", "resolve", "on_fill", "on_status_report", "by_oid",
                      "adopt_projector", "start_pipeline", "fetch_fills_for", "outbox", "journal"):
        assert forbidden not in PUBLIC_API
        assert not hasattr(OrderManager, forbidden)


def test_every_public_method_is_documented() -> None:
    for name in PUBLIC_API:
        member = inspect.getattr_static(OrderManager, name)
        doc = getattr(member, "__doc__", None) or getattr(getattr(member, "fget", None),
                                                          "__doc__", None)
        if isinstance(member, classmethod):
            doc = member.__func__.__doc__
        assert doc, f"OrderManager.{name} has no docstring"


def _engine_imports() -> dict[str, set[str]]:
    """Module name → the oms.engine modules it imports (at any depth of the file)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(ENGINE.glob("*.py")):
        module = f"oms.engine.{path.stem}"
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            found |= {n for n in names if n.startswith("oms.engine.") and
                      (ENGINE / f"{n.split('.')[2]}.py").exists() and n.count(".") == 2}
        graph[module] = found - {module}
    return graph


def test_engine_import_graph_has_no_cycle() -> None:
    graph = _engine_imports()
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in done:
            return
        assert module not in visiting, f"import cycle: {' -> '.join([*path, module])}"
        visiting.add(module)
        for target in graph.get(module, ()):
            visit(target, [*path, module])
        visiting.discard(module)
        done.add(module)

    for module in graph:
        visit(module, [])
    assert len(done) == len(graph) > 10


def test_only_the_package_face_imports_the_manager() -> None:
    graph = _engine_imports()
    importers = {m for m, targets in graph.items() if "oms.engine.manager" in targets}
    assert importers == {"oms.engine.__init__"}


def test_no_type_checking_stubs_or_local_imports_in_the_engine() -> None:
    for path in ENGINE.glob("*.py"):
        tree = ast.parse(path.read_text())
        assert "TYPE_CHECKING" not in path.read_text(), path.name
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = [n for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom)]
                assert not inner, f"function-local import in {path.name}:{node.name}"

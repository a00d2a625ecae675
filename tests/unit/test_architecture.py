"""The layout's promises, checked: the pure packages import with every I/O library blocked
(a simulator can build the router's input with no Redis, database or network), and the
project's import graph has no cycle, not even under ``TYPE_CHECKING``."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from hotline.settings import PROJECT_ROOT

PURE = ["calls", "calls.model", "calls.state", "calls.snapshot", "calls.waiting", "calls.due", "calls.records",
        "calls.queue_log", "acd", "agents.state", "agents.roster", "queues", "outbound", "ivr",
        "hotline.routing.offer_book", "hotline.config", "hotline.ports"]
BLOCKED = ["redis", "hiredis", "sqlalchemy", "alembic", "psycopg", "panoramisk", "asyncio", "socket", "uvloop",
           "aiohttp", "pydub"]
PACKAGES = ("acd", "agents", "calls", "hotline", "ivr", "outbound", "queues", "recordings", "asterisk_conf", "sql")


def test_the_pure_modules_import_with_io_libraries_blocked() -> None:
    program = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {BLOCKED!r}:
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
import importlib
for module in {PURE!r}:
    importlib.import_module(module)
print('ok')
"""
    done = subprocess.run([sys.executable, "-c", program], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str) -> set[str]:
    """Every project module ``path`` imports, wherever the import stands (TYPE_CHECKING too)."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in PACKAGES}


def _graph() -> dict[str, set[str]]:
    paths = [p for pkg in PACKAGES for p in (PROJECT_ROOT / pkg).rglob("*.py") if "migrations" not in p.parts]
    modules = {_module_of(p): p for p in paths}
    graph = {}
    for name, path in modules.items():
        graph[name] = {m for m in _imports(path, name) if m in modules and m != name}
    return graph


def test_there_is_no_import_cycle_between_project_modules() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_the_pure_packages_never_import_the_shell() -> None:
    graph = _graph()
    for module, imported in graph.items():
        if module.split(".")[0] in ("acd", "agents", "calls", "ivr", "outbound", "queues"):
            assert not [m for m in imported if m.startswith("hotline")], (module, imported)

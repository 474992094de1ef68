"""The floors of the house (docs/architecture.md): every import runs downward.

``graph/`` is the ground, ``ingest/`` stands on it (the synthetic generator in
``ingest/synthetic/`` above the readers), and ``search_api/`` is on top: its search domain
(``search_api/search/``) reads the graph only, then the settings, the ``KnowledgeBase``, the
HTTP wing (``search_api/http/``), the app and the CLI. The test reads every ``import`` of the
three packages with :mod:`ast` — imports inside functions and under ``TYPE_CHECKING`` too, since
a deferred import is still an arrow — and prints each edge that runs the wrong way as
``file:line module → module``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("graph", "ingest", "search_api")

#: Each floor and the floors it may import (besides itself), from the ground up.
MAY_IMPORT: dict[str, frozenset[str]] = {
    "graph": frozenset(),
    "ingest": frozenset({"graph"}),
    "ingest/synthetic": frozenset({"graph", "ingest"}),
    "search": frozenset({"graph"}),
    "settings": frozenset({"graph", "ingest"}),
    "write_path": frozenset({"graph", "ingest", "ingest/synthetic", "search", "settings"}),
    "knowledge_base": frozenset({"graph", "ingest", "ingest/synthetic", "search", "settings",
                                 "write_path"}),
    "http": frozenset({"graph", "ingest", "search", "settings", "write_path", "knowledge_base"}),
    "app": frozenset({"graph", "ingest", "search", "settings", "write_path", "knowledge_base",
                      "http"}),
    "cli": frozenset({"graph", "ingest", "ingest/synthetic", "search", "settings",
                      "write_path", "knowledge_base", "http", "app"}),
}

def floor(module: str) -> str | None:
    """The floor of a dotted module name of this repository (None: not one of ours)."""
    parts = module.split(".")
    if parts[0] == "graph":
        return "graph"
    if parts[0] == "ingest":
        return "ingest/synthetic" if parts[1:2] == ["synthetic"] else "ingest"
    if parts[0] == "search_api":
        second = parts[1] if len(parts) > 1 else ""
        if second == "search":
            return "search"
        if second in ("outcome", "write_path"):
            return "write_path"  # the write path and the outcome it reports
        if second in ("settings", "knowledge_base", "http", "app", "cli"):
            return second
        return "app"  # the package itself: whoever imports it sits at the top
    if parts[0] == "cooplink":
        return "cooplink"  # the old package: no longer a floor
    return None


@dataclass(frozen=True)
class Edge:
    file: str
    line: int
    source: str
    target: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} {self.source} → {self.target}"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(root: Path, packages: tuple[str, ...] = PACKAGES) -> Iterator[Edge]:
    """Every import of our packages' modules, at any depth of the code."""
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            source = module_name(path, root)
            is_package = path.name == "__init__.py"
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            rel = str(path.relative_to(root))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    for alias in node.names:
                        yield Edge(rel, node.lineno, source, alias.name)
                elif isinstance(node, ast.ImportFrom):
                    base = _absolute(node, source, is_package)
                    for alias in node.names:
                        # ``from search_api.search import ranking`` imports a module
                        candidate = f"{base}.{alias.name}"
                        target = candidate if _is_module(root, candidate) else base
                        yield Edge(rel, node.lineno, source, target)


def _absolute(node: ast.ImportFrom, source: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    anchor = source.split(".")
    anchor = anchor if is_package else anchor[:-1]
    anchor = anchor[: len(anchor) - (node.level - 1)]
    return ".".join([*anchor, *([node.module] if node.module else [])])


def _is_module(root: Path, dotted: str) -> bool:
    path = root.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def upward(edges: Iterator[Edge]) -> list[Edge]:
    """The edges that break the floors: upward, sideways into a forbidden wing, or to
    ``cooplink``."""
    bad = []
    for edge in edges:
        low, high = floor(edge.source), floor(edge.target)
        if low is None or high is None or low == high:
            continue
        gone = "cooplink" in (low, high)
        if gone or high not in MAY_IMPORT[low]:
            bad.append(edge)
    return sorted(bad, key=lambda e: (e.file, e.line, e.target))


def test_every_import_runs_downward() -> None:
    bad = upward(imports(ROOT))
    assert not bad, "imports contre les étages (docs/architecture.md) :\n" + "\n".join(
        map(str, bad))


def test_the_old_package_is_gone() -> None:
    assert not (ROOT / "cooplink").exists()


def test_the_check_sees_deferred_and_type_checking_imports(tmp_path: Path) -> None:
    """A planted upward import is caught wherever it hides, with file and line."""
    (tmp_path / "graph").mkdir()
    (tmp_path / "graph" / "__init__.py").write_text("")
    (tmp_path / "graph" / "store.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from search_api.knowledge_base import KnowledgeBase\n"
        "def f():\n"
        "    import ingest.pipeline\n"
    )
    (tmp_path / "search_api" / "search").mkdir(parents=True)
    (tmp_path / "search_api" / "__init__.py").write_text("")
    (tmp_path / "search_api" / "search" / "__init__.py").write_text("")
    (tmp_path / "search_api" / "search" / "ranking.py").write_text(
        "from ..http import pages\nfrom graph import store\n"
        "from ingest.reference import load_countries\n"  # the search domain reads graph only
    )
    (tmp_path / "search_api" / "http").mkdir()
    (tmp_path / "search_api" / "http" / "__init__.py").write_text("")
    (tmp_path / "search_api" / "http" / "pages.py").write_text("")
    found = [str(e) for e in upward(imports(tmp_path, ("graph", "search_api")))]
    assert found == [
        "graph/store.py:3 graph.store → search_api.knowledge_base",
        "graph/store.py:5 graph.store → ingest.pipeline",
        "search_api/search/ranking.py:1 search_api.search.ranking → search_api.http.pages",
        "search_api/search/ranking.py:3 search_api.search.ranking → ingest.reference",
    ]


@pytest.mark.parametrize(("module", "expected"), [
    ("graph.errors", "graph"), ("ingest.pipeline", "ingest"),
    ("ingest.synthetic.generator", "ingest/synthetic"), ("search_api.search.ranking", "search"),
    ("search_api.http.pages", "http"), ("search_api.cli", "cli"), ("fastapi", None),
])
def test_floors_of_modules(module: str, expected: str | None) -> None:
    assert floor(module) == expected

"""The graph store interface and its embedded implementation (pyoxigraph on disk).

``GraphStore`` is deliberately small — query, load, named graphs, counts — so that a second
backend (a remote SPARQL 1.1 endpoint) can implement it; ``tests/test_store_contract.py`` runs
one suite against every implementation.  Query answers are :class:`QueryOutcome` objects that
serialise themselves, because the endpoint must stream results in the client's format without
converting every row through Python.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import pyoxigraph as ox

from graph.errors import BadRequest
from graph.namespaces import PREFIXES

QueryKind = Literal["select", "ask", "graph"]

#: Result formats by short name (CLI ``--format``, endpoint ``format=``).
SOLUTION_FORMATS: dict[str, ox.QueryResultsFormat] = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}
GRAPH_FORMATS: dict[str, ox.RdfFormat] = {
    "ttl": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
    "nq": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
}

CustomFunction = Callable[..., Any]


def term_value(term: Any) -> str | int | float | bool | None:
    """A pyoxigraph term as a plain Python value (IRIs and strings as ``str``)."""
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        dt = term.datatype.value
        if dt.endswith(("#integer", "#int", "#long")):
            return int(term.value)
        if dt.endswith(("#decimal", "#double", "#float")):
            return float(term.value)
        if dt.endswith("#boolean"):
            return term.value == "true"
        return str(term.value)
    return str(term.value)


@dataclass
class QueryOutcome:
    """The answer to one query: rows for Python callers, ``serialize`` for HTTP and the CLI."""

    kind: QueryKind
    result: Any  # ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples (consumed once)
    variables: list[str]

    def serialize(self, fmt: str) -> bytes:
        """Serialise in ``fmt`` (json/xml/csv/tsv for SELECT and ASK; ttl/nt/jsonld/rdfxml for
        CONSTRUCT and DESCRIBE).  Raises :class:`BadRequest` for a format that does not fit."""
        if self.kind == "graph":
            if fmt == "json":
                fmt = "jsonld"
            if fmt not in GRAPH_FORMATS:
                raise BadRequest(
                    f"format « {fmt} » impossible pour CONSTRUCT/DESCRIBE "
                    f"(formats : {', '.join(GRAPH_FORMATS)})"
                )
            data = self.result.serialize(format=GRAPH_FORMATS[fmt])
        else:
            if fmt not in SOLUTION_FORMATS:
                raise BadRequest(
                    f"format « {fmt} » impossible pour SELECT/ASK "
                    f"(formats : {', '.join(SOLUTION_FORMATS)})"
                )
            data = self.result.serialize(format=SOLUTION_FORMATS[fmt])
        return bytes(data or b"")

    def rows(self) -> list[dict[str, str | int | float | bool | None]]:
        """SELECT rows as dicts of plain values (unbound variables are ``None``)."""
        if self.kind != "select":
            raise BadRequest("rows() ne s'applique qu'aux requêtes SELECT")
        return [{v: term_value(sol[v]) for v in self.variables} for sol in self.result]

    def boolean(self) -> bool:
        if self.kind != "ask":
            raise BadRequest("boolean() ne s'applique qu'aux requêtes ASK")
        return bool(self.result)

    def triples(self) -> Iterator[ox.Triple]:
        if self.kind != "graph":
            raise BadRequest("triples() ne s'applique qu'aux requêtes CONSTRUCT/DESCRIBE")
        return iter(self.result)


@runtime_checkable
class GraphStore(Protocol):
    """What the rest of cooplink needs from a store."""

    def query(
        self,
        sparql: str,
        *,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
        custom_functions: dict[str, CustomFunction] | None = None,
    ) -> QueryOutcome: ...

    def load(self, data: bytes, fmt: str, graph: str) -> None: ...

    def add_quads(self, quads: Iterable[ox.Quad]) -> None: ...

    def named_graphs(self) -> list[str]: ...

    def drop_graph(self, graph: str) -> None: ...

    def triple_count(self, graph: str | None = None) -> int: ...


def _kind(result: Any) -> QueryKind:
    if isinstance(result, ox.QuerySolutions):
        return "select"
    if isinstance(result, ox.QueryBoolean):
        return "ask"
    return "graph"


class OxigraphStore:
    """pyoxigraph store on disk (or in memory when ``path`` is ``None``, for tests).

    Data lives in named graphs; queries see the union of all graphs as their default graph
    unless the caller names graphs (SPARQL protocol ``default-graph-uri``).
    """

    def __init__(self, path: Path | None = None, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        if path is None:
            self._store = ox.Store()
        elif read_only:
            self._store = ox.Store.read_only(str(path))
        else:
            path.mkdir(parents=True, exist_ok=True)
            self._store = ox.Store(str(path))

    @property
    def raw(self) -> ox.Store:
        """The underlying pyoxigraph store (for bulk operations inside ``graph/``)."""
        return self._store

    def query(
        self,
        sparql: str,
        *,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
        custom_functions: dict[str, CustomFunction] | None = None,
    ) -> QueryOutcome:
        kwargs: dict[str, Any] = {"prefixes": PREFIXES}
        if default_graphs:
            kwargs["default_graph"] = [ox.NamedNode(g) for g in default_graphs]
        else:
            kwargs["use_default_graph_as_union"] = True
        if named_graphs:
            kwargs["named_graphs"] = [ox.NamedNode(g) for g in named_graphs]
        if custom_functions:
            kwargs["custom_functions"] = {ox.NamedNode(k): f for k, f in custom_functions.items()}
        try:
            result = self._store.query(sparql, **kwargs)
        except SyntaxError as exc:
            raise BadRequest(f"requête SPARQL invalide : {exc}") from exc
        variables = (
            [v.value for v in result.variables] if isinstance(result, ox.QuerySolutions) else []
        )
        return QueryOutcome(kind=_kind(result), result=result, variables=variables)

    def load(self, data: bytes, fmt: str, graph: str) -> None:
        self._store.bulk_load(data, format=GRAPH_FORMATS[fmt], to_graph=ox.NamedNode(graph))

    def add_quads(self, quads: Iterable[ox.Quad]) -> None:
        self._store.bulk_extend(quads)

    def load_quads_file(self, path: Path) -> None:
        """Bulk-load an N-Quads file (read as a stream: memory does not grow with it)."""
        self._store.bulk_load(path=str(path), format=ox.RdfFormat.N_QUADS)

    def named_graphs(self) -> list[str]:
        return sorted(g.value for g in self._store.named_graphs() if isinstance(g, ox.NamedNode))

    def drop_graph(self, graph: str) -> None:
        node = ox.NamedNode(graph)
        if self._store.contains_named_graph(node):
            self._store.remove_graph(node)

    def triple_count(self, graph: str | None = None) -> int:
        if graph is None:
            return len(self._store)
        return sum(1 for _ in self._store.quads_for_pattern(None, None, None, ox.NamedNode(graph)))

    def flush(self) -> None:
        if not self.read_only and self.path is not None:
            self._store.flush()

    def close(self) -> None:
        """Release the RocksDB handle now.

        A read-write handle still alive after a swap may compact and delete files that a
        read-only reader of the same folder is about to open, so writers close before
        publishing.  pyoxigraph has no explicit close: dropping the last reference does it."""
        self.flush()
        self._store = None  # type: ignore[assignment]

    def backup(self, target: Path) -> None:
        """Copy the whole store to ``target`` (RocksDB checkpoint: hard links, cheap)."""
        self._store.backup(str(target))

    def dump(self, fmt: str = "nq") -> bytes:
        return bytes(self._store.dump(format=GRAPH_FORMATS[fmt]) or b"")

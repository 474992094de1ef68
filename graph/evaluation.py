"""Evaluating one SPARQL query on a pyoxigraph store, with a row cap, into serialised bytes.

This is what each worker of :mod:`graph.query_runner` runs (and what in-process callers may run
directly): the request and answer types, the store a worker evaluates on, and the capped
serialisation.

The row cap is applied while serialising: a write sink that counts lines stops the
serialiser (and therefore the lazy evaluation) once ``max_rows`` rows are out.  SELECT results
are counted in TSV and CONSTRUCT/DESCRIBE results in N-Triples — one row or triple per line in
both — then converted to the requested format by pyoxigraph's parsers and writers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import pyoxigraph as ox

from cooplink.errors import BadRequest
from graph.namespaces import PREFIXES
from graph.store import GRAPH_FORMATS, SOLUTION_FORMATS, QueryKind


@dataclass(frozen=True)
class QueryRequest:
    """One query as the endpoint received it, with the formats it may answer in."""

    sparql: str
    solution_format: str = "json"  # for SELECT and ASK (json, xml, csv, tsv)
    graph_format: str = "ttl"  # for CONSTRUCT and DESCRIBE (ttl, nt, jsonld, rdfxml)
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    base_iri: str | None = None  # resolves relative IRIs (the protocol allows the endpoint URL)
    #: (text, vector) pairs embedded by the parent for extension functions (cl:similarity)
    text_vectors: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class QueryAnswer:
    """A serialised answer; ``truncated`` when the row cap cut it."""

    kind: QueryKind
    format: str
    data: bytes
    truncated: bool = False


class _CapReached(Exception):
    """Raised inside the serialiser's sink to stop evaluation at the row cap."""


class _LineSink:
    """Binary sink keeping the first ``limit`` lines and stopping the writer past them."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[bytes] = []
        self.lines = 0

    def write(self, chunk: bytes) -> int:
        data = bytes(chunk)
        self.parts.append(data)
        self.lines += data.count(b"\n")
        if self.lines > self.limit:
            raise _CapReached
        return len(data)

    def flush(self) -> None:
        return None

    def value(self) -> tuple[bytes, bool]:
        data = b"".join(self.parts)
        if self.lines <= self.limit:
            return data, False
        cut = -1
        for _ in range(self.limit):
            cut = data.index(b"\n", cut + 1)
        return data[: cut + 1], True


def _capped(write: Callable[[IO[bytes]], object], limit: int) -> tuple[bytes, bool]:
    sink = _LineSink(limit)
    with contextlib.suppress(_CapReached):
        write(cast(IO[bytes], sink))  # pyoxigraph only calls write() and flush()
    return sink.value()


def evaluate(
    store: ox.Store,
    request: QueryRequest,
    max_rows: int,
    functions: dict[str, Callable[..., Any]] | None = None,
) -> QueryAnswer:
    """Evaluate ``request`` on ``store`` and serialise at most ``max_rows`` rows (or triples).

    Raises :class:`BadRequest` for a malformed query (with the parser's line:column) or an
    evaluation error.  This is what each worker runs; it is public for in-process callers.
    """
    kwargs: dict[str, Any] = {"prefixes": PREFIXES, "base_iri": request.base_iri}
    if request.default_graphs:
        kwargs["default_graph"] = [ox.NamedNode(g) for g in request.default_graphs]
    elif request.named_graphs:
        kwargs["default_graph"] = []  # a protocol dataset replaces the whole dataset
    else:
        kwargs["use_default_graph_as_union"] = True
    if request.named_graphs:
        kwargs["named_graphs"] = [ox.NamedNode(g) for g in request.named_graphs]
    if functions:
        kwargs["custom_functions"] = {ox.NamedNode(k): f for k, f in functions.items()}
    try:
        result = store.query(request.sparql, **kwargs)
        if isinstance(result, ox.QueryBoolean):
            fmt = request.solution_format
            data = result.serialize(format=SOLUTION_FORMATS[fmt]) or b""
            return QueryAnswer("ask", fmt, bytes(data))
        if isinstance(result, ox.QuerySolutions):
            return _solutions(result, request.solution_format, max_rows)
        return _triples(result, request.graph_format, max_rows)
    except SyntaxError as exc:
        raise BadRequest(f"requête SPARQL invalide : {exc}") from exc
    except (OSError, ValueError, RuntimeError, TypeError) as exc:
        raise BadRequest(f"évaluation impossible : {exc}") from exc


def _solutions(result: ox.QuerySolutions, fmt: str, max_rows: int) -> QueryAnswer:
    tsv, cut = _capped(
        lambda sink: result.serialize(sink, format=ox.QueryResultsFormat.TSV), max_rows + 1
    )
    if fmt == "tsv":
        return QueryAnswer("select", fmt, tsv, cut)
    reparsed = ox.parse_query_results(tsv, format=ox.QueryResultsFormat.TSV)
    data = reparsed.serialize(format=SOLUTION_FORMATS[fmt]) or b""
    return QueryAnswer("select", fmt, bytes(data), cut)


def _triples(result: ox.QueryTriples, fmt: str, max_rows: int) -> QueryAnswer:
    nt, cut = _capped(
        lambda sink: result.serialize(sink, format=ox.RdfFormat.N_TRIPLES), max_rows
    )
    if fmt == "nt":
        return QueryAnswer("graph", fmt, nt, cut)
    triples = list(ox.parse(nt, format=ox.RdfFormat.N_TRIPLES))
    data = ox.serialize(triples, format=GRAPH_FORMATS[fmt], prefixes=prefixes_for(triples))
    return QueryAnswer("graph", fmt, bytes(data or b""), cut)


def prefixes_for(triples: Iterable[Any], known: dict[str, str] | None = None) -> dict[str, str]:
    """The prefixes of ``known`` (default: the project's) that ``triples`` use, so Turtle output
    declares only what it needs."""
    by_ns = {ns: p for p, ns in (known or PREFIXES).items()}
    used: set[str] = set()
    for t in triples:
        for term in (t.subject, t.predicate, t.object):
            if isinstance(term, ox.Literal):
                term = term.datatype
            if isinstance(term, ox.NamedNode):
                iri = term.value
                used.add(iri[: max(iri.rfind("#"), iri.rfind("/")) + 1])
    return {by_ns[ns]: ns for ns in sorted(used & by_ns.keys(), key=by_ns.__getitem__)}


def open_store(store_path: str | Path, in_memory: bool) -> ox.Store:
    """The store queries are evaluated on: the generation at ``store_path`` opened read-only,
    or (``in_memory``) a copy of it in an in-memory store, 2 to 5 times faster to query."""
    disk = ox.Store.read_only(str(store_path))
    if not in_memory:
        return disk
    memory = ox.Store()
    memory.bulk_extend(disk.quads_for_pattern(None, None, None, None))
    for graph in disk.named_graphs():
        memory.add_graph(graph)  # empty named graphs too, so GRAPH ?g answers the same
    return memory  # the disk handle is dropped (and RocksDB closed) on return

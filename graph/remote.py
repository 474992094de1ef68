"""``RemoteStore``: the :class:`~graph.store.GraphStore` interface over a SPARQL 1.1 endpoint.

It speaks the protocol through SPARQLWrapper (the client researchers use) and turns answers
back into pyoxigraph objects, so a :class:`~graph.store.QueryOutcome` from a remote endpoint
serialises and iterates exactly like a local one.  It is read-only: the protocol endpoint it
targets (cooplink's own, or any public one) accepts no updates, so ``load``, ``add_quads`` and
``drop_graph`` raise :class:`~graph.errors.Forbidden`; ``read_only`` says so up front.

The project prefixes (``cl:``, ``skos:``…) are declared in front of every query, as the local
store does, so the same query text runs on both.
"""

from __future__ import annotations

import ast
import json
import urllib.error
from collections.abc import Iterable, Iterator
from typing import Any

import pyoxigraph as ox
from SPARQLWrapper import JSON, POST, TURTLE, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed, SPARQLWrapperException

from graph.errors import BadRequest, CooplinkError, Forbidden, QueryTimeout
from graph.namespaces import sparql_prologue
from graph.query_guard import shape
from graph.store import GRAPH_FORMATS, CustomFunction, QueryOutcome


class RemoteUnavailable(CooplinkError):
    """The remote endpoint cannot be reached or failed on its side."""

    status = 503


class _Triples:
    """Parsed CONSTRUCT/DESCRIBE answer, behaving like ``pyoxigraph.QueryTriples``."""

    def __init__(self, triples: list[ox.Triple]) -> None:
        self._triples = triples

    def __iter__(self) -> Iterator[ox.Triple]:
        return iter(self._triples)

    def serialize(self, format: ox.RdfFormat) -> bytes:  # same keyword as pyoxigraph's
        return bytes(ox.serialize(self._triples, format=format) or b"")


def _detail(body: Any) -> str:
    """The error message of an endpoint's error body (cooplink's JSON shape, or plain text)."""
    raw = body if isinstance(body, bytes) else str(body or "").encode()
    text = raw.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:500]
    return str(data.get("error", text))[:500] if isinstance(data, dict) else text[:500]


def _wrapped_detail(exc: SPARQLWrapperException) -> str:
    """SPARQLWrapper keeps the error body only inside its message, as a bytes ``repr``."""
    _, sep, tail = str(exc).partition("Response:\n")
    if not sep:
        return str(exc)
    try:
        return _detail(ast.literal_eval(tail.strip()))
    except (ValueError, SyntaxError):
        return tail.strip()[:500]


class RemoteStore:
    """Read-only graph store behind a SPARQL 1.1 Protocol endpoint URL."""

    read_only = True

    def __init__(self, endpoint: str, *, timeout: float = 60.0) -> None:
        self.endpoint = endpoint
        self.timeout = timeout

    def _wrapper(self, sparql: str, return_format: str) -> SPARQLWrapper:
        wrapper = SPARQLWrapper(self.endpoint, returnFormat=return_format)
        wrapper.setMethod(POST)
        wrapper.setTimeout(int(max(1, self.timeout)))
        wrapper.setQuery(sparql_prologue() + sparql)
        return wrapper

    def _fetch(self, wrapper: SPARQLWrapper) -> bytes:
        try:
            response = wrapper.query().response
            return bytes(response.read())
        except QueryBadFormed as exc:
            raise BadRequest(f"requête SPARQL invalide (point d'accès distant) : "
                             f"{_wrapped_detail(exc)}") from exc
        except SPARQLWrapperException as exc:
            raise RemoteUnavailable(f"le point d'accès {self.endpoint} a échoué : "
                                    f"{_wrapped_detail(exc)}") from exc
        except urllib.error.HTTPError as exc:
            detail = _detail(exc.read())
            if exc.code == 403:
                raise Forbidden(detail) from exc
            if exc.code == 503:
                raise QueryTimeout(detail) from exc
            raise RemoteUnavailable(f"le point d'accès {self.endpoint} a répondu {exc.code} : "
                                    f"{detail}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise RemoteUnavailable(f"point d'accès {self.endpoint} injoignable : {exc}") from exc

    def query(
        self,
        sparql: str,
        *,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
        custom_functions: dict[str, CustomFunction] | None = None,
    ) -> QueryOutcome:
        """Run ``sparql`` remotely; the answer is parsed back into pyoxigraph terms."""
        if custom_functions:
            raise BadRequest("les fonctions personnalisées ne s'appliquent pas à un point "
                             "d'accès distant")
        graph = shape(sparql).returns_graph
        wrapper = self._wrapper(sparql, TURTLE if graph else JSON)
        for g in default_graphs or []:
            wrapper.addDefaultGraph(g)
        for g in named_graphs or []:
            wrapper.addNamedGraph(g)
        data = self._fetch(wrapper)
        try:
            if graph:
                triples = [ox.Triple(q.subject, q.predicate, q.object)
                           for q in ox.parse(data, format=GRAPH_FORMATS["ttl"])]
                return QueryOutcome(kind="graph", result=_Triples(triples), variables=[])
            result = ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON)
        except (SyntaxError, ValueError) as exc:
            raise RemoteUnavailable(f"réponse illisible de {self.endpoint} : {exc}") from exc
        if isinstance(result, ox.QueryBoolean):
            return QueryOutcome(kind="ask", result=result, variables=[])
        return QueryOutcome(kind="select", result=result,
                            variables=[v.value for v in result.variables])

    def _refuse(self) -> None:
        raise Forbidden(f"le store distant {self.endpoint} est en lecture seule")

    def load(self, data: bytes, fmt: str, graph: str) -> None:
        self._refuse()

    def add_quads(self, quads: Iterable[ox.Quad]) -> None:
        self._refuse()

    def drop_graph(self, graph: str) -> None:
        self._refuse()

    def named_graphs(self) -> list[str]:
        rows = self.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }").rows()
        return sorted(str(r["g"]) for r in rows)

    def triple_count(self, graph: str | None = None) -> int:
        target = f"<{graph}>" if graph else "?g"
        rows = self.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {target} {{ ?s ?p ?o }} }}")
        value = rows.rows()[0]["n"]
        return int(value) if isinstance(value, (int, float, str)) else 0

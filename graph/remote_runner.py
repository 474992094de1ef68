"""The endpoint's query evaluation on a remote store (``COOPLINK_SPARQL_ENDPOINT``; issue 13).

:class:`RemoteRunner` answers the same :class:`~graph.evaluation.QueryRequest` as the embedded
:class:`~graph.query_runner.QueryRunner`, with the same rules, so ``/sparql`` behaves alike on
both backends:

* the route has already applied layer 1 of :mod:`graph.query_guard` (size, nesting, form,
  ``SERVICE`` seen by the lexer); the runner applies layer 2 (every ``SERVICE`` of the parsed
  algebra must be allowed) as a worker with network does, since the remote engine has network;
* Virtuoso's own extensions — ``DEFINE`` pragmas (which would make it fetch URLs, the
  "sponger"), functions in the ``bif:`` and ``sql:`` namespaces — are refused (403) before the
  query leaves: only SPARQL 1.1 reaches the engine, which itself must never be public
  (docs/deploy.md);
* the time limit is the query's own, as on the embedded pool: it counts from the moment one of
  the ``workers`` slots takes the query, is passed to Virtuoso (``timeout`` parameter, in ms:
  it stops the query on its side and flags its incomplete answer, refused by
  :class:`~graph.remote.RemoteStore`) and bounds the HTTP wait.  The wait for a slot is
  bounded apart: ``queue`` queries wait at most (the next is answered 503 « serveur occupé »
  with ``Retry-After`` at once), each for ``wait`` seconds at most (default: the time limit);
* the row and byte caps are applied while re-serialising the parsed answer
  (:func:`graph.evaluation.serialize_answer`), so the ``X-SPARQL-MaxRows`` and
  ``X-SPARQL-MaxBytes`` flags mean the same; an answer the engine itself cut
  (``ResultSetMaxRows``) is flagged too, never passed for complete;
* extension functions (``cl:similarity``…) are evaluated by cooplink in-process and cannot run
  remotely: the HTTP layer refuses them with a 400 before calling the runner.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from graph import _sparql_lexer as lex
from graph import query_guard
from graph.admission import Admission
from graph.errors import BadRequest, Forbidden, QueryTimeout
from graph.evaluation import DEFAULT_MAX_BYTES, QueryAnswer, QueryRequest, serialize_answer
from graph.remote import (
    SOLUTIONS_MEDIA,
    TRIPLES_MEDIA,
    RemoteStore,
    RemoteTriples,
    parse_solutions,
    parse_triples,
)

#: namespaces of Virtuoso's built-in and SQL functions (``bif:``, ``sql:`` and their IRIs)
_ENGINE_NAMESPACES = ("bif:", "sql:", "http://www.openlinksw.com/schemas/bif#",
                      "http://www.openlinksw.com/schemas/sql#")


def refuse_engine_extensions(sparql: str) -> None:
    """403 for what only Virtuoso would run: a pragma before the query form, or a function of
    its ``bif:``/``sql:`` namespaces (spelled as an IRI, or declared or predeclared prefix)."""
    first = next((t for t in lex.tokens(sparql) if t.kind == "name"), None)
    if first is not None and first.text.upper() == "DEFINE":
        raise Forbidden("requête refusée : les pragmas DEFINE de Virtuoso ne sont pas admis "
                        "(SPARQL 1.1 seulement)")
    for tok in lex.tokens(sparql):
        if tok.kind == "iri":
            iri = lex.unescape_iri(tok.text[1:-1]).lower()
        elif tok.kind == "name" and ":" in tok.text:
            iri = tok.text.lower()
        else:
            continue
        if iri.startswith(_ENGINE_NAMESPACES):
            raise Forbidden("requête refusée : les fonctions propres à Virtuoso (bif:, sql:) "
                            "ne sont pas admises (SPARQL 1.1 seulement)")


class RemoteRunner:
    """``/sparql`` queries evaluated by the remote store's endpoint (see the module doc)."""

    def __init__(self, store: RemoteStore, *, timeout: float = 30.0, max_rows: int = 100_000,
                 max_bytes: int = DEFAULT_MAX_BYTES, workers: int = 2, queue: int = 32,
                 wait: float | None = None) -> None:
        self.store = store
        self.timeout = timeout
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.size = max(1, workers)
        self.wait = timeout if wait is None else wait
        self._slots = threading.Condition()  # guards the count below
        self._busy = 0  # queries being evaluated
        # at most ``queue`` queries wait for a slot (graph/admission.py)
        self._admission = Admission(
            self._slots, queue, lambda: f"les {self.size} requêtes SPARQL simultanées sont prises")

    def start(self) -> None:
        """Nothing to start: the engine runs elsewhere (same interface as QueryRunner)."""

    def close(self) -> None:
        """Nothing to stop (same interface as QueryRunner)."""

    def wait_ready(self, limit: float) -> bool:
        return True

    def sandboxed(self) -> bool | None:
        return None  # the remote engine's network is not ours to close

    def run(self, request: QueryRequest) -> QueryAnswer:
        """Evaluate ``request`` remotely; raises :class:`ServerBusy` (503, ``Retry-After``)
        when no slot took it in time, :class:`QueryTimeout` (503) past the time limit."""
        waited = time.monotonic() + self.wait
        if request.text_vectors:
            raise BadRequest("les fonctions de recherche de cooplink (cl:similarity…) ne "
                             "s'évaluent pas sur un point d'accès distant")
        form = query_guard.shape(request.sparql, request.base_iri).form
        if form is None:
            raise BadRequest("requête SPARQL invalide : elle doit commencer (après PREFIX et "
                             "BASE) par SELECT, ASK, CONSTRUCT ou DESCRIBE")
        refuse_engine_extensions(request.sparql)
        query_guard.verify_parsed(request.sparql, request.allowed_services, request.base_iri,
                                  sandboxed=False)
        self._admission.enter(self._take, waited)
        try:
            return self._ask(request, form, time.monotonic() + self.timeout)
        finally:
            with self._slots:
                self._busy -= 1
                self._slots.notify()

    def _take(self) -> bool | None:
        """A slot for a query, if one is free (caller holds the lock)."""
        if self._busy >= self.size:
            return None
        self._busy += 1
        return True

    def _ask(self, request: QueryRequest, form: str, deadline: float) -> QueryAnswer:
        graph = form in ("construct", "describe")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise QueryTimeout(f"la requête a dépassé la durée maximale de {self.timeout:g} s")
        try:
            data, headers = self.store.request(
                request.sparql, TRIPLES_MEDIA if graph else SOLUTIONS_MEDIA,
                default_graphs=request.default_graphs, named_graphs=request.named_graphs,
                # the engine has stopped the query by the time this side gives up waiting
                timeout=remaining, params=self.store.engine_timeout(remaining),
                base=request.base_iri, pragma=self.store.pragma(form))
        except QueryTimeout:
            raise QueryTimeout(
                f"la requête a dépassé la durée maximale de {self.timeout:g} s ; ajoutez LIMIT "
                "ou des filtres plus sélectifs") from None
        try:
            triples = parse_triples(data) if graph else None
            result = RemoteTriples(triples) if triples is not None else parse_solutions(data)
        except (SyntaxError, ValueError) as exc:
            raise BadRequest(f"réponse illisible du point d'accès distant : {exc}") from exc
        answer = serialize_answer(result, request, self.max_rows, self.max_bytes)
        if answer.cut is None and self.store.cut(headers, triples):
            answer = replace(answer, cut="rows")  # the engine cut it (ResultSetMaxRows)
        return answer

"""SPARQL evaluation under a time limit and a row cap, in a small pool of worker processes.

pyoxigraph has no query timeout and holds the thread while it evaluates, so a limit can only be
enforced from outside: each worker is a child process holding the served store open read-only;
the server sends it one query at a time over a socket pair and waits at most ``timeout``
seconds for the answer.  Past that, the worker is killed (SIGKILL: RocksDB read-only handles
need no cleanup) and a fresh one is started, so one runaway query never blocks the others.

Workers are plain ``python -m graph.query_runner FD`` processes rather than ``multiprocessing``
ones: the ``spawn`` method would re-import the server's ``__main__`` (the whole CLI) in every
worker, and ``fork`` is unsafe in a threaded server.  Results cross the socket already
serialised (bytes), so the parent never converts rows through Python.

The row cap is applied while serialising: a write sink that counts lines stops the
serialiser (and therefore the lazy evaluation) once ``max_rows`` rows are out.  SELECT results
are counted in TSV and CONSTRUCT/DESCRIBE results in N-Triples — one row or triple per line in
both — then converted to the requested format by pyoxigraph's parsers and writers.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any, cast

import pyoxigraph as ox

from cooplink.errors import BadRequest, CooplinkError, QueryTimeout
from graph.namespaces import PREFIXES
from graph.store import GRAPH_FORMATS, SOLUTION_FORMATS, QueryKind

#: ``module:callable`` returning ``{function IRI: python function}`` for one store folder.
FunctionsFactory = str


class EngineFailure(CooplinkError):
    """The evaluating process died (out of memory, crash): the client may retry."""

    status = 503


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


def _load_functions(factory: str | None, store_path: str) -> Any:
    """What the factory makes for a generation: a dict of functions, or an object whose
    ``functions(texts)`` builds them per request (texts embedded by the parent)."""
    if not factory:
        return {}
    module, _, name = factory.partition(":")
    return getattr(importlib.import_module(module), name)(Path(store_path))


def _functions_for(loaded: Any, request: QueryRequest) -> dict[str, Callable[..., Any]]:
    if hasattr(loaded, "functions"):
        made: dict[str, Callable[..., Any]] = loaded.functions(dict(request.text_vectors))
        return made
    return dict(loaded)


def _serve(conn: Connection, factory: str | None) -> None:
    """Worker loop: answer ``(store_path, request, max_rows)`` messages until the parent goes."""
    store: ox.Store | None = None
    opened: str | None = None
    loaded: Any = {}
    while True:
        try:
            store_path, request, max_rows = conn.recv()
        except (EOFError, OSError):
            return
        try:
            if store is None or opened != store_path:
                store = None  # release the previous generation before opening the next
                store = ox.Store.read_only(store_path)
                opened = store_path
                loaded = _load_functions(factory, store_path)
            functions = _functions_for(loaded, request)
            reply: tuple[str, Any] = ("ok", evaluate(store, request, max_rows, functions))
        except CooplinkError as exc:
            reply = ("error", exc)
        except Exception as exc:  # the parent must always get an answer, never a hang
            reply = ("error", EngineFailure(f"le moteur de requêtes a échoué : {exc}"))
        conn.send(reply)


class _Worker:
    def __init__(self, factory: str | None, epoch: int) -> None:
        self.epoch = epoch
        parent, child = socket.socketpair()
        args = [sys.executable, "-m", "graph.query_runner", str(child.fileno())]
        if factory:
            args.append(factory)
        self.proc = subprocess.Popen(args, pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL)
        child.close()
        self.conn = Connection(parent.detach())

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self.conn.close()


class QueryRunner:
    """A pool of ``workers`` processes evaluating queries on the store at ``store_path()``.

    ``store_path`` is called for every query so a freshly published generation is picked up
    by the next query; workers are started on first use.
    """

    def __init__(
        self,
        store_path: Callable[[], Path],
        *,
        timeout: float = 30.0,
        max_rows: int = 100_000,
        workers: int = 2,
        functions: FunctionsFactory | None = None,
    ) -> None:
        self.store_path = store_path
        self.timeout = timeout
        self.max_rows = max_rows
        self.size = max(1, workers)
        self.functions = functions
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._started = 0  # live workers, idle or busy
        self._epoch = 0  # bumped by close(); older workers are retired when released

    def _acquire(self, deadline: float) -> _Worker:
        with self._lock:
            if self._idle.empty() and self._started < self.size:
                self._started += 1
                return _Worker(self.functions, self._epoch)
        try:
            return self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise QueryTimeout(
                f"toutes les requêtes en cours dépassent {self.timeout:g} s : réessayez plus tard"
            ) from None

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            if worker.epoch == self._epoch:
                self._idle.put(worker)
                return
            self._started -= 1  # started before close(): retire it
        worker.kill()

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._started -= 1

    def run(self, request: QueryRequest) -> QueryAnswer:
        """Evaluate ``request``; raises :class:`QueryTimeout` (503) past the time limit."""
        deadline = time.monotonic() + self.timeout
        path = str(self.store_path())
        worker = self._acquire(deadline)
        try:
            worker.conn.send((path, request, self.max_rows))
            if not worker.conn.poll(max(0.0, deadline - time.monotonic())):
                self._replace(worker)
                raise QueryTimeout(
                    f"la requête a dépassé la durée maximale de {self.timeout:g} s ; "
                    "ajoutez LIMIT ou des filtres plus sélectifs"
                )
            status, payload = worker.conn.recv()
        except (EOFError, OSError) as exc:
            self._replace(worker)
            raise EngineFailure("le processus de requête s'est arrêté ; réessayez") from exc
        self._release(worker)
        if status == "error":
            raise payload
        answer: QueryAnswer = payload
        return answer

    def close(self) -> None:
        """Stop the workers: idle ones now, busy ones when their query returns.  The runner
        stays usable — the next query starts fresh workers — because one app may be served
        several times (tests), and each server shutdown calls this."""
        with self._lock:
            self._epoch += 1
            while True:
                try:
                    worker = self._idle.get_nowait()
                except queue.Empty:
                    break
                worker.kill()
                self._started -= 1


def main(argv: list[str]) -> None:
    """Worker entry point: ``python -m graph.query_runner FD [module:factory]``."""
    fd = int(argv[0])
    conn = Connection(fd)
    try:
        _serve(conn, argv[1] if len(argv) > 1 else None)
    finally:
        conn.close()
        os._exit(0)  # skip interpreter teardown: nothing to flush, and it is faster


if __name__ == "__main__":
    # Run the *imported* module's main, so that answers pickle as graph.query_runner classes
    # (not __main__ ones the parent cannot resolve).
    from graph.query_runner import main as _main

    _main(sys.argv[1:])

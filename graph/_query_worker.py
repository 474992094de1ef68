"""The query worker process of :mod:`graph.query_runner` (``python -m graph._query_worker``).

One worker holds one store generation and answers one message at a time on its socket:

* ``(store_path, None, limits)`` — a warm-up: load the generation, answer
  ``("loaded", {"path": …, "sandboxed": …}, False)``;
* ``(store_path, QueryRequest, limits)`` — a query: answer ``("ok", QueryAnswer, retire)`` or
  ``("error", CooplinkError, retire)``.  ``retire`` asks the parent to replace this process
  (after a Rust panic its state is not trusted any more).

Hardening (issue 8):

* without allowed ``SERVICE`` endpoints the process first takes the network away from itself
  (:mod:`graph._sandbox`); the parsed-query check of :func:`graph.query_guard.verify_parsed`
  runs here, inside the query's time limit and away from the server's event loop;
* parsing and evaluation run in a thread with a large stack (:data:`STACK_BYTES`) and a high
  recursion limit, so the nesting the server lets through (``sparql_max_nesting``) cannot
  overflow the stack of Oxigraph's or rdflib's recursive parsers — 3,000 nested ``{`` used to
  segfault the worker;
* a ``PanicException`` (pyo3 derives it from ``BaseException``) becomes a 400 answer instead of
  ending the loop; a panic that aborts the process is handled by the parent;
* after each query the freed memory is handed back to the system (``malloc_trim``), so the
  parent's memory ceiling measures what the process really holds.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import importlib
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from graph import planner, query_guard
from graph._sandbox import forbid_network
from graph.errors import CooplinkError, Forbidden
from graph.evaluation import QueryRequest, evaluate, memory_copy, open_store

#: stack of the evaluation thread: virtual memory, only the pages a deep query touches count
STACK_BYTES = 512 * 1024 * 1024
#: Workers run below the server's scheduling priority.  On two cores, two workers busy with long
#: queries otherwise take half the CPU from the searches and pages the server answers meanwhile
#: (bench/load.py, isolation scenario); a lower priority leaves them the CPU they need and gives
#: SPARQL whatever is left, which on an idle machine is all of it.
NICENESS = 10


class EngineFailure(CooplinkError):
    """The evaluating process died (out of memory, crash): the client may retry."""

    status = 503


class EnginePanic(CooplinkError):
    """The engine panicked on this query (an Oxigraph bug the query triggers): retrying the
    same query would fail again, so it is the client's to reformulate."""

    status = 400


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


def _is_panic(exc: BaseException) -> bool:
    return type(exc).__name__ == "PanicException"


_LIBC: list[Any] = []  # the C library, opened once


def _trim_memory() -> None:
    """Give freed heap pages back to the system (glibc only; elsewhere a no-op)."""
    with contextlib.suppress(OSError, AttributeError):
        if not _LIBC:
            _LIBC.append(ctypes.CDLL(None))
        _LIBC[0].malloc_trim(0)


class _Worker:
    """The state of one worker: its store, its extension functions, its sandbox."""

    def __init__(self, factory: str | None, in_memory: bool, sandboxed: bool) -> None:
        self.factory = factory
        self.in_memory = in_memory
        self.sandboxed = sandboxed
        self.store: ox.Store | None = None
        self.opened: str | None = None
        self.loaded: Any = {}
        self.counts = planner.GraphCounts()
        self.forked = False  # forked from a template: bound to the template's generation

    def load(self, store_path: str) -> None:
        """Open the generation at ``store_path``: queries are answered at once from the
        read-only disk store, and (``in_memory``) from an in-memory copy as soon as a
        background thread of low priority has made it (issue 9: a restarted server answers
        SPARQL in seconds, not after every worker has copied the graph)."""
        if self.store is None or self.opened != store_path:
            if self.forked:  # the pool retires it instead (graph/_worker_template.py)
                raise EngineFailure("ce processus ne sert que la génération précédente")
            # release the previous generation first: two in-memory copies may not fit
            self.store, self.opened, self.loaded = None, None, {}
            self.counts = planner.GraphCounts()
            self.store = open_store(store_path, in_memory=False)
            self.loaded = _load_functions(self.factory, store_path)
            self.opened = store_path
            if self.in_memory:
                threading.Thread(target=self._copy, args=(store_path, self.store),
                                 name="memory-copy", daemon=True).start()

    def _copy(self, store_path: str, disk: ox.Store) -> None:
        with contextlib.suppress(OSError):  # lower this thread's priority (Linux: per thread)
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        try:
            memory = memory_copy(disk)
        except Exception:  # the disk store keeps answering
            return
        if self.opened == store_path:  # a newer generation may have been opened meanwhile
            self.store = memory

    def answer(self, request: QueryRequest, limits: tuple[int, int]) -> tuple[str, Any, bool]:
        """Check and evaluate one query; never raises (the parent must always get a reply)."""
        max_rows, max_bytes = limits
        try:
            query_guard.verify_parsed(request.sparql, request.allowed_services,
                                      request.base_iri, self.sandboxed)
            assert self.store is not None
            if not request.default_graphs and not request.named_graphs:
                sparql = planner.rewrite(request.sparql, self.store, self.counts)
                if sparql != request.sparql:
                    request = dataclasses.replace(request, sparql=sparql)
            functions = _functions_for(self.loaded, request)
            return "ok", evaluate(self.store, request, max_rows, functions, max_bytes), False
        except CooplinkError as exc:
            if (self.sandboxed and "Operation not permitted" in exc.message
                    and query_guard.might_call_service(request.sparql)):
                return "error", Forbidden(
                    "SERVICE refusé : le moteur de requêtes n'a pas accès au réseau "
                    "(aucun point d'accès autorisé, réglage sparql_allowed_services)"), False
            return "error", exc, False
        except Exception as exc:  # the parent must always get an answer, never a hang
            return "error", EngineFailure(f"le moteur de requêtes a échoué : {exc}"), False
        except BaseException as exc:
            if not _is_panic(exc):
                raise
            detail = " ".join(str(exc).split())[:200]
            return "error", EnginePanic(
                "la requête a provoqué une erreur interne du moteur SPARQL "
                f"(« {detail} ») ; reformulez-la, par exemple sans ORDER BY sur des valeurs "
                "de types mélangés"), True
        finally:
            _trim_memory()


def _warm_parser() -> None:
    """Import rdflib's SPARQL parser and algebra (their grammar is built at import); importing
    only, so no parse ever runs beside the evaluation thread's."""
    with contextlib.suppress(Exception):  # a broken parser shows on the first real query
        importlib.import_module("rdflib.plugins.sparql.algebra")
        importlib.import_module("rdflib.plugins.sparql.parser")


def harden(network: bool) -> bool:
    """What a worker (or the template it is forked from) does before it reads anything: take
    the network away unless ``network`` (returns whether it did) and raise the recursion limit
    for the parsers.  Both are inherited by a fork."""
    sandboxed = False if network else forbid_network()
    sys.setrecursionlimit(query_guard.PARSER_RECURSION_LIMIT)
    return sandboxed


def run_loop(conn: Connection, worker: _Worker) -> None:
    """Answer ``conn``'s messages until the parent goes, in a thread with the large stack: a
    query is parsed and evaluated where it is received (handing each one to another thread
    cost a thread switch each way; issue 13, the endpoint's fixed cost per query)."""
    threading.stack_size(STACK_BYTES)
    loop = threading.Thread(target=_loop, args=(conn, worker), name="evaluation")
    loop.start()
    loop.join()


def serve(conn: Connection, factory: str | None, in_memory: bool, network: bool) -> None:
    """Worker loop: answer messages until the parent goes (see the module docstring)."""
    run_loop(conn, _Worker(factory, in_memory, harden(network)))


def start_process(options: list[str]) -> tuple[subprocess.Popen[bytes], Connection]:
    """A new ``python -m graph._query_worker FD *options`` process and the parent's end of its
    socket pair (a worker, or with ``--template`` a template)."""
    parent, child = socket.socketpair()
    args = [sys.executable, "-m", "graph._query_worker", str(child.fileno()), *options]
    proc = subprocess.Popen(args, pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL)
    child.close()
    return proc, Connection(parent.detach())


def _loop(conn: Connection, worker: _Worker) -> None:
    parser_warmed = False
    while True:
        try:
            store_path, request, limits = conn.recv()
        except (EOFError, OSError):
            return
        reply: tuple[str, Any, bool]
        try:
            worker.load(store_path)
            if request is None:
                reply = ("loaded", {"path": store_path, "sandboxed": worker.sandboxed}, False)
            else:
                reply = worker.answer(request, limits)
        except CooplinkError as exc:
            reply = ("error", exc, False)
        except Exception as exc:  # a generation that cannot be opened: say so, keep serving
            reply = ("error", EngineFailure(f"le moteur de requêtes a échoué : {exc}"), False)
        conn.send(reply)
        if reply[2]:
            return
        if not parser_warmed and reply[0] == "loaded":
            # rdflib (the parser of the SERVICE check) takes 0.6 s to import: done once the
            # worker is loaded, beside the evaluation thread, so no query waits for it (one
            # that needs rdflib meanwhile waits on the import lock only)
            threading.Thread(target=_warm_parser, daemon=True).start()
            parser_warmed = True


def main(argv: list[str]) -> None:
    """``python -m graph._query_worker FD [--in-memory | --template] [--network]
    [module:factory]`` (``--template``: see :mod:`graph._worker_template`)."""
    fd = int(argv[0])
    options = argv[1:]
    with contextlib.suppress(OSError):  # a platform without priorities still serves
        os.nice(NICENESS)
    factory = next((a for a in options if not a.startswith("--")), None)
    conn = Connection(fd)
    try:
        if "--template" in options:
            from graph._worker_template import serve_template

            serve_template(conn, factory, "--network" in options)
        else:
            serve(conn, factory, "--in-memory" in options, "--network" in options)
    finally:
        conn.close()
        os._exit(0)  # skip interpreter teardown: nothing to flush, and it is faster


if __name__ == "__main__":
    # Run the *imported* module's main, so that errors (EngineFailure) pickle as
    # graph._query_worker classes (not __main__ ones the parent cannot resolve).
    from graph._query_worker import main as _main

    _main(sys.argv[1:])

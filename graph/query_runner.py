"""SPARQL evaluation under a time limit and a row cap, in a small pool of worker processes.

pyoxigraph has no query timeout and holds the thread while it evaluates, so a limit can only be
enforced from outside: each worker is a child process holding the served store; the server
sends it one query at a time over a socket pair and waits at most ``timeout`` seconds for the
answer.  Past that, the worker is killed (SIGKILL: neither a RocksDB read-only handle nor an
in-memory store needs cleanup) and a fresh one is started, so one runaway query never blocks
the others.

By default (``in_memory``) a worker copies the served generation into an in-memory
``pyoxigraph.Store`` and evaluates there: on the default dataset (960k triples) that is 2 to 5
times faster than the on-disk RocksDB store, for about 8 s and 440 MB per worker.  Loading a
generation is a separate *warm-up* message, sent as soon as a worker starts (``start()`` at
server start-up, replacement after a timeout) or a new generation is seen, and its duration is
never charged to a query's time limit.

Workers are plain ``python -m graph.query_runner FD`` processes rather than ``multiprocessing``
ones: the ``spawn`` method would re-import the server's ``__main__`` (the whole CLI) in every
worker, and ``fork`` is unsafe in a threaded server.  Results cross the socket already
serialised (bytes), so the parent never converts rows through Python.

Evaluating one query (types, capped serialisation, the in-memory copy) is :mod:`graph.evaluation`.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from cooplink.errors import CooplinkError, QueryTimeout
from graph.evaluation import QueryAnswer, QueryRequest, evaluate, open_store

#: ``module:callable`` returning ``{function IRI: python function}`` for one store folder.
FunctionsFactory = str


class EngineFailure(CooplinkError):
    """The evaluating process died (out of memory, crash): the client may retry."""

    status = 503


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


def _serve(conn: Connection, factory: str | None, in_memory: bool) -> None:
    """Worker loop: answer ``(store_path, request, max_rows)`` messages until the parent goes.

    A ``None`` request is a warm-up: load the generation and answer ``("loaded", path)``."""
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
                # release the previous generation first: two in-memory copies may not fit
                store, opened, loaded = None, None, {}
                store = open_store(store_path, in_memory)
                loaded = _load_functions(factory, store_path)
                opened = store_path
            if request is None:
                reply: tuple[str, Any] = ("loaded", store_path)
            else:
                functions = _functions_for(loaded, request)
                reply = ("ok", evaluate(store, request, max_rows, functions))
        except CooplinkError as exc:
            reply = ("error", exc)
        except Exception as exc:  # the parent must always get an answer, never a hang
            reply = ("error", EngineFailure(f"le moteur de requêtes a échoué : {exc}"))
        conn.send(reply)


class _LoadTimeout(Exception):
    """A worker took longer than ``load_timeout`` to load a generation."""


class _Worker:
    """One worker process, seen from the parent.  Only the thread that acquired it (or the
    runner, under its lock, while it is idle) talks to it."""

    def __init__(self, factory: str | None, in_memory: bool, epoch: int) -> None:
        self.epoch = epoch
        self.loaded: str | None = None  # generation the worker holds
        self.loading: str | None = None  # generation of a warm-up whose answer is not read yet
        parent, child = socket.socketpair()
        args = [sys.executable, "-m", "graph.query_runner", str(child.fileno())]
        if in_memory:
            args.append("--in-memory")
        if factory:
            args.append(factory)
        self.proc = subprocess.Popen(args, pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL)
        child.close()
        self.conn = Connection(parent.detach())

    def warm(self, path: str) -> None:
        """Ask the worker to load ``path`` now; the answer is read by :meth:`settle`."""
        self.conn.send((path, None, 0))
        self.loading = path

    def ready(self) -> bool:
        """Whether a query would run without waiting for a load (never blocks)."""
        if self.loading is None:
            return True
        try:
            return self.conn.poll(0)
        except OSError:
            return False

    def settle(self, limit: float) -> None:
        """Wait (at most ``limit`` seconds) for the warm-up in flight, if any.  Raises what
        the worker raised, :class:`_LoadTimeout`, or ``EOFError`` if it died."""
        if self.loading is None:
            return
        if not self.conn.poll(limit):
            raise _LoadTimeout
        status, payload = self.conn.recv()
        path, self.loading = self.loading, None
        self.loaded = path if status == "loaded" else None
        if status == "error":
            raise payload

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self.conn.close()


class QueryRunner:
    """A pool of ``workers`` processes evaluating queries on the store at ``store_path()``.

    ``store_path`` is called for every query so a freshly published generation is picked up
    by the next query.  :meth:`start` starts the whole pool, each worker loading the current
    generation; otherwise workers start on first use.  With ``in_memory`` workers evaluate on
    an in-memory copy of the generation.  Loading a generation (at most ``load_timeout``
    seconds) does not count in a query's ``timeout``.
    """

    def __init__(
        self,
        store_path: Callable[[], Path],
        *,
        timeout: float = 30.0,
        max_rows: int = 100_000,
        workers: int = 2,
        functions: FunctionsFactory | None = None,
        in_memory: bool = True,
        load_timeout: float = 600.0,
    ) -> None:
        self.store_path = store_path
        self.timeout = timeout
        self.max_rows = max_rows
        self.size = max(1, workers)
        self.functions = functions
        self.in_memory = in_memory
        self.load_timeout = load_timeout
        self._idle: list[_Worker] = []  # most recently released last
        self._lock = threading.Condition()  # guards the fields below; notified on release
        self._started = 0  # live workers, idle or busy
        self._epoch = 0  # bumped by close(); older workers are retired when released
        self._path: str | None = None  # latest generation seen, loaded by new workers

    def _spawn(self) -> _Worker:
        """A new worker, already loading the latest generation seen (caller holds the lock)."""
        worker = _Worker(self.functions, self.in_memory, self._epoch)
        if self._path is not None:
            with contextlib.suppress(OSError):  # a worker dead at birth fails its first query
                worker.warm(self._path)
        return worker

    def start(self) -> None:
        """Start every worker now, each loading the current generation, so that the first
        queries wait neither for process start-up nor for the in-memory copy."""
        with contextlib.suppress(CooplinkError):  # nothing built yet: queries will say so
            self._notice(str(self.store_path()))
        with self._lock:
            while self._started < self.size:
                self._started += 1
                self._idle.insert(0, self._spawn())
            self._lock.notify_all()

    def _notice(self, path: str) -> None:
        """Record the generation to serve; on a change, idle workers start loading it now."""
        with self._lock:
            if path == self._path:
                return
            self._path = path
            for worker in self._idle:
                if worker.loading is None and worker.loaded != path:
                    with contextlib.suppress(OSError):  # a dead worker fails its next query
                        worker.warm(path)

    def _acquire(self, deadline: float) -> _Worker:
        with self._lock:
            while True:
                if self._idle:
                    # a worker still loading may be behind a ready one: prefer the ready one
                    ready = [w for w in self._idle if w.ready()]
                    worker = ready[-1] if ready else self._idle[-1]
                    self._idle.remove(worker)
                    return worker
                if self._started < self.size:
                    self._started += 1
                    return self._spawn()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise QueryTimeout(
                        f"toutes les requêtes en cours dépassent {self.timeout:g} s : "
                        "réessayez plus tard"
                    )
                self._lock.wait(remaining)

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            if worker.epoch == self._epoch:
                self._idle.append(worker)
                self._lock.notify()
                return
            self._started -= 1  # started before close(): retire it
            self._lock.notify()  # a waiting query may start a fresh worker in its place
        worker.kill()

    def _replace(self, worker: _Worker) -> None:
        """Kill ``worker`` and start its successor right away, loading the current generation,
        so the next query finds it ready."""
        worker.kill()
        with self._lock:
            if worker.epoch == self._epoch:
                self._idle.insert(0, self._spawn())  # behind the ready workers
            else:
                self._started -= 1  # started before close(): not replaced
            self._lock.notify()

    def _load(self, worker: _Worker, path: str) -> None:
        """Make ``worker`` hold generation ``path`` (finishing any warm-up in flight)."""
        with contextlib.suppress(CooplinkError):  # an older warm-up's failure is not ours
            worker.settle(self.load_timeout)
        if worker.loaded != path:
            worker.warm(path)
            worker.settle(self.load_timeout)

    def run(self, request: QueryRequest) -> QueryAnswer:
        """Evaluate ``request``; raises :class:`QueryTimeout` (503) past the time limit."""
        deadline = time.monotonic() + self.timeout
        path = str(self.store_path())
        self._notice(path)
        worker = self._acquire(deadline)
        try:
            loading = time.monotonic()
            try:
                self._load(worker, path)
            except CooplinkError:
                self._release(worker)  # the worker is fine, the generation is not
                raise
            # the time limit is the query's: waiting for a load does not count
            deadline += time.monotonic() - loading
            worker.conn.send((path, request, self.max_rows))
            if not worker.conn.poll(max(0.0, deadline - time.monotonic())):
                self._replace(worker)
                raise QueryTimeout(
                    f"la requête a dépassé la durée maximale de {self.timeout:g} s ; "
                    "ajoutez LIMIT ou des filtres plus sélectifs"
                )
            status, payload = worker.conn.recv()
        except _LoadTimeout:
            self._replace(worker)
            raise EngineFailure(
                f"le chargement du graphe a dépassé {self.load_timeout:g} s ; réessayez"
            ) from None
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
        stays usable — the next query (or :meth:`start`) starts fresh workers — because one
        app may be served several times (tests), and each server shutdown calls this."""
        with self._lock:
            self._epoch += 1
            idle, self._idle = self._idle, []
            self._started -= len(idle)
        for worker in idle:
            worker.kill()


def main(argv: list[str]) -> None:
    """Worker entry point: ``python -m graph.query_runner FD [--in-memory] [module:factory]``."""
    fd = int(argv[0])
    options = argv[1:]
    in_memory = "--in-memory" in options
    factory = next((a for a in options if a != "--in-memory"), None)
    conn = Connection(fd)
    try:
        _serve(conn, factory, in_memory)
    finally:
        conn.close()
        os._exit(0)  # skip interpreter teardown: nothing to flush, and it is faster


if __name__ == "__main__":
    # Run the *imported* module's main, so that errors (EngineFailure) pickle as
    # graph.query_runner classes (not __main__ ones the parent cannot resolve).
    from graph.query_runner import main as _main

    _main(sys.argv[1:])

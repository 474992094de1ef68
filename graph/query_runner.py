"""SPARQL evaluation under a time limit, row and byte caps and a memory ceiling, in a small pool
of worker processes with a warm spare.

pyoxigraph has no query timeout and holds the thread while it evaluates, so limits can only be
enforced from outside: each worker is a child process holding the served store
(:mod:`graph._query_worker`); the server sends it one query at a time over a socket pair and
waits for the answer.  A worker is killed (SIGKILL: neither a RocksDB read-only handle nor an
in-memory store needs cleanup) and replaced when its query passes the time limit, when its
resident memory passes ``max_memory_mb`` (during a query: the query gets 503; after one: the
memory is not given back), or when it dies (a Rust abort, a segfault).

Issue 8 made the pool robust to a visitor who kills workers on purpose:

* the pool keeps ``spares`` processes beyond the ``workers`` that evaluate at once, loaded and
  idle, so a killed worker's replacement loads in the background while a ready one serves;
* the time limit is the query's own: it runs from the moment a worker holding the generation
  starts it, so a query is never stopped for time it spent queued.  The wait before that is
  bounded apart (issue 13, load at 128 clients): at most ``queue`` queries wait for a worker,
  and the next one is answered 503 « serveur occupé » with ``Retry-After`` at once; a waiting
  query gives up after ``wait`` seconds (default: the time limit) with the same answer — also
  when its worker is still loading a generation (« en cours de chargement »), so an innocent
  query never waits for a load beyond that;
* a query that made a worker die by a signal is remembered (by its text and dataset) and
  refused at once if sent again, so it cannot cost a reload twice.

By default (``in_memory``) queries are evaluated on an in-memory ``pyoxigraph.Store``: on the
default dataset (960k triples) 2 to 5 times faster than RocksDB.  One *template* process per
generation makes that copy (about 10 s and 450 MB) and the workers are forked from it, sharing
its pages (:mod:`graph._worker_template`): one copy for the pool, and a killed worker's
successor ready in milliseconds.  Until the copy is made, spawned workers answer from the disk
store; they give way to forks at the first query after it is ready.  The pages do not all
stay shared: pyoxigraph writes to the pages it reads (reference counts), so a query scanning
the whole graph makes a fork copy about two thirds of it (docs/sparql.md).  Loading is a
separate *warm-up* message, sent as soon as a spawned worker starts or a new generation is
seen.

Workers are plain ``python -m graph._query_worker FD`` processes rather than
``multiprocessing`` ones: the ``spawn`` method would re-import the server's ``__main__`` (the
whole CLI) in every worker, and ``fork`` is unsafe in a threaded server.  Results cross the
socket already serialised (bytes), so the parent never converts rows through Python.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from graph._query_worker import EngineFailure, EnginePanic
from graph._worker_template import Template
from graph.admission import Admission
from graph.errors import RETRY_AFTER, BadRequest, CooplinkError, QueryTimeout, ServerBusy
from graph.evaluation import DEFAULT_MAX_BYTES, QueryAnswer, QueryRequest
from graph.worker_process import LoadTimeout, StillLoading, WorkerProcess

__all__ = ["EngineFailure", "EnginePanic", "QueryRunner"]

#: ``module:callable`` returning ``{function IRI: python function}`` for one store folder.
FunctionsFactory = str
#: how often the parent looks at a busy worker's memory
_WATCH_SECONDS = 0.2
#: queries remembered as having killed a worker
_FATAL_MEMORY = 256
_log = logging.getLogger(__name__)


class QueryTooHeavy(CooplinkError):
    """The query needed more memory than the ``sparql_worker_max_memory_mb`` ceiling."""

    status = 503


# Kept hand-written (issue 10, point 6 weighed swapping it for a library): the pool's job is to
# kill one runaway query, and library pools cannot. ``concurrent.futures`` cannot stop a running
# task (``Future.cancel`` only drops queued ones), and a worker killed from outside breaks the
# whole ``ProcessPoolExecutor`` (``BrokenProcessPool`` fails every pending query);
# ``multiprocessing.Pool`` only stops *waiting* on a timeout, and its ``terminate`` kills every
# worker.  ``pebble`` kills on timeout, but like them it runs ``multiprocessing`` workers
# (spawn re-imports the CLI, fork is unsafe here, see above) and knows nothing of what a worker
# holds: a loaded generation (10 s, 450 MB) to keep warm in a spare, a memory ceiling to watch
# during a query, a query that killed a worker to refuse next time.
class QueryRunner:
    """A pool evaluating queries on the store at ``store_path()``: ``workers`` queries at once,
    on ``workers + spares`` processes.

    ``store_path`` is called for every query so a freshly published generation is picked up
    by the next query.  :meth:`start` starts every process, each loading the current
    generation; otherwise they start on first use.  ``network`` lets workers open connections
    (only needed for an allow-list of ``SERVICE`` endpoints); ``max_memory_mb`` (0: none) is
    the resident-memory ceiling of a worker.  ``timeout`` bounds a query's evaluation;
    ``queue`` (queries waiting at most) and ``wait`` (seconds, default ``timeout``) bound the
    wait for a free, loaded worker before it.
    """

    def __init__(
        self,
        store_path: Callable[[], Path],
        *,
        timeout: float = 30.0,
        max_rows: int = 100_000,
        max_bytes: int = DEFAULT_MAX_BYTES,
        workers: int = 2,
        spares: int = 1,
        functions: FunctionsFactory | None = None,
        in_memory: bool = True,
        network: bool = True,
        max_memory_mb: int = 0,
        load_timeout: float = 600.0,
        queue: int = 32,
        wait: float | None = None,
    ) -> None:
        self.store_path = store_path
        self.timeout = timeout
        self.wait = timeout if wait is None else wait
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.size = max(1, workers)
        self.spares = max(0, spares)
        self.functions = functions
        self.in_memory = in_memory
        self.network = network
        self.max_memory = max_memory_mb * 1024 * 1024
        self.load_timeout = load_timeout
        self._idle: list[WorkerProcess] = []  # most recently released last
        self._lock = threading.Condition()  # guards the fields below; notified on release
        self._live = 0  # processes, idle or busy
        self._busy = 0  # queries being evaluated
        self._epoch = 0  # bumped by close(); older workers are retired when released
        self._path: str | None = None  # latest generation seen, loaded by new workers
        self._template: Template | None = None  # forks the workers of ``_path`` (in memory)
        self._retired: list[Template] = []  # older templates whose workers still run
        self._fatal: OrderedDict[str, str] = OrderedDict()  # query key -> why it is refused
        # at most ``queue`` queries wait for a worker (graph/admission.py)
        self._admission = Admission(
            self._lock, queue, lambda: f"les {self.size} moteurs de requêtes SPARQL sont pris")

    @property
    def capacity(self) -> int:
        return self.size + self.spares

    def _ready_template(self) -> Template | None:
        """The template of the latest generation once its copy is made (caller holds the
        lock).  Starts it on first call for a generation; retires the previous one, which is
        stopped once none of its workers is left."""
        if not self.in_memory or self._path is None:
            return None
        current = self._template
        if current is None or current.path != self._path:
            if current is not None:
                self._retired.append(current)
            current = self._template = Template(self._path, self.functions, self.network)
        for old in self._unneeded():
            old.close()
        return current if current.ready() else None

    def _unneeded(self) -> list[Template]:
        """The retired templates none of whose workers is left, taken out of the list (caller
        holds the lock).  A template is its forks' parent: stopped earlier, it would leave
        them to PID 1, which neither reaps them for the pool nor tells how they ended."""
        done = [t for t in self._retired if not t.children]
        self._retired = [t for t in self._retired if t.children]
        return done

    def _stop_unneeded(self) -> None:
        with self._lock:
            done = self._unneeded()
        for template in done:
            template.close()

    def _spawn(self) -> WorkerProcess:
        """A new worker holding, or already loading, the latest generation seen (caller holds
        the lock): forked from the template when its copy is ready; otherwise a process that
        answers from the disk store meanwhile (it makes its own in-memory copy only when the
        template failed)."""
        template = self._ready_template()
        if template is not None:
            try:
                return WorkerProcess.fork(template, self._epoch)
            except (EOFError, OSError):
                template.failed = True
        own_copy = self.in_memory and self._template is not None and self._template.failed
        worker = WorkerProcess.spawn(self.functions, own_copy, self.network, self._epoch)
        if self._path is not None:
            with contextlib.suppress(OSError):  # a worker dead at birth fails its first query
                worker.warm(self._path)
        return worker

    def _fresh(self, worker: WorkerProcess) -> WorkerProcess:
        """``worker``, or its successor when a better one can be had: a fork of the ready
        template in place of a process reading the disk store, or in place of a fork of an
        older generation (caller holds the lock)."""
        if worker.forked and worker.loaded == self._path:
            return worker
        if self._ready_template() is None and not worker.forked:
            return worker
        successor = self._spawn()
        worker.kill()
        return successor

    def start(self) -> None:
        """Start every process now, each loading the current generation, so that the first
        queries wait neither for process start-up nor for the in-memory copy."""
        with contextlib.suppress(CooplinkError):  # nothing built yet: queries will say so
            self._notice(str(self.store_path()))
        with self._lock:
            while self._live < self.capacity:
                self._live += 1
                self._idle.insert(0, self._spawn())
            self._lock.notify_all()

    def _notice(self, path: str) -> None:
        """Record the generation to serve; on a change, idle workers start loading it now."""
        with self._lock:
            if path == self._path:
                return
            self._path = path
            for worker in self._idle:
                if worker.loading is None and worker.loaded != path and not worker.forked:
                    with contextlib.suppress(OSError):  # a dead worker fails its next query
                        worker.warm(path)

    def _take(self) -> WorkerProcess | None:
        """A worker for a query, if one may start now (caller holds the lock)."""
        if self._busy >= self.size:
            return None
        if self._idle:
            # once the template's copy is made, every idle worker becomes one of its forks
            self._idle = [self._fresh(w) for w in self._idle]
            # a worker still loading may be behind a ready one: prefer the ready one
            ready = [w for w in self._idle if w.ready()]
            worker = ready[-1] if ready else self._idle[-1]
            self._idle.remove(worker)
            self._busy += 1
            return worker
        if self._live < self.capacity:
            self._live += 1
            self._busy += 1
            return self._spawn()
        return None

    def _release(self, worker: WorkerProcess) -> None:
        with self._lock:
            self._busy -= 1
            if worker.epoch == self._epoch:
                self._idle.append(worker)
                self._lock.notify()
                return
            self._live -= 1  # started before close(): retire it
            self._lock.notify()  # a waiting query may start a fresh worker in its place
        worker.kill()
        self._stop_unneeded()

    def _replace(self, worker: WorkerProcess) -> None:
        """Kill ``worker`` and start its successor right away, loading the current generation,
        behind the ready workers (the spare serves meanwhile)."""
        worker.kill()
        with self._lock:
            self._busy -= 1
            if worker.epoch == self._epoch:
                self._idle.insert(0, self._spawn())
            else:
                self._live -= 1  # started before close(): not replaced
            self._lock.notify()
        self._stop_unneeded()

    def _load(self, worker: WorkerProcess, path: str, deadline: float) -> None:
        """Make ``worker`` hold generation ``path`` by ``deadline`` (finishing any warm-up in
        flight: an older generation's failure is not this query's)."""
        if worker.loading is not None and worker.loading != path:
            with contextlib.suppress(CooplinkError):
                worker.settle(deadline, self.load_timeout)
        if worker.loaded != path and worker.loading is None:
            worker.warm(path)
        worker.settle(deadline, self.load_timeout)

    def _key(self, request: QueryRequest) -> str:
        text = "\0".join((request.sparql, *request.default_graphs, "\0", *request.named_graphs))
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    def _remember_fatal(self, request: QueryRequest, why: str) -> None:
        with self._lock:
            self._fatal[self._key(request)] = why
            while len(self._fatal) > _FATAL_MEMORY:
                self._fatal.popitem(last=False)

    def _wait(self, worker: WorkerProcess, deadline: float) -> tuple[str, Any, bool]:
        """The worker's reply by ``deadline``, watching its memory meanwhile."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise QueryTimeout(
                    f"la requête a dépassé la durée maximale de {self.timeout:g} s ; "
                    "ajoutez LIMIT ou des filtres plus sélectifs"
                )
            if worker.conn.poll(min(remaining, _WATCH_SECONDS)):
                reply: tuple[str, Any, bool] = worker.conn.recv()
                return reply
            if self.max_memory and worker.rss(precise=True) > self.max_memory:
                raise QueryTooHeavy(
                    f"la requête demandait plus de {self.max_memory // 2**20} Mo de mémoire "
                    "(réglage sparql_worker_max_memory_mb) ; ajoutez LIMIT ou des filtres plus "
                    "sélectifs"
                )

    def run(self, request: QueryRequest) -> QueryAnswer:
        """Evaluate ``request``; raises :class:`ServerBusy` (503, ``Retry-After``) when no
        loaded worker took it within the wait allowed, :class:`QueryTimeout` (503) when its
        evaluation passes the time limit."""
        waited = time.monotonic() + self.wait
        with self._lock:
            refused = self._fatal.get(self._key(request))
        if refused:
            raise BadRequest(refused)
        path = str(self.store_path())
        self._notice(path)
        worker = self._admission.enter(self._take, waited)
        try:
            self._load(worker, path, waited)
        except CooplinkError:
            self._release(worker)  # the worker is fine, the generation is not
            raise
        except StillLoading:
            self._release(worker)  # it keeps loading, for the next query
            raise ServerBusy(
                "le graphe est en cours de chargement dans le moteur de requêtes : "
                f"réessayez dans {RETRY_AFTER} s", RETRY_AFTER
            ) from None
        except LoadTimeout:
            self._replace(worker)
            raise EngineFailure(
                f"le chargement du graphe a dépassé {self.load_timeout:g} s ; réessayez"
            ) from None
        except (EOFError, OSError) as exc:
            self._replace(worker)
            raise EngineFailure("le processus de requête s'est arrêté ; réessayez") from exc
        try:
            worker.conn.send((path, request, (self.max_rows, self.max_bytes)))
            # the time limit starts here: the query is evaluated from now on
            status, payload, retire = self._wait(worker, time.monotonic() + self.timeout)
        except (QueryTimeout, QueryTooHeavy):
            self._replace(worker)
            raise
        except (EOFError, OSError) as exc:
            signal = worker.death_signal()
            self._replace(worker)
            if signal is None:
                raise EngineFailure("le processus de requête s'est arrêté ; réessayez") from exc
            self._remember_fatal(request, (
                f"requête refusée : la même requête a déjà arrêté le moteur SPARQL (signal "
                f"{signal}) ; reformulez-la"))
            _log.warning("un processus SPARQL est mort (signal %s) ; remplacé", signal)
            raise EngineFailure(
                f"la requête a arrêté le moteur SPARQL (signal {signal}) : elle ne sera plus "
                "acceptée telle quelle ; les autres requêtes sont servies"
            ) from exc
        if retire or (self.max_memory and worker.rss() > self.max_memory):
            self._replace(worker)  # a panic, or memory the process keeps: start afresh
        else:
            self._release(worker)
        if status == "error":
            if isinstance(payload, EnginePanic):
                self._remember_fatal(request, payload.message)
            raise payload
        answer: QueryAnswer = payload
        return answer

    def wait_ready(self, limit: float) -> bool:
        """Wait up to ``limit`` seconds for every process to be started and loaded, and for
        the in-memory copy (tests, and scripts that measure queries rather than start-up)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            with self._lock:
                copying = (self._ready_template() is None and self._template is not None
                           and not self._template.failed)
                if (not copying and self._live == len(self._idle)
                        and all(w.ready() for w in self._idle)):
                    for worker in self._idle:  # read the warm-up answers (they are there)
                        with contextlib.suppress(CooplinkError, EOFError, OSError):
                            worker.settle(time.monotonic(), self.load_timeout)
                    self._idle = [self._fresh(w) for w in self._idle]  # forks, once ready
                    return True
            time.sleep(0.05)
        return False

    def sandboxed(self) -> bool | None:
        """Whether the idle workers run without network (``None`` until one has loaded)."""
        with self._lock:
            known = [w.sandboxed for w in self._idle if w.sandboxed is not None]
        return all(known) if known else None

    def close(self) -> None:
        """Stop the workers: idle ones now, busy ones when their query returns.  The runner
        stays usable — the next query (or :meth:`start`) starts fresh workers — because one
        app may be served several times (tests), and each server shutdown calls this."""
        with self._lock:
            self._epoch += 1
            idle, self._idle = self._idle, []
            self._live -= len(idle)
            if self._template is not None:
                self._retired.append(self._template)
            self._template = None
        for worker in idle:
            worker.kill()
        # a template whose forks are busy stays, their parent, until their queries return
        self._stop_unneeded()

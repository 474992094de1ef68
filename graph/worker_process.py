"""A query worker process seen from the pool of :mod:`graph.query_runner`: started as a plain
``python -m graph._query_worker`` process (it loads generations itself) or forked from the
template holding the generation's in-memory copy (:mod:`graph._worker_template`), with the
messages the pool sends it, its memory and how it ended."""

from __future__ import annotations

import contextlib
import subprocess
import time
from multiprocessing.connection import Connection

import psutil

from graph._query_worker import start_process
from graph._worker_template import ForkedProcess, Template, stop


class StillLoading(Exception):
    """The query's deadline came while its worker was still loading the generation."""


class LoadTimeout(Exception):
    """A worker took longer than ``load_timeout`` to load a generation."""


class WorkerProcess:
    """One worker process, seen from the parent.  Only the thread that acquired it (or the
    runner, under its lock, while it is idle) talks to it.  A *forked* worker came from a
    template (:mod:`graph._worker_template`) with its generation loaded and serves only that
    one; a spawned worker loads generations itself."""

    def __init__(self, proc: subprocess.Popen[bytes] | ForkedProcess, conn: Connection,
                 epoch: int, loaded: str | None = None, sandboxed: bool | None = None) -> None:
        self.proc = proc
        self.conn = conn
        self.epoch = epoch
        self.forked = isinstance(proc, ForkedProcess)
        self.loaded: str | None = loaded  # generation the worker holds
        self.loading: str | None = None  # generation of a warm-up whose answer is not read yet
        self.loading_since = 0.0
        self.sandboxed: bool | None = sandboxed  # known once a warm-up answered
        self._ps: psutil.Process | None = None
        self._born = 0  # a fork's resident memory at birth: its template's pages

    @classmethod
    def spawn(cls, factory: str | None, in_memory: bool, network: bool,
              epoch: int) -> WorkerProcess:
        """A new ``python -m graph._query_worker`` process (``in_memory``: it makes its own
        in-memory copy of each generation it loads)."""
        proc, conn = start_process([*(["--in-memory"] if in_memory else []),
                                    *(["--network"] if network else []),
                                    *([factory] if factory else [])])
        return cls(proc, conn, epoch)

    @classmethod
    def fork(cls, template: Template, epoch: int) -> WorkerProcess:
        """A worker forked from ``template``, holding its generation already."""
        proc, conn = template.fork()
        worker = cls(proc, conn, epoch, loaded=template.path, sandboxed=template.sandboxed)
        with contextlib.suppress(psutil.Error):
            worker._ps = psutil.Process(proc.pid)
            worker._born = int(worker._ps.memory_info().rss)
        return worker

    def warm(self, path: str) -> None:
        """Ask the worker to load ``path`` now; the answer is read by :meth:`settle`."""
        self.conn.send((path, None, (0, 0)))
        self.loading = path
        self.loading_since = time.monotonic()

    def ready(self) -> bool:
        """Whether a query would run without waiting for a load (never blocks)."""
        if self.loading is None:
            return True
        try:
            return self.conn.poll(0)
        except OSError:
            return False

    def settle(self, deadline: float, load_timeout: float) -> None:
        """Wait until ``deadline`` for the warm-up in flight, if any.  Raises what the worker
        raised, :class:`StillLoading` at the deadline, :class:`LoadTimeout` once the load has
        lasted ``load_timeout``, or ``EOFError`` if the worker died."""
        if self.loading is None:
            return
        stuck = self.loading_since + load_timeout
        if not self.conn.poll(max(0.0, min(deadline, stuck) - time.monotonic())):
            raise LoadTimeout if time.monotonic() >= stuck else StillLoading
        status, payload, _retire = self.conn.recv()
        self.loading = None
        self.loaded = payload["path"] if status == "loaded" else None
        if status == "error":
            raise payload
        self.sandboxed = payload["sandboxed"]

    def rss(self, precise: bool = False) -> int:
        """Memory the process holds, in bytes (0 if it is gone): its resident memory.  A forked
        worker shares the graph with its template, so what counts is its own: with ``precise``
        its unshared pages (USS, from ``smaps_rollup``: a walk of every page, ~25 ms at ten
        times the default dataset, so only while watching a long query), otherwise what it
        grew since its birth (one read of ``statm``, after every query)."""
        try:
            if self._ps is None:
                self._ps = psutil.Process(self.proc.pid)
            if not self.forked:
                return int(self._ps.memory_info().rss)
            if precise:
                return int(self._ps.memory_full_info().uss)
            return max(0, int(self._ps.memory_info().rss) - self._born)
        except psutil.Error:
            return 0

    def death_signal(self) -> int | None:
        """The signal that ended the process, if it died by one (waits a moment for it)."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=2)
        code = self.proc.returncode
        return -code if code is not None and code < 0 else None

    def kill(self) -> None:
        stop(self.proc, self.conn)

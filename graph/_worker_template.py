"""Query workers forked from one loaded copy of the graph (issue 13, scale: copy-on-write).

Each worker of :mod:`graph.query_runner` used to make its own in-memory copy of the served
generation: 16 s and 400 MB per process on the default dataset, 140 s and 2.3 GB at ten times
its size — three copies by default, and a worker killed for a runaway query (which a visitor
can cause at will) paid the whole copy again, on the CPU the searches need.

Here one *template* process per generation makes the copy once and then only forks: a forked
worker starts with the store already loaded, and shares its pages with the template and the
other workers (the store is read-only, so they stay shared; a worker's own memory is what its
queries allocate).  A replacement is ready in milliseconds instead of a copy.

The template is a plain ``python -m graph._query_worker FD --template`` process, like the
workers, and runs their hardening before it loads anything: without network (the seccomp
filter of :mod:`graph._sandbox` is inherited by every fork) and at the workers' lower priority.
It forks from its only thread (a process with other threads cannot be forked safely): the copy
is made in that thread, the read-only disk store is closed before the first fork, and the SPARQL
parser of the ``SERVICE`` check is imported up front so every worker has it warm.  A forked
worker never opens a disk store: once its generation is replaced it is retired, and a fresh
one is forked from the next template.

Messages on the template's socket (``(kind, argument)``):

* ``("load", store_path)`` — make the copy; answer ``("loaded", {"path", "sandboxed"})`` or
  ``("error", CooplinkError)``;
* ``("fork", None)`` — answer ``("forked", pid)``, then pass the worker's end of a new socket
  pair (``SCM_RIGHTS``); the worker then speaks the protocol of :mod:`graph._query_worker`;
* ``("exit", pid)`` — answer ``("exit", wait status or None)``: the template is the workers'
  parent, so it reaps them and keeps how they ended (the pool refuses a query that killed one).
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import socket
import subprocess
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.reduction import recv_handle, send_handle
from types import FrameType
from typing import Any

from graph._query_worker import (
    EngineFailure,
    _load_functions,
    _warm_parser,
    _Worker,
    harden,
    run_loop,
    start_process,
)
from graph.errors import CooplinkError
from graph.evaluation import memory_copy, open_store

#: exit statuses kept for the pool to ask about (older ones are dropped)
_EXITS_KEPT = 1024


# ---------------------------------------------------------------- the template process
class _Exits:
    """Wait statuses of the template's children, collected on ``SIGCHLD``."""

    def __init__(self) -> None:
        self.statuses: dict[int, int] = {}

    def reap(self, _signum: int = 0, _frame: FrameType | None = None) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.statuses[pid] = status
            while len(self.statuses) > _EXITS_KEPT:
                self.statuses.pop(next(iter(self.statuses)))


def _load(worker: _Worker, path: str) -> tuple[str, Any]:
    try:
        disk = open_store(path, in_memory=False)
        store = memory_copy(disk)
        del disk  # RocksDB closed in this thread, before any fork
        gc.collect()
        worker.store, worker.opened = store, path
        worker.loaded = _load_functions(worker.factory, path)
        worker.counts.get(store)  # the planner's per-graph counts, made once for every fork
    except CooplinkError as exc:
        return "error", exc
    except Exception as exc:  # the pool falls back to workers loading their own copy
        return "error", EngineFailure(f"copie du graphe impossible : {exc}")
    _warm_parser()  # imported here, in the only thread, rather than in each worker
    return "loaded", {"path": path, "sandboxed": worker.sandboxed}


def _fork(control: Connection, worker: _Worker) -> None:
    ours, theirs = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # the worker: the template's state, its own socket, its own loop
        code = 0
        try:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            control.close()
            ours.close()
            worker.forked = True
            run_loop(Connection(theirs.detach()), worker)
        except BaseException:
            code = 1
        finally:
            os._exit(code)  # never return into the template's loop
    theirs.close()
    control.send(("forked", pid))
    send_handle(control, ours.fileno(), os.getppid())
    ours.close()


def serve_template(control: Connection, factory: str | None, network: bool) -> None:
    """The template's loop (see the module docstring); ends when the pool closes its socket."""
    worker = _Worker(factory, in_memory=False, sandboxed=harden(network))
    exits = _Exits()
    signal.signal(signal.SIGCHLD, exits.reap)
    while True:
        try:
            kind, argument = control.recv()
        except (EOFError, OSError):
            return
        if kind == "load":
            control.send(_load(worker, argument))
        elif kind == "fork" and worker.store is not None:
            _fork(control, worker)
        elif kind == "exit":
            exits.reap()
            control.send(("exit", exits.statuses.pop(argument, None)))
        else:
            control.send(("error", EngineFailure("modèle de processus non chargé")))


# ---------------------------------------------------------------- the pool's side
class ForkedProcess:
    """A forked worker seen from the pool, with the part of ``subprocess.Popen`` the pool uses
    (``pid``, ``wait``, ``returncode``, ``kill``): the template is its parent and reports how
    it ended."""

    def __init__(self, pid: int, template: Template) -> None:
        self.pid = pid
        self.template = template
        self.returncode: int | None = None

    def wait(self, timeout: float | None = None) -> int:
        deadline = time.monotonic() + (timeout or 0.0)
        while self.returncode is None:
            status = self.template.exit_status(self.pid)
            if status is not None:
                self.returncode = os.waitstatus_to_exitcode(status)
                break
            if self.template.failed:  # the template is gone: nobody can say
                break
            if time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout or 0.0)
            time.sleep(0.02)
        return self.returncode if self.returncode is not None else -1

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self.template.children.discard(self.pid)


class Template:
    """The template process of one generation.  Thread-safe: its socket is used under a lock."""

    def __init__(self, path: str, factory: str | None, network: bool) -> None:
        self.path = path
        self.children: set[int] = set()  # forked workers not killed yet
        self.failed = False
        self._lock = threading.Lock()
        self._loaded = False
        self.sandboxed: bool | None = None
        self.proc, self.conn = start_process(
            ["--template", *(["--network"] if network else []), *([factory] if factory else [])])
        self.conn.send(("load", path))

    def ready(self) -> bool:
        """Whether the copy is made (never blocks; a failed load is never ready)."""
        if self._loaded or self.failed:
            return self._loaded
        with self._lock:
            try:
                if not self.conn.poll(0):
                    return False
                status, payload = self.conn.recv()
            except (EOFError, OSError):
                self.failed = True
                return False
        if status == "loaded":
            self.sandboxed = payload["sandboxed"]
            self._loaded = True
        else:
            self.failed = True
        return self._loaded

    def fork(self) -> tuple[ForkedProcess, Connection]:
        """A new worker holding the generation (raises ``OSError``/``EOFError`` if the template
        is gone)."""
        with self._lock:
            self.conn.send(("fork", None))
            _kind, pid = self.conn.recv()
            handle = recv_handle(self.conn)
        self.children.add(pid)
        return ForkedProcess(pid, self), Connection(handle)

    def exit_status(self, pid: int) -> int | None:
        """How the forked worker ``pid`` ended (a wait status), ``None`` while it runs."""
        try:
            with self._lock:
                self.conn.send(("exit", pid))
                _kind, status = self.conn.recv()
        except (EOFError, OSError):
            self.failed = True
            return None
        return status if isinstance(status, int) else None

    def close(self) -> None:
        """Stop the template (its running workers go on until the pool kills them)."""
        stop(self.proc, self.conn)


def stop(proc: subprocess.Popen[bytes] | ForkedProcess, conn: Connection) -> None:
    """Kill a worker or template (SIGKILL: neither a read-only store nor an in-memory copy needs
    cleaning up), wait a moment for it to go, close its socket."""
    with contextlib.suppress(OSError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
    conn.close()

"""How a query waits for a place to be evaluated, on either backend (issue 13, load).

The embedded pool (:class:`~graph.query_runner.QueryRunner`: a free, loaded worker process) and
the remote runner (:class:`~graph.remote_runner.RemoteRunner`: one of its concurrent slots)
admit queries by the same rule: a query that finds a place starts at once; otherwise at most
``queue`` queries wait, each until its deadline, and any other is answered at once with
:class:`~graph.errors.ServerBusy` (503 « serveur occupé », ``Retry-After``) — a refusal that
comes fast and says when to return, rather than after the whole wait.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from graph.errors import RETRY_AFTER, ServerBusy

T = TypeVar("T")


class Admission:
    """The waiting room in front of a runner's places.

    ``lock`` is the runner's own condition (it guards the places ``take`` hands out, and the
    runner notifies it when one is freed); ``places`` names them in the refusal
    (« les 2 moteurs de requêtes SPARQL sont pris »)."""

    def __init__(self, lock: threading.Condition, queue: int, places: Callable[[], str]) -> None:
        self.lock = lock
        self.queue = max(0, queue)
        self.places = places
        self.waiting = 0  # queries waiting for a place

    def enter(self, take: Callable[[], T | None], deadline: float) -> T:
        """``take()``'s place, waiting for one until ``deadline`` (``take`` runs under the
        lock and returns ``None`` while there is none); :class:`ServerBusy` at once when
        ``queue`` queries already wait, or at the deadline."""
        with self.lock:
            place = take()
            if place is not None:
                return place
            if self.waiting >= self.queue:
                raise self.busy()
            self.waiting += 1
            try:
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise self.busy()
                    self.lock.wait(remaining)
                    place = take()
                    if place is not None:
                        return place
            finally:
                self.waiting -= 1

    def busy(self) -> ServerBusy:
        return ServerBusy(f"serveur occupé : {self.places()} et {self.waiting} requêtes "
                          f"attendent déjà ; réessayez dans {RETRY_AFTER} s", RETRY_AFTER)

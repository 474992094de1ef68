"""A cache of values computed from the served graph, kept for one generation.

A published generation is never written again, so whatever the pages compute from it — the
figures of the state of cooperation, country briefs, profiles, the graph's labels — holds until
the next one is served: computed at the first visit, dropped when a rebuild is published.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any, TypeVar, cast

T = TypeVar("T")
#: Values kept per shelf (every country, theme and profile visited, at most) unless the caller
#: gives another bound.
SHELF_ENTRIES = 2048


class GenerationMemo:
    """Values by key for the generation ``current()`` names, on LRU shelves.

    Each ``shelf`` keeps its last ``size`` values, so that many cheap values (profiles) never
    push out the few costly ones (briefs).  Single flight: while one caller computes a key, the
    others asking for it wait for that computation and share its value (or its error, which is
    not kept) — N first visits of a country brief cost one brief, not N racing for the same
    two cores."""

    def __init__(self, current: Callable[[], str | None]) -> None:
        self._current = current
        self._lock = threading.Lock()
        self._shelves: dict[str, OrderedDict[Hashable, object]] = {}
        self._generation: str | None = None
        self._flights: dict[tuple[str | None, str, Hashable], Future[Any]] = {}

    def get(self, key: Hashable, compute: Callable[[], T], *, shelf: str = "figures",
            size: int = SHELF_ENTRIES) -> T:
        """``compute()`` once per generation and ``key``."""
        generation = self._current()
        flight_key = (generation, shelf, key)
        with self._lock:
            if self._generation != generation:
                self._shelves.clear()
                self._generation = generation
            kept = self._shelves.setdefault(shelf, OrderedDict())
            if key in kept:
                kept.move_to_end(key)
                return cast(T, kept[key])
            flight = self._flights.get(flight_key)
            computing = flight is None
            if flight is None:
                flight = self._flights[flight_key] = Future()
        if not computing:
            return cast(T, flight.result())
        try:
            value = compute()
        except BaseException as exc:
            with self._lock:
                del self._flights[flight_key]
            flight.set_exception(exc)
            raise
        with self._lock:  # kept and no longer in flight at once: no second computation
            if self._generation == generation:
                kept = self._shelves.setdefault(shelf, OrderedDict())
                kept[key] = value
                while len(kept) > size:
                    kept.popitem(last=False)
            del self._flights[flight_key]
        flight.set_result(value)
        return value

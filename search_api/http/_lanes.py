"""A lane for searches: pages read from the graph take at most ``http_page_slots`` at once
(issue 13, load).

A profile, a country brief or the dashboard runs several SPARQL queries in the server process
and renders a large template: under load, a handful of them at once took the two cores from
the searches, whose latency then followed the pages'.  Here the requests for those pages wait
their turn (asynchronously, holding no worker thread) while searches, suggestions and the
SPARQL endpoint — whose queries run in their own processes — go straight on.  The pages pay
for it in waiting time, the searches keep their lane.

One page at a time by default (``http_page_slots = 1``).  Measured on the two cores with the
load benchmark's mix at 16 clients (docs/deploy.md « Charge »): search p95 620 → 220–280 ms
on the embedded store and 475 → 196 ms on Virtuoso, while a page waits 0.7–0.9 s (embedded)
or 2.5 s (Virtuoso) at the median instead of 0.2–1.1 s.  On the embedded store fewer pages at
once also means more requests served (+4 to +25 %: the pages' Python no longer fights the
searches for the interpreter).  0 lifts the bound.

A page waits ``http_page_max_wait`` seconds for its turn at most, then runs beside the others:
without that, one page stuck on a slow query (up to ``sparql_timeout``) would hold every other
page behind it, and at 128 clients without pause pages queued ~11 s.
"""

from __future__ import annotations

import asyncio
import weakref

from starlette.types import ASGIApp, Receive, Scope, Send

#: paths of the pages (and their JSON) computed from the graph in the server process
PAGE_PREFIXES = ("/id/", "/graph/", "/theme", "/secteur-cad", "/pays/", "/api/countries/",
                 "/etat", "/api/etat", "/reseau", "/api/network", "/api/concentration",
                 "/ontology")


class PageLane:
    """At most ``slots`` requests for :data:`PAGE_PREFIXES` at once (0: no bound), each
    waiting ``max_wait`` seconds at most for its turn (0: as long as it takes)."""

    def __init__(self, app: ASGIApp, slots: int, max_wait: float = 0.0) -> None:
        self.app = app
        self.slots = slots
        self.max_wait = max_wait
        # one semaphore per event loop: a test suite serves the app from several loops
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary())

    def _gate(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = asyncio.Semaphore(self.slots)
        return gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (self.slots <= 0 or scope["type"] != "http"
                or not str(scope.get("path", "")).startswith(PAGE_PREFIXES)):
            await self.app(scope, receive, send)
            return
        gate = self._gate()
        try:
            await asyncio.wait_for(gate.acquire(), self.max_wait or None)
        except TimeoutError:  # waited its share: goes on beside the pages in their slots
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            gate.release()

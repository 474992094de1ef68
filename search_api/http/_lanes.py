"""A lane for searches: pages read from the graph take at most ``http_page_slots`` at once
(issue 13, load).

A profile, a country brief or the dashboard runs several SPARQL queries in the server process
and renders a large template: under load, a handful of them at once took the two cores from
the searches, whose latency then followed the pages'.  Here the requests for those pages wait
their turn (asynchronously, holding no worker thread) while searches, suggestions and the
SPARQL endpoint — whose queries run in their own processes — go straight on.  The pages pay
for it in waiting time, the searches keep their lane.

Off by default (``http_page_slots = 0``): on two shared cores at 128 clients, 2 slots halved
the searches' p95 but made profiles and country briefs wait 17 s (docs/deploy.md « Charge »).
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
    """At most ``slots`` requests for :data:`PAGE_PREFIXES` at once (0: no bound)."""

    def __init__(self, app: ASGIApp, slots: int) -> None:
        self.app = app
        self.slots = slots
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
        async with self._gate():
            await self.app(scope, receive, send)

"""Searches keep their lane: graph pages render at most ``http_page_slots`` at once, and a
search never waits behind them."""

from __future__ import annotations

import asyncio

from starlette.types import Receive, Scope, Send

from search_api.http._lanes import PageLane
from search_api.settings import Settings


def test_pages_take_at_most_their_slots_and_searches_pass_them() -> None:
    released = asyncio.Event()
    running: list[str] = []
    most = 0
    done: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal most
        path = scope["path"]
        running.append(path)
        most = max(most, sum(p.startswith("/pays/") for p in running))
        if path.startswith("/pays/"):
            await released.wait()  # a slow country brief
        running.remove(path)
        done.append(path)

    lane = PageLane(app, slots=2)

    async def call(path: str) -> None:
        await lane({"type": "http", "path": path}, _receive, _send)

    async def scenario() -> None:
        pages = [asyncio.create_task(call(f"/pays/{c}")) for c in ("SN", "ML", "BF", "HT")]
        searches = [asyncio.create_task(call("/api/search")) for _ in range(3)]
        await asyncio.wait_for(asyncio.gather(*searches), 5)  # while every page is stuck
        assert done == ["/api/search"] * 3
        assert sum(p.startswith("/pays/") for p in running) == 2  # two render, two wait
        released.set()
        await asyncio.wait_for(asyncio.gather(*pages), 5)

    asyncio.run(scenario())
    assert most == 2
    assert sorted(done[3:]) == ["/pays/BF", "/pays/HT", "/pays/ML", "/pays/SN"]


def test_zero_slots_the_default_leaves_pages_unbounded() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["path"])

    asyncio.run(PageLane(app, slots=0)({"type": "http", "path": "/etat"}, _receive, _send))
    assert seen == ["/etat"]
    assert Settings().http_page_slots == 0  # off by default (docs/deploy.md « Charge »)


async def _receive() -> dict[str, object]:
    return {"type": "http.request", "body": b""}


async def _send(message: object) -> None:
    return None

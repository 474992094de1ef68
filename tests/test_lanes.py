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


def test_a_page_stuck_in_its_slot_holds_the_next_one_back_only_for_max_wait() -> None:
    stuck = asyncio.Event()
    done: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/pays/ML":
            await stuck.wait()  # a country brief waiting on a slow query
        done.append(scope["path"])

    lane = PageLane(app, slots=1, max_wait=0.2)

    async def scenario() -> None:
        slow = asyncio.create_task(lane({"type": "http", "path": "/pays/ML"}, _receive, _send))
        await asyncio.sleep(0.05)
        # the next page waits its turn, then goes on beside the stuck one
        await asyncio.wait_for(lane({"type": "http", "path": "/etat"}, _receive, _send), 5)
        assert done == ["/etat"]
        stuck.set()
        await slow
        # the stuck page gave its slot back: the next one takes it at once
        await asyncio.wait_for(lane({"type": "http", "path": "/etat"}, _receive, _send), 0.1)

    asyncio.run(scenario())
    assert done == ["/etat", "/pays/ML", "/etat"]


def test_zero_slots_leave_pages_unbounded() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["path"])

    asyncio.run(PageLane(app, slots=0)({"type": "http", "path": "/etat"}, _receive, _send))
    assert seen == ["/etat"]


def test_one_page_at_a_time_by_default() -> None:
    # measured: search p95 at 16 clients 620 -> 220-280 ms (docs/deploy.md « Charge »)
    assert Settings().http_page_slots == 1
    assert Settings().http_page_max_wait == 5.0


async def _receive() -> dict[str, object]:
    return {"type": "http.request", "body": b""}


async def _send(message: object) -> None:
    return None

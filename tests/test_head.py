"""``HEAD`` wherever ``GET`` is (issue 11 §5): every GET route of the application — taken from
its route table, path parameters filled from the test corpus — answers HEAD, over a real uvicorn
server, with the status and headers of its GET and an empty body."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fixtures_sparql import running_server
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from search_api.app import create_app, server_options
from search_api.http._head import HeadAsGet
from search_api.knowledge_base import KnowledgeBase

#: headers that may differ between two answers to the same request
VOLATILE = {"date"}


@pytest.fixture(scope="module")
def app(built_kb: KnowledgeBase) -> FastAPI:
    return create_app(built_kb)


@pytest.fixture(scope="module")
def server(app: FastAPI, built_kb: KnowledgeBase) -> Iterator[str]:
    with running_server(app, **server_options(built_kb.settings)) as url:
        deadline = time.monotonic() + 120
        # /healthz says « starting » until the index is loaded: wait, so that GET and HEAD
        # describe the same state
        while httpx.get(url + "/healthz").json()["status"] != "ok":
            assert time.monotonic() < deadline, "le service ne devient pas prêt"
            time.sleep(0.2)
        yield url


def _under(kb: KnowledgeBase, prefix: str) -> str:
    """The rest of the first URI of the graph (a subject or a named graph) after ``prefix``."""
    start = kb.settings.base_uri.rstrip("/") + prefix
    rows = kb.query(f"""SELECT ?x WHERE {{
        {{ SELECT DISTINCT ?x {{ GRAPH ?x {{ ?a ?b ?c }} }} }} UNION {{ ?x ?p ?o }}
        FILTER(STRSTARTS(STR(?x), "{start}")) }} LIMIT 1""").rows()
    assert rows, f"aucune URI sous {start}"
    return str(rows[0]["x"])[len(start):]


def get_paths(app: FastAPI, kb: KnowledgeBase) -> list[str]:
    """One URL per GET route of ``app`` (and a file of each static mount)."""
    project = kb.search_service().index.docs[0].id
    paths = []
    # iter_route_contexts: the routes of the included routers too (FastAPI includes them
    # lazily, as one entry each in app.routes)
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Mount) and isinstance(route.app, StaticFiles):
            directory = Path(str(route.app.directory))
            first = min(p for p in directory.rglob("*") if p.is_file())
            paths.append(f"{route.path}/{first.relative_to(directory)}")
        elif "GET" in (context.methods or ()) and context.path:
            path = context.path
            if "{" in path:
                prefix, _, rest = path.partition("{")
                name, _, tail = rest.partition("}")
                value = {"project_id": project, "fmt": "ttl",
                         "iso2": "SN"}.get(name.split(":")[0])
                path = prefix + (value if value is not None else _under(kb, prefix)) + tail
            paths.append(path)
    return paths


@pytest.mark.slow  # a real uvicorn, every GET route twice (make test runs it, make check skips it)
def test_every_get_route_answers_head_like_get(app: FastAPI, built_kb: KnowledgeBase,
                                               server: str) -> None:
    paths = get_paths(app, built_kb)
    assert len(paths) >= 25 and "/dumps/cooplink.ttl.gz" in paths and "/.well-known/void" in paths
    too_long = built_kb.settings.http_max_url_bytes + 10
    paths += ["/nulle-part", "/?q=" + "x" * too_long]  # errors too: 404, 414
    with httpx.Client(base_url=server, timeout=60) as client:
        for path in paths:
            for accept in ("*/*", "text/html"):
                got = client.get(path, headers={"accept": accept})
                head = client.head(path, headers={"accept": accept})
                where = f"HEAD {path} (Accept: {accept})"
                assert head.status_code == got.status_code, where
                assert head.status_code != 405, where
                assert ({k: v for k, v in head.headers.items() if k not in VOLATILE}
                        == {k: v for k, v in got.headers.items() if k not in VOLATILE}), where
                assert head.content == b"", where


def test_head_sends_the_headers_and_no_body() -> None:
    """The shim itself: GET is what the application sees, the body never leaves, other
    messages pass."""
    seen: list[str] = []
    sent: list[Message] = []

    async def application(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["method"])
        # an extension's message first, as Starlette's templates send to the test client
        await send({"type": "http.response.debug", "info": {}})
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"10")]})
        await send({"type": "http.response.body", "body": b"01234", "more_body": True})
        await send({"type": "http.response.body", "body": b"56789"})

    async def nothing() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(HeadAsGet(application)({"type": "http", "method": "HEAD"}, nothing, send))
    assert seen == ["GET"]
    assert sent == [{"type": "http.response.debug", "info": {}},
                    {"type": "http.response.start", "status": 200,
                     "headers": [(b"content-length", b"10")]},
                    {"type": "http.response.body", "body": b"", "more_body": False}]

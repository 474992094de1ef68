"""Request-size limits, enforced before a route runs (issue 8): a pure ASGI middleware.

* A request target (path and query string) longer than ``http_max_url_bytes`` gets 414.
* A body announced (``Content-Length``) or streamed (chunked) beyond ``http_max_body_bytes``
  gets 413 and the rest is not read: a 100 MB POST costs nothing, and a 10 MB one no longer
  keeps the event loop busy reading it.

Both answer the one error contract (:func:`search_api.http.errors.error_response`): the JSON
``ErrorBody`` for an API client, the HTML error page for a browser.  The HTTP server has its
own, larger bound on the request head (``uvicorn_options``): beyond it, uvicorn answers 400 and
closes the connection.
"""

from __future__ import annotations

from typing import Any

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from search_api.http.errors import Sentence, error_response

#: bound of uvicorn's HTTP parser on a request head (line and headers); must exceed the URL
#: limit so that a long URL gets our 414 rather than uvicorn's bare 400
HEAD_BYTES = 128 * 1024


def uvicorn_options(max_url_bytes: int) -> dict[str, Any]:
    """Options for ``uvicorn.run``/``uvicorn.Config`` that go with these limits."""
    return {"h11_max_incomplete_event_size": max(HEAD_BYTES, 2 * max_url_bytes)}


class _TooLarge(Exception):
    """The streamed body passed the limit."""


class RequestLimits:
    """Refuse over-long URLs (414) and bodies (413) before the application reads them."""

    def __init__(self, app: ASGIApp, max_url_bytes: int, max_body_bytes: int,
                 templates: Jinja2Templates) -> None:
        self.app = app
        self.max_url = max_url_bytes
        self.max_body = max_body_bytes
        self.templates = templates

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int,
                      sentence: Sentence) -> None:
        """The error contract's answer; the connection closes, as the rest of an oversized
        body is never read."""
        response = error_response(Request(scope), self.templates, sentence.body(status),
                                  {"connection": "close"}, sentence=sentence)
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        target = len(scope.get("raw_path") or scope["path"].encode()) + len(
            scope.get("query_string") or b"")
        if target > self.max_url:
            await self._refuse(scope, receive, send, 414, Sentence(
                "error.limit.url", {"length": target, "max": self.max_url}))
            return
        announced = dict(scope.get("headers") or []).get(b"content-length")
        too_large = Sentence("error.limit.body", {"max": self.max_body})
        if announced is not None and not announced.isdigit():
            await self._refuse(scope, receive, send, 400, Sentence("error.limit.length"))
            return
        if announced is not None and int(announced) > self.max_body:
            await self._refuse(scope, receive, send, 413, too_large)
            return
        received = 0
        started = False

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, tracking_send)
        except _TooLarge:
            if started:  # too late for a status: end the response, the server closes
                raise
            await self._refuse(scope, receive, send, 413, too_large)

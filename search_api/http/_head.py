"""``HEAD`` wherever ``GET`` is (issue 11 §5): a HEAD request is served as the GET it mirrors,
whose body is dropped.

Once for the whole application, outside every route and middleware: FastAPI's routes answer only
the methods they declare (HEAD got 405 on pages, API, dumps, VoID and linked data alike), and
declaring HEAD route by route would miss the next route added — and would not give GET's headers
where a route looks at the method (the SPARQL endpoint offers its HTML editor to a GET only).
The price: a HEAD does the work of its GET (runs the query, reads the dump file) only to drop
the body; the clients that send HEAD (link checkers, caches, ``curl -I``) are few and cheap.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    """Serve ``HEAD`` as ``GET``: same status and headers (``Content-Length`` included, as
    RFC 9110 §9.3.2 asks), no body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.pathsend" or (
                    kind == "http.response.body" and not message.get("more_body", False)):
                # the body's last part (or a file handed to the server) ends the response
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            elif kind != "http.response.body":  # the start, and any extension's message
                await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)

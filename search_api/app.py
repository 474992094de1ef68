"""``create_app(kb)``: the FastAPI application over one :class:`KnowledgeBase`.

Routes are thin: they call the core and render its data as JSON or HTML.  Every
:class:`CooplinkError` becomes the same JSON body (``{"ok": false, "error", "status"}``) or the
HTML error page, by the client's ``Accept`` header.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from cooplink.errors import CooplinkError
from cooplink.knowledge_base import KnowledgeBase

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


def wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept


def create_app(kb: KnowledgeBase) -> FastAPI:
    from search_api.dumps import dumps_router
    from search_api.linked_data import linked_data_router
    from search_api.pages import pages_router  # issue 4: staff search pages
    from search_api.search_routes import search_router  # issue 4: search API
    from search_api.sparql import make_runner, sparql_router
    from search_api.void import void_router

    runner = make_runner(kb)  # SPARQL worker processes

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Workers start with the server, so they load the graph (an in-memory copy takes
        # seconds) before the first query rather than during it.
        runner.start()
        # The model and indexes load in the background: /healthz answers "starting" at once
        # and "ok" when a search no longer waits for them (issue 9, "ready means ready").
        warming = threading.Thread(target=kb.warm, name="cooplink-warm", daemon=True)
        warming.start()
        yield
        runner.close()

    app = FastAPI(
        title="cooplink",
        description="Graphe de connaissances de la coopération décentralisée française",
        version="0.1.0",
        lifespan=lifespan,
        # Swagger UI and ReDoc load their assets from a CDN; the service must work offline,
        # so the API is described by /openapi.json only.
        docs_url=None,
        redoc_url=None,
    )
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    app.state.kb = kb
    app.state.query_runner = runner
    # Browser clients on other origins may query the endpoint and fetch descriptions (GET/POST).
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST"],
                       allow_headers=["*"], expose_headers=["X-SPARQL-MaxRows"])
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(sparql_router(kb, runner, templates))
    app.include_router(void_router(kb))
    app.include_router(dumps_router(kb))
    app.include_router(search_router(kb))  # issue 4: /api/search, similar, pooling
    app.include_router(linked_data_router(kb, templates))
    app.include_router(pages_router(kb, templates))  # /, /projets/{id}/comparables, /mutualisation

    @app.exception_handler(CooplinkError)
    async def on_error(request: Request, exc: CooplinkError) -> Response:
        if wants_html(request):
            return templates.TemplateResponse(
                request, "error.html", {"error": exc.message, "status": exc.status},
                status_code=exc.status,
            )
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.get("/healthz")
    def healthz() -> dict[str, object]:
        """État du service : « starting » pendant le chargement du modèle et des index,
        puis « ok » ; nombre de projets et de triplets servis, modèle de recherche servi."""
        health = kb.health()
        if health["status"] == "ok":
            if not kb.ready:
                health["status"] = "starting"
            health["search"] = kb.search_tier()
        return health

    return app

"""``create_app(kb)``: the FastAPI application over one :class:`KnowledgeBase`.

Routes are thin: they call the core and render its data as JSON or HTML.  Every error — a
:class:`CooplinkError`, an unknown path or method, a malformed parameter, an oversized request
(:mod:`search_api.http._limits`) — becomes the same JSON body (``{"ok": false, "error", "status"}``)
or the HTML error page, by the client's ``Accept`` header, and the OpenAPI spec says so
(:mod:`search_api.http._openapi`).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from graph.errors import CooplinkError
from search_api.http._limits import RequestLimits, uvicorn_options
from search_api.http._openapi import COMMON_ERRORS, document_other_routes, error_responses
from search_api.http.dumps import dumps_router
from search_api.http.linked_data import linked_data_router
from search_api.http.pages import pages_router  # issue 4: staff search pages
from search_api.http.search_routes import search_router  # issue 4: search API
from search_api.http.sparql import make_runner, sparql_router
from search_api.http.void import void_router
from search_api.knowledge_base import KnowledgeBase
from search_api.settings import Settings

TEMPLATES_DIR = Path(__file__).parent / "http" / "templates"
STATIC_DIR = Path(__file__).parent / "http" / "static"


def wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept


#: French first for the statuses Starlette raises itself
_HTTP_MESSAGES = {404: "page ou ressource introuvable", 405: "méthode HTTP non permise ici"}


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn options that go with the request limits (``cooplink serve`` and the tests)."""
    return uvicorn_options(settings.http_max_url_bytes)


def create_app(kb: KnowledgeBase) -> FastAPI:
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
        responses=error_responses(*COMMON_ERRORS),  # any route: size limits, bad parameters
    )
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    app.state.kb = kb
    app.state.query_runner = runner
    # Browser clients on other origins may query the endpoint and fetch descriptions (GET/POST).
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST"],
                       allow_headers=["*"], expose_headers=["X-SPARQL-MaxRows",
                                                            "X-SPARQL-MaxBytes"])
    # outermost: an oversized request is refused before anything reads it (issue 8)
    app.add_middleware(RequestLimits, max_url_bytes=kb.settings.http_max_url_bytes,
                       max_body_bytes=kb.settings.http_max_body_bytes)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(sparql_router(kb, runner, templates))
    app.include_router(void_router(kb))
    app.include_router(dumps_router(kb))
    app.include_router(search_router(kb))  # issue 4: /api/search, similar, pooling
    app.include_router(linked_data_router(kb, templates))
    app.include_router(pages_router(kb, templates))  # /, /projets/{id}/comparables, /mutualisation

    document_other_routes(app)

    def error(request: Request, message: str, status: int,
              headers: dict[str, str] | None = None) -> Response:
        if wants_html(request):
            return templates.TemplateResponse(
                request, "error.html", {"error": message, "status": status},
                status_code=status, headers=headers,
            )
        return JSONResponse({"ok": False, "error": message, "status": status},
                            status_code=status, headers=headers)

    @app.exception_handler(CooplinkError)
    async def on_error(request: Request, exc: CooplinkError) -> Response:
        return error(request, exc.message, exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = _HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
        return error(request, message, exc.status_code, dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))} : {e.get('msg', '')}"
            for e in exc.errors()[:5])
        return error(request, f"paramètre invalide ({problems})", 400)

    @app.get("/healthz")
    async def healthz() -> dict[str, object]:
        """État du service : « starting » pendant le chargement du modèle et des index,
        puis « ok » ; nombre de projets et de triplets servis, modèle de recherche servi.
        Sur la boucle d'événements (trois petits fichiers lus) : il répond même quand tous
        les fils de travail sont occupés."""
        health = kb.health()
        if health["status"] == "ok":
            if not kb.ready:
                health["status"] = "starting"
            health["search"] = kb.search_tier()
        return health

    return app

"""``create_app(kb)``: the FastAPI application over one :class:`KnowledgeBase`.

Routes are thin: they call the core and render its typed answers as JSON, CSV or HTML.  Every
error — a :class:`CooplinkError`, an unknown path or method, an invalid parameter, an oversized
request (:mod:`search_api.http._limits`), an unexpected exception — becomes the same JSON body
(``{"ok": false, "error", "status"}``) or the HTML error page, by the client's ``Accept`` header
(:mod:`search_api.http.errors`), and the OpenAPI spec says so (:mod:`search_api.http._openapi`).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from search_api.http import i18n
from search_api.http._head import HeadAsGet
from search_api.http._lanes import PageLane
from search_api.http._limits import RequestLimits, uvicorn_options
from search_api.http._openapi import (
    COMMON_ERRORS,
    document_other_routes,
    error_responses,
    install_docs,
)
from search_api.http.dumps import dumps_router
from search_api.http.errors import install_error_handlers
from search_api.http.etat_routes import (  # issue 11: dashboard, country briefs
    StateOfCooperation,
    etat_router,
)
from search_api.http.linked_data import linked_data_router
from search_api.http.network_routes import network_router
from search_api.http.pages import pages_router  # issue 4: staff search pages
from search_api.http.search_routes import search_router  # issue 4: search API
from search_api.http.sparql import make_runner, sparql_router
from search_api.http.void import void_router
from search_api.knowledge_base import KnowledgeBase
from search_api.settings import Settings

TEMPLATES_DIR = Path(__file__).parent / "http" / "templates"
STATIC_DIR = Path(__file__).parent / "http" / "static"


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn options that go with the request limits (``cooplink serve`` and the tests)."""
    return uvicorn_options(settings.http_max_url_bytes)


def create_app(kb: KnowledgeBase, *, warm_pages: bool = False) -> FastAPI:
    """The application; ``warm_pages`` (``cooplink serve``) computes the state of cooperation
    in the background at start, so that the first visitor of /etat does not wait for it."""
    runner = make_runner(kb)  # SPARQL worker processes
    state = StateOfCooperation(kb)

    def warm() -> None:
        kb.warm()
        if warm_pages:
            state.warm()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Workers start with the server, so they load the graph (an in-memory copy takes
        # seconds) before the first query rather than during it.
        runner.start()
        # The model and indexes load in the background: /healthz answers "starting" at once
        # and "ok" when a search no longer waits for them (issue 9, "ready means ready").
        warming = threading.Thread(target=warm, name="cooplink-warm", daemon=True)
        warming.start()
        yield
        runner.close()

    app = FastAPI(
        title="cooplink",
        description="Graphe de connaissances de la coopération décentralisée française",
        version="0.1.0",
        lifespan=lifespan,
        # FastAPI's Swagger UI and ReDoc load their assets from a CDN; the service works
        # offline, so /docs is served by install_docs from a package's files.
        docs_url=None,
        redoc_url=None,
        responses=error_responses(*COMMON_ERRORS),  # any route: size limits, bad parameters
    )
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    i18n.install(templates.env)  # _() and number() in every page, error pages included
    app.state.kb = kb
    app.state.query_runner = runner
    # Browser clients on other origins may query the endpoint and fetch descriptions (GET/POST).
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST"],
                       allow_headers=["*"], expose_headers=["X-SPARQL-MaxRows",
                                                            "X-SPARQL-MaxBytes"])
    # graph pages wait their turn, searches keep their lane (issue 13, load)
    app.add_middleware(PageLane, slots=kb.settings.http_page_slots,
                       max_wait=kb.settings.http_page_max_wait)
    # outermost: an oversized request is refused before anything reads it (issue 8)
    app.add_middleware(RequestLimits, max_url_bytes=kb.settings.http_max_url_bytes,
                       max_body_bytes=kb.settings.http_max_body_bytes, templates=templates)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(sparql_router(kb, runner, templates))
    app.include_router(void_router(kb))
    app.include_router(dumps_router(kb))
    app.include_router(search_router(kb))  # issue 4: /api/search, similar, pooling
    app.include_router(network_router(kb, templates))  # /reseau, /api/network, /api/concentration
    app.include_router(linked_data_router(kb, templates))
    app.include_router(pages_router(kb, templates))  # /, /projets/{id}/comparables, /mutualisation
    app.include_router(etat_router(state, templates))  # /etat, /pays/{iso2} and their JSON

    document_other_routes(app)

    install_error_handlers(app, templates)  # one error shape (search_api/http/errors.py)
    app.add_middleware(HeadAsGet)  # outermost: HEAD wherever GET, errors and limits included
    install_docs(app)  # offline Swagger UI at /docs

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

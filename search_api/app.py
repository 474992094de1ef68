"""``create_app(kb)``: the FastAPI application over one :class:`KnowledgeBase`.

Routes are thin: they call the core and render its data as JSON or HTML.  Every
:class:`CooplinkError` becomes the same JSON body (``{"ok": false, "error", "status"}``) or the
HTML error page, by the client's ``Accept`` header.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates

from cooplink.errors import CooplinkError
from cooplink.knowledge_base import KnowledgeBase

TEMPLATES_DIR = Path(__file__).parent / "templates"


def wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept


def create_app(kb: KnowledgeBase) -> FastAPI:
    app = FastAPI(
        title="cooplink",
        description="Graphe de connaissances de la coopération décentralisée française",
        version="0.1.0",
    )
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    app.state.kb = kb

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
        """État du service : nombre de projets et de triplets servis."""
        return kb.health()

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        return templates.TemplateResponse(request, "home.html", {"health": kb.health()})

    return app

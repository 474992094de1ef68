"""The one error contract of the HTTP wing (issue 10, point 2).

Every error, from every route and every status, answers the same JSON body,
``{"ok": false, "error": "<une phrase en français>", "status": N}`` (:class:`ErrorBody`; a 422
adds ``detail``, one entry per invalid field), or the French HTML error page when the client
asks for HTML. :func:`install_error_handlers` registers the handlers that make it so: the
project's :class:`~graph.errors.CooplinkError`, Starlette's HTTP errors (unknown path, method)
and FastAPI's validation errors; :class:`UnexpectedErrors` answers any other exception (500,
its traceback logged once, on the server only). :func:`acceptable` refuses a client that
accepts none of a route's formats (406).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph.errors import CooplinkError, NotAcceptable
from search_api.http import i18n
from search_api.http._negotiation import negotiate

log = logging.getLogger("cooplink.http")

#: statuses Starlette raises itself, with a sentence of their own (``error.http.N``)
HTTP_SENTENCES = (404, 405, 406, 413, 500)


@dataclass(frozen=True)
class Sentence:
    """An error sentence of the page catalog (``error.…`` keys): French in the JSON body, as
    every error; on the HTML page, in the page's language."""

    key: str
    fields: Mapping[str, object] = field(default_factory=dict)

    def text(self, lang: str = i18n.DEFAULT_LANGUAGE) -> str:
        return i18n.Translator(lang)(self.key, **self.fields)

    def body(self, status: int) -> ErrorBody:
        return ErrorBody(error=self.text(), status=status)


class FieldProblem(BaseModel):
    """One invalid field of a 422: where it is and what is wrong, in French."""

    loc: list[str | int] = Field(description="Où : « query », puis le nom du paramètre.")
    msg: str = Field(description="Ce qui ne va pas, en français.")
    type: str = Field(description="Le type d'erreur de validation (pydantic).")


class ErrorBody(BaseModel):
    """Every error answer, whatever the route and the status."""

    model_config = ConfigDict(title="Erreur")

    ok: Literal[False] = False
    error: str = Field(description="Une phrase, en français d'abord.")
    status: int = Field(description="Le code HTTP de la réponse.")
    detail: list[FieldProblem] | None = Field(
        None, description="Requête invalide (422) : un élément par champ en cause.")

    def json_body(self) -> dict[str, Any]:
        """The JSON object sent: ``detail`` only when there is one."""
        return self.model_dump(mode="json", exclude_none=True)


def wants_html(request: Request) -> bool:
    """A browser (``Accept`` naming HTML, not JSON) gets the HTML error page."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept


#: pydantic error types in French (the others keep pydantic's English message)
_PROBLEMS: dict[str, str] = {
    "missing": "paramètre obligatoire manquant",
    "string_too_long": "au plus {max_length} caractères",
    "string_too_short": "au moins {min_length} caractères",
    "int_parsing": "doit être un nombre entier",
    "int_type": "doit être un nombre entier",
    "bool_parsing": "doit valoir true ou false",
    "greater_than_equal": "doit être supérieur ou égal à {ge}",
    "less_than_equal": "doit être inférieur ou égal à {le}",
    "json_invalid": "JSON invalide",
    "model_attributes_type": "objet attendu",
    "extra_forbidden": "paramètre inconnu",
}


def french_problem(error: dict[str, Any]) -> FieldProblem:
    """One pydantic validation error as a :class:`FieldProblem` in French."""
    kind = str(error.get("type", ""))
    template = _PROBLEMS.get(kind)
    message = str(error.get("msg", ""))
    if template is not None:
        try:
            message = template.format(**(error.get("ctx") or {}))
        except (KeyError, IndexError):
            message = template
    loc = [p if isinstance(p, int) else str(p) for p in error.get("loc", ())]
    return FieldProblem(loc=loc, msg=message, type=kind)


def problems_sentence(problems: Sequence[FieldProblem]) -> str:
    """« paramètre invalide (query.q : au plus 2000 caractères) » — the 422's ``error``."""
    shown = "; ".join(f"{'.'.join(str(p) for p in f.loc)} : {f.msg}" for f in problems[:5])
    return f"paramètre invalide ({shown})"


def error_response(request: Request, templates: Jinja2Templates, body: ErrorBody,
                   headers: dict[str, str] | None = None, *,
                   sentence: Sentence | None = None) -> Response:
    """``body`` as JSON, or as the HTML error page for a browser: the one place that decides,
    for every error, route handlers and middleware alike. The page shows ``sentence`` in its
    language when the error has one; else ``body.error`` (a project error's sentence is
    written in French only)."""
    if not wants_html(request):
        return JSONResponse(body.json_body(), status_code=body.status, headers=headers)
    lang = i18n.request_language(request)
    return templates.TemplateResponse(
        request, "error.html", {
            "error": sentence.text(lang) if sentence else body.error, "status": body.status,
            "detail": body.detail or [],
            "lang": lang,
            # a URL refused as too long is not repeated in the link
            "toggle": i18n.toggle_href(request, lang, keep_query=body.status != 414)},
        status_code=body.status, headers=headers)


def install_error_handlers(app: FastAPI, templates: Jinja2Templates) -> None:
    """Register the handlers that turn every exception into :class:`ErrorBody`; called after
    the other middleware is added, so that :class:`UnexpectedErrors` wraps them all."""
    app.add_middleware(UnexpectedErrors, templates=templates)

    @app.exception_handler(CooplinkError)
    async def on_project_error(request: Request, exc: CooplinkError) -> Response:
        return error_response(request, templates, ErrorBody(error=exc.message, status=exc.status),
                              exc.headers() or None)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        status = exc.status_code
        sentence = Sentence(f"error.http.{status}") if status in HTTP_SENTENCES else None
        body = sentence.body(status) if sentence else ErrorBody(error=str(exc.detail),
                                                                 status=status)
        return error_response(request, templates, body, dict(exc.headers or {}),
                              sentence=sentence)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = [french_problem(dict(e)) for e in exc.errors()]
        return error_response(request, templates, ErrorBody(
            error=problems_sentence(problems), status=422, detail=problems))


class UnexpectedErrors:
    """Any exception no handler took: one log record with its traceback, and a 500 by the
    contract.

    A middleware rather than ``app.exception_handler(Exception)``: Starlette runs that handler
    and then re-raises the exception so that the server may log it, and uvicorn does — the
    traceback was logged twice. Here the exception stops: logged once, with the request's
    method and path. Only when the response has already started (too late for a status) does
    it go on to the server, which logs it (once) and closes the connection."""

    def __init__(self, app: ASGIApp, templates: Jinja2Templates) -> None:
        self.app = app
        self.templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            if started:
                raise
            request = Request(scope)
            # The traceback stays in the server's log; the client learns only that it failed.
            log.exception("erreur inattendue sur %s %s", request.method, request.url.path)
            sentence = Sentence("error.http.500")
            response = error_response(request, self.templates, sentence.body(500),
                                      sentence=sentence)
            await response(scope, receive, send)


def acceptable(*media: str) -> Callable[[Request], None]:
    """A route dependency: 406 unless the client's ``Accept`` admits one of ``media`` (an
    absent or unreadable header admits anything)."""

    def check(request: Request) -> None:
        accept = request.headers.get("accept")
        if accept and negotiate(accept, [(m, m) for m in media]) is None:
            raise NotAcceptable(
                f"format non disponible : cette adresse répond en {', '.join(media)}, et "
                f"l'en-tête Accept (« {accept[:200]} ») n'en admet aucun")

    return check

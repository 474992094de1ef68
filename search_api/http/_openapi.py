"""What the OpenAPI spec says routes answer: the one error shape and the media types of each
route, so the spec lists every status code and content type the routes really return (issue 8;
checked by schemathesis in ``tests/test_schemathesis.py``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from search_api.http.errors import ErrorBody

#: ``{"ok": false, "error": "...", "status": 400}``: every error, whatever the route (a
#: reference to the :class:`ErrorBody` component that FastAPI writes from the model)
ERROR_REF: dict[str, Any] = {"$ref": "#/components/schemas/ErrorBody"}

_REASONS = {
    400: "Requête invalide (paramètre, format, syntaxe SPARQL, imbrication).",
    403: "Refusé : mise à jour, ou SERVICE vers un point d'accès non autorisé.",
    404: "Ressource inconnue.",
    405: "Méthode non permise.",
    413: "Corps de requête ou requête SPARQL trop long (réglages http_max_body_bytes, "
         "sparql_max_query_bytes).",
    414: "URL trop longue (réglage http_max_url_bytes) : envoyer la requête par POST.",
    406: "Aucun des formats admis par l'en-tête Accept n'est disponible ici.",
    415: "Type de contenu du corps non pris en charge.",
    422: "Paramètre invalide (type, longueur) : « detail » nomme chaque champ en cause.",
    500: "Erreur interne inattendue, journalisée côté serveur.",
    503: "Limite de durée ou de mémoire atteinte, moteur indisponible ou graphe absent : "
         "réessayer plus tard ou alléger la requête.",
}

#: errors any route may answer: the size limits of search_api/http/_limits.py, bad parameters
#: and the unexpected
COMMON_ERRORS = (400, 413, 414, 500)


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for error ``codes``: the JSON error shape (:class:`ErrorBody`),
    or the HTML error page for a client that asks for HTML."""
    return {
        code: {
            "description": _REASONS[code],
            "model": ErrorBody,
            "content": {"text/html": {"schema": {"type": "string"}}},
        }
        for code in codes
    }


def _error_entries(*codes: int) -> dict[int, dict[str, Any]]:
    """:func:`error_responses` as a generated spec writes them (:func:`document_other_routes`)."""
    return {
        code: {
            "description": _REASONS[code],
            "content": {"application/json": {"schema": ERROR_REF},
                        "text/html": {"schema": {"type": "string"}}},
        }
        for code in codes
    }


def media_responses(media: Iterable[str], description: str) -> dict[int | str, dict[str, Any]]:
    """A ``200`` entry listing the media types a route negotiates."""
    return {200: {"description": description,
                  "content": {m: {"schema": {"type": "string"}} for m in media}}}


#: Routes defined in modules this one does not own (pages, dumps): what they answer,
#: added to their OpenAPI entries by :func:`document_other_routes` so the spec is complete
#: without touching them.  ``(path, media types of 200, error codes)``.
_OTHER_ROUTES: tuple[tuple[str, tuple[str, ...], tuple[int, ...]], ...] = (
    ("/", ("text/html",), (422, 503)),
    ("/projets/{project_id}/comparables", ("text/html",), (404, 503)),
    ("/mutualisation", ("text/html",), (503,)),
    ("/dumps/cooplink.{fmt}.gz", ("application/gzip",), (404, 503)),
)


def document_other_routes(app: Any) -> None:
    """Complete the spec entries of the routes of :data:`_OTHER_ROUTES` when ``app`` generates
    its spec (FastAPI keeps included routers folded, so the generated spec is what is patched)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec: dict[str, Any] = generate()
            for path, media, codes in _OTHER_ROUTES:
                operation = spec.get("paths", {}).get(path, {}).get("get")
                if operation is None:
                    continue
                responses = operation.setdefault("responses", {})
                ok = responses.setdefault("200", {"description": "Réponse"})
                ok["content"] = {**ok.get("content", {}),
                                 **{m: {"schema": {"type": "string"}} for m in media
                                    if m not in ok.get("content", {})}}
                for code, entry in _error_entries(*codes).items():
                    responses.setdefault(str(code), entry)
            app.openapi_schema = spec
        return dict(app.openapi_schema)

    app.openapi = openapi


def install_docs(app: FastAPI) -> None:
    """Swagger UI at ``/docs``, its assets served from the ``swagger-ui-bundle`` package
    (Apache-2.0) under ``/docs/assets``: no CDN, the page works offline."""
    app.mount("/docs/assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path),
              name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title="cooplink — API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png")

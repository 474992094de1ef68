"""The network view: ``/reseau?country=SN`` (or ``?theme=…``), an interactive graph of the
French authorities, foreign partners, networks and actors of one country or theme, and its JSON
``/api/network``; ``/api/concentration`` gives the concentration measures of every country.

The page and the JSON come from the same function (:func:`network_data`); the graph is drawn
in the browser by the vendored Cytoscape.js (``static/vendor/cytoscape``), and the same nodes
are listed in tables for screen readers and print. Each answer is computed once per served
generation (:meth:`KnowledgeBase.memo`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from graph.errors import NotFound
from search_api.http._openapi import error_responses
from search_api.http.errors import acceptable
from search_api.http.page_context import PageContext, Pages
from search_api.knowledge_base import KnowledgeBase
from search_api.search.network import (
    ConcentrationAnswer,
    NetworkAnswer,
    concentration_by_country,
    network,
)

KINDS = ("authority", "partner", "network", "actor")
#: Rows of each kind listed in the page's tables (the graph draws the same nodes).
TABLE_ROWS = 15


def network_data(kb: KnowledgeBase, country: str | None, theme: str | None) -> NetworkAnswer:
    """The ``/api/network`` answer (404 for a country or theme without any project)."""
    answer = kb.memo(("network", (country or "").upper(), theme or ""),
                     lambda: network(kb.query, country=country, theme=theme))
    if not answer.concentration.projects:
        raise NotFound("aucun projet pour ce périmètre : "
                       + (f"pays « {country} »" if country else f"thème « {theme} »"))
    return answer


def concentration_data(kb: KnowledgeBase) -> ConcentrationAnswer:
    return kb.memo(("concentration",), lambda: concentration_by_country(kb.query))


def network_router(kb: KnowledgeBase, templates: Jinja2Templates) -> APIRouter:
    router = APIRouter()
    pages = Pages(kb, templates, PageContext)
    json_only = [Depends(acceptable("application/json"))]

    @router.get("/api/network", dependencies=json_only, tags=["état de la coopération"],
                responses=error_responses(400, 404, 406, 503))
    def api_network(country: str | None = None, theme: str | None = None) -> NetworkAnswer:
        """Le réseau d'un pays (``country=SN``) ou d'un thème (``theme=eau-assainissement``) :
        collectivités françaises, partenaires, réseaux et acteurs (taille : nombre de
        projets), leurs liens, et les mesures de concentration (docs/etat.md)."""
        return network_data(kb, country, theme)

    @router.get("/api/concentration", dependencies=json_only, tags=["état de la coopération"],
                responses=error_responses(406, 503))
    def api_concentration() -> ConcentrationAnswer:
        """Concentration par pays : collectivités françaises, part des projets des 10 plus
        actives, indice de Herfindahl-Hirschman ; et pour l'ensemble (docs/etat.md)."""
        return concentration_data(kb)

    @router.get("/reseau", response_class=HTMLResponse, include_in_schema=False)
    def network_page(request: Request, country: str | None = None,
                     theme: str | None = None) -> Response:
        ctx = pages.begin(request)
        if isinstance(ctx, Response):
            return ctx
        data = network_data(kb, country, theme)
        if country:
            title = ctx.labels.country(data.scope["country"])
        else:
            title = ctx.labels.theme(data.scope["theme"])
        elements = _elements(ctx, data)
        return pages.render(ctx, "network.html", {
            "nav": "etat", "data": data, "title": title, "elements": elements,
            "tables": {kind: [n for n in data.nodes if n.kind == kind][:TABLE_ROWS]
                       for kind in KINDS},
            "href": ctx.href, "kinds": KINDS,
        })

    return router


def _elements(ctx: PageContext, data: NetworkAnswer) -> list[dict[str, Any]]:
    """Cytoscape's elements: nodes with their kind, size and page, then edges."""
    largest = max((n.projects for n in data.nodes), default=1) or 1
    nodes = [{"data": {"id": n.id, "label": n.label, "kind": n.kind, "projects": n.projects,
                       "size": round(14 + 46 * (n.projects / largest) ** 0.5, 1),
                       "href": ctx.href(n.id)}} for n in data.nodes]
    edges = [{"data": {"id": f"e{i}", "source": e.source, "target": e.target,
                       "weight": e.weight}} for i, e in enumerate(data.edges)]
    return nodes + edges

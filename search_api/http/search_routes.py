"""Search routes: ``/api/search``, ``/api/search.csv``, ``/api/projects/{id}/similar``,
``/api/pooling`` and ``/api/pooling.csv``.

Routes only read the query string and call the functions below, which return plain data: the
HTML pages of the search (another module) call the same functions. Errors are
:class:`graph.errors.CooplinkError` (unknown filter value → 400 naming the allowed ones),
turned into the one JSON error shape by the application's handler.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from graph.errors import BadRequest
from search_api.knowledge_base import KnowledgeBase
from search_api.search.pooling import pooling_csv

#: Several values of a filter: repeated parameters (``country=SN&country=ML``) or commas.
Values = Annotated[list[str] | None, Query()]


def _int(value: str | int | None, name: str, default: int) -> int:
    """Integers are parsed here, not by FastAPI, so a bad value gets the common error shape."""
    if isinstance(value, int):
        return value
    if value is None or not value.strip():
        return default
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"{name} doit être un nombre entier, pas « {value} »") from None


def search_data(kb: KnowledgeBase, q: str = "", country: list[str] | None = None,
                theme: list[str] | None = None, authority_type: list[str] | None = None,
                region: list[str] | None = None, start_year_min: str | None = None,
                start_year_max: str | None = None, limit: str | int | None = None,
                offset: str | int | None = None, places: str | None = None) -> dict[str, Any]:
    """The ``/api/search`` answer for raw request values."""
    service = kb.search_service()
    filters = service.filters(country=country, theme=theme, authority_type=authority_type,
                              region=region, start_year_min=start_year_min,
                              start_year_max=start_year_max)
    result: dict[str, Any] = service.search(q, filters, limit=_int(limit, "limit", 20),
                                            offset=_int(offset, "offset", 0),
                                            places=places_wanted(places))
    return result


def places_wanted(value: str | None) -> bool:
    """``places=off`` (or ``non``, ``0``, ``false``) ignores the places a query names."""
    if value is None or not value.strip():
        return True
    choice = value.strip().lower()
    if choice in ("on", "oui", "1", "true", "auto"):
        return True
    if choice in ("off", "non", "0", "false"):
        return False
    raise BadRequest(f"places doit valoir « auto » ou « off », pas « {value} »")


def search_csv(kb: KnowledgeBase, q: str = "", places: str | None = None, **raw: Any) -> str:
    """The ``/api/search.csv`` export for raw request values."""
    service = kb.search_service()
    filters = service.filters(**raw)
    text: str = service.csv(q, filters, places_wanted(places))
    return text


def similar_data(kb: KnowledgeBase, project_id: str,
                 limit: str | int | None = None) -> dict[str, Any]:
    """The ``/api/projects/{id}/similar`` answer."""
    result: dict[str, Any] = kb.search_service().similar(project_id, _int(limit, "limit", 10))
    return result


def pooling_data(kb: KnowledgeBase, country: list[str] | None = None,
                 theme: list[str] | None = None) -> dict[str, Any]:
    """The ``/api/pooling`` answer."""
    service = kb.search_service()
    result: dict[str, Any] = service.pooling(service.filters(country=country, theme=theme))
    return result


def pooling_csv_data(kb: KnowledgeBase, country: list[str] | None = None,
                     theme: list[str] | None = None, group: str | None = None) -> str:
    """The ``/api/pooling.csv`` export: one group (``group``, an ``id`` of ``/api/pooling``)
    or every group, one row per project and French authority."""
    service = kb.search_service()
    data = pooling_data(kb, country, theme)
    return pooling_csv(data, service.document, (group or "").strip() or None)


def sparql_data(kb: KnowledgeBase, q: str = "", places: str | None = None, **raw: Any) -> str:
    """The SPARQL query listing a search's projects in its order (« voir la requête »)."""
    service = kb.search_service()
    text: str = service.sparql_for(service.filters(**raw), q, places_wanted(places))
    return text


def search_router(kb: KnowledgeBase) -> APIRouter:
    """The search API over ``kb`` (its served generation, reloaded after a rebuild)."""
    router = APIRouter(tags=["recherche"])

    @router.get("/api/search")
    def api_search(q: str = "", country: Values = None, theme: Values = None,
                   authority_type: Values = None, region: Values = None,
                   start_year_min: str | None = None, start_year_max: str | None = None,
                   limit: str | None = None, offset: str | None = None,
                   places: str | None = None) -> dict[str, Any]:
        """Recherche hybride (sens + mots-clés) avec filtres et facettes ; les lieux nommés
        dans q orientent le classement (``understood`` ; ``places=off`` pour les ignorer)."""
        return search_data(kb, q, country, theme, authority_type, region, start_year_min,
                           start_year_max, limit, offset, places)

    @router.get("/api/search.csv")
    def api_search_csv(q: str = "", country: Values = None, theme: Values = None,
                       authority_type: Values = None, region: Values = None,
                       start_year_min: str | None = None,
                       start_year_max: str | None = None,
                       places: str | None = None) -> Response:
        """Les résultats d'une recherche en CSV (10 000 au plus), dans son ordre."""
        text = search_csv(kb, q, places, country=country, theme=theme,
                          authority_type=authority_type, region=region,
                          start_year_min=start_year_min, start_year_max=start_year_max)
        return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": 'attachment; filename="cooplink-recherche.csv"'})

    @router.get("/api/search.sparql")
    def api_search_sparql(q: str = "", country: Values = None, theme: Values = None,
                          authority_type: Values = None, region: Values = None,
                          start_year_min: str | None = None,
                          start_year_max: str | None = None,
                          places: str | None = None) -> Response:
        """La requête SPARQL qui liste les projets d'une recherche, dans son ordre."""
        text = sparql_data(kb, q, places, country=country, theme=theme,
                           authority_type=authority_type, region=region,
                           start_year_min=start_year_min, start_year_max=start_year_max)
        return Response(text, media_type="application/sparql-query; charset=utf-8")

    @router.get("/api/projects/{project_id}/similar")
    def api_similar(project_id: str, limit: str | None = None) -> dict[str, Any]:
        """Coopérations comparables menées par d'autres collectivités, avec leurs raisons."""
        return similar_data(kb, project_id, limit)

    @router.get("/api/pooling")
    def api_pooling(country: Values = None, theme: Values = None) -> dict[str, Any]:
        """Qui travaille déjà sur ce thème dans ce pays, et les groupes de projets proches."""
        return pooling_data(kb, country, theme)

    @router.get("/api/pooling.csv")
    def api_pooling_csv(country: Values = None, theme: Values = None,
                        group: str | None = None) -> Response:
        """Un groupe de mutualisation (ou tous) en CSV : collectivités, réseaux, montants."""
        text = pooling_csv_data(kb, country, theme, group)
        name = f"cooplink-mutualisation-{group}.csv" if group else "cooplink-mutualisation.csv"
        safe = "".join(c for c in name if c.isalnum() or c in "-_.")
        return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{safe}"'})

    return router

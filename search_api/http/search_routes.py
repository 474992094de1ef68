"""Search routes: ``/api/search``, ``/api/search.csv``, ``/api/search.sparql``,
``/api/projects/{id}/similar``, ``/api/pooling`` and ``/api/pooling.csv``.

Routes read their parameters (a search's are one :class:`SearchParams`, declared once) and call
the functions below, which return the domain's typed answers (:mod:`search_api.search.answers`):
FastAPI renders them as JSON (their models are the OpenAPI response schemas),
:mod:`search_api.http.csv_exports` as CSV, and the HTML pages (another module) call the same
functions. Errors are :class:`graph.errors.CooplinkError` (unknown filter value → 400 naming the
allowed ones), turned into the one error shape by :mod:`search_api.http.errors`; a client that
accepts none of a route's formats gets 406.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from search_api.http._openapi import error_responses, media_responses
from search_api.http.csv_exports import SEARCH_MAX_ROWS, CsvStyle, pooling_csv, search_csv
from search_api.http.errors import acceptable
from search_api.knowledge_base import KnowledgeBase
from search_api.search.answers import PoolingAnswer, SearchAnswer, SimilarAnswer
from search_api.search.params import SearchParams, parse_int

#: Several values of a filter: repeated parameters (``country=SN&country=ML``) or commas.
Values = Annotated[list[str] | None, Query()]
#: A search's parameters, from the query string.
Search = Annotated[SearchParams, Query()]
SIMILAR_LIMIT = 10


def search_data(kb: KnowledgeBase, params: SearchParams) -> SearchAnswer:
    """The ``/api/search`` answer."""
    service = kb.search_service()
    filters = service.filters(**params.raw_filters())
    return service.search(params.q, filters, limit=params.page_size(), offset=params.start(),
                          places=params.with_places(), sort=params.order())


def search_rows(kb: KnowledgeBase, params: SearchParams) -> SearchAnswer:
    """The search of the CSV export: its first :data:`SEARCH_MAX_ROWS` results (paging
    parameters are ignored)."""
    service = kb.search_service()
    filters = service.filters(**params.raw_filters())
    return service.search(params.q, filters, limit=SEARCH_MAX_ROWS, offset=0,
                          max_limit=SEARCH_MAX_ROWS, places=params.with_places(),
                          sort=params.order())


def similar_data(kb: KnowledgeBase, project_id: str,
                 limit: str | int | None = None) -> SimilarAnswer:
    """The ``/api/projects/{id}/similar`` answer."""
    return kb.search_service().similar(project_id, parse_int(limit, "limit", SIMILAR_LIMIT))


def pooling_data(kb: KnowledgeBase, country: list[str] | None = None,
                 theme: list[str] | None = None) -> PoolingAnswer:
    """The ``/api/pooling`` answer."""
    service = kb.search_service()
    return service.pooling(service.filters(country=country, theme=theme))


def pooling_csv_data(kb: KnowledgeBase, country: list[str] | None = None,
                     theme: list[str] | None = None, group: str | None = None,
                     sep: str | None = None) -> str:
    """The ``/api/pooling.csv`` export: one group (``group``, an ``id`` of ``/api/pooling``)
    or every group, one row per project and French authority."""
    service = kb.search_service()
    return pooling_csv(pooling_data(kb, country, theme), service.document,
                       (group or "").strip() or None, service.allowed_values(),
                       CsvStyle.parse(sep))


def sparql_data(kb: KnowledgeBase, params: SearchParams) -> str:
    """The SPARQL query listing a search's projects in its order (« voir la requête »)."""
    service = kb.search_service()
    return service.sparql_for(service.filters(**params.raw_filters()), params.q,
                              params.with_places())


def _answers(media: str, description: str, *codes: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI entries of a route answering ``media`` (a file, not JSON) and ``codes``."""
    return {**media_responses([media], description), **error_responses(406, 422, *codes)}


def search_router(kb: KnowledgeBase) -> APIRouter:
    """The search API over ``kb`` (its served generation, reloaded after a rebuild)."""
    router = APIRouter(tags=["recherche"])
    json_only = [Depends(acceptable("application/json"))]

    @router.get("/api/search", dependencies=json_only,
                responses=error_responses(406, 422, 503))
    def api_search(params: Search) -> SearchAnswer:
        """Recherche hybride (sens + mots-clés) avec filtres et facettes ; les lieux nommés
        dans q orientent le classement (``understood`` ; ``places=off`` pour les ignorer)."""
        return search_data(kb, params)

    @router.get("/api/search.csv", response_class=Response,
                dependencies=[Depends(acceptable("text/csv"))],
                responses=_answers("text/csv", "Les résultats, une ligne par projet.", 503))
    def api_search_csv(params: Search, sep: str | None = None) -> Response:
        """Les résultats d'une recherche en CSV (10 000 au plus), dans son ordre ; limit et
        offset sont ignorés. Pour un tableur français : UTF-8 avec BOM, « ; », virgule
        décimale ; ``sep=,`` pour les autres outils."""
        service = kb.search_service()
        text = search_csv(search_rows(kb, params).results, service.document,
                          service.allowed_values(), CsvStyle.parse(sep))
        return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": 'attachment; filename="cooplink-recherche.csv"'})

    @router.get("/api/search.sparql", response_class=Response,
                dependencies=[Depends(acceptable("application/sparql-query"))],
                responses=_answers("application/sparql-query", "La requête SPARQL.", 503))
    def api_search_sparql(params: Search) -> Response:
        """La requête SPARQL qui liste les projets d'une recherche, dans son ordre."""
        return Response(sparql_data(kb, params),
                        media_type="application/sparql-query; charset=utf-8")

    @router.get("/api/projects/{project_id}/similar", dependencies=json_only,
                responses=error_responses(404, 406, 503))
    def api_similar(project_id: str, limit: str | None = None) -> SimilarAnswer:
        """Coopérations comparables menées par d'autres collectivités, avec leurs raisons."""
        return similar_data(kb, project_id, limit)

    @router.get("/api/pooling", dependencies=json_only,
                responses=error_responses(406, 503))
    def api_pooling(country: Values = None, theme: Values = None) -> PoolingAnswer:
        """Qui travaille déjà sur ce thème dans ce pays, et les groupes de projets proches."""
        return pooling_data(kb, country, theme)

    @router.get("/api/pooling.csv", response_class=Response,
                dependencies=[Depends(acceptable("text/csv"))],
                responses=_answers("text/csv", "Le groupe, une ligne par projet et collectivité.",
                                   404, 503))
    def api_pooling_csv(country: Values = None, theme: Values = None,
                        group: str | None = None, sep: str | None = None) -> Response:
        """Un groupe de mutualisation (ou tous) en CSV : collectivités, réseaux, montants
        (« ; » et BOM pour un tableur français ; ``sep=,`` pour les autres outils)."""
        text = pooling_csv_data(kb, country, theme, group, sep)
        name = f"cooplink-mutualisation-{group}.csv" if group else "cooplink-mutualisation.csv"
        safe = "".join(c for c in name if c.isalnum() or c in "-_.")
        return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{safe}"'})

    return router

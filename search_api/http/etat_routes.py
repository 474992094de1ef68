"""The state of cooperation: the national dashboard (``/etat``, ``/api/etat``) and the country
briefs (``/pays/{iso2}``, ``/api/countries/{iso2}``) — issue 11, sections 1 and 2.

The JSON routes return the domain's typed answers (:class:`DashboardAnswer`,
:class:`CountryAnswer`, OpenAPI shows them); the pages render the very same answers: this module
only adds what a page needs around them — labels in the page's language, the maps, the links
into search, pooling and the entity pages, and a :class:`Figure` for each list so that every
chart says which query produced it (« voir la requête », CSV, JSON).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from graph.errors import BadRequest, NoStore
from search_api.http import i18n, maps
from search_api.http._openapi import error_responses
from search_api.http.errors import acceptable
from search_api.http.page_context import Pages, graph_labels
from search_api.http.pages import PageContext, group_title, url
from search_api.knowledge_base import KnowledgeBase
from search_api.search._state_sparql import ACTOR_ORDER
from search_api.search.answers import PoolingAnswer
from search_api.search.country_brief import (
    CACHED_BRIEFS,
    CountryAnswer,
    CountryBriefs,
    country_code,
)
from search_api.search.dashboard import Dashboard, DashboardAnswer
from search_api.search.figures import Figure, FigureRow

#: Rows of a long list shown before « voir les autres », and listed at most (the whole list is
#: in the JSON and in the CSV of its query: Germany has 2,170 twinnings without a project).
SHOWN = 25
LISTED = 200
#: Briefs computed ahead by :meth:`StateOfCooperation.warm`: the countries with most projects.
WARM_BRIEFS = 10
def _euros_or_number(t: i18n.Translator, unit: str, value: float) -> str:
    return t.euros(value) if unit == "euros" else t.number(round(value))


class View:
    """One page's language, labels and links (around :class:`PageContext`)."""

    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.t = ctx.t
        self.lang = ctx.lang

    def country(self, iso2: str, fallback: str = "") -> str:
        label = self.ctx.labels.country(iso2)
        return fallback if label == iso2 and fallback else label

    def theme(self, slug: str, fallback: str) -> str:
        label = self.ctx.labels.theme(slug)
        return fallback if label == slug else label

    def relabel(self, figure: Figure) -> Figure:
        """``figure`` with its row labels in the page's language."""
        name = figure.id

        def label(row: FigureRow) -> str:
            if name.endswith("by_theme"):
                return self.theme(row.key, row.label)
            if name.endswith("by_country"):
                return self.country(row.key, row.label)
            if name.endswith("by_type") or name.endswith("by_authority_type"):
                return self.ctx.labels.authority_type(row.key)
            if name.endswith("by_status"):
                key = f"etat.status.{row.key}"
                return self.t(key) if self.t.knows(key) else row.label
            return row.label

        return figure.model_copy(update={
            "rows": [row.model_copy(update={"label": label(row)}) for row in figure.rows]})

    def projects_text(self, name: str, value: float) -> str:
        return f"{name} : {self.t('etat.n_projects', n=self.t.number(round(value)))}"


def _figure(figure_id: str, query: str, rows: list[tuple[str, str, float, str | None]],
            unit: str = "projects") -> Figure:
    """A figure of a brief: the rows of one of its lists and that list's query."""
    return Figure(id=figure_id, unit=unit, query=query, rows=[
        FigureRow(key=k, label=label, value=v, uri=uri) for k, label, v, uri in rows])


class StateOfCooperation:
    """The dashboard and the country briefs of the served generation (each computed once per
    generation), and the labels their pages need."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.dashboard = Dashboard(kb.query)
        self.briefs = CountryBriefs(kb.query)

    def generation(self) -> str | None:
        """The served generation (:class:`NoStore` before the first build)."""
        health = self.kb.health()
        if health["status"] != "ok":
            raise NoStore(f"aucun graphe servi dans {self.kb.datadir.root} : construisez-le "
                          "(cooplink build) ou importez un fichier")
        gen = health.get("generation")
        return str(gen) if gen is not None else None

    def etat(self) -> DashboardAnswer:
        """The ``/api/etat`` answer."""
        return self.dashboard.answer(self.generation())

    def country(self, iso2: str) -> CountryAnswer:
        """The ``/api/countries/{iso2}`` answer."""
        gen = self.generation()
        service = self.kb.search_service()

        def pool(code: str) -> PoolingAnswer:
            if code not in service.index.vocab.get("country", {}):
                return PoolingAnswer(total=0, authorities=[], clusters=[])
            try:
                return service.pooling(service.filters(country=[code]))
            except BadRequest:  # the index does not know the country: no groups to offer
                return PoolingAnswer(total=0, authorities=[], clusters=[])

        code = country_code(iso2)
        # once per generation, however many first visits arrive together (single flight)
        return self.kb.memo(code, lambda: self.briefs.brief(code, gen, pool),
                            shelf="country-brief", size=CACHED_BRIEFS)

    def warm(self) -> None:
        """Compute what every page of a generation shares — the dashboard, the labels, the
        partners' towns — and the briefs of the largest countries, so that the first visitor
        does not wait for them (``cooplink serve`` runs it in the background at start)."""
        if self.kb.health()["status"] != "ok":
            return
        gen = self.generation()
        largest = self.etat().figures["projects_by_country"].rows[:WARM_BRIEFS]
        graph_labels(self.kb)
        self.briefs.prepare(gen)
        for row in largest:  # their pooling takes a second or two: the others are quick
            self.country(row.key)


def etat_router(state: StateOfCooperation, templates: Jinja2Templates) -> APIRouter:
    """``/etat``, ``/api/etat``, ``/pays/{iso2}`` and ``/api/countries/{iso2}``."""
    router = APIRouter(tags=["état de la coopération"])
    i18n.install(templates.env)
    kb = state.kb
    json_only = [Depends(acceptable("application/json"))]
    etat_data, country_data, generation = state.etat, state.country, state.generation

    @router.get("/api/etat", dependencies=json_only, responses=error_responses(406, 503))
    def api_etat() -> DashboardAnswer:
        """État de la coopération : chiffres clés et séries (par thème, année, type de
        collectivité, région, pays), chacun avec la requête SPARQL qui l'a calculé."""
        return etat_data()

    @router.get("/api/countries/{iso2}", dependencies=json_only,
                responses=error_responses(404, 406, 503))
    def api_country(iso2: str) -> CountryAnswer:
        """Fiche pays : collectivités françaises et partenaires, thèmes, années, acteurs,
        groupes de mutualisation, partenariats sans projet ; la requête de chaque champ."""
        return country_data(iso2)

    def begin(request: Request) -> View:
        generation()  # NoStore (503, the error page) before the first build
        return View(PageContext(request, kb, graph_labels(kb), kb.health()))

    pages = Pages(kb, templates, PageContext)

    def render(view: View, template: str, context: dict[str, Any]) -> Response:
        return pages.render(view.ctx, template, context)

    @router.get("/etat", response_class=HTMLResponse, include_in_schema=False)
    def etat_page(request: Request) -> Response:
        """Tableau de bord national : même fonction que /api/etat."""
        view = begin(request)
        data = etat_data()
        figures = {name: view.relabel(fig) for name, fig in data.figures.items()}
        countries = figures["projects_by_country"]
        world = maps.choropleth(countries, view.country, view.projects_text,
                                lambda iso: f"/pays/{iso}", view.t.number)
        return render(view, "etat.html", {
            "data": data, "figures": figures, "world": world,
            "indicators": {name: {**i.model_dump(),
                                  "text": _euros_or_number(view.t, i.unit, i.value)}
                           for name, i in data.indicators.items()},
            "hrefs": _figure_links(),
        })

    @router.get("/pays/{iso2}", response_class=HTMLResponse, include_in_schema=False)
    def country_page(request: Request, iso2: str) -> Response:
        """Fiche pays : même fonction que /api/countries/{iso2}."""
        view = begin(request)
        data = country_data(iso2)
        return render(view, "pays.html", brief_view(view, data))

    return router


def _figure_links() -> dict[str, Callable[[FigureRow], str | None]]:
    """Where a bar of a dashboard figure leads: the search filtered on it, or the brief."""
    return {
        "projects_by_theme": lambda r: url("/", {"theme": r.key}),
        "projects_by_year": lambda r: url("/", {"start_year_min": r.key,
                                                "start_year_max": r.key}),
        "projects_by_authority_type": lambda r: url("/", {"authority_type": r.key}),
        "authorities_by_type": lambda r: url("/", {"authority_type": r.key}),
        "projects_by_region": lambda r: url("/", {"region": r.key}),
        "projects_by_country": lambda r: f"/pays/{r.key}",
    }


def brief_view(view: View, data: CountryAnswer) -> dict[str, Any]:
    """What ``pays.html`` shows of a brief: labels, maps, figures and links."""
    t, ctx, iso2, q = view.t, view.ctx, data.iso2, data.queries
    name = view.country(iso2, data.name)
    by_uri = {p.uri: p for p in data.partners}
    located = [p for p in data.partners if p.lat is not None and p.lon is not None]
    points = [{"lat": p.lat, "lon": p.lon, "value": max(p.projects, 1), "href": ctx.href(p.uri),
               "title": f"{p.name}{' — ' + p.province.name if p.province else ''} : "
                        f"{t('etat.n_projects', n=t.number(p.projects))}"}
              for p in located]
    provinces: dict[str, dict[str, Any]] = {}
    for partner in data.partners:
        key = partner.province.code if partner.province else ""
        group = provinces.setdefault(key, {
            "name": partner.province.name if partner.province else t("brief.no_province"),
            "partners": [], "projects": 0})
        group["partners"].append({**partner.model_dump(), "href": ctx.href(partner.uri)})
        group["projects"] += partner.projects
    themes = _figure("themes", q["themes"], [
        (th.slug, view.theme(th.slug, th.label), th.count, None) for th in data.themes])
    years = _figure("years", q["years"], [
        (str(y.year), str(y.year), y.count, None) for y in data.years])
    top_authorities = _figure("french_authorities", q["french_authorities"], [
        (a.uri, a.name, a.projects, a.uri) for a in data.french_authorities])
    actors: dict[str, list[dict[str, Any]]] = {}
    for actor in data.actors:
        actors.setdefault(actor.kind, []).append({**actor.model_dump(),
                                                  "href": ctx.href(actor.uri)})
    scope = {"country": iso2}
    return {
        "data": data, "name": name,
        "search_href": url("/", scope),
        "pooling_href": url("/mutualisation", scope),
        "json_href": f"/api/countries/{urllib.parse.quote(iso2)}",
        "network_href": f"/reseau?country={urllib.parse.quote(iso2)}",
        "query_href": lambda key: url("/sparql", {"query": q[key]}),
        "csv_href": lambda key: url("/sparql", {"query": q[key], "format": "csv"}),
        "money": {"total_cost": t.euros(data.total_cost),
                  "ministry_cofinancing": t.euros(data.ministry_cofinancing)},
        "partner_map": maps.country_map(iso2, points),
        "located": len(located),
        "provinces": sorted(provinces.values(),
                            key=lambda g: (g["name"] == t("brief.no_province"),
                                           -g["projects"], g["name"])),
        "authorities": [{**a.model_dump(), "href": ctx.href(a.uri),
                         "type_label": ctx.labels.authority_type(a.type),
                         "search_href": url("/", {**scope, "q": a.name}),
                         "partner_list": [{"name": by_uri[p].name, "href": ctx.href(p)}
                                          for p in a.partners if p in by_uri]}
                        for a in data.french_authorities],
        "themes": themes, "years": years, "top_authorities": top_authorities,
        "theme_href": lambda row: url("/", {**scope, "theme": row.key}),
        "year_href": lambda row: url("/", {**scope, "start_year_min": row.key,
                                           "start_year_max": row.key}),
        "authority_href": lambda row: ctx.href(row.key),
        "theme_pooling": [{"label": row.label, "count": row.value,
                           "href": url("/mutualisation", {**scope, "theme": row.key})}
                          for row in themes.rows],
        "actor_groups": [{"kind": kind, "title": t(f"brief.actors.{kind}"),
                          "actors": actors[kind]} for kind in ACTOR_ORDER if kind in actors],
        "pooling": [{**g.model_dump(mode="json"),
                     "heading": group_title(ctx, g),
                     "href": url("/mutualisation", scope) + f"#{g.id}"}
                    for g in data.pooling],
        "partnerships": [{**p.model_dump(), "href": ctx.href(p.uri),
                          "kind_label": t(f"brief.partnership.{p.kind}"),
                          "authority_href": ctx.href(p.french_authority.uri)
                          if p.french_authority else None,
                          "partner_href": ctx.href(p.partner.uri) if p.partner else None}
                         for p in data.partnerships_without_project],
        "shown": SHOWN, "listed": LISTED,
    }

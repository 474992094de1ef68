"""The staff pages: search (``/``), comparable cooperations (``/projets/{id}/comparables``) and
pooling (``/mutualisation``).

Each page calls the very function its JSON route calls (:mod:`search_api.http.search_routes`),
with the same parameters (the search page reads the one :class:`SearchParams`), and renders the
typed answer it returns (:mod:`search_api.search.answers`) with Jinja2 — HTML and JSON from the
same function and the same object, datasette style.
This module only adds what a page needs around that data: labels in the page's language,
highlighted matches, and the links (paging, facets, CSV, SPARQL) that keep the same parameters.
Errors are :class:`graph.errors.CooplinkError`, rendered by the application's one handler.
"""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from search_api.http import i18n
from search_api.http.page_context import PageContext as BasePageContext
from search_api.http.page_context import Pages
from search_api.http.search_routes import (
    SIMILAR_LIMIT,
    Search,
    Values,
    pooling_data,
    search_data,
    similar_data,
    sparql_data,
)
from search_api.knowledge_base import KnowledgeBase
from search_api.search.answers import (
    Contact,
    FacetEntry,
    PlaceFound,
    PoolingGroup,
    QueryReading,
    Reason,
    SearchResult,
    SimilarResult,
    authority_refs,
    partner_refs,
)
from search_api.search.params import DEFAULT_LIMIT, SORTS
from search_api.search.pooling import MAX_GROUP

FACET_FIELDS = ("country", "theme", "authority_type", "region")
#: Facet values shown before « voir les autres » (selected values are always shown).
FACET_VISIBLE = 8



def url(path: str, params: Mapping[str, Any]) -> str:
    """``path?query`` with repeated keys for lists; empty values are left out."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        items = value if isinstance(value, list | tuple) else [value]
        pairs.extend((key, str(v)) for v in items if v is not None and str(v) != "")
    return f"{path}?{urllib.parse.urlencode(pairs)}" if pairs else path


def similar_path(project_id: str) -> str:
    """The comparable-cooperations page of a project."""
    return f"/projets/{urllib.parse.quote(project_id, safe='')}/comparables"


def highlight(text: str, spans: Iterable[tuple[int, int]]) -> Markup:
    """``text`` HTML-escaped, with each span wrapped in ``<mark>``."""
    out: list[str] = []
    last = 0
    for start, end in sorted(spans):
        if start < last:  # overlapping spans: the first one wins
            continue
        out.append(str(escape(text[last:start])))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        last = end
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


def page_links(total: int, limit: int, offset: int, link: Any) -> dict[str, Any]:
    """Previous/next and a window of page numbers; ``link(offset)`` builds each URL."""
    pages = max(1, math.ceil(total / limit))
    current = min(offset // limit, pages - 1)
    shown = sorted({0, pages - 1, *range(max(0, current - 2), min(pages, current + 3))})
    numbers: list[dict[str, Any]] = []
    for i, page in enumerate(shown):
        if i and page - shown[i - 1] > 1:
            numbers.append({"gap": True})
        numbers.append({"n": page + 1, "href": link(page * limit), "current": page == current})
    return {
        "pages": pages,
        "current": current + 1,
        "previous": link(max(0, offset - limit)) if offset > 0 else None,
        "next": link(offset + limit) if offset + limit < total else None,
        "numbers": numbers if pages > 1 else [],
    }


#: what a project card shows: a search result, a comparable project (or its source)
Project = SearchResult | SimilarResult


class PageContext(BasePageContext):
    """The search pages' context: the shared one plus cards, places and reasons."""

    def place_label(self, place: PlaceFound) -> str:
        """« Pays : Tunisie » — a place the query names, for its chip."""
        kind = self.t(f"place.{place.kind}")
        label = place.label
        if place.kind == "country" and place.countries:
            label = self.labels.country(place.countries[0])
        return f"{kind} : {label}" if self.lang == "fr" else f"{kind}: {label}"

    def card(self, project: Project, query: str = "", snippet: str = "",
             understood: QueryReading | None = None) -> dict[str, Any]:
        """A project of an answer with display labels, highlighted matches and its links."""
        service, labels = self.service, self.labels
        start, end = project.start_year, project.end_year
        if start is None:
            span = self.t("card.unknown_years")
        elif end is None:
            span = self.t("card.since", start=start)
        else:
            span = f"{start} – {end}" if end != start else str(start)
        # The theme the query matched and the place it names (issue 9), not merely the
        # project's first ones.
        matched = project.matched_theme if isinstance(project, SearchResult) else None
        theme = matched or (project.themes[0] if project.themes else None)
        return {
            "id": project.id,
            "title": project.title,
            "snippet": snippet,
            "close_match": project.close_match if isinstance(project, SearchResult) else True,
            "countries": project.countries,
            "themes": project.themes,
            "title_html": highlight(project.title,
                                    service.highlight(query, project.title) if query else []),
            "snippet_html": highlight(snippet, service.highlight(query, snippet) if query else []),
            "href": self.href(project.uri),
            "country_labels": [labels.country(c) for c in project.countries],
            "theme_labels": [labels.theme(s) for s in project.themes],
            "authorities": [{"name": a.name, "href": self.href(a.uri),
                             "type_label": labels.authority_type(a.type)}
                            for a in project.french_authorities],
            "partner_list": [{"name": p.name, "href": self.href(p.uri),
                              "country_label": labels.country(p.country) if p.country else ""}
                             for p in project.partners],
            "years": span,
            "similar_href": similar_path(project.id),
            "pooling_href": url("/mutualisation", {
                "country": _place_country(project.countries, understood),
                "theme": [theme] if theme else []}),
        }

    def why(self, reason: Reason) -> str:
        """One reason of a comparison, in the page's language (the API writes French)."""
        if self.lang == "fr" or not self.t.knows(f"why.{reason.kind}"):
            return reason.text
        if reason.kind == "semantic":
            return f"{self.t('why.semantic')}: {reason.value:.2f}"
        values = reason.values
        if reason.kind == "themes":
            values = [self.labels.theme(v) for v in values]
        elif reason.kind in ("country", "neighbour", "region"):
            values = [self.labels.country(v) for v in values]
        return f"{self.t(f'why.{reason.kind}')}: {', '.join(values)}"


def _place_country(countries: Sequence[str], understood: QueryReading | None) -> list[str]:
    """The project's country the query named, else its first one."""
    named = [c for p in (understood.places if understood else []) for c in p.countries]
    chosen = [c for c in countries if c in named]
    return (chosen or list(countries))[:1]


def group_title(ctx: PageContext, group: PoolingGroup) -> str:
    """A pooling group's title in the page's language (the API writes it in French)."""
    shared = group.shared
    if shared.partner is not None:
        title = ctx.t("pooling.kind.partner", value=shared.partner.name)
    elif shared.province is not None:
        title = ctx.t("pooling.kind.province", value=shared.province.name)
    elif group.kind == "subtopic":
        title = ctx.t("pooling.kind.subtopic", value=", ".join(shared.terms))
    else:
        title = ctx.t("pooling.kind.similar")
    if part := group.part:
        title += f" ({ctx.t('pooling.part', n=part[0], of=part[1])})"
    return title


def contact_view(ctx: PageContext, contact: Contact) -> dict[str, Any]:
    """An authority of the pooling view with its link and formatted networks, years, amounts."""
    amount, cofinancing = contact.amount, contact.cofinancing
    return {
        "name": contact.name,
        "projects": contact.projects,
        "href": ctx.href(contact.uri),
        "type_label": ctx.labels.authority_type(contact.type),
        "network_labels": [n.label for n in contact.networks],
        "years_text": i18n.format_years(contact.years),
        "amount_text": ctx.t.euros(amount) if amount is not None else "",
        "cofinancing_text": ctx.t.euros(cofinancing) if cofinancing is not None else "",
    }


def facet_groups(ctx: PageContext, facets: Mapping[str, Sequence[FacetEntry]],
                 chosen: Mapping[str, Sequence[str]]) -> list[dict[str, Any]]:
    """Each filter's values with counts, selected ones first, the tail folded away."""
    groups = []
    for field in FACET_FIELDS:
        selected = set(chosen.get(field, ()))
        entries = [{"value": e.value, "count": e.count, "relevant": e.relevant,
                    "label": ctx.labels.label(field, str(e.value)),
                    "selected": e.value in selected, "id": f"f-{field}-{e.value}"}
                   for e in facets.get(field, [])]
        first = [e for e in entries if e["selected"]]
        rest = [e for e in entries if not e["selected"]]
        room = max(0, FACET_VISIBLE - len(first))
        groups.append({"field": field, "legend": ctx.t(f"facet.{field}"),
                       "visible": first + rest[:room], "more": rest[room:],
                       "active": bool(selected)})
    return groups


def pages_router(kb: KnowledgeBase, templates: Jinja2Templates) -> APIRouter:
    """The HTML pages over ``kb`` (``templates`` with :func:`i18n.install`'s ``_()``)."""
    router = APIRouter(include_in_schema=False)
    pages = Pages(kb, templates, PageContext)
    begin, render = pages.begin, pages.render

    @router.get("/", response_class=HTMLResponse)
    def search_page(request: Request, search: Search) -> Response:
        """Page de recherche : même fonction et mêmes paramètres que /api/search."""
        ctx = begin(request)
        if isinstance(ctx, Response):
            return ctx
        data = search_data(kb, search)
        filters = ctx.service.filters(**search.raw_filters())
        query = data.query
        page_size, start = search.page_size(), search.start()
        ignored = data.understood.places_ignored
        order = search.order()
        params: dict[str, Any] = {"q": query, **filters.as_params(),
                                  "places": "off" if ignored else None,
                                  "sort": order if order != "relevance" else None}
        keep: dict[str, Any] = {**params,
                                "limit": page_size if page_size != DEFAULT_LIMIT else None}
        chips = [{"label_text": ctx.place_label(place),
                  "remove_href": url("/", {**keep, "places": "off"}),
                  "filter_href": url("/", {**keep, **{k: sorted({*params.get(k, []), *v})
                                                      for k, v in place.filter.items()}}),
                  } for place in data.understood.places]
        return render(ctx, "search.html", {
            "data": data,
            "q": query,
            "cards": [ctx.card(r, query, r.snippet, data.understood) for r in data.results],
            "chips": chips,
            "places_ignored": ignored,
            "places_href": url("/", {**keep, "places": None}),
            "facets": facet_groups(ctx, data.facets, filters.values()),
            "years": data.facets.get("start_year", []),
            "filters": filters,
            "active": not filters.is_empty(),
            "limit": page_size,
            "keep_limit": page_size != DEFAULT_LIMIT,
            "first": start + 1,
            "last": start + len(data.results),
            "paging": page_links(data.total, page_size, start,
                                 lambda o: url("/", {**keep, "offset": o or None})),
            "csv_href": url("/api/search.csv", params),
            "json_href": url("/api/search", {**keep, "offset": start or None}),
            "sparql_href": url("/sparql", {"query": sparql_data(kb, search)}),
            "clear_href": url("/", {"q": query}),
            "sort_links": [{"value": value, "current": value == order,
                            "href": url("/", {**keep, "sort": None if value == "relevance"
                                              else value})} for value in SORTS],
        })

    @router.get("/projets/{project_id}/comparables", response_class=HTMLResponse)
    def similar_page(request: Request, project_id: str, limit: str | None = None) -> Response:
        """Coopérations comparables : même fonction que /api/projects/{id}/similar."""
        ctx = begin(request)
        if isinstance(ctx, Response):
            return ctx
        data = similar_data(kb, project_id, limit or SIMILAR_LIMIT)
        doc = ctx.service.document(project_id)
        # the source project: the answer's, with the facts of its document
        source = ctx.card(SearchResult(
            id=doc.id, uri=doc.uri, title=doc.title, score=None, close_match=True,
            matched_theme=None, snippet=doc.description, countries=list(doc.countries),
            themes=list(doc.themes), french_authorities=authority_refs(doc),
            partners=partner_refs(doc), start_year=doc.start_year, end_year=doc.end_year),
            snippet=doc.description)
        cards = [{**ctx.card(result), "score": result.score,
                  "reasons": [ctx.why(r) for r in result.why]} for result in data.results]
        return render(ctx, "similar.html", {
            "data": data, "source": source, "cards": cards,
            "json_href": url(f"/api/projects/{urllib.parse.quote(project_id, safe='')}/similar",
                             {"limit": limit}),
        })

    @router.get("/mutualisation", response_class=HTMLResponse)
    def pooling_page(request: Request, country: Values = None,
                     theme: Values = None) -> Response:
        """Mutualisation : même fonction que /api/pooling, avec le choix du pays et du thème."""
        ctx = begin(request)
        if isinstance(ctx, Response):
            return ctx
        filters = ctx.service.filters(country=country, theme=theme)
        data = pooling_data(kb, country, theme) if filters.country or filters.theme else None
        vocab = ctx.service.index.vocab

        def options(field: str, chosen: Sequence[str]) -> list[dict[str, Any]]:
            entries = [{"value": v, "label": ctx.labels.label(field, v), "selected": v in chosen}
                       for v in vocab[field]]
            return sorted(entries, key=lambda e: e["label"].casefold())

        def project(project_id: str) -> dict[str, Any]:
            doc = ctx.service.document(project_id)
            return {"id": doc.id, "title": doc.title, "href": ctx.href(doc.uri),
                    "similar_href": similar_path(doc.id),
                    "authorities": ", ".join(a.name for a in doc.authorities)}

        scope = filters.as_params()
        view: dict[str, Any] | None = None
        if data is not None:
            view = {
                "total": data.total,
                "authorities": [{**contact_view(ctx, a),
                                 "project_list": [project(p) for p in a.projects]}
                                for a in data.authorities],
                "clusters": [{"group": c, "heading": group_title(ctx, c),
                              "contact_list": [contact_view(ctx, a) for a in c.contacts],
                              "project_list": [project(p) for p in c.projects],
                              "csv_href": url("/api/pooling.csv", {**scope, "group": c.id})}
                             for c in data.clusters],
            }
        return render(ctx, "pooling.html", {
            "data": data, "view": view,
            "countries": options("country", filters.country),
            "themes": options("theme", filters.theme),
            "scope": ", ".join([*(ctx.labels.country(c) for c in filters.country),
                                *(ctx.labels.theme(s) for s in filters.theme)]),
            "search_href": url("/", scope),
            "json_href": url("/api/pooling", scope),
            "csv_href": url("/api/pooling.csv", scope),
            "max_group": MAX_GROUP,
        })

    return router

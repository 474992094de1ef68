"""Profile pages: the HTML view of an entity URI a person reads (issue 11, §3).

``/id/…``, ``/theme/…`` in a browser show a French authority, a région or département, a foreign
partner, a theme, a country or a project as a profile — summary numbers, figures and lists read
by :mod:`search_api.search.profiles` and :mod:`search_api.search.project_sheets`, with links into
search, pooling and the country brief. The raw triples stay one click away (« données brutes »,
``?view=raw``), and RDF formats are negotiated as before (:mod:`search_api.http.linked_data`).

What does not change within a served generation is kept: the « collectivités proches » matrices
(one SPARQL query over every authority, about a second on the default dataset) and the last
profiles read (:data:`CACHE_SIZE`, on their own shelf of ``KnowledgeBase.memo``, computed once
however many visits arrive together), so that the next page of a list only reads that page.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Mapping
from contextlib import suppress
from datetime import datetime
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from graph.errors import CooplinkError
from search_api.http import i18n, maps
from search_api.http._entity_view import LinkMapper
from search_api.http._negotiation import GRAPH_MEDIA
from search_api.http.pages import url
from search_api.knowledge_base import KnowledgeBase
from search_api.search.figures import Figure
from search_api.search.portfolios import Portfolios, project_means
from search_api.search.profiles import PAGE_SIZE, Profile, ProfileBase, ProfileReader, kind_of
from search_api.search.project_sheets import ProjectSheet, read_project

#: ``?view=raw``: the raw triples (« données brutes ») of any entity.
RAW = "raw"
#: Profiles kept per generation (without their list pages).
CACHE_SIZE = 64
#: Countries of an authority's profile offered as pooling links.
POOLING_LINKS = 3


class Language:
    """The page's language (``?lang=``, then the cookie, else French) and its toggle."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.lang = i18n.request_language(request)

    def toggle(self) -> str:
        return i18n.toggle_href(self.request, self.lang)

    def keep(self, response: Response) -> Response:
        """Remember an explicit choice, as the search pages do."""
        i18n.remember_choice(self.request, response, self.lang)
        response.headers["Vary"] = "Accept"
        return response


class ProfilePages:
    """Renders profiles over one knowledge base, keeping per-generation work."""

    def __init__(self, kb: KnowledgeBase, templates: Jinja2Templates, links: LinkMapper) -> None:
        self.kb = kb
        self.templates = templates
        self.links = links
        self._lock = threading.Lock()
        self._build = threading.Lock()  # one portfolio build at a time
        self._generation: str | None = None
        #: the portfolios, and whether the search index was ready when they were built
        self._portfolios: tuple[Portfolios, bool] | None = None
        self._preparing: str | None = None  # the generation whose portfolios are being built

    # ------------------------------------------------------------------ per generation
    def _current(self) -> str:
        generation = self.kb.datadir.require_current().id
        with self._lock:
            if generation != self._generation:
                self._generation, self._portfolios = generation, None
        return generation

    def portfolios(self) -> Portfolios | None:
        """The « collectivités proches » matrices of the served generation (built once; the
        project-similarity part once the search index is loaded)."""
        generation = self._current()
        with self._build:
            held = self._portfolios
            if held is not None and (held[1] or not self.kb.ready):
                return held[0]
            vectors = None
            ready = self.kb.ready
            if ready:  # never wait here for a model still loading
                with suppress(CooplinkError, OSError):
                    index = self.kb.search_service().index
                    vectors = project_means(index.doc_vectors,
                                            [[a.uri for a in d.authorities] for d in index.docs],
                                            float(index.manifest.get("pair_mean", 0.0)))
            built = Portfolios.from_graph(self.kb.query, vectors)
            with self._lock:
                if self._generation == generation:  # final once built with the index tried
                    self._portfolios = (built, ready)
            return built

    def _base(self, reader: ProfileReader, uri: str, lang: str,
              statements: list[Any]) -> ProfileBase | None:
        return self.kb.memo((uri, lang), lambda: reader.base(uri, statements),
                            shelf="profile", size=CACHE_SIZE)

    # ------------------------------------------------------------------ pages
    def _prepare(self) -> None:
        """Start building the portfolios in the background at the first page of a generation,
        so that the first authority profile seldom waits for them."""
        with self._lock:
            if self._portfolios is not None or self._preparing == self._generation:
                return
            self._preparing = self._generation
        threading.Thread(target=self.portfolios, name="cooplink-portfolios",
                         daemon=True).start()

    def render(self, request: Request, uri: str) -> Response | None:
        """The profile page of ``uri``, or ``None`` when it has none (the raw view then)."""
        self._current()
        self._prepare()
        language = Language(request)
        reader = ProfileReader(self.kb.query, language.lang, self.portfolios)
        statements = reader.statements(uri)
        types = {s.value for s in statements if s.predicate.endswith("#type")}
        kind = kind_of(uri, types)
        if kind is None:
            return None
        if kind == "project":
            sheet = read_project(self.kb.query, uri, statements, language.lang)
            return self._answer(request, language, "project.html",
                                self._project_context(sheet, language.lang))
        base = self._base(reader, uri, language.lang, statements)
        if base is None:
            return None
        offsets = {name: max(0, _page(request.query_params.get(f"{name}_page")) - 1) * PAGE_SIZE
                   for name in ("projects", "partnerships", "partners", "authorities", "actors")}
        profile = reader.page(base, offsets)
        return self._answer(request, language, "profile.html",
                            self._profile_context(request, profile))

    def _answer(self, request: Request, language: Language, template: str,
                context: dict[str, Any]) -> Response:
        path = self.links.href(context["uri"]) or request.url.path
        health = self.kb.health()
        response = self.templates.TemplateResponse(request, template, {
            "lang": language.lang, "toggle": language.toggle(), "health": health,
            # the demonstration corpus is announced here too: a profile must not pass for real
            "synthetic": health.get("synthetic_projects", 0),
            "raw_href": url(path, {"view": RAW}),
            "alternates": alternates(path), "href": self.links.local,
            "row_href": lambda row: self.links.local(row.uri),
            "decimal": lambda x: format_decimal(x, format="0.00", locale=language.lang),
            **context,
        })
        return language.keep(response)

    def _profile_context(self, request: Request, profile: Profile) -> dict[str, Any]:
        figures = {f.id: f for f in profile.figures}
        countries = figures.get("projects_by_country")
        themes = figures.get("projects_by_theme")
        top_theme = themes.rows[0].key if themes and themes.rows else profile.theme
        search: dict[str, Any] = {}
        pooling: list[dict[str, Any]] = []
        if profile.kind == "authority" or profile.kind == "departement":
            search = {"q": profile.label, "region": profile.region_code}
        elif profile.kind == "region":
            search = {"region": profile.region_code}
        elif profile.kind == "partner":
            search = {"q": profile.label, "country": profile.iso2}
        elif profile.kind == "theme":
            search = {"theme": profile.theme}
        elif profile.kind == "country":
            search = {"country": profile.iso2}
        if profile.kind == "country" or profile.kind == "partner":
            pooling.append({"country": profile.iso2, "theme": top_theme})
            pooling.append({"country": profile.iso2})
        elif countries is not None:
            theme = profile.theme if profile.kind == "theme" else top_theme
            pooling += [{"country": r.key, "theme": theme, "label": r.label}
                        for r in countries.rows[:POOLING_LINKS]]
        if profile.kind == "theme":
            pooling.append({"theme": profile.theme})
        labels = {r.key: r.label for f in profile.figures for r in f.rows}
        if profile.iso2:  # a country's name: its own, or the partner's country attribute
            labels[profile.iso2] = profile.label if profile.kind == "country" else next(
                (v.label for a in profile.attributes if a.id == "pays" for v in a.values),
                profile.iso2)
        for link in pooling:
            link["href"] = url("/mutualisation", {"country": link.get("country"),
                                                  "theme": link.get("theme")})
            link.setdefault("label", labels.get(link.get("country") or "", link.get("country")))
            link["theme_label"] = labels.get(link.get("theme") or "", link.get("theme") or "")
        return {
            "uri": profile.uri, "profile": profile, "facts": {f.id: f for f in profile.facts},
            "search_href": url("/", search) if search else None,
            "pooling": pooling,
            "brief_href": f"/pays/{profile.iso2}" if profile.iso2 else None,
            "paging": {listing.id: self._paging(request, listing.id, listing.offset,
                                                listing.total) for listing in profile.listings},
            **self._partner_map(profile, countries, labels, i18n.request_language(request)),
        }

    def _partner_map(self, profile: Profile, countries: Figure | None,
                     labels: Mapping[str, str], lang: str) -> dict[str, Any]:
        """« Ses partenaires sur une carte »: an authority's projects per country on the world
        map (the dashboard's, so both read the same), each country linking to its brief."""
        if profile.kind != "authority" or countries is None or not countries.rows:
            return {"partner_map": None, "partner_figure": None}
        t = i18n.Translator(lang)
        drawn = maps.choropleth(
            countries, lambda iso2, name: labels.get(iso2, name),
            lambda name, value: f"{name} : {t('etat.n_projects', n=t.number(round(value)))}",
            lambda iso2: f"/pays/{iso2}", t.number)
        return {"partner_map": drawn, "partner_figure": countries}

    def _paging(self, request: Request, name: str, offset: int, total: int) -> dict[str, Any]:
        def link(start: int) -> str:
            params = dict(request.query_params)
            params[f"{name}_page"] = str(start // PAGE_SIZE + 1)
            if start == 0:
                params.pop(f"{name}_page")
            return url(request.url.path, params) + f"#{name}"

        return {
            "first": offset + 1 if total else 0, "last": min(total, offset + PAGE_SIZE),
            "previous": link(max(0, offset - PAGE_SIZE)) if offset > 0 else None,
            "next": link(offset + PAGE_SIZE) if offset + PAGE_SIZE < total else None,
        }

    def _project_context(self, sheet: ProjectSheet, lang: str) -> dict[str, Any]:
        country = sheet.countries[0].notes[0] if sheet.countries and sheet.countries[0].notes \
            else None
        theme = sheet.themes[0].notes[0] if sheet.themes and sheet.themes[0].notes else None
        return {
            "uri": sheet.uri, "sheet": sheet,
            "similar_href": f"/projets/{urllib.parse.quote(sheet.id, safe='')}/comparables",
            "pooling_href": url("/mutualisation", {"country": country, "theme": theme})
            if country or theme else None,
            "brief_href": f"/pays/{country}" if country else None,
            "imported": readable_date(sheet.generated_at, lang),
        }


def alternates(path: str) -> list[tuple[str, str, str]]:
    """The RDF formats of the page's entity (name, link, media type)."""
    base = path.split("#")[0]
    return [(name, f"{base}?format={fmt}", GRAPH_MEDIA[fmt])
            for name, fmt in (("Turtle", "ttl"), ("N-Triples", "nt"), ("JSON-LD", "jsonld"),
                              ("RDF/XML", "rdfxml"))]


def readable_date(value: str | None, lang: str) -> str | None:
    """« 7 décembre 2026 » / "December 7, 2026" of an ISO 8601 date-time (``None`` if none)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return format_date(moment.date(), format="long", locale=lang)


def _page(value: str | None) -> int:
    """A ``…_page`` parameter (1 when absent or not a positive number)."""
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1

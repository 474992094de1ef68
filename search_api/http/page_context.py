"""What every HTML page shares: its language, display labels, entity links, and the one way a
page is rendered (base layout, language toggle, notices, remembered language).

:class:`Pages` is built by each router that serves pages (search, state of cooperation,
network, profiles), so they all open and render a page the same way; it keeps the graph's
English labels per served generation, not in a global.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from graph.namespaces import CL, THEME
from search_api.http import i18n
from search_api.http._entity_view import LinkMapper
from search_api.knowledge_base import KnowledgeBase

_ENGLISH_LABELS = f"""
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?field ?value (SAMPLE(?l) AS ?label) WHERE {{
  {{ ?s skos:inScheme <{THEME.rstrip('/')}> ; skos:notation ?value ; skos:prefLabel ?l .
     BIND("theme" AS ?field) }}
  UNION
  {{ ?s a <{CL}Pays> ; <{CL}codeIso2> ?value ; skos:prefLabel ?l . BIND("country" AS ?field) }}
  FILTER(langMatches(lang(?l), "en"))
}} GROUP BY ?field ?value
"""


class PageContext:
    """What every page of one request shares: language, labels and the entity links."""

    def __init__(self, request: Request, kb: KnowledgeBase, english: Mapping[str, Any],
                 health: dict[str, Any]) -> None:
        self.request = request
        self.health = health
        self.lang = i18n.request_language(request)
        self.t = i18n.Translator(self.lang)
        self.kb = kb
        self.service = kb.search_service()
        self.labels = i18n.Labels(self.service.index.vocab, english, self.lang)
        self.links = LinkMapper(kb.minter.base)

    def href(self, uri: str) -> str:
        """Entity pages are served by this app under the URI's path: a link stays on this
        server even though the URI itself is under the stable base (w3id.org)."""
        return self.links.local(uri)

    def toggle(self) -> str:
        """This page in the other language."""
        return i18n.toggle_href(self.request, self.lang)


Context = TypeVar("Context", bound=PageContext)


class Pages(Generic[Context]):
    """Opens a page's context and renders templates with the shared layout."""

    def __init__(self, kb: KnowledgeBase, templates: Jinja2Templates,
                 context: Callable[[Request, KnowledgeBase, Mapping[str, Any], dict[str, Any]],
                                   Context]) -> None:
        self.kb = kb
        self.templates = templates
        self._context = context
        i18n.install(templates.env)
        self._english: tuple[str | None, Mapping[str, Mapping[str, str]]] = (None, {})

    def english_labels(self, generation: str | None) -> Mapping[str, Mapping[str, str]]:
        """The graph's English labels of themes and countries, read once per generation."""
        if self._english[0] != generation or not self._english[1]:
            labels: dict[str, dict[str, str]] = {"theme": {}, "country": {}}
            for row in self.kb.query(_ENGLISH_LABELS).rows():
                labels[str(row["field"])][str(row["value"])] = str(row["label"])
            self._english = (generation, labels)
        return self._english[1]

    def begin(self, request: Request) -> Context | Response:
        """The page's context, or the home page of a data dir without a graph yet."""
        health = self.kb.health()
        if health["status"] != "ok":
            lang = i18n.request_language(request)
            response = self.templates.TemplateResponse(request, "home.html", {
                "lang": lang, "toggle": i18n.toggle_href(request, lang), "health": health})
            i18n.remember_choice(request, response, lang)
            return response
        return self._context(request, self.kb, self.english_labels(health.get("generation")),
                             health)

    def render(self, ctx: PageContext, template: str, context: dict[str, Any]) -> Response:
        response = self.templates.TemplateResponse(ctx.request, template, {
            "lang": ctx.lang, "toggle": ctx.toggle(), "health": ctx.health,
            "synthetic": ctx.health.get("synthetic_projects", 0),
            # a quick tier is served while the full index is computed (docs/search.md)
            "tier": ctx.kb.search_tier(),
            **context,
        })
        i18n.remember_choice(ctx.request, response, ctx.lang)
        return response

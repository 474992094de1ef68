"""What every HTML page shares: its language, display labels, entity links, and the one way a
page is rendered (base layout, language toggle, notices, remembered language).

:class:`Pages` is built by each router that serves pages (search, state of cooperation,
network, profiles), so they all open and render a page the same way; it keeps the graph's
labels of themes and countries once per served generation (``KnowledgeBase.memo``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from graph.namespaces import CL, THEME
from search_api.http import i18n
from search_api.http._entity_view import LinkMapper
from search_api.knowledge_base import KnowledgeBase

_GRAPH_LABELS = f"""
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?lang ?field ?value (SAMPLE(?l) AS ?label) WHERE {{
  {{ ?s skos:inScheme <{THEME.rstrip('/')}> ; skos:notation ?value ; skos:prefLabel ?l .
     BIND("theme" AS ?field) }}
  UNION
  {{ ?s a <{CL}Pays> ; <{CL}codeIso2> ?value ; skos:prefLabel ?l . BIND("country" AS ?field) }}
  BIND(IF(langMatches(lang(?l), "en"), "en", IF(langMatches(lang(?l), "fr"), "fr", "")) AS ?lang)
  FILTER(?lang != "")
}} GROUP BY ?lang ?field ?value
"""


def graph_labels(kb: KnowledgeBase) -> i18n.GraphLabels:
    """The graph's French and English labels of themes and countries (every country, not only
    those with projects: the world map names them all), read once per served generation."""

    def read() -> i18n.GraphLabels:
        labels: dict[str, dict[str, dict[str, str]]] = {}
        for row in kb.query(_GRAPH_LABELS).rows():
            by_field = labels.setdefault(str(row["lang"]), {})
            by_field.setdefault(str(row["field"]), {})[str(row["value"])] = str(row["label"])
        return labels

    return kb.memo("graph-labels", read)


class PageContext:
    """What every page of one request shares: language, labels and the entity links."""

    def __init__(self, request: Request, kb: KnowledgeBase, graph_labels: i18n.GraphLabels,
                 health: dict[str, Any]) -> None:
        self.request = request
        self.health = health
        self.lang = i18n.request_language(request)
        self.t = i18n.Translator(self.lang)
        self.kb = kb
        self.service = kb.search_service()
        self.labels = i18n.Labels(self.service.index.vocab, graph_labels, self.lang)
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
                 context: Callable[[Request, KnowledgeBase, i18n.GraphLabels, dict[str, Any]],
                                   Context]) -> None:
        self.kb = kb
        self.templates = templates
        self._context = context
        i18n.install(templates.env)
    def begin(self, request: Request) -> Context | Response:
        """The page's context, or the home page of a data dir without a graph yet."""
        health = self.kb.health()
        if health["status"] != "ok":
            lang = i18n.request_language(request)
            response = self.templates.TemplateResponse(request, "home.html", {
                "lang": lang, "toggle": i18n.toggle_href(request, lang), "health": health})
            i18n.remember_choice(request, response, lang)
            return response
        return self._context(request, self.kb, graph_labels(self.kb),
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

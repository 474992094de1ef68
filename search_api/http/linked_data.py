"""Dereferencing: every URI the graph mints answers under this server.

Choice (documented in docs/sparql.md): **direct content negotiation**, no 303 redirect.  The URI
of a thing and of its description are the same resource; ``GET /id/pays/ML`` answers 200 with
an HTML page for a browser or Turtle, N-Triples, JSON-LD or RDF/XML by ``Accept`` (or
``?format=``), always with ``Vary: Accept``.  One round trip instead of two, and the same
behaviour for every client.

What is served: instance URIs under the ``base_uri`` setting (``/id/…``, ``/graph/…``,
``/provenance/…``, ``/source/…``), the ontology (``/ontology``, whose terms are anchors of that
page), and the two concept schemes (``/theme``, ``/theme/{slug}``, ``/secteur-cad``,
``/secteur-cad/{code}``), whose URIs are fixed under w3id.org.  A description holds the
entity's own triples plus its incoming links (up to :data:`INCOMING_LIMIT`).

In a browser, an authority, a région or département, a foreign partner, a theme, a country or a
project is shown as a profile (:mod:`search_api.http.profile_pages`, issue 11); its triples —
and those of any other entity — are the « données brutes » view, ``?view=raw``.  Both pages
follow ``?lang=en|fr`` as the search pages do.

A path that cannot be part of an IRI (``/theme/%20``, ``/id/a%20b``, ``/graph/%22``) names
nothing in the graph: 404 in the project's error shape, checked before any query (issue 8).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from graph.errors import NotFound
from graph.namespaces import CL, DAC, RDF, THEME
from graph.store import GraphStore
from search_api.http import _negotiation as neg
from search_api.http._entity_view import EntityView, LinkMapper, build_views
from search_api.http._openapi import error_responses, media_responses
from search_api.http.profile_pages import RAW, Language, ProfilePages, alternates
from search_api.http.void import rdf_response
from search_api.knowledge_base import KnowledgeBase
from search_api.search.profiles import kind_of

#: Incoming links kept in a description (a country has thousands of projects pointing at it).
INCOMING_LIMIT = 1000
ONTOLOGY_IRI = CL.rstrip("#")
_INSTANCE_ROOTS = ("id", "graph", "provenance", "source")
#: what a dereferenceable URI answers (documented in the OpenAPI spec)
_RESPONSES = {
    **media_responses(["text/html", *neg.GRAPH_MEDIA.values()],
                      "Description HTML ou RDF (négociation de contenu)"),
    **error_responses(400, 404, 503),
}


def checked_iri(uri: str) -> ox.NamedNode:
    """``uri`` as a node, or :class:`NotFound` when it is no IRI (a space, ``{``, ``"``… in the
    path): such a URI is in no graph, and it must never reach a query text."""
    try:
        return ox.NamedNode(uri)
    except ValueError:
        shown = quote(uri[:300], safe=":/?#[]@!$&'()*+,;=%")  # one printable line
        raise NotFound(f"aucune ressource <{shown}> : ce n'est pas une IRI valide") from None


def _select(store: GraphStore, sparql: str) -> ox.QuerySolutions:
    result = store.query(sparql).result  # embedded or remote: pyoxigraph solutions
    assert isinstance(result, ox.QuerySolutions)
    return result


def describe(store: GraphStore, uri: str) -> tuple[list[ox.Triple], int]:
    """Triples about ``uri`` (outgoing, then at most :data:`INCOMING_LIMIT` incoming) and the
    total number of incoming links.  Raises :class:`NotFound` when the graph never mentions it."""
    node = checked_iri(uri)
    iri = str(node)  # <…>: a checked IRI cannot close the brackets early
    out = [ox.Triple(node, row["p"], row["o"])
           for row in _select(store, f"SELECT DISTINCT ?p ?o WHERE {{ {iri} ?p ?o }}")]
    incoming = [ox.Triple(row["s"], row["p"], node) for row in _select(
        store, f"SELECT DISTINCT ?s ?p WHERE {{ ?s ?p {iri} }} LIMIT {INCOMING_LIMIT + 1}")]
    total = len(incoming)
    if total > INCOMING_LIMIT:
        incoming = incoming[:INCOMING_LIMIT]
        count = next(iter(_select(store, "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p "
                                          f"WHERE {{ ?s ?p {iri} }} }}")))
        total = int(count["n"].value)
    if not out and not incoming:
        raise NotFound(f"aucune ressource <{uri}> dans le graphe")
    return out + incoming, total


def ontology_triples(store: GraphStore, graph: str) -> list[ox.Triple]:
    """Every triple of the ontology graph (the vocabulary as one document)."""
    found = list(store.query(
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}").triples())
    if not found:
        raise NotFound("l'ontologie n'est pas chargée dans ce graphe")
    return found


class LinkedData:
    """Builds descriptions and renders them as HTML or RDF for one knowledge base."""

    def __init__(self, kb: KnowledgeBase, templates: Jinja2Templates) -> None:
        self.kb = kb
        self.templates = templates
        self.base = kb.settings.base_uri.rstrip("/")
        self.links = LinkMapper(self.base)
        self.profiles = ProfilePages(kb, templates, self.links)

    def respond(self, request: Request, uri: str,
                collect: Callable[[GraphStore], tuple[list[ox.Triple], int]],
                *, focus: list[str] | None = None, profile: bool = True) -> Response:
        """Negotiate, then answer with the profile page, the raw page (``?view=raw``, or an
        entity without a profile) or the chosen RDF format."""
        explicit = request.query_params.get("format")
        offers = [("text/html", neg.HTML), *neg.graph_offers()]
        fmt = (neg.format_param(explicit, graph=True) if explicit
               else neg.negotiate(request.headers.get("accept"), offers)) or neg.HTML
        if fmt == neg.HTML and profile and request.query_params.get("view") != RAW:
            checked_iri(uri)  # before any query: a path that is no IRI names nothing (404)
            page = self.profiles.render(request, uri)
            if page is not None:
                return page
        triples, incoming_total = collect(self.kb.store())
        if fmt != neg.HTML:
            return rdf_response(triples, fmt)
        language = Language(request)
        views = build_views(self.kb.store(), triples, focus or [uri], self.links,
                            language.lang)
        types = {t.object.value for t in triples if isinstance(t.subject, ox.NamedNode)
                 and isinstance(t.object, ox.NamedNode)
                 and t.subject.value == uri and t.predicate.value == RDF + "type"}
        has_profile = profile and kind_of(uri, types) is not None
        return self.page(request, uri, views, incoming_total, language, has_profile)

    def page(self, request: Request, uri: str, views: list[EntityView], incoming_total: int,
             language: Language, has_profile: bool = False) -> Response:
        """The raw page (« données brutes »): every triple, labelled, with the counts of
        outgoing and incoming links it lists."""
        path = (self.links.href(uri) or request.url.path).split("#")[0]
        response = self.templates.TemplateResponse(request, "entity.html", {
            "uri": uri, "views": views, "incoming_total": incoming_total,
            "alternates": alternates(path), "lang": language.lang, "toggle": language.toggle(),
            "profile_href": path if has_profile else None,
        })
        return language.keep(response)


def linked_data_router(kb: KnowledgeBase, templates: Jinja2Templates) -> APIRouter:
    """Routes dereferencing the graph's URIs (see the module docstring)."""
    router = APIRouter()
    ld = LinkedData(kb, templates)

    def entity(request: Request, uri: str) -> Response:
        return ld.respond(request, uri, lambda store: describe(store, uri))

    for root in _INSTANCE_ROOTS:
        @router.get(f"/{root}/{{path:path}}", include_in_schema=root == "id",
                    summary="Déréférencer une entité du graphe", responses=_RESPONSES)
        def instance(request: Request, path: str) -> Response:
            """Page HTML (français) ou RDF de l'entité, par négociation de contenu."""
            return entity(request, ld.base + request.url.path)

    @router.get("/ontology", summary="L'ontologie cooplink", responses=_RESPONSES)
    def ontology(request: Request) -> Response:
        """L'ontologie (HTML ou RDF) ; chaque terme est une ancre de la page."""
        graph = kb.minter.graph("ontology")

        def collect(store: GraphStore) -> tuple[list[ox.Triple], int]:
            return ontology_triples(store, graph), 0

        terms = sorted({t.subject.value for t in ontology_triples(kb.store(), graph)
                        if isinstance(t.subject, ox.NamedNode) and t.subject.value.startswith(CL)})
        return ld.respond(request, ONTOLOGY_IRI, collect, focus=[ONTOLOGY_IRI, *terms],
                          profile=False)

    @router.get("/theme", summary="Schéma des thématiques", responses=_RESPONSES)
    def theme_scheme(request: Request) -> Response:
        return entity(request, THEME.rstrip("/"))

    @router.get("/theme/{slug}", summary="Une thématique", responses=_RESPONSES)
    def theme(request: Request, slug: str) -> Response:
        return entity(request, THEME + slug)

    @router.get("/secteur-cad", summary="Schéma des secteurs du CAD", responses=_RESPONSES)
    def dac_scheme(request: Request) -> Response:
        return entity(request, DAC.rstrip("/"))

    @router.get("/secteur-cad/{code}", summary="Un secteur du CAD", responses=_RESPONSES)
    def dac_sector(request: Request, code: str) -> Response:
        return entity(request, DAC + code)

    return router

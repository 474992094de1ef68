"""``/sparql``: the SPARQL 1.1 Protocol endpoint (read-only), its editor page and examples.

* Queries arrive by GET (``query=``), POST ``application/x-www-form-urlencoded`` or POST
  ``application/sparql-query``; ``default-graph-uri`` / ``named-graph-uri`` replace the dataset.
* The answer format follows ``format=`` (or ``output=``), else the ``Accept`` header, else JSON
  for SELECT/ASK and Turtle for CONSTRUCT/DESCRIBE.
* Updates (``update=``, ``application/sparql-update``, ``INSERT``, ``LOAD``, ``CLEAR``…) get 403,
  and so does ``SERVICE`` towards an endpoint outside the ``sparql_allowed_services`` setting
  (:mod:`graph.query_guard`; docs/security.md).
* Nothing that reads user input runs on the event loop: the body is bounded by
  :mod:`search_api.http._limits` before it is read, and decoding it, checking the query (size,
  nesting, form, ``SERVICE``) and the dataset IRIs run in the thread pool; parsing and
  evaluation run in :class:`graph.query_runner.QueryRunner` workers under the time limit, row
  and byte caps and memory ceiling of the settings.
* The endpoint's own URL (service description, base IRI of queries) is the configured
  ``public_url`` followed by ``/sparql``, never the ``Host`` header a client sends.
* ``GET /sparql`` without a query returns the SPARQL Service Description, or the YASGUI editor
  for a browser; ``/api/examples`` lists the example queries of ``search_api/http/examples/``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from graph import query_guard
from graph.errors import BadRequest, CooplinkError, Forbidden
from graph.evaluation import QueryAnswer, QueryRequest
from graph.namespaces import DCTERMS, PREFIXES, RDF, VOID, sparql_prologue
from graph.query_runner import QueryRunner
from graph.remote_runner import RemoteRunner
from search_api.http import _negotiation as neg
from search_api.http import i18n
from search_api.http._openapi import error_responses, media_responses
from search_api.http.void import SD, dataset_stats, rdf_response
from search_api.knowledge_base import KnowledgeBase
from search_api.search.sparql_functions import (
    calls_search,
    calls_similarity,
    embed_texts,
    refuse_remote,
    search_keys,
)

EXAMPLES_DIR = Path(__file__).parent / "examples"
FORMATS_NS = "http://www.w3.org/ns/formats/"
_RESULT_FORMATS = ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV",
                   "SPARQL_Results_TSV", "Turtle", "N-Triples", "JSON-LD", "RDF_XML")
_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
_TITLE = re.compile(r"^#\s*title-(fr|en)\s*:\s*(.+?)\s*$", re.MULTILINE)


class UnsupportedMediaType(CooplinkError):
    status = 415


@dataclass(frozen=True)
class Example:
    """One example query of ``search_api/http/examples/`` (file name without ``.rq`` as ``id``)."""

    id: str
    title_fr: str
    title_en: str
    query: str


def load_examples(directory: Path = EXAMPLES_DIR) -> list[Example]:
    """Every ``.rq`` file of ``directory``, titled by its ``# title-fr:``/``# title-en:`` lines."""
    out = []
    for path in sorted(directory.glob("*.rq")):
        text = path.read_text("utf-8")
        titles = dict(_TITLE.findall(text))
        out.append(Example(path.stem, titles.get("fr", path.stem), titles.get("en", path.stem),
                           text))
    return out


def make_runner(kb: KnowledgeBase) -> QueryRunner | RemoteRunner:
    """The worker pool of the endpoint, configured from ``kb.settings``.  Workers get no
    network at all unless a ``SERVICE`` endpoint is allowed (docs/security.md).  With a
    remote store (``sparql_endpoint``), its engine evaluates under the same rules and limits
    (:mod:`graph.remote_runner`, docs/deploy.md)."""
    s = kb.settings
    remote = kb.remote_store()
    if remote is not None:
        return RemoteRunner(remote, timeout=s.sparql_timeout, max_rows=s.sparql_max_rows,
                            max_bytes=s.sparql_max_answer_bytes, workers=s.sparql_workers,
                            queue=s.sparql_queue)
    return QueryRunner(lambda: kb.datadir.require_current().store_path, timeout=s.sparql_timeout,
                       max_rows=s.sparql_max_rows, max_bytes=s.sparql_max_answer_bytes,
                       workers=s.sparql_workers, spares=s.sparql_spare_workers,
                       queue=s.sparql_queue,
                       functions="search_api.search.sparql_functions:worker_functions",
                       in_memory=s.sparql_in_memory,
                       network=bool(s.sparql_allowed_services),
                       max_memory_mb=s.sparql_worker_max_memory_mb)


def public_endpoint(kb: KnowledgeBase) -> str:
    """The endpoint URL the service advertises: the configured public address
    (``public_url``, else ``http://host:port``), never the Host header."""
    return kb.settings.served_url() + "/sparql"


def _similarity_vectors(kb: KnowledgeBase, query: str) -> tuple[tuple[str, Any], ...]:
    """Texts passed to cl:similarity, embedded here once so workers need no encoder; and the
    search's ranking of every project for the texts of cl:searchScore / cl:closeMatch."""
    out: dict[str, Any] = {}
    if kb.remote_store() is not None:
        refuse_remote(query)  # evaluated in-process only: a clear 400 (docs/deploy.md)
        return ()
    if calls_similarity(query):
        out.update(embed_texts(query, kb.encoder()))
    if calls_search(query):
        out.update(search_keys(query, kb.search_service().ranking_keys))
    return tuple(out.items())


def _decode(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"{what} n'est pas en UTF-8 (octet {exc.start})") from None


def _pairs(raw: bytes, what: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(_decode(raw, what), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"{what} contient un encodage pourcent qui n'est pas de l'UTF-8") from exc


def protocol_params(
    method: str, url_query: bytes, content_type: str, body: bytes
) -> dict[str, list[str]]:
    """The protocol parameters of a request, from its URL and (for POST) its body.  Runs in
    the thread pool: the body is bounded (``http_max_body_bytes``) but decoding it is work."""
    params: dict[str, list[str]] = {}
    for key, value in _pairs(url_query, "l'URL"):
        params.setdefault(key, []).append(value)
    if method != "POST":
        return params
    media, *rest = [p.strip().lower() for p in content_type.split(";")]
    charset = next((p.split("=", 1)[1].strip('" ') for p in rest if p.startswith("charset=")),
                   "utf-8")
    if media == "application/sparql-update" or "update" in params:
        raise Forbidden("mise à jour refusée : ce point d'accès SPARQL est en lecture seule")
    if media == "application/x-www-form-urlencoded":
        for key, value in _pairs(body, "le corps de la requête"):
            params.setdefault(key, []).append(value)
    elif media == "application/sparql-query":
        if charset.replace("-", "") != "utf8":
            raise UnsupportedMediaType(f"encodage {charset} refusé : la requête doit être en UTF-8")
        params.setdefault("query", []).append(_decode(body, "le corps de la requête"))
    else:
        raise UnsupportedMediaType(
            "POST attend application/x-www-form-urlencoded ou application/sparql-query "
            f"(reçu : « {media or 'aucun type'} »)"
        )
    return params


def dataset_iris(params: dict[str, list[str]], name: str) -> tuple[str, ...]:
    """The ``default-graph-uri`` or ``named-graph-uri`` values, each checked to be an IRI
    (400 otherwise: the engine would fail on it)."""
    values = tuple(params.get(name, []))
    for value in values:
        try:
            ox.NamedNode(value)
        except ValueError:
            raise BadRequest(
                f"{name} « {value[:200]} » n'est pas une IRI absolue valide"
            ) from None
    return values


def _one(params: dict[str, list[str]], *names: str) -> str | None:
    values = [v for n in names for v in params.get(n, [])]
    return values[-1] if values else None


def _choose_format(accept: str | None, method: str, params: dict[str, list[str]],
                   graph: bool) -> str:
    explicit = _one(params, "format", "output")
    if explicit:
        return neg.format_param(explicit, graph=graph)
    offers = neg.graph_offers() if graph else neg.solution_offers()
    if method == "GET":
        offers = [*offers, ("text/html", neg.HTML)]
    return neg.negotiate(accept, offers) or ("ttl" if graph else "json")


def service_description(kb: KnowledgeBase, allowed: list[str]) -> list[ox.Triple]:
    """The SPARQL 1.1 Service Description of the endpoint, with its default dataset."""
    service = ox.NamedNode(public_endpoint(kb))

    def sd(local: str) -> ox.NamedNode:
        return ox.NamedNode(SD + local)

    a = ox.NamedNode(RDF + "type")
    out = [
        ox.Triple(service, a, sd("Service")),
        ox.Triple(service, sd("endpoint"), service),
        ox.Triple(service, sd("supportedLanguage"), sd("SPARQL11Query")),
        ox.Triple(service, sd("feature"), sd("UnionDefaultGraph")),
        ox.Triple(service, ox.NamedNode(DCTERMS + "title"),
                  ox.Literal("Point d'accès SPARQL de cooplink", language="fr")),
        ox.Triple(service, ox.NamedNode(DCTERMS + "title"),
                  ox.Literal("cooplink SPARQL endpoint", language="en")),
    ]
    if allowed:
        out.append(ox.Triple(service, sd("feature"), sd("BasicFederatedQuery")))
    out += [ox.Triple(service, sd("resultFormat"), ox.NamedNode(FORMATS_NS + f))
            for f in _RESULT_FORMATS]
    stats = dataset_stats(kb)
    dataset, default = ox.BlankNode("dataset"), ox.BlankNode("defaultGraph")
    triples_p = ox.NamedNode(VOID + "triples")
    out += [
        ox.Triple(service, sd("defaultDataset"), dataset),
        ox.Triple(dataset, a, sd("Dataset")),
        ox.Triple(dataset, sd("defaultGraph"), default),
        ox.Triple(default, a, sd("Graph")),
        ox.Triple(default, triples_p, ox.Literal(str(stats.triples), datatype=_INTEGER)),
    ]
    for i, (graph, count) in enumerate(sorted(stats.graphs.items())):
        named, inner = ox.BlankNode(f"named{i}"), ox.BlankNode(f"graph{i}")
        out += [
            ox.Triple(dataset, sd("namedGraph"), named),
            ox.Triple(named, a, sd("NamedGraph")),
            ox.Triple(named, sd("name"), ox.NamedNode(graph)),
            ox.Triple(named, sd("graph"), inner),
            ox.Triple(inner, a, sd("Graph")),
            ox.Triple(inner, triples_p, ox.Literal(str(count), datatype=_INTEGER)),
        ]
    return out


@dataclass(frozen=True)
class _Editor:
    """The request asks for the editor page (a browser), with this query if any."""

    query: str | None


@dataclass(frozen=True)
class _Description:
    """The request asks for the service description, in this RDF format."""

    format: str


def _evaluate(
    kb: KnowledgeBase, runner: QueryRunner | RemoteRunner, allowed: list[str], method: str,
    url_query: bytes, content_type: str, accept: str | None, body: bytes,
) -> QueryAnswer | _Editor | _Description:
    """Everything a request to ``/sparql`` does besides reading the body and rendering: read
    the protocol parameters, check the query (layer 1 of :mod:`graph.query_guard`) and the
    dataset IRIs, embed ``cl:similarity`` texts and evaluate in a worker.  One call in the
    thread pool, never on the event loop: each hop between the loop and a pool thread costs
    0.1 to 0.5 ms on a busy machine (GIL hand-over), and this used to take four (issue 13)."""
    params = protocol_params(method, url_query, content_type, body)
    if "update" in params or "using-graph-uri" in params or "using-named-graph-uri" in params:
        raise Forbidden("mise à jour refusée : ce point d'accès SPARQL est en lecture seule")
    queries = params.get("query", [])
    if len(queries) > 1:
        raise BadRequest("un seul paramètre « query » est permis par requête")
    if not queries:
        if method == "POST":
            raise BadRequest("paramètre « query » manquant")
        # no query: the editor for a browser, else the service description (RDF)
        fmt = _choose_format(accept, method, params, graph=True)
        return _Editor(None) if fmt == neg.HTML else _Description(fmt)
    query = queries[0]
    s = kb.settings
    endpoint_url = public_endpoint(kb)
    limits = query_guard.QueryLimits(s.sparql_max_query_bytes, s.sparql_max_nesting)
    shape = query_guard.check(query, allowed, limits, base=endpoint_url)
    default_graphs = dataset_iris(params, "default-graph-uri")
    named_graphs = dataset_iris(params, "named-graph-uri")
    fmt = _choose_format(accept, method, params, shape.returns_graph)
    if fmt == neg.HTML:
        return _Editor(query)
    is_graph = shape.returns_graph
    job = QueryRequest(
        query,
        solution_format=fmt if not is_graph else "json",
        graph_format=fmt if is_graph else "ttl",
        default_graphs=default_graphs,
        named_graphs=named_graphs,
        base_iri=endpoint_url,
        allowed_services=tuple(allowed),
        text_vectors=_similarity_vectors(kb, query),
    )
    return runner.run(job)


#: what GET/POST /sparql may answer besides 200 (documented in the OpenAPI spec)
_SPARQL_ERRORS = (400, 403, 413, 414, 415, 503)
_SPARQL_MEDIA = [*neg.SOLUTION_MEDIA.values(), *neg.GRAPH_MEDIA.values(), "text/html"]
_TEXT: dict[str, object] = {"type": "string"}
#: the SPARQL 1.1 Protocol parameters, read by hand from the URL and body (protocol_params)
_PARAMETERS: list[dict[str, object]] = [
    {"name": "query", "in": "query", "schema": _TEXT,
     "description": "La requête SPARQL (SELECT, ASK, CONSTRUCT, DESCRIBE)."},
    {"name": "default-graph-uri", "in": "query", "schema": _TEXT,
     "description": "Graphe par défaut du jeu de données (IRI ; répétable)."},
    {"name": "named-graph-uri", "in": "query", "schema": _TEXT,
     "description": "Graphe nommé du jeu de données (IRI ; répétable)."},
    {"name": "format", "in": "query", "schema": _TEXT,
     "description": "Format de la réponse (json, xml, csv, tsv, ttl, nt, jsonld, rdfxml), sinon "
                    "l'en-tête Accept."},
]
_BODY: dict[str, object] = {"required": True, "content": {
    "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
        "query": _TEXT, "default-graph-uri": _TEXT, "named-graph-uri": _TEXT, "format": _TEXT}}},
    "application/sparql-query": {"schema": _TEXT},
}}
_RESPONSES = {**media_responses(_SPARQL_MEDIA, "Résultats, description du service ou éditeur "
                                "(négociation de contenu)"),
              **error_responses(*_SPARQL_ERRORS)}


def _answer_headers(answer: QueryAnswer, runner: QueryRunner | RemoteRunner) -> dict[str, str]:
    headers = {"Vary": "Accept"}
    if answer.cut == "rows":
        headers["X-SPARQL-MaxRows"] = str(runner.max_rows)
    elif answer.cut == "bytes":
        headers["X-SPARQL-MaxBytes"] = str(runner.max_bytes)
    return headers


def sparql_router(kb: KnowledgeBase, runner: QueryRunner | RemoteRunner,
                  templates: Jinja2Templates) -> APIRouter:
    """Routes ``/sparql``, ``/api/examples`` and ``/api/prefixes``."""
    router = APIRouter()
    allowed = list(kb.settings.sparql_allowed_services)
    examples = load_examples()

    def editor(request: Request, query: str | None) -> Response:
        lang = i18n.request_language(request)
        response = templates.TemplateResponse(request, "sparql.html", {
            "lang": lang,
            "toggle": i18n.toggle_href(request, lang),
            "query": query or sparql_prologue() + "\nSELECT * WHERE {\n  ?s ?p ?o\n} LIMIT 10\n",
            "run": query is not None,
            "examples": [asdict(e) for e in examples],
            "prefixes": PREFIXES,
            "base_uri": kb.settings.base_uri.rstrip("/"),
            "timeout": runner.timeout,
            "max_rows": runner.max_rows,
            "max_url": kb.settings.http_max_url_bytes,  # longer share links use the fragment
        })
        i18n.remember_choice(request, response, lang)
        return response

    # one function, two documented operations (GET: parameters in the URL; POST: a body too)
    @router.get("/sparql", response_model=None, responses=_RESPONSES,
                summary="Point d'accès SPARQL 1.1 (lecture seule)",
                openapi_extra={"parameters": _PARAMETERS})
    @router.post("/sparql", response_model=None, responses=_RESPONSES,
                 summary="Point d'accès SPARQL 1.1 par POST (lecture seule)",
                 openapi_extra={"parameters": _PARAMETERS, "requestBody": _BODY})
    async def endpoint(request: Request) -> Response:
        """Évaluer une requête SPARQL 1.1 (protocole SPARQL : GET ou POST)."""
        body = await request.body() if request.method == "POST" else b""
        outcome = await run_in_threadpool(
            _evaluate, kb, runner, allowed, request.method,
            request.url.query.encode("latin-1", "replace"),
            request.headers.get("content-type", ""), request.headers.get("accept"), body)
        if isinstance(outcome, _Editor):
            return editor(request, outcome.query)
        if isinstance(outcome, _Description):
            # the counts may be computed on first use (~1 s at 13,000 projects): off the loop
            described = await run_in_threadpool(service_description, kb, allowed)
            return rdf_response(described, outcome.format)
        return Response(outcome.data, media_type=neg.content_type(outcome.format),
                        headers=_answer_headers(outcome, runner))

    @router.get("/api/examples", summary="Requêtes SPARQL d'exemple")
    def api_examples() -> JSONResponse:
        """Les requêtes d'exemple, titrées en français et en anglais."""
        return JSONResponse([asdict(e) for e in examples])

    @router.get("/api/prefixes", summary="Préfixes SPARQL déclarés par défaut")
    def api_prefixes() -> JSONResponse:
        """Préfixes connus du point d'accès (autocomplétion de l'éditeur, sans prefix.cc)."""
        return JSONResponse(PREFIXES)

    return router

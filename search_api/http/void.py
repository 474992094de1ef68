"""``/.well-known/void``: the VoID + DCAT description of the served dataset.

Counts (triples per named graph, entities per class, triples per property) are computed once per
store generation and kept in the generation folder (``void-stats.json``), so a rebuild — which
publishes a new generation — gets fresh numbers and a restart costs nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import Response

from graph.evaluation import prefixes_for
from graph.namespaces import CL, DCAT, DCTERMS, FOAF, PREFIXES, RDF, RDFS, VOID, XSD
from graph.store import GRAPH_FORMATS, GraphStore, OxigraphStore
from search_api.http import _negotiation as neg
from search_api.http._openapi import error_responses, media_responses
from search_api.knowledge_base import KnowledgeBase

STATS_FILE = "void-stats.json"
DUMPS = (("nt", "application/n-triples"), ("ttl", "text/turtle"))
#: Licences of the parts of the dataset (reference data: COG, IATI codelists).
LICENCE_OUVERTE = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
CC_BY = "https://creativecommons.org/licenses/by/4.0/"
_INTEGER = ox.NamedNode(XSD + "integer")
SD = "http://www.w3.org/ns/sparql-service-description#"


@dataclass
class DatasetStats:
    """Counts describing one store generation."""

    generation: str
    triples: int
    entities: int
    graphs: dict[str, int] = field(default_factory=dict)
    classes: dict[str, int] = field(default_factory=dict)
    properties: dict[str, int] = field(default_factory=dict)
    projects: int = 0
    synthetic_projects: int = 0
    built_at: str | None = None

    @property
    def vocabularies(self) -> list[str]:
        """Namespaces of the classes and properties used that are known vocabularies."""
        used = {*self.classes, *self.properties}
        return sorted(ns for ns in set(PREFIXES.values()) if any(t.startswith(ns) for t in used))


def _count_rows(store: GraphStore, sparql: str, scope: list[str] | None = None
                ) -> dict[str, int]:
    rows = store.query(sparql, default_graphs=scope).result
    assert isinstance(rows, ox.QuerySolutions)
    return {row[0].value: int(row[1].value) for row in rows}


def _compute(kb: KnowledgeBase) -> DatasetStats:
    gen = kb.datadir.require_current()
    store = kb.store()
    # The embedded store's default graph is the union of its named graphs; a remote server
    # also holds graphs of its own (Virtuoso's mapping metadata), so there the counts name
    # the dataset's graphs (slower, and computed once per generation).
    ours = store.named_graphs()
    scope = None if isinstance(store, OxigraphStore) else ours
    graphs = {g: n for g, n in _count_rows(
        store, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g").items()
        if g in ours}
    classes = _count_rows(
        store, "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c } GROUP BY ?c", scope)
    properties = _count_rows(
        store, "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p", scope)
    entities = store.query("SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c }",
                           default_graphs=scope).result
    assert isinstance(entities, ox.QuerySolutions)
    manifest = gen.manifest()
    return DatasetStats(
        generation=gen.id,
        triples=sum(graphs.values()),
        entities=int(next(iter(entities))[0].value),
        graphs=graphs,
        classes=classes,
        properties=properties,
        projects=int(manifest.get("projects", classes.get(CL + "Projet", 0))),
        synthetic_projects=int(manifest.get("synthetic_projects", 0)),
        built_at=manifest.get("built_at"),
    )


def dataset_stats(kb: KnowledgeBase) -> DatasetStats:
    """The counts of the served generation (computed on first use, then read from disk)."""
    gen = kb.datadir.require_current()
    path = gen.path / STATS_FILE
    try:
        return DatasetStats(**json.loads(path.read_text("utf-8")))
    except (FileNotFoundError, json.JSONDecodeError, TypeError):
        pass
    stats = _compute(kb)
    tmp = path.with_name(f".{STATS_FILE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(stats), ensure_ascii=False), "utf-8")
    os.replace(tmp, path)
    return stats


def rdf_response(
    triples: list[ox.Triple], fmt: str, headers: dict[str, str] | None = None
) -> Response:
    """Serialise ``triples`` in ``fmt`` (ttl, nt, jsonld, rdfxml) with the project prefixes."""
    known = {**PREFIXES, "void": VOID, "dcat": DCAT, "sd": SD}
    data = ox.serialize(triples, format=GRAPH_FORMATS[fmt], prefixes=prefixes_for(triples, known))
    return Response(bytes(data or b""), media_type=neg.content_type(fmt),
                    headers={"Vary": "Accept", **(headers or {})})


def _lit(value: Any, lang: str | None = None) -> ox.Literal:
    if isinstance(value, bool):
        return ox.Literal("true" if value else "false", datatype=ox.NamedNode(XSD + "boolean"))
    if isinstance(value, int):
        return ox.Literal(str(value), datatype=_INTEGER)
    return ox.Literal(str(value), language=lang) if lang else ox.Literal(str(value))


def void_triples(kb: KnowledgeBase, stats: DatasetStats, served_at: str) -> list[ox.Triple]:
    """VoID and DCAT description of the dataset, its graphs, classes, dumps and endpoint.

    What identifies things (the dataset, ``void:uriSpace``, the example resource) is under the
    stable ``base_uri``; what is a place to fetch from (SPARQL endpoint, dumps, home page) is
    where this server answers (``served_at``: the ``public_url`` setting), which may move.
    """
    base = kb.settings.base_uri.rstrip("/")
    here = served_at.rstrip("/")
    ds = ox.NamedNode(f"{base}/.well-known/void#cooplink")
    a = ox.NamedNode(RDF + "type")

    def v(local: str) -> ox.NamedNode:
        return ox.NamedNode(VOID + local)

    def d(local: str) -> ox.NamedNode:
        return ox.NamedNode(DCAT + local)

    def t(local: str) -> ox.NamedNode:
        return ox.NamedNode(DCTERMS + local)

    sparql = ox.NamedNode(f"{here}/sparql")
    synthetic = stats.synthetic_projects > 0
    out = [
        ox.Triple(ds, a, v("Dataset")),
        ox.Triple(ds, a, d("Dataset")),
        ox.Triple(ds, t("title"), _lit("Coopération décentralisée française (cooplink)", "fr")),
        ox.Triple(ds, t("title"), _lit("French decentralised cooperation (cooplink)", "en")),
        ox.Triple(ds, t("description"), _lit(
            "Graphe de connaissances des partenariats entre collectivités territoriales "
            "françaises et collectivités étrangères, de leurs projets et des acteurs."
            + (f" Attention : {stats.synthetic_projects} projets sur {stats.projects} sont "
               "synthétiques (corpus de démonstration généré)." if synthetic else ""), "fr")),
        ox.Triple(ds, t("license"), ox.NamedNode(LICENCE_OUVERTE)),
        ox.Triple(ds, t("source"), ox.NamedNode("https://www.insee.fr/fr/information/2560452")),
        ox.Triple(ds, t("source"), ox.NamedNode("https://iatistandard.org/fr/")),
        ox.Triple(ds, ox.NamedNode(CL + "synthetique"), _lit(synthetic)),
        ox.Triple(ds, v("sparqlEndpoint"), sparql),
        ox.Triple(ds, v("uriSpace"), _lit(f"{base}/id/")),
        ox.Triple(ds, v("triples"), _lit(stats.triples)),
        ox.Triple(ds, v("entities"), _lit(stats.entities)),
        ox.Triple(ds, v("classes"), _lit(len(stats.classes))),
        ox.Triple(ds, v("properties"), _lit(len(stats.properties))),
        ox.Triple(ds, v("exampleResource"), ox.NamedNode(CL.rstrip("#"))),
        ox.Triple(ds, ox.NamedNode(FOAF + "homepage"), ox.NamedNode(f"{here}/")),
    ]
    if stats.built_at:
        out.append(ox.Triple(ds, t("modified"), ox.Literal(
            stats.built_at, datatype=ox.NamedNode(XSD + "dateTime"))))
    service = ox.NamedNode(f"{here}/sparql#service")
    out += [
        ox.Triple(ds, d("accessService"), service),
        ox.Triple(service, a, d("DataService")),
        ox.Triple(service, d("endpointURL"), sparql),
        ox.Triple(service, t("conformsTo"), ox.NamedNode("https://www.w3.org/TR/sparql11-protocol/")),
    ]
    for fmt, media in DUMPS:
        url = ox.NamedNode(f"{here}/dumps/cooplink.{fmt}.gz")
        dist = ox.NamedNode(f"{here}/dumps/cooplink.{fmt}.gz#distribution")
        out += [
            ox.Triple(ds, v("dataDump"), url),
            ox.Triple(ds, d("distribution"), dist),
            ox.Triple(dist, a, d("Distribution")),
            ox.Triple(dist, d("downloadURL"), url),
            ox.Triple(dist, d("mediaType"), ox.NamedNode(f"https://www.iana.org/assignments/media-types/{media}")),
            ox.Triple(dist, d("compressFormat"), ox.NamedNode("https://www.iana.org/assignments/media-types/application/gzip")),
        ]
    out += [ox.Triple(ds, v("vocabulary"), ox.NamedNode(ns)) for ns in stats.vocabularies]
    for i, (cls, count) in enumerate(sorted(stats.classes.items())):
        part = ox.BlankNode(f"class{i}")
        out += [ox.Triple(ds, v("classPartition"), part),
                ox.Triple(part, v("class"), ox.NamedNode(cls)),
                ox.Triple(part, v("entities"), _lit(count))]
    for i, (prop, count) in enumerate(sorted(stats.properties.items())):
        part = ox.BlankNode(f"property{i}")
        out += [ox.Triple(ds, v("propertyPartition"), part),
                ox.Triple(part, v("property"), ox.NamedNode(prop)),
                ox.Triple(part, v("triples"), _lit(count))]
    for graph, count in sorted(stats.graphs.items()):
        sub = ox.NamedNode(graph)
        out += [ox.Triple(ds, v("subset"), sub), ox.Triple(sub, a, v("Dataset")),
                ox.Triple(sub, v("triples"), _lit(count)),
                ox.Triple(sub, ox.NamedNode(RDFS + "label"), _lit(graph.rsplit("/", 1)[-1], "fr"))]
        if graph.endswith("/graph/reference"):
            out += [ox.Triple(sub, t("license"), ox.NamedNode(LICENCE_OUVERTE)),
                    ox.Triple(sub, t("license"), ox.NamedNode(CC_BY))]
        if graph.endswith("/graph/synthetique"):
            out.append(ox.Triple(sub, ox.NamedNode(CL + "synthetique"), _lit(True)))
    return out


def void_router(kb: KnowledgeBase) -> APIRouter:
    """Route ``/.well-known/void`` (Turtle by default; N-Triples, JSON-LD, RDF/XML by Accept)."""
    router = APIRouter()

    @router.get("/.well-known/void", summary="Description VoID + DCAT du jeu de données",
                responses={**media_responses(neg.GRAPH_MEDIA.values(), "Description RDF"),
                           **error_responses(400, 503)})
    def void(request: Request, format: str | None = None) -> Response:
        """Description VoID et DCAT : titre, licence, point d'accès, dumps, comptes par classe."""
        fmt = (neg.format_param(format, graph=True) if format else
               neg.negotiate(request.headers.get("accept"), neg.graph_offers())) or "ttl"
        if fmt == neg.HTML:
            fmt = "ttl"
        # Where to fetch from is the configured public address, never the Host header.
        return rdf_response(void_triples(kb, dataset_stats(kb), kb.settings.served_url()), fmt)

    return router

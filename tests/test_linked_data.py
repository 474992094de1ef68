"""Linked data: every URI of the graph dereferences (HTML for people, RDF for programs), the
ontology and concept schemes too, VoID describes the dataset, and the dumps follow the store."""
# ruff: noqa: F811 - fixtures imported from fixtures_sparql are parameters of the tests

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
import rdflib
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fixtures_sparql import (  # noqa: F401 - fixtures
    PROJECTS,
    fixture_kb,
    publish_fixture_generation,
    server_url,
    sparql_app,
    sparql_kb,
)
from fixtures_virtuoso import BACKENDS, backend_client

from search_api.app import create_app
from search_api.knowledge_base import KnowledgeBase

#: The stable base of the instance URIs (issue 12), unlike the test servers' addresses.
BASE = "https://w3id.org/cooplink"
CL = rdflib.Namespace("https://w3id.org/cooplink/def#")
VOID = rdflib.Namespace("http://rdfs.org/ns/void#")
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
RDF_FORMATS = [("text/turtle", "turtle"), ("application/n-triples", "nt"),
               ("application/ld+json", "json-ld"), ("application/rdf+xml", "xml")]


@pytest.fixture(scope="module", params=BACKENDS)
def client(request: pytest.FixtureRequest, sparql_kb: KnowledgeBase,
           sparql_app: FastAPI) -> Iterator[TestClient]:
    """The API over the fixture graph, embedded and on Virtuoso (issue 13): every test that
    takes ``client`` runs on both backends."""
    with backend_client(request, sparql_kb, sparql_app) as test_client:
        yield test_client


def _graph(response: object, fmt: str = "turtle") -> rdflib.Graph:
    return rdflib.Graph().parse(data=response.content, format=fmt)  # type: ignore[attr-defined]


def test_a_browser_gets_a_french_page_with_properties_links_and_incoming_links(
    client: TestClient,
) -> None:
    profile = client.get("/id/pays/ML", headers=BROWSER)  # a profile (tests/test_profiles.py)
    assert profile.status_code == 200 and "Accept" in profile.headers["vary"]
    assert 'href="/id/pays/ML?view=raw"' in profile.text  # « données brutes », one click away
    page = client.get("/id/pays/ML?view=raw", headers=BROWSER)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Accept" in page.headers["vary"]
    html = page.text
    assert '<html lang="fr">' in html and "<h1>Mali</h1>" in html
    assert "code ISO alpha-2" in html and "MLI" in html  # property labels from the ontology
    assert "Liens entrants (9)" in html
    assert 'href="/id/projet/cl-001">Accès à l&#39;eau potable à Kayes' in html
    assert 'href="/ontology#Pays"' in html
    assert 'href="/id/pays/ML?format=ttl"' in html


def test_a_synthetic_project_says_so(client: TestClient) -> None:
    html = client.get("/id/projet/cl-005", headers=BROWSER).text
    assert "synthétique" in html
    assert 'href="/theme/sante">Santé' in html
    assert 'href="/id/commune/38185">Grenoble' in html


@pytest.mark.parametrize(("media", "rdflib_format"), RDF_FORMATS)
def test_rdf_by_content_negotiation_and_by_format_parameter(
    client: TestClient, media: str, rdflib_format: str
) -> None:
    project = rdflib.URIRef(f"{BASE}/id/projet/cl-001")
    by_accept = client.get("/id/projet/cl-001", headers={"accept": media})
    short = {"text/turtle": "ttl", "application/n-triples": "nt", "application/ld+json": "jsonld",
             "application/rdf+xml": "rdfxml"}[media]
    by_param = client.get(f"/id/projet/cl-001?format={short}", headers=BROWSER)
    for response in (by_accept, by_param):
        assert response.status_code == 200
        assert response.headers["content-type"].split(";")[0] == media
        graph = _graph(response, rdflib_format)
        assert (project, CL.pays, rdflib.URIRef(f"{BASE}/id/pays/ML")) in graph
        assert (project, rdflib.RDF.type, CL.Projet) in graph


def test_rdf_description_includes_incoming_links(client: TestClient) -> None:
    graph = _graph(client.get("/id/commune/35238", headers={"accept": "text/turtle"}))
    rennes = rdflib.URIRef(f"{BASE}/id/commune/35238")
    assert (rdflib.URIRef(f"{BASE}/reseau/cites-unies-france".replace("/reseau", "/id/reseau")),
            rdflib.URIRef("http://www.w3.org/ns/org#hasMember"), rennes) in graph
    assert len(set(graph.subjects(CL.collectiviteFrancaise, rennes))) >= 3


def test_unknown_uri_is_a_404_in_the_clients_language(client: TestClient) -> None:
    as_json = client.get("/id/projet/inexistant", headers={"accept": "text/turtle"})
    assert as_json.status_code == 404 and "aucune ressource" in as_json.json()["error"]
    as_html = client.get("/id/projet/inexistant", headers=BROWSER)
    assert as_html.status_code == 404 and "Erreur 404" in as_html.text


def test_every_minted_uri_dereferences(client: TestClient, sparql_kb: KnowledgeBase) -> None:
    rows = sparql_kb.query(
        "SELECT DISTINCT ?s WHERE { { ?s ?p ?o } UNION { ?x ?p ?s } FILTER(isIRI(?s)) "
        f"FILTER(STRSTARTS(STR(?s), '{BASE}/')) "
        "FILTER(!CONTAINS(STR(?s), '#') && !STRSTARTS(STR(?s), 'https://w3id.org/cooplink/def/')) }"
    ).rows()  # the ontology's versionIRI is an identifier, not a document of this server
    uris = sorted(str(r["s"]) for r in rows)
    assert len(uris) > 100
    for uri in uris:
        # instances, graphs, themes and DAC sectors by their path; the ontology at /ontology
        path = "/ontology" if uri == f"{BASE}/def" else uri.removeprefix(BASE)
        response = client.get(path, headers={"accept": "application/n-triples"})
        assert response.status_code == 200, uri
        assert f"<{uri}>".encode() in response.content or path == "/ontology", uri


def test_stable_uris_dereference_by_path_on_a_server_elsewhere(server_url: str) -> None:
    """A real server on 127.0.0.1:<port>, not at the URIs' base: ``/id/projet/…`` still answers
    with the description of ``https://w3id.org/cooplink/id/projet/…``."""
    assert not BASE.startswith(server_url)
    turtle = httpx.get(f"{server_url}/id/projet/cl-001", headers={"accept": "text/turtle"})
    assert turtle.status_code == 200
    graph = _graph(turtle)
    assert (rdflib.URIRef(f"{BASE}/id/projet/cl-001"), rdflib.RDF.type, CL.Projet) in graph
    assert "127.0.0.1" not in turtle.text
    graph_uri = httpx.get(f"{server_url}/graph/synthetique", headers={"accept": "text/turtle"})
    assert graph_uri.status_code == 200


def test_html_links_stay_on_this_server(client: TestClient) -> None:
    """The page shows the stable URI, but every link to an entity is a local path."""
    html = client.get("/id/projet/cl-001", headers=BROWSER).text
    assert f"{BASE}/id/projet/cl-001" in html  # the identifier, as text
    assert 'href="/id/pays/ML"' in html and 'href="/ontology#Projet"' in html
    assert 'href="/theme/' in html
    assert f'href="{BASE}' not in html and 'href="https://w3id.org' not in html


def test_sparql_results_carry_the_stable_uris(client: TestClient) -> None:
    response = client.get("/sparql", headers={"accept": "application/sparql-results+json"},
                          params={"query": "SELECT ?p WHERE { ?p a cl:Projet } LIMIT 3"})
    uris = [b["p"]["value"] for b in response.json()["results"]["bindings"]]
    assert len(uris) == 3 and all(u.startswith(f"{BASE}/id/projet/") for u in uris)


def _w3id_rules() -> list[tuple[re.Pattern[str], str]]:
    """The RewriteRules of the .htaccess that docs/uris.md asks a deployment to register."""
    text = (Path(__file__).parent.parent / "docs" / "uris.md").read_text("utf-8")
    block = text.split("```apache", 1)[1].split("```", 1)[0]
    rules = re.findall(r"^RewriteRule (\S+) (\S+) \[", block, flags=re.MULTILINE)
    assert len(rules) >= 4
    return [(re.compile(pattern), target) for pattern, target in rules]


def _redirect(rules: list[tuple[re.Pattern[str], str]], uri: str) -> str:
    """Where w3id.org sends ``uri`` (Apache: the path below /cooplink/, $n back-references)."""
    path = uri.removeprefix(f"{BASE}/").split("#", 1)[0]
    for pattern, target in rules:
        found = pattern.match(path)
        if found:
            groups = ("", *(g or "" for g in found.groups()))
            return re.sub(r"\$(\d)", lambda m, g=groups: g[int(m.group(1))], target)
    raise AssertionError(f"aucune règle pour {uri}")


def test_the_documented_w3id_redirect_lands_on_served_paths(client: TestClient) -> None:
    rules = _w3id_rules()
    deployment = "https://cooplink.example.org"
    for uri in (f"{BASE}/id/projet/cl-001", f"{BASE}/id/pays/ML", f"{BASE}/graph/synthetique",
                f"{BASE}/def", f"{BASE}/def#Projet", f"{BASE}/def/0.1.0",
                f"{BASE}/theme/sante", f"{BASE}/theme", f"{BASE}/secteur-cad/14030",
                f"{BASE}/.well-known/void"):
        target = _redirect(rules, uri)
        assert target.startswith(deployment + "/"), (uri, target)
        response = client.get(target.removeprefix(deployment), headers={"accept": "text/turtle"})
        assert response.status_code == 200, (uri, target)


def test_ontology_page_and_document(client: TestClient) -> None:
    html = client.get("/ontology", headers=BROWSER).text
    assert 'id="Projet"' in html and 'id="collectiviteFrancaise"' in html
    assert "Ontologie cooplink de la coopération décentralisée" in html
    graph = _graph(client.get("/ontology", headers={"accept": "text/turtle"}))
    assert (rdflib.URIRef("https://w3id.org/cooplink/def"), rdflib.RDF.type,
            rdflib.OWL.Ontology) in graph
    label = rdflib.Literal("projet de coopération", lang="fr")
    assert (CL.Projet, rdflib.RDFS.label, label) in graph


def test_concept_schemes_dereference(client: TestClient) -> None:
    sante = _graph(client.get("/theme/sante", headers={"accept": "text/turtle"}))
    theme = rdflib.URIRef("https://w3id.org/cooplink/theme/sante")
    assert (theme, rdflib.SKOS.prefLabel, rdflib.Literal("Santé", lang="fr")) in sante
    scheme = client.get("/theme", headers=BROWSER).text
    assert "Eau et assainissement" in scheme and 'href="/theme/eau-assainissement"' in scheme
    sector = client.get("/secteur-cad/14030", headers=BROWSER).text
    assert "Eau potable et assainissement de base" in sector
    assert 'href="/secteur-cad/140"' in sector
    assert client.get("/secteur-cad", headers=BROWSER).status_code == 200


def test_void_describes_the_dataset(client: TestClient, sparql_kb: KnowledgeBase) -> None:
    response = client.get("/.well-known/void")
    assert response.headers["content-type"].startswith("text/turtle")
    graph = _graph(response)
    ds = next(graph.subjects(rdflib.RDF.type, VOID.Dataset))
    assert (ds, rdflib.RDF.type, DCAT.Dataset) in graph
    # identifiers under the stable base; places to fetch from at the configured public
    # address (public_url, else http://host:port) — never the Host header of the request
    assert str(ds) == f"{BASE}/.well-known/void#cooplink"
    assert graph.value(ds, VOID.uriSpace) == rdflib.Literal(f"{BASE}/id/")
    here = sparql_kb.settings.served_url()
    assert "testserver" not in response.text
    assert graph.value(ds, VOID.sparqlEndpoint) == rdflib.URIRef(f"{here}/sparql")
    dumps = {str(d) for d in graph.objects(ds, VOID.dataDump)}
    assert dumps == {f"{here}/dumps/cooplink.nt.gz", f"{here}/dumps/cooplink.ttl.gz"}
    assert graph.value(ds, rdflib.DCTERMS.license) is not None
    assert any(lit.language == "fr" for lit in graph.objects(ds, rdflib.DCTERMS.title))
    assert graph.value(ds, CL.synthetique).toPython() is True
    assert int(graph.value(ds, VOID.triples)) == sparql_kb.store().triple_count()
    projects = next(p for p in graph.objects(ds, VOID.classPartition)
                    if graph.value(p, VOID["class"]) == CL.Projet)
    assert int(graph.value(projects, VOID.entities)) == PROJECTS
    vocabularies = {str(v) for v in graph.objects(ds, VOID.vocabulary)}
    assert {str(CL), "http://www.w3.org/2004/02/skos/core#", "http://www.w3.org/ns/org#"} \
        <= vocabularies
    as_jsonld = client.get("/.well-known/void", headers={"accept": "application/ld+json"})
    assert len(_graph(as_jsonld, "json-ld")) == len(graph)


def _dump_triples(client: TestClient, fmt: str) -> set[str]:
    response = client.get(f"/dumps/cooplink.{fmt}.gz")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/gzip"
    data = gzip.decompress(response.content)
    rdf_format = ox.RdfFormat.N_TRIPLES if fmt == "nt" else ox.RdfFormat.TURTLE
    return {str(ox.Triple(q.subject, q.predicate, q.object))
            for q in ox.parse(data, format=rdf_format)}


def test_dumps_hold_the_whole_graph_and_follow_a_rebuild(tmp_path: Path) -> None:
    """The hand-made generations here have no dumps (as if built by an older version): the
    first download writes them.  Builds write them themselves (tests/test_dumps.py)."""
    kb = fixture_kb(tmp_path)
    app = create_app(kb)
    with TestClient(app) as test_client:
        nt, ttl = _dump_triples(test_client, "nt"), _dump_triples(test_client, "ttl")
        distinct = kb.query("SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o "
                            "WHERE { ?s ?p ?o } }").rows()[0]["n"]
        assert nt == ttl and len(nt) == distinct
        assert any("Côte" in t or "Sénégal" in t for t in nt)
        # a new triple, and one the reference graph already holds (written once in the dump)
        extra = ('<http://x/s> <http://x/p> "neuf" .\n'
                 f'<{BASE}/id/pays/ML> <http://www.w3.org/2000/01/rdf-schema#label> "Mali"@fr .')
        publish_fixture_generation(tmp_path, {"http://x/g": extra.encode()})
        rebuilt = _dump_triples(test_client, "nt")
        assert '<http://x/s> <http://x/p> "neuf"' in rebuilt and len(rebuilt) == len(nt) + 1
        assert test_client.get("/dumps/cooplink.rdf.gz").status_code == 404
    app.state.query_runner.close()

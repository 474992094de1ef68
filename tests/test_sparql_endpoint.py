"""The /sparql endpoint as a researcher's client sees it: protocol, formats, safety, limits."""
# ruff: noqa: F811 - fixtures imported from fixtures_sparql are parameters of the tests

from __future__ import annotations

import csv
import io
import json
import threading
import urllib.error
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from SPARQLWrapper import CSV, GET, JSON, JSONLD, POST, RDFXML, TSV, TURTLE, XML, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

from graph import query_guard
from graph.evaluation import french_syntax_error
from search_api.app import create_app
from search_api.knowledge_base import KnowledgeBase

PROJECT_TITLES = "SELECT ?p ?t WHERE { ?p a cl:Projet ; rdfs:label ?t } ORDER BY ?t"
COUNTRIES = "CONSTRUCT { ?c a cl:Pays ; rdfs:label ?l } WHERE { ?c a cl:Pays ; rdfs:label ?l }"
ENDLESS = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . "
           "?m ?n0 ?o }")
SRX = "{http://www.w3.org/2005/sparql-results#}"


@pytest.fixture(scope="module", params=BACKENDS)
def client(request: pytest.FixtureRequest, sparql_kb: KnowledgeBase,
           sparql_app: FastAPI) -> Iterator[TestClient]:
    """The endpoint over the fixture graph, embedded and on Virtuoso (issue 13): the same
    protocol, formats, guard and errors on both backends."""
    with backend_client(request, sparql_kb, sparql_app) as test_client:
        yield test_client


def _bindings(response: object) -> list[dict[str, dict[str, str]]]:
    data = json.loads(response.content)  # type: ignore[attr-defined]
    rows: list[dict[str, dict[str, str]]] = data["results"]["bindings"]
    return rows


# ------------------------------------------------------------------ protocol
def test_get_post_form_and_post_direct_give_the_same_answer(client: TestClient) -> None:
    by_get = client.get("/sparql", params={"query": PROJECT_TITLES})
    by_form = client.post("/sparql", data={"query": PROJECT_TITLES})
    by_body = client.post("/sparql", content=PROJECT_TITLES.encode(),
                          headers={"content-type": "application/sparql-query"})
    assert by_get.status_code == by_form.status_code == by_body.status_code == 200
    assert by_get.headers["content-type"] == "application/sparql-results+json"
    assert by_get.content == by_form.content == by_body.content
    titles = [row["t"]["value"] for row in _bindings(by_get)]
    assert len(titles) == PROJECTS
    assert "Accès à l'eau potable à Kayes" in titles  # UTF-8 intact


@pytest.mark.parametrize(("fmt", "media"), [
    ("json", "application/sparql-results+json"),
    ("xml", "application/sparql-results+xml"),
    ("csv", "text/csv"),
    ("tsv", "text/tab-separated-values"),
])
def test_select_in_each_format_by_accept_and_by_format_parameter(
    client: TestClient, fmt: str, media: str
) -> None:
    by_accept = client.get("/sparql", params={"query": PROJECT_TITLES}, headers={"accept": media})
    by_param = client.get("/sparql", params={"query": PROJECT_TITLES, "format": fmt},
                          headers={"accept": "application/rdf+xml"})
    for response in (by_accept, by_param):
        assert response.status_code == 200
        assert response.headers["content-type"].split(";")[0] == media
        assert "Accept" in response.headers["vary"]
    body = by_accept.content.decode("utf-8")
    if fmt == "json":
        assert len(json.loads(body)["results"]["bindings"]) == PROJECTS
    elif fmt == "xml":
        assert len(ET.fromstring(body).findall(f"{SRX}results/{SRX}result")) == PROJECTS
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(body)))
        assert rows[0] == ["p", "t"] and len(rows) == PROJECTS + 1
    else:
        assert body.splitlines()[0] == "?p\t?t" and len(body.splitlines()) == PROJECTS + 1


@pytest.mark.parametrize(("fmt", "media", "rdflib_format"), [
    ("ttl", "text/turtle", "turtle"),
    ("nt", "application/n-triples", "nt"),
    ("jsonld", "application/ld+json", "json-ld"),
    ("rdfxml", "application/rdf+xml", "xml"),
])
def test_construct_in_each_rdf_format(client: TestClient, fmt: str, media: str,
                                      rdflib_format: str) -> None:
    response = client.get("/sparql", params={"query": COUNTRIES}, headers={"accept": media})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media
    graph = rdflib.Graph().parse(data=response.content, format=rdflib_format)
    assert len(graph) == 14  # 7 countries, a type and a label each
    labels = {str(o) for o in graph.objects(None, rdflib.RDFS.label)}
    assert "Sénégal" in labels


def test_describe_and_ask(client: TestClient) -> None:
    described = client.get("/sparql", params={"query": "DESCRIBE <https://w3id.org/cooplink/id/pays/SN>"})
    assert described.headers["content-type"].startswith("text/turtle")
    assert "Sénégal" in described.text
    asked = client.post("/sparql", data={"query": "ASK { ?p cl:pays ?c . ?c cl:codeIso2 'VN' }"})
    assert asked.json() == {"head": {}, "boolean": True}


def test_protocol_dataset_replaces_the_default_graph(client: TestClient) -> None:
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?p a cl:Projet }"
    reference = "https://w3id.org/cooplink/graph/reference"
    everything = _bindings(client.get("/sparql", params={"query": query}))
    restricted = _bindings(client.get("/sparql", params={"query": query,
                                                         "default-graph-uri": reference}))
    assert everything[0]["n"]["value"] == str(PROJECTS)
    assert restricted[0]["n"]["value"] == "0"  # the projects are in the synthetique graph
    named = client.get("/sparql", params={
        "query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
        "named-graph-uri": reference})
    assert [r["g"]["value"] for r in _bindings(named)] == [reference]


def test_unknown_format_is_a_400_naming_the_choices(client: TestClient) -> None:
    response = client.get("/sparql", params={"query": COUNTRIES, "format": "csv"})
    assert response.status_code == 400
    assert "ttl" in response.json()["error"]


def test_service_description_when_there_is_no_query(client: TestClient) -> None:
    response = client.get("/sparql", headers={"accept": "text/turtle"})
    assert response.status_code == 200
    graph = rdflib.Graph().parse(data=response.content, format="turtle")
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    service = next(graph.subjects(rdflib.RDF.type, sd.Service))
    assert str(graph.value(service, sd.endpoint)).endswith("/sparql")
    names = {str(n) for n in graph.objects(None, sd.name)}
    assert "https://w3id.org/cooplink/graph/synthetique" in names


def test_a_browser_gets_the_editor_with_examples_and_local_yasgui(client: TestClient) -> None:
    page = client.get("/sparql", headers={"accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/static/yasgui/yasgui.min.js" in page.text
    assert "Pays classés par nombre de projets" in page.text
    assert "PREFIX cl: \\u003chttps://w3id.org/cooplink/def#\\u003e" in page.text  # JSON-escaped
    assert "lov.linkeddata" not in page.text and "cdn" not in page.text.lower()
    assert client.get("/static/yasgui/yasgui.min.js").status_code == 200
    assert client.get("/static/yasgui/LICENSE").status_code == 200
    assert client.get("/api/prefixes").json()["cl"] == "https://w3id.org/cooplink/def#"


def _editor_config(client: TestClient, **params: str) -> dict[str, object]:
    page = client.get("/sparql", params=params, headers={"accept": "text/html"}).text
    start = page.index('<script id="editor-config" type="application/json">')
    found: dict[str, object] = json.loads(page[page.index(">", start) + 1:
                                                page.index("</script>", start)])
    return found


def test_the_editor_opens_on_the_query_of_its_url(client: TestClient,
                                                  sparql_kb: KnowledgeBase) -> None:
    # what a share link (/sparql?query=…) restores: that query, run at once
    query = "SELECT * WHERE { ?s ?p ?o } LIMIT 3 # </script><b>"
    config = _editor_config(client, query=query)
    assert config["query"] == query and config["run"] is True
    assert config["maxUrl"] == sparql_kb.settings.http_max_url_bytes  # longer: after « # »
    assert _editor_config(client)["run"] is False
    # the editor's error display, in the page's language ({…}: filled by /static/sparql.js)
    assert config["strings"] == {"error": "Erreur {status} : {message}",
                                 "invalid": "Ligne invalide. Attendu :"}
    english = _editor_config(client, lang="en")["strings"]
    assert english == {"error": "Error {status}: {message}",
                       "invalid": "This line is invalid. Expected:"}
    client.cookies.clear()
    assert client.get("/static/sparql.js").status_code == 200


def test_examples_are_listed_with_french_and_english_titles(client: TestClient) -> None:
    examples = client.get("/api/examples").json()
    assert len(examples) >= 15
    for ex in examples:
        assert ex["title_fr"] != ex["id"] and ex["title_en"] != ex["id"], ex["id"]
        assert ex["query"].lstrip().startswith("# title-fr:")


# ------------------------------------------------------------------ safety
@pytest.mark.parametrize("request_kwargs", [
    {"method": "GET", "params": {"update": "CLEAR ALL"}},
    {"method": "POST", "data": {"update": "DROP ALL"}},
    {"method": "POST", "content": b"CLEAR DEFAULT",
     "headers": {"content-type": "application/sparql-update"}},
    {"method": "GET", "params": {"query": "INSERT DATA { <http://x/a> <http://x/b> 1 }"}},
    {"method": "GET", "params": {"query": "PREFIX x: <http://x/>\nLOAD <http://example.org/x.ttl>"}},
    {"method": "POST", "data": {"query": "# commentaire\nCLEAR GRAPH <http://x/g>"}},
    {"method": "POST", "data": {"query": "DELETE WHERE { ?s ?p ?o }"}},
])
def test_updates_are_refused_with_403_and_a_one_line_reason(
    client: TestClient, request_kwargs: dict[str, object]
) -> None:
    response = client.request(url="/sparql", **request_kwargs)  # type: ignore[arg-type]
    assert response.status_code == 403
    assert "lecture seule" in response.json()["error"]
    assert "\n" not in response.json()["error"]
    count = client.get("/sparql", params={"query": "SELECT (COUNT(*) AS ?n) { ?p a cl:Projet }"})
    assert _bindings(count)[0]["n"]["value"] == str(PROJECTS)


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }",
    "SELECT * WHERE { SERVICE SILENT <http://example.org/sparql> { ?s ?p ?o } }",
    "PREFIX ex: <http://example.org/>\nSELECT * WHERE { SERVICE ex:sparql { ?s ?p ?o } }",
    "SELECT * WHERE { BIND(<http://example.org/sparql> AS ?e) SERVICE ?e { ?s ?p ?o } }",
    "select * where { service<http://127.0.0.1:1/sparql>{ ?s ?p ?o } }",
])
def test_service_is_refused_unless_allowed(client: TestClient, query: str) -> None:
    response = client.get("/sparql", params={"query": query})
    assert response.status_code == 403
    assert "SERVICE" in response.json()["error"]


def test_service_in_a_string_or_comment_is_harmless(client: TestClient) -> None:
    query = ('# SERVICE <http://example.org/sparql>\n'
             'SELECT ?x WHERE { BIND("SERVICE <http://example.org/>" AS ?x) }')
    assert client.get("/sparql", params={"query": query}).status_code == 200


@pytest.mark.parametrize(("query", "form", "services"), [
    ("SELECT * { ?s <http://x/SERVICE> ?o }", "select", []),
    ("SELECT ?service { ?service ?p ?o }", "select", []),
    ('SELECT * { BIND("a\\" SERVICE <http://e/>" AS ?x) }', "select", []),
    ("SELECT * { BIND('''x\n SERVICE <http://e/> ''' AS ?x) }", "select", []),
    ("PREFIX e: <http://e/>\nSELECT * { SERVICE e:s { ?a ?b ?c } }", "select", ["http://e/s"]),
    ("SELECT * { SERVICE <http://e\\u002Fs> { ?a ?b ?c } }", "select", ["http://e/s"]),
    ("BASE <http://b/> PREFIX a: <http://a/> CONSTRUCT WHERE { ?s a:p ?o }", "construct", []),
    ("# SELECT\n  describe <http://x>", "describe", []),
])
def test_the_guard_reads_forms_and_service_targets_like_the_grammar(
    query: str, form: str, services: list[str]
) -> None:
    found = query_guard.shape(query)
    assert (found.form, found.services) == (form, services)


def test_malformed_query_gets_400_with_the_parser_message_and_position(client: TestClient) -> None:
    response = client.get("/sparql", params={"query": "SELECT ?s WHERE {\n  ?s ?p \n}"})
    assert response.status_code == 400
    message = response.json()["error"]
    assert message.startswith("requête SPARQL invalide")
    # line 3, where the object is missing: the embedded engine's words put in French, or
    # Virtuoso's own
    assert (message.startswith("requête SPARQL invalide : ligne 3, colonne 2 : attendu")
            or "at 3:" in message or "line 3:" in message)


@pytest.mark.parametrize(("query", "french"), [
    ("SELEC * WHERE { ?s ?p ?o }", "ligne 1, colonne 10 : attendu : CONSTRUCT"),
    ("SELECT * WHERE { ?s ?p }",
     "ligne 1, colonne 25 : attendu : l'un de LATERAL, SERVICE, un caractère"),
    ("SELECT * { ?s ?p ?o } LIMIT x",
     "ligne 1, colonne 29 : attendu : l'un de HAVING, OFFSET, OPTIONAL, VALUES, un chiffre"),
    ("ASK { <not an iri> ?p ?o }", "ligne 1, colonne 19 : attendu : une IRI valide"),
    ("", "ligne 1, colonne 1 : attendu : un caractère"),
])
def test_the_parser_message_is_in_french(query: str, french: str) -> None:
    with pytest.raises(SyntaxError) as caught:
        ox.Store().query(query)
    assert french_syntax_error(str(caught.value)) == french


def test_an_unbound_select_variable_is_named_in_french() -> None:
    with pytest.raises(SyntaxError) as caught:
        ox.Store().query("SELECT ?x WHERE { ?s ?p ?o } GROUP BY ?s")
    message = french_syntax_error(str(caught.value))
    assert "une variable du SELECT hors du GROUP BY" in message
    assert "..=" not in message and "expected" not in message and "\\u{" not in message


@pytest.mark.parametrize(("kwargs", "status"), [
    ({"method": "POST", "content": b"query=ASK%20%7B%7D"}, 415),
    ({"method": "POST", "content": b"ASK {}", "headers": {"content-type": "text/plain"}}, 415),
    ({"method": "POST", "content": "ASK {}".encode("utf-16"),
      "headers": {"content-type": "application/sparql-query; charset=UTF-16"}}, 415),
    ({"method": "POST", "content": b"ASK { \xff }",
      "headers": {"content-type": "application/sparql-query"}}, 400),
    ({"method": "GET", "url": "/sparql?query=ASK%20%7B%FF%7D"}, 400),
    ({"method": "GET", "url": "/sparql?query=ASK%20%7B%7D&query=ASK%20%7B%7D"}, 400),
    ({"method": "POST", "data": {"format": "json"}}, 400),
    ({"method": "PUT", "url": "/sparql?query=ASK%20%7B%7D"}, 405),
])
def test_protocol_errors_are_4xx(
    client: TestClient, kwargs: dict[str, object], status: int
) -> None:
    kwargs = {"url": "/sparql", **kwargs}
    assert client.request(**kwargs).status_code == status  # type: ignore[arg-type]


def test_cors_for_browser_clients_on_other_origins(client: TestClient) -> None:
    origin = {"origin": "https://chercheuse.example"}
    got = client.get("/sparql", params={"query": "ASK {}"}, headers=origin)
    assert got.headers["access-control-allow-origin"] == "*"
    preflight = client.options("/sparql", headers={
        **origin, "access-control-request-method": "POST",
        "access-control-request-headers": "content-type"})
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["access-control-allow-methods"]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=200),
       accept=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
       fmt=st.sampled_from(["", "json", "xml", "csv", "ttl", "html", "nope", "text/turtle"]))
def test_no_input_produces_a_500(sparql_app: FastAPI, query: str, accept: str, fmt: str) -> None:
    fuzz = TestClient(sparql_app, raise_server_exceptions=False)  # no lifespan per example
    params = {"query": query, **({"format": fmt} if fmt else {})}
    for response in (fuzz.get("/sparql", params=params, headers={"accept": accept}),
                     fuzz.post("/sparql", data=params, headers={"accept": accept})):
        assert response.status_code < 500 or response.status_code == 503, response.text


# ------------------------------------------------------------------ limits
@pytest.fixture(scope="module", params=BACKENDS)
def limited(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """An endpoint with a 1-second limit, a 5-row cap and one worker per query slot, on each
    backend."""
    kb = fixture_kb(tmp_path_factory.mktemp("limited"), sparql_timeout=1.0, sparql_max_rows=5)
    app = create_app(kb)
    with backend_client(request, kb, app) as test_client:
        # loading counts in the 1-second limit (issue 8): measure queries, not start-up
        assert app.state.query_runner.wait_ready(60) or request.param != "embedded"
        yield test_client
    app.state.query_runner.close()


def test_a_query_past_the_time_limit_gets_503_and_the_server_goes_on(limited: TestClient) -> None:
    slow: dict[str, object] = {}
    thread = threading.Thread(target=lambda: slow.update(
        r=limited.get("/sparql", params={"query": ENDLESS})))
    thread.start()
    meanwhile = limited.get("/sparql", params={"query": "ASK { ?p a cl:Projet }"})
    thread.join()
    assert meanwhile.status_code == 200 and meanwhile.json()["boolean"] is True
    response = slow["r"]
    assert response.status_code == 503  # type: ignore[attr-defined]
    assert "durée maximale" in response.json()["error"]  # type: ignore[attr-defined]
    again = limited.get("/sparql", params={"query": "ASK { ?p a cl:Projet }"})
    assert again.status_code == 200


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_the_row_cap_truncates_and_says_so(limited: TestClient, fmt: str) -> None:
    response = limited.get("/sparql", params={"query": PROJECT_TITLES, "format": fmt})
    assert response.status_code == 200
    assert response.headers["x-sparql-maxrows"] == "5"
    body = response.content.decode()
    if fmt == "json":
        assert len(json.loads(body)["results"]["bindings"]) == 5
    elif fmt == "xml":
        assert len(ET.fromstring(body).findall(f"{SRX}results/{SRX}result")) == 5
    else:
        assert len(body.splitlines()) == 6  # header + 5 rows
    small = limited.get("/sparql", params={"query": PROJECT_TITLES + " LIMIT 5", "format": fmt})
    assert "x-sparql-maxrows" not in small.headers


def test_the_row_cap_applies_to_triples(limited: TestClient) -> None:
    response = limited.get("/sparql", params={"query": COUNTRIES, "format": "nt"})
    assert response.headers["x-sparql-maxrows"] == "5"
    assert len(response.text.splitlines()) == 5


def test_a_new_generation_is_served_without_restart(tmp_path: Path) -> None:
    kb: KnowledgeBase = fixture_kb(tmp_path)
    app = create_app(kb)
    query = {"query": "ASK { <http://x/nouveau> ?p ?o }"}
    with TestClient(app) as test_client:
        assert test_client.get("/sparql", params=query).json()["boolean"] is False
        publish_fixture_generation(
            tmp_path, {"http://x/g": b'<http://x/nouveau> <http://x/p> "1" .'})
        assert test_client.get("/sparql", params=query).json()["boolean"] is True
    app.state.query_runner.close()


# ------------------------------------------------------------------ real clients
@pytest.mark.slow
@pytest.mark.parametrize("method", [GET, POST])
@pytest.mark.parametrize("return_format", [JSON, XML, CSV, TSV])
def test_sparqlwrapper_select(server_url: str, method: str, return_format: str) -> None:
    wrapper = SPARQLWrapper(server_url + "/sparql", returnFormat=return_format)
    wrapper.setMethod(method)
    wrapper.setQuery(PROJECT_TITLES)
    converted = wrapper.queryAndConvert()
    if return_format == JSON:
        titles = [b["t"]["value"] for b in converted["results"]["bindings"]]  # type: ignore[index]
    elif return_format == XML:
        titles = [e.firstChild.data for e in converted.getElementsByTagName("literal")]  # type: ignore[union-attr]
    else:
        delimiter = "," if return_format == CSV else "\t"
        rows = list(csv.reader(io.StringIO(converted.decode()), delimiter=delimiter))  # type: ignore[union-attr]
        titles = [r[1].strip('"').removesuffix('"@fr') for r in rows[1:]]
    assert len(titles) == PROJECTS
    assert any(t.startswith("Santé maternelle") for t in titles)


@pytest.mark.slow
@pytest.mark.parametrize("return_format", [RDFXML, JSONLD, TURTLE])
def test_sparqlwrapper_construct_into_rdflib(server_url: str, return_format: str) -> None:
    wrapper = SPARQLWrapper(server_url + "/sparql", returnFormat=return_format)
    wrapper.setQuery(COUNTRIES)
    result = wrapper.queryAndConvert()
    graph = result if isinstance(result, rdflib.Graph) else rdflib.Graph().parse(
        data=result, format="turtle")  # SPARQLWrapper hands Turtle over as bytes
    assert len(graph) == 14
    assert (rdflib.URIRef("https://w3id.org/cooplink/id/pays/BJ"), rdflib.RDFS.label,
            rdflib.Literal("Bénin", lang="fr")) in graph


@pytest.mark.slow
def test_sparqlwrapper_ask_and_errors(server_url: str) -> None:
    wrapper = SPARQLWrapper(server_url + "/sparql", returnFormat=JSON)
    wrapper.setQuery("ASK { ?p cl:theme theme:sante }")
    assert wrapper.queryAndConvert()["boolean"] is True  # type: ignore[index]
    wrapper.setQuery("SELECT ?s WHERE { ?s ?p }")
    with pytest.raises(QueryBadFormed, match="invalide"):
        wrapper.query()
    wrapper.setMethod(POST)
    wrapper.setQuery("INSERT DATA { <http://x/a> <http://x/b> <http://x/c> }")
    with pytest.raises(urllib.error.HTTPError) as refused:
        wrapper.query()
    assert refused.value.code == 403


@pytest.mark.slow
def test_an_allowed_service_is_federated(tmp_path: Path, server_url: str) -> None:
    remote = server_url + "/sparql"
    kb = fixture_kb(tmp_path, sparql_allowed_services=[remote])
    app = create_app(kb)
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ SERVICE <{remote}> {{ ?p a cl:Projet }} }}"
    with TestClient(app) as test_client:
        response = test_client.get("/sparql", params={"query": query})
        other = test_client.get("/sparql", params={
            "query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"})
    app.state.query_runner.close()
    assert response.status_code == 200, response.text
    assert _bindings(response)[0]["n"]["value"] == str(PROJECTS)
    assert other.status_code == 403

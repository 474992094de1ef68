"""The remote graph backend on Virtuoso (issue 13): ``cooplink push`` (bulk loader and SPARQL
Update), ``build --store``, and the whole API on the test corpus served from Virtuoso answering
what it answers on the embedded store — pages, search, network figures, linked data — with
``cl:similarity`` refused with a clear 400 and Virtuoso's own extensions refused.

The endpoint's protocol, formats, guard and limits, the linked data and VoID run on both
backends in ``tests/test_sparql_endpoint.py`` and ``tests/test_linked_data.py``; the store
contract in ``tests/test_store_contract.py``."""


from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fixtures_sparql import sparql_kb
from fixtures_virtuoso import TEST_MAX_ROWS, clear, remote_kb, virtuoso, writable
from typer.testing import CliRunner

from graph.errors import QueryTimeout
from graph.push import graph_counts
from graph.remote import RemoteStore
from graph.virtuoso import Virtuoso
from search_api.app import create_app
from search_api.cli import app as cli
from search_api.knowledge_base import KnowledgeBase
from search_api.search.sparql_functions import REMOTE_REFUSAL

__all__ = ["sparql_kb", "virtuoso"]
pytestmark = pytest.mark.slow  # a Virtuoso to start and load: make test, not make check
GRAPHS = "https://w3id.org/cooplink/graph/"
SIMILAR = ('SELECT ?p ?s WHERE { ?p a cl:Projet BIND(cl:similarity(?p, "eau potable") AS ?s) } '
           "ORDER BY DESC(?s) LIMIT 3")


def _env(server: Virtuoso, *, bulk: bool, update: bool = True) -> dict[str, str]:
    env = {"COOPLINK_SPARQL_ENDPOINT": "", "COOPLINK_SPARQL_ENDPOINT_MAX_ROWS": str(TEST_MAX_ROWS)}
    if update:
        env |= {"COOPLINK_SPARQL_UPDATE_ENDPOINT": server.update_endpoint,
                "COOPLINK_SPARQL_USER": "dba", "COOPLINK_SPARQL_PASSWORD": server.password}
    if bulk:
        env |= {"COOPLINK_VIRTUOSO_ISQL": server.address,
                "COOPLINK_VIRTUOSO_LOAD_DIR": str(server.load_dir)}
    return env


def _push(kb: KnowledgeBase, server: Virtuoso, **env: bool) -> dict[str, object]:
    result = CliRunner().invoke(cli, ["push", "--to", server.endpoint, "--data-dir",
                                      str(kb.datadir.root), "--json"], env=_env(server, **env))
    assert result.exit_code == 0, result.output
    report: dict[str, object] = json.loads(result.stdout)
    return report


# ---------------------------------------------------------------- cooplink push
@pytest.mark.parametrize("bulk", [True, False], ids=["bulk-loader", "sparql-update"])
def test_push_replaces_the_graphs_and_checks_every_count(
        sparql_kb: KnowledgeBase, virtuoso: Virtuoso, bulk: bool) -> None:
    clear(virtuoso)
    store = writable(virtuoso)
    store.load(b"<http://x/old> <http://x/p> 1 .", "ttl", GRAPHS + "source-ancien-fichier")
    store.load(b"<http://x/a> <http://x/p> 2 .", "ttl", "http://example.org/autre-projet")
    store.load(b"<http://x/stale> <http://x/p> 3 .", "ttl", GRAPHS + "synthetique")
    report = _push(sparql_kb, virtuoso, bulk=bulk)
    expected = graph_counts(sparql_kb.local_store())
    assert report["method"] == ("bulk" if bulk else "update") and report["ok"] is True
    assert report["graphs"] == {g: {"generation": n, "remote": n} for g, n in expected.items()}
    assert GRAPHS + "meta" in expected  # the PROV graph travels with the data
    assert report["removed"] == [GRAPHS + "source-ancien-fichier"]
    counts = store.graph_counts()
    assert counts == {**expected, "http://example.org/autre-projet": 1}  # others' graphs stay
    assert report["triples"] == sum(expected.values())


def test_push_without_write_access_says_what_is_missing(
        sparql_kb: KnowledgeBase, virtuoso: Virtuoso) -> None:
    result = CliRunner().invoke(cli, ["push", "--to", virtuoso.endpoint, "--data-dir",
                                      str(sparql_kb.datadir.root)],
                                env=_env(virtuoso, bulk=False, update=False))
    assert result.exit_code == 1
    assert "COOPLINK_SPARQL_UPDATE_ENDPOINT" in result.output
    assert "Traceback" not in result.output


def test_build_with_store_pushes_the_generation_it_publishes(
        tmp_path: Path, virtuoso: Virtuoso) -> None:
    clear(virtuoso)
    result = CliRunner().invoke(
        cli, ["build", "--data-dir", str(tmp_path / "var"), "--projects", "40", "--store",
              virtuoso.endpoint],
        env={**_env(virtuoso, bulk=True), "COOPLINK_SEARCH_ENCODER": "hashing"})
    assert result.exit_code == 0, result.output
    assert "Graphe construit" in result.output and "comptes vérifiés" in result.output
    counts = writable(virtuoso).graph_counts()
    assert counts[GRAPHS + "synthetique"] > 0 and GRAPHS + "reference" in counts


# ---------------------------------------------------------------- the API on Virtuoso
@pytest.fixture(scope="module")
def both(built_kb: KnowledgeBase, virtuoso: Virtuoso) -> Iterator[dict[str, TestClient]]:
    """The test corpus served embedded and from Virtuoso (pushed with the bulk loader)."""
    remote = remote_kb(built_kb, virtuoso)
    apps = {"embedded": create_app(built_kb), "virtuoso": create_app(remote)}
    with TestClient(apps["embedded"]) as embedded, TestClient(apps["virtuoso"]) as on_virtuoso:
        yield {"embedded": embedded, "virtuoso": on_virtuoso}
    for app in apps.values():
        app.state.query_runner.close()


@pytest.mark.parametrize("path", [
    "/api/search?q=eau%20potable&country=SN&limit=5",
    "/api/search?theme=sante&limit=20",
    "/api/network?country=ML",
    "/api/concentration",
    "/id/pays/SN?format=nt",
    "/.well-known/void?format=nt",
])
def test_the_api_answers_the_same_on_virtuoso(both: dict[str, TestClient], path: str) -> None:
    embedded, remote = (both[k].get(path) for k in ("embedded", "virtuoso"))
    assert embedded.status_code == remote.status_code == 200
    if path.endswith("=nt"):
        assert sorted(embedded.text.splitlines()) == sorted(remote.text.splitlines())
    else:
        assert embedded.json() == remote.json()


def test_a_country_brief_lists_the_same_actors_on_virtuoso(both: dict[str, TestClient]) -> None:
    # Virtuoso never finished the actors query while it filtered on the actor kind (bench/load.py)
    answers = {k: c.get("/api/countries/SN") for k, c in both.items()}
    assert answers["embedded"].status_code == answers["virtuoso"].status_code == 200
    # Known difference, left open: Virtuoso 7.2 drops the networks (kind « reseau », the UNION
    # branch ending in ``a/rdfs:subClassOf* cl:Reseau``), as it drops example 14's rows
    # (docs/deploy.md); the other actors must match.
    actors = {k: sorted((a["uri"], a["kind"], a["projects"]) for a in r.json()["actors"]
                        if a["kind"] != "reseau")
              for k, r in answers.items()}
    assert actors["embedded"] == actors["virtuoso"]
    assert actors["virtuoso"] and all(kind != "collectivite" for _, kind, _ in actors["virtuoso"])


@pytest.mark.parametrize("path", ["/id/projet/{project}", "/reseau?country=SN",
                                  "/?q=eau&country=SN", "/projets/{project}/comparables"])
def test_pages_render_the_same_on_virtuoso(both: dict[str, TestClient], path: str) -> None:
    found = both["embedded"].get("/api/search", params={"q": "eau", "limit": 1}).json()
    path = path.format(project=found["results"][0]["id"])
    html = {k: c.get(path, headers={"accept": "text/html"}) for k, c in both.items()}
    assert html["embedded"].status_code == html["virtuoso"].status_code
    assert html["embedded"].text == html["virtuoso"].text


def test_similarity_is_refused_on_virtuoso_with_the_reason(
        both: dict[str, TestClient]) -> None:
    assert both["embedded"].get("/sparql", params={"query": SIMILAR}).status_code == 200
    refused = both["virtuoso"].get("/sparql", params={"query": SIMILAR})
    assert refused.status_code == 400
    assert refused.json()["error"] == REMOTE_REFUSAL
    assert "/api/search" in refused.json()["error"]


@pytest.mark.parametrize("query", [
    'SELECT * WHERE { ?s rdfs:label ?l . ?l <bif:contains> "eau" }',
    "PREFIX b: <bif:> SELECT (b:sys_stat('st_dbms_ver') AS ?v) WHERE {}",
    "SELECT (<http://www.openlinksw.com/schemas/bif#getenv>('PATH') AS ?v) WHERE {}",
])
def test_virtuoso_functions_never_reach_the_engine(both: dict[str, TestClient],
                                                   query: str) -> None:
    refused = both["virtuoso"].get("/sparql", params={"query": query})
    assert refused.status_code == 403 and "Virtuoso" in refused.json()["error"]


def test_virtuoso_pragmas_are_not_sparql(both: dict[str, TestClient]) -> None:
    query = 'DEFINE get:soft "replace" SELECT * FROM <http://example.org/> WHERE { ?s ?p ?o }'
    for client in both.values():
        assert client.get("/sparql", params={"query": query}).status_code == 400


#: a cross product of Virtuoso's own graph (2,479 triples) with itself, three times: endless
ENDLESS = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def test_a_page_query_is_stopped_by_virtuoso_itself(virtuoso: Virtuoso) -> None:
    """A query cooplink sends for a page is bounded on the server: Virtuoso stops it (and
    frees its thread) before cooplink gives up waiting, rather than running it to the end."""
    store = RemoteStore(virtuoso.endpoint, timeout=3.0, max_rows=TEST_MAX_ROWS)
    with pytest.raises(QueryTimeout) as stopped:
        store.query(ENDLESS)
    assert "Virtuoso" in stopped.value.message or "S1T00" in stopped.value.message
    assert "n'a pas répondu" not in stopped.value.message  # not merely this side giving up
    assert store.query("ASK { ?s ?p ?o }").result  # and the server answers at once

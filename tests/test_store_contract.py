"""One contract suite for every GraphStore implementation: pyoxigraph in memory and on disk, the
remote store talking SPARQL 1.1 Protocol to cooplink's own endpoint on a real uvicorn
(read-only), and the remote store on a private Virtuoso started by the tests (read-write: the
production remote backend, issue 13).

Tests that write take ``writable_store``, which skips read-only implementations (a remote store
without update endpoint declares ``read_only = True``) instead of expecting them to fail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from fixtures_sparql import running_server
from fixtures_virtuoso import VIRTUOSO, clear, virtuoso, writable

from graph.datadir import DataDir
from graph.errors import BadRequest, CooplinkError, Forbidden
from graph.remote import RemoteStore, RemoteTruncated
from graph.store import GraphStore, OxigraphStore
from graph.virtuoso import Virtuoso, VirtuosoError, isql
from search_api.app import create_app
from search_api.knowledge_base import KnowledgeBase
from search_api.settings import Settings

G1 = "http://example.org/graph/one"
G2 = "http://example.org/graph/two"
DATA = """
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:montreuil rdfs:label "Montreuil"@fr ; ex:pays ex:ML .
ex:ML rdfs:label "Mali"@fr .
"""


__all__ = ["virtuoso"]  # the session fixture, imported


def _fill(s: GraphStore) -> GraphStore:
    s.load(DATA.encode(), "ttl", G1)
    s.add_quads(
        [
            ox.Quad(
                ox.NamedNode("http://example.org/dakar"),
                ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"),
                ox.Literal("Dakar", language="fr"),
                ox.NamedNode(G2),
            )
        ]
    )
    return s


@pytest.fixture(scope="module")
def remote_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The contract data published in a data dir and served by cooplink on 127.0.0.1."""
    datadir = DataDir(tmp_path_factory.mktemp("remote-var"))
    gen = datadir.new_generation()
    disk = _fill(OxigraphStore(gen.store_path))
    disk.flush()
    gen.write_manifest({"generation": gen.id, "triples": disk.triple_count()})
    del disk
    datadir.publish(gen)
    app = create_app(KnowledgeBase(Settings(data_dir=datadir.root, search_encoder="hashing")))
    with running_server(app) as url:
        yield url + "/sparql"
    app.state.query_runner.close()


@pytest.fixture(params=["memory", "disk", "remote", VIRTUOSO])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    if request.param == "remote":
        yield RemoteStore(request.getfixturevalue("remote_endpoint"))
        return
    if request.param == "virtuoso":
        server: Virtuoso = request.getfixturevalue("virtuoso")
        clear(server)
        yield _fill(writable(server))
        return
    s = OxigraphStore(None) if request.param == "memory" else OxigraphStore(tmp_path / "ox")
    yield _fill(s)


@pytest.fixture
def writable_store(store: GraphStore) -> GraphStore:
    """``store`` when it accepts writes; read-only implementations skip the test."""
    if getattr(store, "read_only", False):
        pytest.skip(f"{type(store).__name__} est en lecture seule")
    return store


def test_is_a_graph_store(store: GraphStore) -> None:
    assert isinstance(store, GraphStore)


def test_default_graph_is_the_union_of_named_graphs(store: GraphStore) -> None:
    rows = store.query("SELECT ?l WHERE { ?s rdfs:label ?l } ORDER BY ?l").rows()
    assert [r["l"] for r in rows] == ["Dakar", "Mali", "Montreuil"]


def test_default_graph_can_be_restricted(store: GraphStore) -> None:
    rows = store.query("SELECT ?l WHERE { ?s rdfs:label ?l }", default_graphs=[G2]).rows()
    assert [r["l"] for r in rows] == ["Dakar"]


def test_named_graphs_and_counts(store: GraphStore) -> None:
    assert store.named_graphs() == [G1, G2]
    assert store.triple_count() == 4
    assert store.triple_count(G2) == 1


def test_dropping_a_graph(writable_store: GraphStore) -> None:
    writable_store.drop_graph(G2)
    assert writable_store.named_graphs() == [G1]
    assert writable_store.triple_count() == 3


def test_a_read_only_store_refuses_writes_with_a_clear_error(store: GraphStore) -> None:
    if not getattr(store, "read_only", False):
        pytest.skip("store modifiable")
    with pytest.raises(Forbidden, match="lecture seule"):
        store.drop_graph(G2)
    with pytest.raises(Forbidden):
        store.load(DATA.encode(), "ttl", G1)


def test_select_serialises_in_every_result_format(store: GraphStore) -> None:
    q = 'SELECT ?s WHERE { ?s rdfs:label "Mali"@fr }'
    assert (
        json.loads(store.query(q).serialize("json"))["results"]["bindings"][0]["s"]["value"]
        == "http://example.org/ML"
    )
    assert store.query(q).serialize("csv").decode().splitlines() == ["s", "http://example.org/ML"]
    assert b"<http://example.org/ML>" in store.query(q).serialize("tsv")
    assert b"<sparql" in store.query(q).serialize("xml")


def test_construct_serialises_as_rdf(store: GraphStore) -> None:
    out = store.query("CONSTRUCT { ?s rdfs:label ?l } WHERE { ?s rdfs:label ?l }").serialize("ttl")
    assert "Montreuil" in out.decode("utf-8")


def test_accents_survive_a_round_trip(store: GraphStore) -> None:
    rows = store.query('SELECT ?o WHERE { BIND("Sénégal, Côte d’Ivoire"@fr AS ?o) }').rows()
    assert rows == [{"o": "Sénégal, Côte d’Ivoire"}]


def test_loaded_accents_survive(writable_store: GraphStore) -> None:
    writable_store.load(
        '<http://example.org/x> <http://example.org/p> "Sénégal, Côte d’Ivoire" .'.encode(),
        "nt",
        G1,
    )
    rows = writable_store.query("SELECT ?o WHERE { <http://example.org/x> ?p ?o }").rows()
    assert rows == [{"o": "Sénégal, Côte d’Ivoire"}]


def test_ask(store: GraphStore) -> None:
    assert store.query('ASK { ?s rdfs:label "Dakar"@fr }').boolean() is True


def test_wrong_format_for_query_kind_is_a_bad_request(store: GraphStore) -> None:
    with pytest.raises(BadRequest):
        store.query("SELECT * WHERE { ?s ?p ?o }").serialize("ttl")


def test_malformed_query_is_a_bad_request_with_the_parser_message(store: GraphStore) -> None:
    with pytest.raises(BadRequest) as info:
        store.query("SELECT ?s WHERE { ?s ?p }")
    assert "invalide" in info.value.message


# ---------------------------------------------------------------- Virtuoso's pitfalls (issue 13)
@pytest.fixture
def on_virtuoso(virtuoso: Virtuoso) -> RemoteStore:
    clear(virtuoso)
    return writable(virtuoso)


@pytest.mark.slow
def test_blank_nodes_keep_their_identity_on_virtuoso(on_virtuoso: RemoteStore) -> None:
    on_virtuoso.load(b"@prefix ex: <http://example.org/> . ex:a ex:b [ ex:c 1 ; ex:d 2 ] .",
                     "ttl", G1)
    rows = on_virtuoso.query("SELECT ?c ?d WHERE { ?a <http://example.org/b> ?x . "
                             "?x <http://example.org/c> ?c ; <http://example.org/d> ?d }").rows()
    assert rows == [{"c": 1, "d": 2}]


@pytest.mark.slow
def test_a_cut_answer_is_never_taken_for_a_whole_one(on_virtuoso: RemoteStore) -> None:
    """Virtuoso stops at ResultSetMaxRows (20,000 in the tests) without an error: flagged by a
    header for SELECT, silent for CONSTRUCT — both raise here."""
    values = " ".join(str(i) for i in range(150))  # 150 × 150 = 22,500 rows
    where = f"WHERE {{ VALUES ?a {{ {values} }} VALUES ?b {{ {values} }} }}"
    with pytest.raises(RemoteTruncated, match="ResultSetMaxRows"):
        on_virtuoso.query(f"SELECT ?a ?b {where}")
    with pytest.raises(RemoteTruncated):
        on_virtuoso.query("CONSTRUCT { ?s <http://example.org/p> ?b } "
                          f"WHERE {{ VALUES ?a {{ {values} }} VALUES ?b {{ {values} }} "
                          'BIND(IRI(CONCAT("http://example.org/", STR(?a))) AS ?s) }')
    assert len(on_virtuoso.query(f"SELECT ?a ?b {where} LIMIT 100").rows()) == 100


@pytest.mark.slow
def test_a_long_query_is_sent_as_a_form_and_answered(on_virtuoso: RemoteStore) -> None:
    """A direct POST of application/sparql-query can hang Virtuoso 7.2: a query too long for
    a URL goes as a form POST, and is answered."""
    _fill(on_virtuoso)
    padding = "# " + "x" * 10_000 + "\n"
    rows = on_virtuoso.query(padding + "SELECT ?l WHERE { ?s rdfs:label ?l } ORDER BY ?l").rows()
    assert [r["l"] for r in rows] == ["Dakar", "Mali", "Montreuil"]


@pytest.mark.slow
def test_virtuoso_default_password_is_replaced(virtuoso: Virtuoso) -> None:
    assert virtuoso.password and virtuoso.password != "dba"
    with pytest.raises(VirtuosoError):
        isql(virtuoso.address, "dba", "SELECT 1;", timeout=30)


@pytest.mark.slow
def test_the_public_endpoint_refuses_updates(virtuoso: Virtuoso) -> None:
    """Writes need the authenticated update endpoint; the read endpoint is read-only."""
    anonymous = RemoteStore(virtuoso.endpoint, update_endpoint=virtuoso.endpoint)
    with pytest.raises(CooplinkError):
        anonymous.drop_graph(G1)

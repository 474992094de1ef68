"""One contract suite for every GraphStore implementation: pyoxigraph in memory and on disk, and
the remote store talking SPARQL 1.1 Protocol to cooplink's own endpoint on a real uvicorn.

Tests that write take ``writable_store``, which skips read-only implementations (the remote
store declares ``read_only = True``) instead of expecting them to fail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from fixtures_sparql import running_server

from graph.datadir import DataDir
from graph.errors import BadRequest, Forbidden
from graph.remote import RemoteStore
from graph.store import GraphStore, OxigraphStore
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


def _fill(s: OxigraphStore) -> OxigraphStore:
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


@pytest.fixture(params=["memory", "disk", "remote"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    if request.param == "remote":
        yield RemoteStore(request.getfixturevalue("remote_endpoint"))
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

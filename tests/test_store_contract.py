"""One contract suite for every GraphStore implementation (the remote one joins later)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from cooplink.errors import BadRequest
from graph.store import GraphStore, OxigraphStore

G1 = "http://example.org/graph/one"
G2 = "http://example.org/graph/two"
DATA = """
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:montreuil rdfs:label "Montreuil"@fr ; ex:pays ex:ML .
ex:ML rdfs:label "Mali"@fr .
"""


@pytest.fixture(params=["memory", "disk"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    s = OxigraphStore(None) if request.param == "memory" else OxigraphStore(tmp_path / "ox")
    s.load(DATA.encode(), "ttl", G1)
    s.add_quads([ox.Quad(ox.NamedNode("http://example.org/dakar"),
                         ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"),
                         ox.Literal("Dakar", language="fr"), ox.NamedNode(G2))])
    yield s


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
    store.drop_graph(G2)
    assert store.named_graphs() == [G1]
    assert store.triple_count() == 3


def test_select_serialises_in_every_result_format(store: GraphStore) -> None:
    q = "SELECT ?s WHERE { ?s rdfs:label \"Mali\"@fr }"
    assert json.loads(store.query(q).serialize("json"))["results"]["bindings"][0]["s"]["value"] \
        == "http://example.org/ML"
    assert store.query(q).serialize("csv").decode().splitlines() == ["s", "http://example.org/ML"]
    assert b"<http://example.org/ML>" in store.query(q).serialize("tsv")
    assert b"<sparql" in store.query(q).serialize("xml")


def test_construct_serialises_as_rdf_and_accents_survive(store: GraphStore) -> None:
    out = store.query("CONSTRUCT { ?s rdfs:label ?l } WHERE { ?s rdfs:label ?l }").serialize("ttl")
    assert "Montreuil" in out.decode("utf-8")
    store.load('<http://example.org/x> <http://example.org/p> "Sénégal, Côte d’Ivoire" .'.encode(),
               "nt", G1)
    rows = store.query("SELECT ?o WHERE { <http://example.org/x> ?p ?o }").rows()
    assert rows == [{"o": "Sénégal, Côte d’Ivoire"}]


def test_ask(store: GraphStore) -> None:
    assert store.query("ASK { ?s rdfs:label \"Dakar\"@fr }").boolean() is True


def test_wrong_format_for_query_kind_is_a_bad_request(store: GraphStore) -> None:
    with pytest.raises(BadRequest):
        store.query("SELECT * WHERE { ?s ?p ?o }").serialize("ttl")


def test_malformed_query_is_a_bad_request_with_the_parser_message(store: GraphStore) -> None:
    with pytest.raises(BadRequest) as info:
        store.query("SELECT ?s WHERE { ?s ?p }")
    assert "invalide" in info.value.message

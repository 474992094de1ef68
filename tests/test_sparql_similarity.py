"""``cl:similarity`` inside SPARQL, in-process (CLI) and through the endpoint's workers."""

from __future__ import annotations

import numpy as np
import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from search_api.knowledge_base import KnowledgeBase
from search_api.search.sparql_functions import (
    ProjectVectors,
    calls_similarity,
    similarity_function,
    similarity_texts,
)

QUERY = """
SELECT ?id ?score WHERE {
  ?p a cl:Projet ; dcterms:identifier ?id ; cl:theme ?t .
  ?t skos:notation "%s" .
  BIND(cl:similarity(?p, "gestion des ordures ménagères et tri sélectif") AS ?score)
} ORDER BY DESC(?score) LIMIT 5
"""


def test_similarity_texts_are_found_in_calls_only() -> None:
    q = 'SELECT * { ?p rdfs:label "pas ici" BIND(cl:similarity(?p, "gestion de l\\"eau") AS ?s) }'
    assert calls_similarity(q)
    assert similarity_texts(q) == ['gestion de l"eau']
    assert similarity_texts('SELECT * { ?s ?p "x" }') == []


def test_function_is_cosine_and_unbound_for_unknown_terms(tmp_path: object) -> None:
    vectors = np.array([[1.0, 0.0], [0.6, 0.8]], dtype=np.float32)
    projects = ProjectVectors(["http://x/a", "http://x/b"], vectors)
    fn = similarity_function(projects, {"texte": np.array([0.0, 1.0], dtype=np.float32)})
    assert float(fn(ox.NamedNode("http://x/a"), ox.NamedNode("http://x/b")).value) == pytest.approx(
        0.6
    )
    assert float(fn(ox.NamedNode("http://x/b"), ox.Literal("texte")).value) == pytest.approx(0.8)
    assert fn(ox.NamedNode("http://x/zzz"), ox.Literal("texte")) is None
    assert fn(ox.NamedNode("http://x/a"), ox.Literal("jamais encodé")) is None


@pytest.mark.slow
def test_similarity_ranks_waste_projects_first_in_process(real_kb: KnowledgeBase) -> None:
    # Meaning, not shared letters: the real model (conftest ``real_kb``).
    waste = real_kb.query(QUERY % "dechets").rows()
    culture = real_kb.query(QUERY % "culture-patrimoine").rows()
    assert len(waste) == 5 and all(r["score"] is not None for r in waste)
    assert min(r["score"] for r in waste) > max(r["score"] for r in culture)


def test_similarity_works_at_the_endpoint(built_kb: KnowledgeBase) -> None:
    with TestClient(create_app(built_kb)) as client:
        response = client.get(
            "/sparql",
            params={"query": QUERY % "dechets"},
            headers={"Accept": "application/sparql-results+json"},
        )
        assert response.status_code == 200, response.text
        rows = response.json()["results"]["bindings"]
        assert len(rows) == 5
        scores = [float(r["score"]["value"]) for r in rows]
        assert scores == sorted(scores, reverse=True)
        pair = client.get(
            "/sparql",
            params={
                "query": (
                    "SELECT ?s WHERE { ?p a cl:Projet . BIND(cl:similarity(?p, ?p) AS ?s) } LIMIT 1"
                )
            },
            headers={"Accept": "application/sparql-results+json"},
        ).json()
        assert float(pair["results"]["bindings"][0]["s"]["value"]) == pytest.approx(1.0, abs=1e-3)

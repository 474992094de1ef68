"""The query worker's rewrites (graph/planner.py) answer exactly what the query as written
answers: each form is evaluated both ways on the 1,500-project test corpus and the rows
compared; the forms the rewrite must leave alone are left as they are."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from graph import planner
from graph.evaluation import QueryRequest, evaluate, open_store
from graph.query_runner import QueryRunner
from search_api.http.sparql import load_examples
from search_api.knowledge_base import KnowledgeBase

PROVENANCE = next(e.query for e in load_examples() if e.id.startswith("17-"))

REWRITTEN = {
    "provenance example": PROVENANCE,
    "whole query": "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o . } } GROUP BY ?g",
    "whole query, ordered": """PREFIX x: <http://example.org/>
        select $graph (count( * ) as $size) { graph ?graph { ?a ?b ?c } } group by $graph
        order by desc(?size) limit 2""",
    "sub-query in OPTIONAL, with comments": """SELECT ?t ?n WHERE {
        ?t a cl:Projet . FILTER(?t = ?t)
        OPTIONAL { { SELECT ?g # the graph
                     (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g } }
        } ORDER BY ?t ?n LIMIT 30""",
    "two sub-queries joined": """SELECT * WHERE {
        { SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g }
        { SELECT ?g (COUNT(*) AS ?m) WHERE { GRAPH ?g { ?x ?y ?z } } GROUP BY ?g } }""",
}

LEFT_ALONE = {
    "FROM NAMED": """SELECT ?g (COUNT(*) AS ?n) FROM NAMED <https://w3id.org/cooplink/graph/meta>
        WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g""",
    "HAVING": "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g "
              "HAVING (COUNT(*) > 100)",
    "a repeated variable": "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?s } } "
                           "GROUP BY ?g",
    "graph as subject": "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?g ?p ?o } } GROUP BY ?g",
    "one more key": "SELECT ?g ?p (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } "
                    "GROUP BY ?g ?p",
    "count distinct": "SELECT ?g (COUNT(DISTINCT *) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } "
                      "GROUP BY ?g",
    "a bound predicate": "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s a ?o } } GROUP BY ?g",
    "a sub-query with its own modifiers": """SELECT * WHERE {
        { SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g LIMIT 1 } }""",
}


@pytest.fixture(scope="module")
def store(built_kb: KnowledgeBase) -> ox.Store:
    return open_store(built_kb.datadir.require_current().store_path, in_memory=False)


def _rows(store: ox.Store, sparql: str) -> list[str]:
    """The answer in TSV: header first, then the rows sorted (their order is unspecified
    unless the query orders them, and then both forms give the same order)."""
    data = evaluate(store, QueryRequest(sparql, solution_format="tsv"), 100_000).data
    header, *rows = data.decode("utf-8").splitlines()
    return [header, *sorted(rows)]


@pytest.mark.parametrize("name", sorted(REWRITTEN))
def test_rewritten_forms_answer_as_written(store: ox.Store, name: str) -> None:
    original = REWRITTEN[name]
    rewritten = planner.rewrite(original, store, planner.GraphCounts())
    assert rewritten != original, "the shape should have been recognised"
    assert "VALUES" in rewritten
    assert _rows(store, rewritten) == _rows(store, original)


@pytest.mark.parametrize("name", sorted(LEFT_ALONE))
def test_other_forms_are_left_alone(store: ox.Store, name: str) -> None:
    assert planner.rewrite(LEFT_ALONE[name], store, planner.GraphCounts()) == LEFT_ALONE[name]



def test_the_endpoint_worker_answers_as_the_query_is_written(
        built_kb: KnowledgeBase, store: ox.Store) -> None:
    """Through a real worker: the provenance example answers what the engine answers without
    the rewrite, and so does a query with a protocol dataset (which is never rewritten)."""
    runner = QueryRunner(lambda: built_kb.datadir.require_current().store_path, workers=1,
                         spares=0, in_memory=False, network=False)
    meta = "https://w3id.org/cooplink/graph/meta"
    try:
        for request in (QueryRequest(PROVENANCE, solution_format="tsv"),
                        QueryRequest(REWRITTEN["whole query"], solution_format="tsv",
                                     named_graphs=(meta,))):
            expected = evaluate(store, request, 100_000).data.decode().splitlines()
            got = runner.run(request).data.decode().splitlines()
            assert [got[0], *sorted(got[1:])] == [expected[0], *sorted(expected[1:])]
            assert len(got) > 1
    finally:
        runner.close()

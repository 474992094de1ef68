"""The default dataset as built by ``cooplink build`` (at test scale): real reference data,
a synthetic corpus that is marked as such everywhere, and SHACL conformance."""

from __future__ import annotations

import time

import pyoxigraph as ox
import pytest
import rdflib
from fastapi.testclient import TestClient

from ingest.validation import Shapes
from search_api.app import create_app
from search_api.knowledge_base import KnowledgeBase


def _n(kb: KnowledgeBase, where: str) -> int:
    rows = kb.query(f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ {where} }}").rows()
    return int(rows[0]["n"] or 0)


def test_project_count_and_every_project_is_synthetic(built_kb: KnowledgeBase) -> None:
    assert _n(built_kb, "?x a cl:Projet") == built_kb.settings.projects
    assert _n(built_kb, "?x a cl:Projet ; cl:synthetique true") == built_kb.settings.projects
    assert built_kb.health()["synthetic_projects"] == built_kb.settings.projects


def test_generated_partners_and_partnerships_are_flagged_synthetic(built_kb: KnowledgeBase) -> None:
    assert (
        _n(built_kb, "?x a cl:CollectiviteEtrangere FILTER NOT EXISTS { ?x cl:synthetique true }")
        == 0
    )
    assert _n(built_kb, "?x a cl:Partenariat FILTER NOT EXISTS { ?x cl:synthetique true }") == 0


def test_french_authorities_are_real_cog_entities(built_kb: KnowledgeBase) -> None:
    # every authority a project names resolves to the reference graph (real name and code)
    unresolved = _n(built_kb, "?p cl:collectiviteFrancaise ?x . ?x cl:nonResolu true")
    assert unresolved == 0
    with_code = _n(
        built_kb, "?p cl:collectiviteFrancaise ?x . { ?x cl:codeInsee ?c } UNION { ?x cl:siren ?c }"
    )
    assert with_code == _n(built_kb, "?p cl:collectiviteFrancaise ?x")
    kinds = built_kb.query(
        "SELECT DISTINCT ?t WHERE { ?p cl:collectiviteFrancaise ?x . ?x a ?t }"
    ).rows()
    names = {str(r["t"]).rsplit("#", 1)[-1] for r in kinds}
    assert {"Region", "Departement", "Commune", "Intercommunalite"} <= names


def test_reference_data_is_complete(built_kb: KnowledgeBase) -> None:
    assert _n(built_kb, "?x a cl:Commune") > 34_000
    assert _n(built_kb, "?x a cl:Departement") >= 96
    assert _n(built_kb, "?x a cl:Pays") >= 249
    assert _n(built_kb, "?x skos:inScheme <https://w3id.org/cooplink/theme>") == 19
    label = built_kb.query(
        "SELECT ?l WHERE { ?c cl:codeIso2 \"KR\" ; skos:prefLabel ?l FILTER(lang(?l) = 'fr') }"
    ).rows()
    assert label == [{"l": "Corée du Sud"}]


def test_networks_have_members_and_partnerships_have_years(built_kb: KnowledgeBase) -> None:
    assert _n(built_kb, "?x a cl:AssociationNationaleElus ; org:hasMember ?m") >= 3
    assert _n(built_kb, "?x a cl:Jumelage ; cl:anneeSignature ?y") > 0


def test_imports_have_provenance(built_kb: KnowledgeBase) -> None:
    rows = built_kb.query(
        "SELECT ?src ?sha WHERE { GRAPH ?g { ?a a prov:Activity ; prov:used ?s . "
        "?s dcterms:source ?src ; cl:sha256 ?sha } }"
    ).rows()
    assert rows and all(len(str(r["sha"])) == 64 for r in rows)


def test_healthz_reports_projects_and_triples(built_kb: KnowledgeBase) -> None:
    with TestClient(create_app(built_kb)) as client:
        # "starting" while the model and indexes warm up, then "ok" (issue 9)
        deadline = time.monotonic() + 120
        body = client.get("/healthz").json()
        while body["status"] == "starting" and time.monotonic() < deadline:
            time.sleep(0.2)
            body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["projects"] == built_kb.settings.projects
    assert body["triples"] > 400_000


@pytest.mark.slow
def test_synthetic_graph_conforms_to_the_shacl_shapes(built_kb: KnowledgeBase) -> None:
    store = built_kb.store()
    synthetic = built_kb.minter.graph("synthetique")
    reference = built_kb.minter.graph("reference")
    data = store.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{synthetic}> {{ ?s ?p ?o }} }}")
    # context: what the reference graph says of the entities the corpus points to (types and
    # schemes) and of those it adds statements about (e.g. communes in memberships)
    context = store.query(
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{reference}> {{ ?s ?p ?o "
        "FILTER(?p IN (rdf:type, skos:inScheme)) } }"
    )
    described = store.query(
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {{ SELECT DISTINCT ?s WHERE {{ GRAPH <{synthetic}> "
        f"{{ ?s ?x ?y }} }} }} GRAPH <{reference}> {{ ?s ?p ?o }} }}"
    )
    graph = rdflib.Graph()
    for outcome in (data, context, described):
        nt = ox.serialize(list(outcome.triples()), format=ox.RdfFormat.N_TRIPLES)
        graph.parse(data=bytes(nt or b"").decode("utf-8"), format="nt")
    violations = [v for v in Shapes.load().validate(graph) if v.severity == "Violation"]
    assert violations == [], violations[:5]

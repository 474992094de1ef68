"""Pooling groups (issue 9, point 4) on a small hand-made corpus, where the truth is known:
three water sub-topics (boreholes, latrines, piped mains) led by ten authorities with their
networks and amounts, some sharing a partner or a partner région. The hashing encoder keeps
these tests fast; they check the grouping logic, not the model (tests/test_search_quality.py
runs the real model). The extraction of networks, amounts and provinces from a built graph is
checked on the session's knowledge base.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from graph.errors import NotFound
from search_api.http.csv_exports import POOLING_HEADER, pooling_csv
from search_api.http.i18n import format_euros, format_years
from search_api.knowledge_base import KnowledgeBase
from search_api.search._clustering import average_linkage, split
from search_api.search._provinces import Provinces, place_of
from search_api.search.answers import PoolingAnswer
from search_api.search.documents import Authority, Network, Partner, ProjectDoc, doc_from_dict
from search_api.search.encoder import HashingEncoder
from search_api.search.keyword_index import fold
from search_api.search.pooling import MAX_GROUP, find_group
from search_api.search.search_index import SearchIndex, write_search_index
from search_api.search.service import SearchService
from search_api.settings import Settings

PSEAU = Network("Programme Solidarité Eau", "urn:n:ps-eau", "thematique", "pS-Eau")
CUF = Network("Cités Unies France", "urn:n:cuf", "elus", "CUF")
RRMA = Network("RESACOOP", "urn:n:resacoop", "rrma")
AUTHORITIES = [
    Authority(f"Commune {name}", f"urn:a:{i}", "commune", "84",
              networks=(RRMA, PSEAU) if i % 2 else (CUF,))
    for i, name in enumerate(["d'Annecy", "de Bron", "de Crest", "de Die", "d'Évian", "de Fleurie",
                              "de Gex", "d'Hauteville", "d'Izernore", "de Jujurieux"])
]
SAINT_LOUIS = Partner("Commune de Saint-Louis", "urn:x:saint-louis", "SN", "SN-SL",
                      "Région de Saint-Louis")
PODOR = Partner("Commune de Podor", "urn:x:podor", "SN", "SN-SL", "Région de Saint-Louis")
OTHERS = [Partner(f"Commune rurale de Ndia{s}", f"urn:x:ndia{s}", "SN")
          for s in ("ye", "kane", "rou", "ba", "gor", "ko", "mar", "bey")]
TOPICS = {
    "forage": [
        "Réalisation de forages équipés de pompes solaires dans les villages.",
        "Les comités de gestion des forages sont formés à l'entretien des pompes.",
        "Des forages profonds alimentent des châteaux d'eau villageois.",
        "La maintenance des pompes des forages est confiée à des artisans réparateurs.",
    ],
    "latrine": [
        "Construction de latrines scolaires avec des dispositifs de lavage des mains.",
        "Les élèves sont sensibilisés à l'hygiène et à l'usage des latrines.",
        "Des blocs de latrines familiales sont construits avec les ménages.",
        "La vidange des latrines publiques du marché est organisée.",
    ],
    "reseau": [
        "Extension du réseau d'adduction d'eau potable vers les quartiers.",
        "Les branchements sociaux au réseau sont subventionnés pour les ménages.",
        "Des canalisations du réseau de distribution sont réhabilitées.",
        "Des bornes-fontaines sont raccordées au réseau d'adduction.",
    ],
}
TITLES = {"forage": ["Forages villageois", "Réhabilitation des forages"],
          "latrine": ["Latrines scolaires", "Latrines et hygiène"],
          "reseau": ["Extension du réseau d'eau", "Réseau d'adduction d'eau"]}
GENERIC = ["Le projet associe la commune partenaire et les habitants.",
           "Une mission d'échange réunit les élus des deux collectivités.",
           "Les services techniques municipaux suivent les travaux."]


def _corpus() -> list[ProjectDoc]:
    docs = []
    number = 0
    for topic, texts in TOPICS.items():
        count = {"forage": 16, "latrine": 9, "reseau": 7}[topic]
        for i in range(count):
            number += 1
            authority = AUTHORITIES[(number * 3 + i) % len(AUTHORITIES)]
            if topic == "forage" and i < 14:
                partners: tuple[Partner, ...] = (SAINT_LOUIS,)  # 14 projects: split in two
            elif topic == "latrine" and i < 2:
                partners = (PODOR,)
            else:
                partners = (OTHERS[number % len(OTHERS)],)
            docs.append(ProjectDoc(
                id=f"SN-{number:03d}", uri=f"urn:p:{number}",
                title=f"{TITLES[topic][i % 2]} à {partners[0].name.split(' de ')[-1]}",
                description=" ".join([texts[i % 4], texts[(i + 1 + i // 4) % 4],
                                      GENERIC[i % 3]]), language="fr", countries=("SN",),
                themes=("eau-assainissement",), authorities=(authority,), partners=partners,
                start_year=2010 + i % 6, end_year=2012 + i % 6,
                total_cost=45_000.0 + 1000 * i, ministry_cofinancing=10_000.0,
                currency="EUR"))
    return docs


TOPIC_OF = {d.id: next(t for t, texts in TOPICS.items() if d.description.startswith(texts[0][:20])
                       or any(d.description.startswith(x) for x in texts))
            for d in _corpus()}
VOCAB = {"country": {"SN": "Sénégal"}, "theme": {"eau-assainissement": "Eau et assainissement"},
         "authority_type": {"commune": "Commune"}, "region": {"84": "Auvergne-Rhône-Alpes"}}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> SearchService:
    folder = tmp_path_factory.mktemp("pooling")
    encoder = HashingEncoder(dimension=128)
    write_search_index(_corpus(), VOCAB, folder / "search", None, encoder,
                       Settings(data_dir=folder / "var"))
    return SearchService(SearchIndex.load(folder / "search", encoder))


@pytest.fixture(scope="module")
def answer(service: SearchService) -> PoolingAnswer:
    return service.pooling(service.filters(country="SN", theme="eau-assainissement"))


@pytest.fixture(scope="module")
def result(answer: PoolingAnswer) -> dict:
    """The answer as the API's JSON reads it."""
    return answer.model_dump(mode="json")


# ---------------------------------------------------------------- groups
def test_groups_are_small_and_bring_different_authorities_together(result: dict) -> None:
    assert result["clusters"]
    for group in result["clusters"]:
        assert 2 <= len(group["projects"]) <= MAX_GROUP
        assert len({c["uri"] for c in group["contacts"]}) >= 2


def test_groups_are_sorted_by_distinct_authorities_then_coherence(result: dict) -> None:
    keys = [(-len(g["contacts"]), -g["coherence"]) for g in result["clusters"]]
    assert keys == sorted(keys)


def test_a_same_partner_group_shares_its_partner(service: SearchService, result: dict) -> None:
    partner_groups = [g for g in result["clusters"] if g["kind"] == "partner"]
    assert partner_groups
    for group in partner_groups:
        shared = group["shared"]["partner"]
        assert group["title"].startswith(f"Même partenaire : {shared['name']}")
        for project_id in group["projects"]:
            assert shared["uri"] in {p.uri for p in service.document(project_id).partners}
    # Saint-Louis's 14 projects pass the cap: two parts, each of close projects.
    saint_louis = [g for g in partner_groups if g["shared"]["partner"]["uri"] == SAINT_LOUIS.uri]
    assert len(saint_louis) == 2 and all(g["part"][1] == 2 for g in saint_louis)
    assert sum(len(g["projects"]) for g in saint_louis) == 14


def test_a_partner_region_group_spans_two_partners_of_that_region(
        service: SearchService, result: dict) -> None:
    provinces = [g for g in result["clusters"] if g["kind"] == "province"]
    assert provinces and all(g["title"].startswith("Même région partenaire : Région de Saint-Louis")
                             for g in provinces)
    partners = {p.uri for g in provinces for i in g["projects"]
                for p in service.document(i).partners}
    assert {SAINT_LOUIS.uri, PODOR.uri} <= partners


def test_sub_topic_groups_are_coherent_and_titled_by_their_words(result: dict) -> None:
    subtopics = [g for g in result["clusters"] if g["kind"] == "subtopic"]
    assert {TOPIC_OF[g["projects"][0]] for g in subtopics} == set(TOPICS)
    for group in subtopics:
        topics = {TOPIC_OF[i] for i in group["projects"]}
        assert len(topics) == 1, group
        topic = topics.pop()
        assert group["title"].startswith("Sous-thème : ")
        words = group["shared"]["terms"]
        assert any(fold(w).startswith(topic[:5]) for w in words), group  # « forages »…


def test_contacts_carry_networks_years_and_amounts(service: SearchService, result: dict) -> None:
    group = result["clusters"][0]
    for contact in group["contacts"]:
        docs = [service.document(i) for i in contact["projects"]]
        assert set(contact["projects"]) <= set(group["projects"])
        authority = next(a for a in docs[0].authorities if a.uri == contact["uri"])
        assert [n["uri"] for n in contact["networks"]] == [n.uri for n in authority.networks]
        assert contact["years"] == sorted({d.start_year for d in docs})
        assert contact["amount"] == sum(d.total_cost for d in docs)
        assert contact["cofinancing"] == sum(d.ministry_cofinancing for d in docs)


def test_the_fields_of_the_first_version_stay(service: SearchService, result: dict) -> None:
    docs = [d for d in service.index.docs]
    expected = {a.uri: {d.id for d in docs if a in d.authorities} for d in docs
                for a in d.authorities}
    assert {a["uri"]: set(a["projects"]) for a in result["authorities"]} == expected
    for authority in result["authorities"]:
        assert {"name", "uri", "type", "projects", "networks", "years", "amount"} <= set(authority)
    for group in result["clusters"]:
        assert {"projects", "authorities", "similarity", "id", "kind", "title", "shared",
                "contacts"} <= set(group)
        assert group["authorities"] == sorted({c["name"] for c in group["contacts"]})
        assert isinstance(group["similarity"], float) and group["kind"] in (
            "partner", "province", "subtopic", "similar")


def test_group_ids_are_stable_and_unique(service: SearchService, answer: PoolingAnswer,
                                         result: dict) -> None:
    again = service.pooling(service.filters(country="SN", theme="eau-assainissement"))
    assert [g.id for g in again.clusters] == [g["id"] for g in result["clusters"]]
    assert len({g["id"] for g in result["clusters"]}) == len(result["clusters"])
    with pytest.raises(NotFound, match="groupe"):
        find_group(answer, "partenaire-inconnu")


def test_the_csv_of_a_group_lists_its_projects_networks_and_amounts(
        service: SearchService, answer: PoolingAnswer, result: dict) -> None:
    group = result["clusters"][0]
    text = pooling_csv(answer, service.document, group["id"], service.allowed_values())
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == POOLING_HEADER and rows[0][2] == "collectivité française"
    body = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert {r["projet"] for r in body} == set(group["projects"])
    assert {r["groupe"] for r in body} == {group["id"]}
    for row in body:
        doc = service.document(row["projet"])
        assert row["coût total (€)"] == f"{doc.total_cost:.0f}"
        assert "pS-Eau" in row["réseaux"] or "CUF" in row["réseaux"]
        # labels, not codes: « Commune », « Sénégal »
        assert row["type de collectivité"][0].isupper()
        assert all(len(c) > 2 for c in row["pays"].split(" ; "))
    everything = list(csv.reader(io.StringIO(pooling_csv(answer, service.document)),
                                 delimiter=";"))
    assert len(everything) - 1 == sum(len(g["projects"]) for g in result["clusters"])


# ---------------------------------------------------------------- pieces
def test_capped_average_linkage_never_passes_the_cap() -> None:
    import numpy as np

    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(40, 8))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = vectors @ vectors.T
    groups = average_linkage(similarity, -1.0, max_size=7)
    assert sorted(i for g in groups for i in g) == list(range(40))
    assert max(len(g) for g in groups) <= 7
    parts = split(similarity[:20, :20], 12)
    assert max(len(p) for p in parts) <= 12 and sum(len(p) for p in parts) == 20
    uncapped = average_linkage(similarity, -1.0)
    assert len(uncapped) == 1  # the cap is what cuts


def test_partner_provinces_come_from_iso_3166_2() -> None:
    provinces = Provinces()
    assert place_of("Conseil départemental de Matam") == "Matam"
    assert provinces.of("Commune de Ziguinchor", "SN") == ("SN-ZG", "Région de Ziguinchor")
    assert provinces.of("Région de Ziguinchor", "SN") == ("SN-ZG", "Région de Ziguinchor")
    assert provinces.of("Province du Kadiogo", "BF") == ("BF-03", "Région du Centre")
    assert provinces.of("Commune rurale de Ndiakhaté", "SN") == (None, None)  # invented place
    assert provinces.of("Commune de Ziguinchor", None) == (None, None)


def test_french_amounts_and_years() -> None:
    assert format_euros(45000, "fr") == "45\u202f000\u00a0€"
    assert format_euros(45000.4, "en") == "€45,000"
    assert format_years([2019, 2014, 2015, 2016]) == "2014–2016, 2019"


def test_documents_of_an_older_index_still_load() -> None:
    old = {"id": "P1", "uri": "urn:p:1", "title": "Projet", "description": "",
           "authorities": [{"name": "Commune de Bron", "uri": "urn:a:1", "type": "commune",
                            "region": "84"}],
           "partners": [{"name": "Commune de Podor", "uri": "urn:x:1", "country": "SN"}]}
    doc = doc_from_dict(json.loads(json.dumps(old)))
    assert doc.authorities[0].networks == () and doc.partners[0].province is None
    assert doc.total_cost is None
    rebuilt = doc_from_dict(json.loads(json.dumps(_corpus()[0].as_dict())))
    assert rebuilt == _corpus()[0]


# ---------------------------------------------------------------- the built graph
def test_the_build_extracts_networks_amounts_and_provinces(built_kb: KnowledgeBase) -> None:
    docs = built_kb.search_service().index.docs
    kinds = {n.kind for d in docs for a in d.authorities for n in a.networks}
    assert {"rrma", "elus", "thematique"} <= kinds
    names = {n.name for d in docs for a in d.authorities for n in a.networks}
    assert "Cités Unies France" in names
    assert sum(d.total_cost is not None for d in docs) > len(docs) * 0.5
    assert all(d.ministry_cofinancing <= d.total_cost for d in docs
               if d.total_cost is not None and d.ministry_cofinancing is not None)
    assert any(p.province for d in docs for p in d.partners)


def test_the_pooling_api_and_csv_on_the_built_corpus(client: TestClient, tmp_path: Path) -> None:
    params = {"country": "SN", "theme": "eau-assainissement"}
    body = client.get("/api/pooling", params=params).json()
    assert body["clusters"]
    group = body["clusters"][0]
    response = client.get("/api/pooling.csv", params={**params, "group": group["id"]})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")),
                               delimiter=";"))
    assert {r["projet"] for r in rows} == set(group["projects"])
    assert {r["pays"] for r in rows} == {"Sénégal"}
    missing = client.get("/api/pooling.csv", params={**params, "group": "proches-0000000000"})
    assert missing.status_code == 404 and "groupe" in missing.json()["error"]

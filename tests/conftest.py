"""Session fixtures shared by the suite: the reference data and the built knowledge bases are
made once per session (building is the slow part).

Two builds of the same test corpus (``TEST_PROJECTS`` projects, seed 42):

- ``built_kb`` indexes it with the hashing encoder (no model, about 20 s on 2 cores): every
  test of shapes, filters, counts, pages, SPARQL and linked data runs on it, in ``make check``;
- ``real_kb`` indexes it with the default model, for the tests that assert what only meaning
  gives (paraphrases, translations, the theme prior, similar projects sharing a subject). They
  are marked ``slow`` and run in ``make test``; the vectors are cached in pytest's cache folder
  so only a first run pays for encoding.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from search_api.knowledge_base import KnowledgeBase
from search_api.search.service import SearchService
from search_api.settings import Settings

#: Size of the default dataset built for tests: big enough for every example query and facet
#: to have answers, small enough to build in seconds.
TEST_PROJECTS = 1500
#: Encoder of ``built_kb``: character n-grams, instant and deterministic, no meaning.
FAST_ENCODER = "hashing"


@pytest.fixture(scope="session")
def built_kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeBase]:
    """A KnowledgeBase over a temporary data dir holding the default dataset at test scale,
    indexed for search with the hashing encoder."""
    # COOPLINK_TEST_BUILT_DIR: a developer's shortcut to reuse one build across runs; CI and
    # ``make test`` always build afresh.
    reuse = os.environ.get("COOPLINK_TEST_BUILT_DIR")
    data_dir: Path = Path(reuse) if reuse else tmp_path_factory.mktemp("var")
    # One SPARQL worker evaluating on disk: each in-memory worker would copy the graph at
    # every app start, and the pool's own behaviour is tested on small fixtures.
    kb = KnowledgeBase(Settings(data_dir=data_dir, projects=TEST_PROJECTS, seed=42,
                                search_encoder=FAST_ENCODER, sparql_in_memory=False,
                                sparql_workers=1, sparql_spare_workers=0))
    if not (reuse and kb.datadir.exists()):
        kb.build()
    yield kb


@pytest.fixture(scope="session")
def real_kb(tmp_path_factory: pytest.TempPathFactory,
            request: pytest.FixtureRequest) -> Iterator[KnowledgeBase]:
    """The same corpus as ``built_kb`` indexed with the default model (slow tests only)."""
    cache = Path(request.config.cache.mkdir("cooplink-search"))
    settings = Settings(data_dir=tmp_path_factory.mktemp("var-real"), projects=TEST_PROJECTS,
                        seed=42, search_cache_dir=cache)
    kb = KnowledgeBase(settings)
    kb.build()
    yield kb


@pytest.fixture
def base_dir(tmp_path: Path) -> Path:
    """This test's own new, empty data dir: an ingest into it writes the base graphs
    (ontology, reference data) and its files as one generation (search_api/write_path.py)."""
    return empty_data_dir(tmp_path / "base-var")


def empty_data_dir(path: Path) -> Path:
    """``path`` created empty: what a first ingest starts from."""
    path.mkdir(parents=True)
    return path


@pytest.fixture(scope="module")
def service(built_kb: KnowledgeBase) -> SearchService:
    """The search service over the fast test build (a module may define its own)."""
    svc: SearchService = built_kb.search_service()
    return svc


@pytest.fixture(scope="module")
def client(built_kb: KnowledgeBase) -> Iterator[TestClient]:
    """An HTTP client of the app over the fast test build (a module may define its own)."""
    with TestClient(create_app(built_kb)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def real_service(real_kb: KnowledgeBase) -> SearchService:
    """The search service over the real-model build."""
    svc: SearchService = real_kb.search_service()
    return svc


@pytest.fixture(scope="module")
def real_client(real_kb: KnowledgeBase) -> Iterator[TestClient]:
    """An HTTP client of the app over the real-model build."""
    with TestClient(create_app(real_kb)) as test_client:
        yield test_client

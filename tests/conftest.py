"""Session fixtures shared by the suite: the reference data and a small built knowledge base
are made once per session (building is the slow part)."""

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


@pytest.fixture(scope="session")
def built_kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeBase]:
    """A KnowledgeBase over a temporary data dir holding the default dataset at test scale."""
    # COOPLINK_TEST_BUILT_DIR: a developer's shortcut to reuse one build across runs (the
    # build is the slow part of the suite); CI and ``make test`` always build afresh.
    reuse = os.environ.get("COOPLINK_TEST_BUILT_DIR")
    data_dir: Path = Path(reuse) if reuse else tmp_path_factory.mktemp("var")
    kb = KnowledgeBase(Settings(data_dir=data_dir, projects=TEST_PROJECTS, seed=42))
    if not (reuse and kb.datadir.exists()):
        kb.build()
    yield kb


@pytest.fixture(scope="module")
def service(built_kb: KnowledgeBase) -> SearchService:
    """The search service over the test build (a module may define its own)."""
    svc: SearchService = built_kb.search_service()
    return svc


@pytest.fixture(scope="module")
def client(built_kb: KnowledgeBase) -> Iterator[TestClient]:
    """An HTTP client of the app over the test build (a module may define its own)."""
    with TestClient(create_app(built_kb)) as test_client:
        yield test_client

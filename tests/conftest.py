"""Session fixtures shared by the suite: the built knowledge bases are made once per session
(once per worker when ``make check`` runs the tests in two processes with pytest-xdist);
building is the slow part.  The reference data, its resolver and the SHACL shapes are read once
per process by ``search_api/knowledge_base.py`` itself.

Two builds of the same test corpus (``TEST_PROJECTS`` projects, seed 42):

- ``built_kb`` indexes it with the hashing encoder (no model, about 13 s on one core): every
  test of shapes, filters, counts, pages, SPARQL and linked data runs on it, in ``make check``;
- ``real_kb`` indexes it with the default model, for the tests that assert what only meaning
  gives (paraphrases, translations, the theme prior, similar projects sharing a subject). They
  are marked ``slow`` and run in ``make test``; the vectors are cached in pytest's cache folder
  so only a first run pays for encoding.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from chromium import Browser, open_browser
from fastapi.testclient import TestClient
from fixtures_sparql import running_server

from graph.namespaces import DEFAULT_BASE_URI
from ingest.reference import ReferenceData
from ingest.resolver import Resolver
from search_api.app import create_app
from search_api.knowledge_base import KnowledgeBase, shared_reference, shared_resolver
from search_api.search.service import SearchService
from search_api.settings import Settings


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (``make check``), each worker gets its own folder inside a shared
    ``COOPLINK_SEARCH_CACHE_DIR``: the embedding cache expects one writer at a time, and two
    workers ingest the same sample files at once.  Without the variable, each data dir keeps
    its own cache and nothing is shared."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    shared = os.environ.get("COOPLINK_SEARCH_CACHE_DIR")
    if worker and shared:
        os.environ["COOPLINK_SEARCH_CACHE_DIR"] = str(Path(shared) / f"xdist-{worker}")


#: Size of the default dataset built for tests: big enough for every example query and facet
#: to have answers, small enough to build in seconds.
TEST_PROJECTS = 1500
#: Encoder of ``built_kb``: character n-grams, instant and deterministic, no meaning.
FAST_ENCODER = "hashing"


@pytest.fixture(scope="session")
def built_kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeBase]:
    """A KnowledgeBase over a temporary data dir holding the default dataset at test scale,
    indexed for search with the hashing encoder.  The tests only read it, so the xdist
    workers of one run share one build: the first to need it builds it, the other waits."""
    # COOPLINK_TEST_BUILT_DIR: a developer's shortcut to reuse one build across runs; CI and
    # ``make test`` always build afresh.
    reuse = os.environ.get("COOPLINK_TEST_BUILT_DIR") or None
    shared = reuse is not None or "PYTEST_XDIST_WORKER" in os.environ
    if reuse:
        data_dir = Path(reuse)
        lock = Path(tempfile.gettempdir()) / f"cooplink-test-built-{os.getuid()}.lock"
    elif shared:  # the workers' temporary folders have the run's folder as common parent
        data_dir = tmp_path_factory.getbasetemp().parent / "built-var"
        lock = data_dir.with_name("built-var.lock")
    else:
        data_dir = tmp_path_factory.mktemp("var")
    # One SPARQL worker evaluating on disk: each in-memory worker would copy the graph at
    # every app start, and the pool's own behaviour is tested on small fixtures.
    kb = KnowledgeBase(Settings(data_dir=data_dir, projects=TEST_PROJECTS, seed=42,
                                search_encoder=FAST_ENCODER, sparql_in_memory=False,
                                sparql_workers=1, sparql_spare_workers=0))
    if not shared:
        kb.build()
    else:
        # the data dir's own build lock would make the second builder fail, not wait
        with _exclusive(lock):
            if not kb.datadir.exists():
                kb.build()
    yield kb


@contextmanager
def _exclusive(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_file``, waiting for another process to release it."""
    with open(lock_file, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


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


@pytest.fixture(scope="session")
def reference() -> ReferenceData:
    """The reference data (default base URI), the very object every KnowledgeBase of the
    process uses: read once, not once per test module (about a second)."""
    return shared_reference(DEFAULT_BASE_URI)


@pytest.fixture(scope="session")
def resolver() -> Resolver:
    """The resolver over ``reference``, shared the same way (its look-up tables take a
    second to build)."""
    return shared_resolver(DEFAULT_BASE_URI)


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
def server(built_kb: KnowledgeBase) -> Iterator[str]:
    """The app over the fast test build, served by a real uvicorn (browser and client tests)."""
    with running_server(create_app(built_kb)) as url:
        yield url


@pytest.fixture()
def browser(tmp_path: Path, server: str) -> Iterator[Browser]:
    """A headless Chromium (tests/chromium.py) for one test; at the end, the pages it opened
    must have requested nothing from another server (no CDN, no fonts, no tiles)."""
    with open_browser(tmp_path / "profile") as chromium:
        yield chromium
        assert chromium.outside(server) == []


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

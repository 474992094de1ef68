"""A private Virtuoso for the tests (issue 13): one per test process, started on first use on
free loopback ports in a temporary folder, and stopped at the end of the session.

Test modules import :func:`virtuoso` (a session fixture); whichever module asks first starts
the server, the others reuse it, so each module loads the data it needs itself.  When Virtuoso
is not installed (``make test`` installs it, like Chromium), the tests skip with the reason.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from graph.remote import RemoteStore
from graph.virtuoso import Virtuoso, free_port, isql_binary, server_binary
from search_api.app import create_app
from search_api.knowledge_base import KnowledgeBase

#: small buffers (8 KiB pages): the test data is a few hundred thousand triples at most
TEST_BUFFERS = 12_000
#: ResultSetMaxRows of the test server: above every answer the API tests need, low enough for
#: a test to pass it cheaply and see the cut detected
TEST_MAX_ROWS = 20_000
#: the graph backends the API tests run on (``backend_client``); Virtuoso's runs are ``slow``
#: (a server to start and data to load: ``make test`` runs them, ``make check`` does not)
VIRTUOSO = pytest.param("virtuoso", marks=pytest.mark.slow)
BACKENDS = ("embedded", VIRTUOSO)
_server: Virtuoso | None = None


def shared_virtuoso(config: pytest.Config) -> Virtuoso:
    """The process's Virtuoso, started now if needed (stopped by the session's cleanup)."""
    global _server
    if _server is None:
        if server_binary() is None or isql_binary() is None:
            pytest.skip("Virtuoso n'est pas installé (virtuoso-t, isql-vt) : « make test » "
                        "l'installe (apt-get install virtuoso-opensource)")
        folder = Path(tempfile.mkdtemp(prefix="cooplink-virtuoso-"))
        server = Virtuoso(folder, http_port=free_port(), sql_port=free_port(),
                          buffers=TEST_BUFFERS, max_rows=TEST_MAX_ROWS)

        def stop() -> None:
            server.stop()
            shutil.rmtree(folder, ignore_errors=True)

        config.add_cleanup(stop)
        server.start()
        _server = server
    return _server


@pytest.fixture(scope="session")
def virtuoso(request: pytest.FixtureRequest) -> Virtuoso:
    return shared_virtuoso(request.config)


def writable(server: Virtuoso) -> RemoteStore:
    """A read-write :class:`RemoteStore` on ``server`` (digest-authenticated updates)."""
    return RemoteStore(server.endpoint, update_endpoint=server.update_endpoint, user="dba",
                       password=server.password, max_rows=TEST_MAX_ROWS)


def clear(server: Virtuoso) -> None:
    """Drop every graph but Virtuoso's own (a module's data must not leak into the next)."""
    store = writable(server)
    for graph in store.named_graphs():
        store.drop_graph(graph)


def remote_kb(kb: KnowledgeBase, server: Virtuoso) -> KnowledgeBase:
    """``kb``'s data dir served from ``server``: its generation pushed with the bulk loader,
    and a KnowledgeBase whose graph reads go to Virtuoso (search indexes stay local)."""
    clear(server)
    remote = KnowledgeBase(kb.settings.with_overrides(
        sparql_endpoint=server.endpoint, sparql_update_endpoint=server.update_endpoint,
        sparql_user="dba", sparql_password=SecretStr(server.password),
        sparql_endpoint_max_rows=TEST_MAX_ROWS, virtuoso_isql=server.address,
        virtuoso_load_dir=server.load_dir))
    remote.push()
    return remote


@contextlib.contextmanager
def backend_client(request: pytest.FixtureRequest, kb: KnowledgeBase,
                   embedded: FastAPI) -> Iterator[TestClient]:
    """A client of the API over ``kb``'s graph on the backend ``request.param``
    (:data:`BACKENDS`): the ``embedded`` app as given, or the same data on Virtuoso."""
    if request.param == "embedded":
        with TestClient(embedded) as client:
            yield client
        return
    remote = remote_kb(kb, shared_virtuoso(request.config))
    assert isinstance(remote.store(), RemoteStore)  # every graph read goes to Virtuoso
    app = create_app(remote)
    try:
        with TestClient(app) as client:
            yield client
    finally:
        app.state.query_runner.close()

"""Fixtures of the SPARQL/linked-data tests: a small hand-made data directory (one generation
with the real ontology and themes, a slice of reference data and twelve synthetic projects), the
app over it, and a real uvicorn server for the client tests.

These fixtures do not need the default-dataset build, so the endpoint tests stay fast; the
example queries are also run against the lead's ``built_kb`` in ``tests/test_examples.py``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from graph.datadir import DataDir
from graph.namespaces import DEFAULT_BASE_URI, UriMinter
from graph.store import OxigraphStore
from search_api.app import create_app
from search_api.knowledge_base import KnowledgeBase
from search_api.settings import Settings

DATA = Path(__file__).parent / "data" / "sparql"
ONTOLOGY = Path(__file__).parent.parent / "ontology"
PROJECTS = 12  # projects in data/sparql/projects.ttl


def publish_fixture_generation(data_dir: Path, extra: dict[str, bytes] | None = None) -> str:
    """Write one generation (ontology, reference slice, projects) and publish it."""
    minter = UriMinter(DEFAULT_BASE_URI)
    datadir = DataDir(data_dir)
    gen = datadir.new_generation()
    store = OxigraphStore(gen.store_path)
    store.load((ONTOLOGY / "cooplink.ttl").read_bytes(), "ttl", minter.graph("ontology"))
    store.load((ONTOLOGY / "themes.ttl").read_bytes(), "ttl", minter.graph("reference"))
    store.load((DATA / "reference.ttl").read_bytes(), "ttl", minter.graph("reference"))
    store.load((DATA / "projects.ttl").read_bytes(), "ttl", minter.graph("synthetique"))
    meta = (
        f"<{minter.graph('synthetique')}> <http://www.w3.org/ns/prov#wasGeneratedBy> "
        "<https://w3id.org/cooplink/provenance/synthetique/0123456789abcdef> .\n"
    )
    store.load(meta.encode(), "nt", minter.graph("meta"))
    for graph, data in (extra or {}).items():
        store.load(data, "nt", graph)
    store.flush()
    gen.write_manifest({
        "generation": gen.id,
        "built_at": datetime.now(UTC).isoformat(),
        "base_uri": DEFAULT_BASE_URI,
        "triples": store.triple_count(),
        "projects": PROJECTS,
        "synthetic_projects": PROJECTS,
        "graphs": store.named_graphs(),
    })
    del store
    datadir.publish(gen)
    return gen.id


def fixture_kb(data_dir: Path, **settings: Any) -> KnowledgeBase:
    """A KnowledgeBase over a fresh fixture data directory (no search index: the hashing
    encoder, so that warming the app does not load the real model for nothing)."""
    publish_fixture_generation(data_dir)
    return KnowledgeBase(Settings(data_dir=data_dir, **{"search_encoder": "hashing", **settings}))


@pytest.fixture(scope="session")
def sparql_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return fixture_kb(tmp_path_factory.mktemp("sparql-var"), sparql_timeout=20.0)


@pytest.fixture(scope="session")
def sparql_app(sparql_kb: KnowledgeBase) -> Iterator[FastAPI]:
    app = create_app(sparql_kb)
    yield app
    app.state.query_runner.close()


@pytest.fixture(scope="session")
def client(sparql_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(sparql_app) as test_client:
        yield test_client


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def running_server(app: FastAPI, **options: Any) -> Iterator[str]:
    """Serve ``app`` with a real uvicorn on 127.0.0.1 in a thread; yields its base URL.
    ``options`` go to ``uvicorn.Config`` (``search_api.app.server_options``)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("le serveur de test n'a pas démarré")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def server_url(sparql_app: FastAPI) -> Iterator[str]:
    with running_server(sparql_app) as url:
        yield url



_CHILD = """
import sys, threading
import uvicorn
from search_api.knowledge_base import KnowledgeBase
from search_api.settings import Settings
from search_api.app import create_app, server_options

settings = Settings(data_dir=sys.argv[1], port=int(sys.argv[2]))  # the rest: COOPLINK_* env
kb = KnowledgeBase(settings)
app = create_app(kb)
server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.port,
                                       log_level="warning", **server_options(settings)))

def announce():
    while not server.started:
        threading.Event().wait(0.02)
    ready = app.state.query_runner.wait_ready(300)
    kb.encoder()  # what a first cl:similarity query would import (0.5 s holding the GIL)
    print("READY", ready, app.state.query_runner.sandboxed(), flush=True)

threading.Thread(target=announce, daemon=True).start()
server.run()
"""


@contextlib.contextmanager
def serve_in_child(data_dir: Path, **settings: Any) -> Iterator[tuple[str, str]]:
    """Serve ``data_dir`` with ``cooplink``'s app in a child process (its own interpreter, so
    nothing it does can hold this process's GIL: a liveness probe from here measures the
    server, not Python's scheduling).  ``settings`` become ``COOPLINK_*`` variables.  Yields
    the base URL and the READY line (``READY <workers loaded> <workers sandboxed>``)."""
    port = free_port()
    env = {**os.environ, **{f"COOPLINK_{k.upper()}": str(v) for k, v in settings.items()}}
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(data_dir), str(port)], env=env,
                            stdout=subprocess.PIPE, text=True)
    try:
        # blocks until READY, or "" if the child died (stdout is a pipe: never None)
        line = proc.stdout.readline() if proc.stdout else ""
        if not line.startswith("READY"):
            raise RuntimeError(f"le serveur de test n'a pas démarré ({proc.poll()})")
        yield f"http://127.0.0.1:{port}", line.strip()
    finally:
        proc.terminate()  # uvicorn shuts down; the lifespan stops the workers
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

"""Dumps are written with each new generation, before it is published: a download never waits
for them, they hold the whole graph, and a failure writing them fails the build.

The lazy path (a generation built before dumps were part of the build) is covered by
``tests/test_linked_data.py``, whose hand-made generation has no dumps."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

from graph.dumps import FORMATS, dump_path, write_dumps
from ingest.pipeline import source_graph_name
from search_api.app import create_app
from search_api.knowledge_base import KnowledgeBase
from search_api.settings import Settings

SAMPLE = Path(__file__).parent / "data" / "daect" / "sample.csv"


def _triples(path: Path, fmt: str) -> set[str]:
    """The triples of a gzipped dump, as N-Triples lines (blank node labels included)."""
    data = gzip.decompress(path.read_bytes())
    return {str(ox.Triple(q.subject, q.predicate, q.object))
            for q in ox.parse(data, format=FORMATS[fmt])}


def _union_size(kb: KnowledgeBase) -> int:
    rows = kb.query("SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o "
                    "WHERE { ?s ?p ?o } }").rows()
    return int(rows[0]["n"])  # type: ignore[arg-type]


def _no_lazy_write(*_: object) -> dict[str, Path]:
    raise AssertionError("the HTTP layer wrote a dump the build should have written")


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeBase]:
    """A small build (reference data and 40 projects; hashing encoder, to stay fast)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("dumps-var"), projects=40, seed=3,
                        search_encoder="hashing")
    knowledge_base = KnowledgeBase(settings)
    knowledge_base.build()
    yield knowledge_base


def test_a_build_writes_both_dumps_holding_the_whole_graph(kb: KnowledgeBase) -> None:
    gen = kb.datadir.require_current()
    nt = _triples(dump_path(gen.path, "nt"), "nt")
    ttl = _triples(dump_path(gen.path, "ttl"), "ttl")
    assert nt == ttl
    assert len(nt) == _union_size(kb) > 300_000  # reference data and projects, each once
    assert any("Projet" in t for t in nt)


def test_a_dump_carries_only_stable_uris(kb: KnowledgeBase) -> None:
    """Issue 12: the identifiers in a dump do not depend on where the build or server ran."""
    gen = kb.datadir.require_current()
    data = gzip.decompress(dump_path(gen.path, "nt").read_bytes())
    assert b"127.0.0.1" not in data and b"localhost" not in data
    minted = set()
    for quad in ox.parse(data, format=FORMATS["nt"]):
        for term in (quad.subject, quad.object):
            if isinstance(term, ox.NamedNode) and any(
                    f"/{root}/" in term.value for root in ("id", "provenance", "source")):
                minted.add(term.value)
    assert len(minted) > 10_000
    stray = sorted(u for u in minted if not u.startswith("https://w3id.org/cooplink/"))
    assert not stray, stray[:5]
    assert "https://w3id.org/cooplink/graph/synthetique" in kb.store().named_graphs()


@pytest.mark.slow  # an ingest after the build
def test_a_new_generation_is_served_with_its_dumps_ready(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ingest publishes a new generation through the same steps as a build: its dumps,
    holding the ingested graph, are served at once, never written on request."""
    monkeypatch.setattr("search_api.http.dumps.write_generation_dumps", _no_lazy_write)
    app = create_app(kb)
    try:
        with TestClient(app) as client:
            before = client.get("/dumps/cooplink.nt.gz")
            outcome = kb.ingest([SAMPLE])
            assert outcome.landed > 0
            gen = kb.datadir.require_current()
            assert gen.id == outcome.generation
            for fmt in FORMATS:
                response = client.get(f"/dumps/cooplink.{fmt}.gz")
                assert response.status_code == 200
                assert response.headers["content-type"] == "application/gzip"
                assert response.content == dump_path(gen.path, fmt).read_bytes()
            assert response.content != before.content
    finally:
        app.state.query_runner.close()
    source = ox.NamedNode(kb.minter.graph(source_graph_name(SAMPLE)))
    ingested = {str(ox.Triple(q.subject, q.predicate, q.object))
                for q in kb.store().raw.quads_for_pattern(None, None, None, source)}
    nt = _triples(dump_path(gen.path, "nt"), "nt")
    assert ingested and ingested <= nt
    assert len(nt) == _union_size(kb)


def test_a_failure_writing_dumps_fails_the_build_and_keeps_the_graph_served(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = kb.datadir.require_current()
    folders = set(kb.datadir.generations_dir.iterdir())

    def disk_full(*_: object) -> dict[str, Path]:
        raise OSError(28, "plus de place sur le disque")

    monkeypatch.setattr("search_api.write_path.write_generation_dumps", disk_full)
    # the outcome says why in French (exit code 3 in the CLI), nothing is published (issue 8)
    outcome = kb.ingest([SAMPLE], replace=True)
    assert outcome.generation is None
    assert outcome.write_error is not None and "disque plein" in outcome.write_error
    assert kb.datadir.require_current() == served
    assert set(kb.datadir.generations_dir.iterdir()) == folders
    assert dump_path(served.path, "nt").exists()


def test_dumps_hold_each_triple_once_and_are_byte_identical_for_the_same_graph(
    tmp_path: Path,
) -> None:
    store = ox.Store()
    s, label = ox.NamedNode("http://x/côte"), ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
    shared = (s, label, ox.Literal("Côte d'Ivoire", language="fr"))
    blank = (ox.BlankNode("b1"), label, ox.Literal("Sénégal"))
    for graph in ("http://x/g1", "http://x/g2"):
        store.add(ox.Quad(*shared, ox.NamedNode(graph)))
    store.add(ox.Quad(*blank, ox.NamedNode("http://x/g1")))
    first = write_dumps(store, tmp_path / "a")
    second = write_dumps(store, tmp_path / "b")
    for fmt in FORMATS:
        assert first[fmt] == dump_path(tmp_path / "a", fmt)
        assert first[fmt].read_bytes() == second[fmt].read_bytes()
        assert len(_triples(first[fmt], fmt)) == 2
    assert _triples(first["nt"], "nt") == _triples(first["ttl"], "ttl")
    assert not [p for p in (tmp_path / "a" / "dumps").iterdir() if p.name.endswith(".tmp")]

"""Golden ingest folders: ``tests/data/ingest/<case>/{input.*, expected.ttl}``.

Each input is run through the whole pipeline (read, resolve, SHACL, map) and the resulting named
graph is compared with ``expected.ttl`` by graph isomorphism; a failure prints the difference.
One folder per regression.  To accept a deliberate change, regenerate with
``.venv/bin/python tests/test_ingest_golden.py`` and review the diff.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.compare import graph_diff, isomorphic, to_isomorphic

from search_api.knowledge_base import KnowledgeBase
from search_api.settings import Settings

CASES_DIR = Path(__file__).parent / "data" / "ingest"
CASES = sorted(p for p in CASES_DIR.iterdir() if p.is_dir())


def _input(case: Path) -> Path:
    return next(p for p in sorted(case.iterdir()) if p.stem == "input")


def _graph_of(kb: KnowledgeBase, case: Path) -> rdflib.Graph:
    batch = kb.pipeline().prepare(_input(case))
    data = ox.serialize([q.triple for q in batch.quads], format=ox.RdfFormat.N_TRIPLES)
    graph = rdflib.Graph()
    graph.parse(data=bytes(data or b"").decode("utf-8"), format="nt")
    return graph


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return KnowledgeBase(Settings(data_dir=tmp_path_factory.mktemp("golden")))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_ingest_matches_golden_graph(kb: KnowledgeBase, case: Path) -> None:
    got = _graph_of(kb, case)
    expected = rdflib.Graph().parse(case / "expected.ttl", format="turtle")
    if not isomorphic(got, expected):
        _, only_got, only_expected = graph_diff(to_isomorphic(got), to_isomorphic(expected))
        pytest.fail(
            "graph differs from expected.ttl\n--- only in produced graph:\n"
            + only_got.serialize(format="nt")
            + "\n--- only in expected.ttl:\n"
            + only_expected.serialize(format="nt")
        )


def test_reingesting_the_same_file_gives_an_isomorphic_graph(kb: KnowledgeBase) -> None:
    case = CASES_DIR / "daect-resolved"
    assert isomorphic(_graph_of(kb, case), _graph_of(kb, case))


def _regenerate() -> None:
    import tempfile

    kb = KnowledgeBase(Settings(data_dir=Path(tempfile.mkdtemp())))
    for case in CASES:
        graph = _graph_of(kb, case)
        for prefix, ns in (
            ("cl", "https://w3id.org/cooplink/def#"),
            ("dcterms", "http://purl.org/dc/terms/"),
        ):
            graph.bind(prefix, ns)
        graph.serialize(case / "expected.ttl", format="turtle")
        print(f"wrote {case / 'expected.ttl'} ({len(graph)} triples)", file=sys.stderr)


if __name__ == "__main__":
    _regenerate()

"""The example queries of the editor gallery: titled in French and English, self-contained,
non-empty on the default dataset (``built_kb``) and on the hand-made fixture, and runnable with
``cooplink sparql FILE``."""
# ruff: noqa: F811 - fixtures imported from fixtures_sparql are parameters of the tests

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from fixtures_sparql import sparql_kb  # noqa: F401 - fixture
from typer.testing import CliRunner

from search_api.cli import app as cli
from search_api.http.sparql import EXAMPLES_DIR, Example, load_examples
from search_api.knowledge_base import KnowledgeBase

EXAMPLES = load_examples()
IDS = [e.id for e in EXAMPLES]


def _answer_size(kb: KnowledgeBase, example: Example) -> int:
    outcome = kb.query(example.query)
    if outcome.kind == "select":
        return len(outcome.rows())
    if outcome.kind == "ask":
        return int(outcome.boolean())
    return len(list(outcome.triples()))


def test_there_are_at_least_fifteen_titled_examples() -> None:
    assert len(EXAMPLES) >= 15
    for example in EXAMPLES:
        assert example.title_fr != example.id and example.title_en != example.id, example.id
        assert example.title_fr != example.title_en, example.id


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_examples_declare_their_prefixes_so_any_client_can_run_them(example: Example) -> None:
    # no default prefixes here, unlike the endpoint and the CLI
    ox.Store().query(example.query)


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_example_answers_on_the_fixture(sparql_kb: KnowledgeBase, example: Example) -> None:
    assert _answer_size(sparql_kb, example) > 0


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_example_answers_on_the_default_dataset(built_kb: KnowledgeBase, example: Example) -> None:
    assert _answer_size(built_kb, example) > 0


@pytest.mark.parametrize("path", sorted(EXAMPLES_DIR.glob("*.rq")), ids=IDS)
def test_example_runs_through_the_cli(sparql_kb: KnowledgeBase, path: Path) -> None:
    query = next(e.query for e in EXAMPLES if e.id == path.stem)
    fmt = "ttl" if "CONSTRUCT" in query else "csv"
    result = CliRunner().invoke(cli, ["sparql", str(path), "--data-dir",
                                      str(sparql_kb.datadir.root), "--format", fmt])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) >= (1 if lines == ["true"] else 2), result.stdout

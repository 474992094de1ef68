"""Issue 10, point 4 — the write path (``search_api/write_path.py``): an ingest is read →
resolve → map → validate → write → index → dumps → publish, one transaction on the data dir;
a failure at any step leaves the previous graph served and no half-written folder; an empty
data dir gets its reference data and the ingested file in one generation."""

from __future__ import annotations

import csv
import errno
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from graph.datadir import DataDir, Generation
from search_api.app import create_app
from search_api.knowledge_base import KnowledgeBase
from search_api.outcome import IngestOutcome
from search_api.settings import Settings
from search_api.write_path import STEPS, WritePath

SAMPLE = Path(__file__).parent / "data" / "daect" / "sample.csv"


def _kb(data_dir: Path) -> KnowledgeBase:
    # the hashing encoder builds the search index at once; what is under test is the path
    return KnowledgeBase(Settings(data_dir=data_dir, search_encoder="hashing"))


def _projects(kb: KnowledgeBase) -> int:
    rows = kb.query("SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p a cl:Projet }").rows()
    return int(rows[0]["n"])  # type: ignore[arg-type]


def _other_csv(tmp_path: Path) -> Path:
    rows = list(csv.reader(io.StringIO(SAMPLE.read_text("utf-8")), delimiter=";"))
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";").writerows(
        [rows[0], *[[f"AUTRE-{i}", *r[1:]] for i, r in enumerate(rows[1:4])]])
    path = tmp_path / "autre.csv"
    path.write_text(buffer.getvalue(), "utf-8")
    return path


@dataclass
class FirstIngest:
    """The sample spreadsheet ingested into an empty data dir, with what the write path did."""

    data_dir: Path
    outcome: IngestOutcome
    steps: list[str]  # each step's name as it started
    made: list[str]  # the generations created


@pytest.fixture(scope="module")
def first_ingest(tmp_path_factory: pytest.TempPathFactory) -> FirstIngest:
    """One ingest into an empty data dir (seconds: it writes the reference data too), which the
    tests below read and then use as the served data dir."""
    data_dir = tmp_path_factory.mktemp("served") / "var"
    made: list[str] = []
    new_generation = DataDir.new_generation

    def counted(self: DataDir) -> Generation:
        gen = new_generation(self)
        made.append(gen.id)
        return gen

    steps: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DataDir, "new_generation", counted)
        outcome = WritePath(_kb(data_dir), on_step=steps.append).ingest([SAMPLE])
    return FirstIngest(data_dir, outcome, steps, made)


@pytest.fixture(scope="module")
def served(first_ingest: FirstIngest) -> Path:
    """A data dir serving the sample spreadsheet (10 projects)."""
    assert first_ingest.outcome.exit_code == 0
    return first_ingest.data_dir


def test_the_steps_run_in_the_documented_order(first_ingest: FirstIngest) -> None:
    heard = first_ingest.steps
    assert first_ingest.outcome.exit_code == 0 and first_ingest.outcome.landed == 10
    assert list(dict.fromkeys(heard)) == list(STEPS)
    # resolve, map and validate run per chunk of records, always in that order
    chunked = [s for s in heard if s in ("resolve", "map", "validate")]
    assert chunked == ["resolve", "map", "validate"] * (len(chunked) // 3)


def test_an_empty_data_dir_gets_one_generation_served_and_searchable(
    first_ingest: FirstIngest,
) -> None:
    outcome, made = first_ingest.outcome, first_ingest.made
    kb = _kb(first_ingest.data_dir)
    assert outcome.exit_code == 0
    assert made == [outcome.generation]
    # the failing writes below leave no folder behind, so this holds whatever the test order
    assert [p.name for p in kb.datadir.generations_dir.iterdir()] == made
    gen = kb.datadir.require_current()
    assert gen.id == outcome.generation and gen.manifest()["previous"] is None
    assert not (gen.path / "incoming").exists()  # the staged records went into the store
    assert _projects(kb) == 10
    label = kb.query('SELECT ?n WHERE { ?c cl:codeInsee "93048" ; rdfs:label ?n }').rows()
    assert label and "Montreuil" in str(label[0]["n"])  # the reference data came with it
    app = create_app(kb)
    try:
        with TestClient(app) as client:
            response = client.get("/api/search", params={"q": "collecte des déchets Yélimané"})
            assert response.status_code == 200
            assert "EX-2021-001" in response.text
    finally:
        app.state.query_runner.close()


def _header_only(tmp_path: Path) -> Path:
    path = tmp_path / "entete.csv"
    path.write_text(SAMPLE.read_text("utf-8").splitlines()[0] + "\n", "utf-8")
    return path


def test_a_file_with_nothing_to_land_publishes_nothing(tmp_path: Path) -> None:
    kb = _kb(tmp_path / "var")
    outcome = kb.ingest([_header_only(tmp_path)])
    assert outcome.exit_code == 1 and outcome.generation is None
    assert kb.datadir.current() is None
    assert list(kb.datadir.generations_dir.iterdir()) == []
    assert outcome.report_path is not None and outcome.report_path.exists()


def _disk_full(*_: Any, **__: Any) -> Any:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("step", STEPS)
def test_a_failure_at_any_step_keeps_the_previous_graph_served(
    served: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    kb = _kb(served)
    before = (served / "CURRENT").read_text("utf-8")
    folders = sorted((served / "generations").iterdir())
    monkeypatch.setattr(WritePath, step, _disk_full)
    outcome = kb.ingest([_other_csv(tmp_path)])
    monkeypatch.undo()
    assert outcome.generation is None and outcome.landed == 0
    if step in ("read", "resolve", "map", "validate"):
        # a failure while reading is the file's: listed as unreadable, the others would land
        assert outcome.exit_code == 2 and outcome.unreadable[0][0] == "autre.csv"
    else:
        # a failure while writing is the data dir's: French message, exit code 3
        assert outcome.exit_code == 3
        assert outcome.write_error is not None and "disque plein" in outcome.write_error
        assert outcome.reports[0].records_landed == 3  # the report says what would have landed
    assert outcome.report_path is not None and outcome.report_path.exists()
    assert (served / "CURRENT").read_text("utf-8") == before
    assert sorted((served / "generations").iterdir()) == folders
    assert _projects(_kb(served)) == 10


def test_an_unexpected_error_while_indexing_removes_the_new_generation(
    served: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folders = sorted((served / "generations").iterdir())

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("index cassé")

    monkeypatch.setattr(WritePath, "index", broken)
    with pytest.raises(RuntimeError, match="index cassé"):
        _kb(served).ingest([_other_csv(tmp_path)])
    assert sorted((served / "generations").iterdir()) == folders
    monkeypatch.undo()
    # the build lock was released: a held one would raise BuildLocked here.  A file that
    # lands nothing still opens a write, and leaves the served generation as it was.
    assert _kb(served).ingest([_header_only(tmp_path)]).exit_code == 1

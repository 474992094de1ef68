"""The ``cooplink`` command line as a user scripts it: exit codes, reports, formats."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from conftest import empty_data_dir
from typer.testing import CliRunner

from search_api.cli import app

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "daect" / "sample.csv"
runner = CliRunner()


def cli(*args: str) -> tuple[int, str, str]:
    # The hashing encoder: these tests are about the commands, not the meaning of texts.
    result = runner.invoke(app, list(args), catch_exceptions=False,
                           env={"COOPLINK_SEARCH_ENCODER": "hashing"})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding only the reference data plus the sample spreadsheet."""
    d = empty_data_dir(tmp_path_factory.mktemp("cli") / "var")
    code, _, err = cli("ingest", str(SAMPLE), "--data-dir", str(d))
    assert code == 0, err
    return d


def _count(data_dir: Path, where: str = "") -> int:
    code, out, _ = cli(
        "sparql",
        f"SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE {{ ?p a cl:Projet {where} }}",
        "--data-dir",
        str(data_dir),
        "--format",
        "json",
    )
    assert code == 0
    return int(json.loads(out)["results"]["bindings"][0]["n"]["value"])


def test_ingest_lands_beside_the_reference_data_and_no_synthetic_corpus(data_dir: Path) -> None:
    assert _count(data_dir) == 10
    assert _count(data_dir, ". ?p cl:synthetique true") == 0
    code, out, _ = cli(
        "sparql",
        'SELECT ?n WHERE { ?c cl:codeInsee "93048" ; rdfs:label ?n }',
        "--data-dir",
        str(data_dir),
    )
    assert code == 0 and "Montreuil" in out


def test_report_is_written_as_json_in_the_data_dir(data_dir: Path) -> None:
    reports = sorted((data_dir / "reports").glob("ingest-*.json"))
    report = json.loads(reports[0].read_text("utf-8"))
    assert report["files"][0]["file"] == "sample.csv"
    assert report["files"][0]["records_landed"] == 10


@pytest.mark.slow  # four ingests, the first into an empty data dir
def test_reingest_adds_nothing_new_and_replace_swaps_the_source_graph(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"  # empty: the first ingest writes the reference data too
    assert cli("ingest", str(SAMPLE), "--data-dir", str(data_dir))[0] == 0
    code, out, _ = cli("sparql", 'SELECT ?n WHERE { ?c cl:codeInsee "93048" ; rdfs:label ?n }',
                       "--data-dir", str(data_dir))
    assert code == 0 and "Montreuil" in out
    assert cli("ingest", str(SAMPLE), "--data-dir", str(data_dir))[0] == 0
    assert _count(data_dir) == 10
    smaller = tmp_path / "sample.csv"  # same file name, so the same named graph
    lines = SAMPLE.read_text("utf-8").splitlines(keepends=True)
    rows = list(csv.reader(io.StringIO("".join(lines)), delimiter=";"))
    out = io.StringIO()
    csv.writer(out, delimiter=";").writerows(rows[:4])
    smaller.write_text(out.getvalue(), "utf-8")
    assert cli("ingest", str(smaller), "--replace", "--data-dir", str(data_dir))[0] == 0
    assert _count(data_dir) == 3
    assert cli("ingest", str(SAMPLE), "--replace", "--data-dir", str(data_dir))[0] == 0
    assert _count(data_dir) == 10


def test_bad_rows_are_reported_with_location_and_good_rows_land(base_dir: Path) -> None:
    code, _, err = cli(
        "ingest", str(DATA / "broken" / "bad_values.csv"), "--data-dir", str(base_dir)
    )
    assert code == 0
    assert "bad_values.csv:" in err and "colonne" in err
    report = json.loads(next((base_dir / "reports").glob("*.json")).read_text("utf-8"))
    rejected = report["files"][0]["rejected"]
    assert rejected and all(r["line"] and r["column"] and r["reason"] for r in rejected)
    assert report["files"][0]["records_landed"] >= 1


def test_exit_codes(base_dir: Path) -> None:
    assert cli("ingest", str(DATA / "broken" / "garbage.bin"), "--data-dir", str(base_dir))[0] == 2
    assert cli("ingest", str(DATA / "broken" / "empty.csv"), "--data-dir", str(base_dir))[0] == 2
    assert cli("ingest", str(base_dir / "absent.csv"), "--data-dir", str(base_dir))[0] == 2
    code, _, err = cli(
        "ingest", str(DATA / "broken" / "header_only.csv"), "--data-dir", str(base_dir)
    )
    # No record: exit 1, and the French count says why.
    assert code == 1
    assert "header_only.csv : 0 enregistrement(s) retenu(s)" in " ".join(err.split())


def test_validate_writes_nothing(tmp_path: Path) -> None:
    code, out, _ = cli("validate", str(SAMPLE), "--json", "--data-dir", str(tmp_path / "v"))
    assert code == 0
    assert json.loads(out)["files"][0]["records_landed"] == 10
    assert not (tmp_path / "v").exists()


def test_sparql_formats_and_errors(data_dir: Path) -> None:
    q = "SELECT ?id WHERE { ?p dcterms:identifier ?id } ORDER BY ?id LIMIT 2"
    code, out, _ = cli("sparql", q, "--data-dir", str(data_dir), "--format", "tsv")
    assert code == 0 and out.splitlines()[0] == "?id"
    code, out, _ = cli(
        "sparql",
        "CONSTRUCT { ?p a cl:Projet } WHERE { ?p a cl:Projet }",
        "--data-dir",
        str(data_dir),
        "--format",
        "ttl",
    )
    assert code == 0 and "Projet" in out
    code, _, err = cli("sparql", "SELECT ?x WHERE {", "--data-dir", str(data_dir))
    assert code == 1 and "invalide" in err


def test_sparql_on_an_empty_data_dir_says_how_to_build(tmp_path: Path) -> None:
    code, _, err = cli("sparql", "ASK {}", "--data-dir", str(tmp_path))
    assert code == 1 and "cooplink build" in err

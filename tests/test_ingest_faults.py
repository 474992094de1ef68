"""Issue 8, point 6 — ingest faults: a damaged file costs only itself, a zip bomb is refused
before it expands, big files are streamed, and a data dir that cannot be written gives a French
message while the previous graph stays served."""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import subprocess
import sys
import tracemalloc
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import empty_data_dir
from typer.testing import CliRunner

from graph.datadir import DataDir
from graph.store import OxigraphStore
from ingest.archive import GuardedZipFile, ZipLimits
from ingest.errors import UnreadableInput
from ingest.records import ReadResult
from ingest.sniff import read_any, stream_any
from search_api.cli import app

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "daect" / "sample.csv"
SAMPLE_XLSX = DATA / "daect" / "sample.xlsx"
SHEET = "xl/worksheets/sheet1.xml"
MIB = 1 << 20
runner = CliRunner()


@pytest.fixture(autouse=True)
def _fast_search(monkeypatch: pytest.MonkeyPatch) -> None:
    # An ingest publishes a generation with its search index: the hashing encoder makes it
    # instant; the faults under test are elsewhere.
    monkeypatch.setenv("COOPLINK_SEARCH_ENCODER", "hashing")


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), catch_exceptions=False, env=env)
    return result.exit_code, result.stdout + result.stderr


def _projects(data_dir: Path) -> int:
    code, out = cli("sparql", "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p a cl:Projet }",
                    "--data-dir", str(data_dir), "--format", "json")
    assert code == 0, out
    return int(json.loads(out)["results"]["bindings"][0]["n"]["value"])


def _report(data_dir: Path) -> dict[str, Any]:
    latest = sorted((data_dir / "reports").glob("ingest-*.json"))[-1]
    report: dict[str, Any] = json.loads(latest.read_text("utf-8"))
    return report


# --- damaged workbooks ------------------------------------------------------------------


def corrupt_xlsx(path: Path) -> Path:
    """The sample workbook with bytes flipped inside its sheet's deflate stream."""
    data = bytearray(SAMPLE_XLSX.read_bytes())
    with zipfile.ZipFile(SAMPLE_XLSX) as archive:
        info = archive.getinfo(SHEET)
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for i in range(start + 10, start + min(info.compress_size, 200) - 10):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    return path


@dataclass
class FirstIngest:
    """A corrupt workbook and the sample spreadsheet ingested together into an empty data dir:
    the command's exit code, output and JSON report."""

    data_dir: Path
    code: int
    out: str
    report: dict[str, Any]


@pytest.fixture(scope="module")
def first_ingest(tmp_path_factory: pytest.TempPathFactory) -> FirstIngest:
    """One ingest into an empty data dir (seconds: it writes the reference data too), which
    the corrupt-workbook test reads and the write-failure tests then use as the served dir."""
    data_dir = empty_data_dir(tmp_path_factory.mktemp("served") / "var")
    bad = corrupt_xlsx(tmp_path_factory.mktemp("inputs") / "abime.xlsx")
    code, out = cli("ingest", str(bad), str(SAMPLE), "--data-dir", str(data_dir),
                    env={"COOPLINK_SEARCH_ENCODER": "hashing"})
    return FirstIngest(data_dir, code, out, _report(data_dir))


def test_corrupt_xlsx_beside_a_good_csv_costs_only_itself(first_ingest: FirstIngest) -> None:
    code, out, report = first_ingest.code, first_ingest.out, first_ingest.report
    assert code == 2  # an input was refused: scripts notice, though the good file landed
    assert "abime.xlsx : classeur XLSX endommagé" in out
    assert "sample.csv : 10 enregistrement(s) retenu(s)" in out
    assert _projects(first_ingest.data_dir) == 10
    assert report["landed"] == 10
    (refused,) = report["unreadable"]
    assert refused["file"] == "abime.xlsx" and "endommagé" in refused["reason"]


def test_validate_reports_the_corrupt_file_and_checks_the_others(tmp_path: Path) -> None:
    bad = corrupt_xlsx(tmp_path / "abime.xlsx")
    result = runner.invoke(app, ["validate", str(bad), str(SAMPLE), "--json",
                                 "--data-dir", str(tmp_path / "v")])
    assert result.exit_code == 2
    body = json.loads(result.stdout)
    assert [f["file"] for f in body["files"]] == ["sample.csv"]
    assert body["files"][0]["records_landed"] == 10
    assert body["unreadable"][0]["file"] == "abime.xlsx"


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("truncated", "archive ZIP tronquée ou endommagée"),
        ("crc", "classeur XLSX endommagé : somme de contrôle fausse dans « xl/worksheets"),
        ("not_a_workbook", "pas un classeur XLSX lisible"),
    ],
)
def test_damaged_archives_are_unreadable_with_a_french_reason(
    tmp_path: Path, damage: str, reason: str
) -> None:
    path = tmp_path / "classeur.xlsx"
    data = SAMPLE_XLSX.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "crc":
        _write_zip(path, {SHEET: b"x"}, source=SAMPLE_XLSX)
        _lie_about_crc(path, SHEET)
    else:
        _write_zip(path, {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"})
    with pytest.raises(UnreadableInput) as caught:
        read_any(path)
    assert reason in caught.value.reason


# --- zip bombs --------------------------------------------------------------------------


def _write_zip(path: Path, members: dict[str, bytes], source: Path | None = None) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        if source is not None:
            with zipfile.ZipFile(source) as src:
                for name in src.namelist():
                    if name not in members:
                        out.writestr(name, src.read(name))
        for name, data in members.items():
            out.writestr(name, data)


def _patch_member(path: Path, member: str, local: int, central: int, value: bytes) -> None:
    """Overwrite a field of ``member`` in its local header (offset ``local``) and in its
    central directory entry (offset ``central``)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    data[info.header_offset + local: info.header_offset + local + len(value)] = value
    start = 0
    while (start := data.find(b"PK\x01\x02", start)) >= 0:
        name_len = int.from_bytes(data[start + 28: start + 30], "little")
        if data[start + 46: start + 46 + name_len] == member.encode():
            data[start + central: start + central + len(value)] = value
        start += 4
    path.write_bytes(bytes(data))


def _lie_about_crc(path: Path, member: str) -> None:
    _patch_member(path, member, 14, 16, b"\xde\xad\xbe\xef")


def zip_bomb(path: Path, unpacked: int) -> Path:
    """A valid XLSX skeleton (the sample's) whose sheet is one cell of ``unpacked`` « A »."""
    with zipfile.ZipFile(SAMPLE_XLSX) as src, zipfile.ZipFile(
        path, "w", zipfile.ZIP_DEFLATED, compresslevel=1
    ) as out:
        for name in src.namelist():
            if name != SHEET:
                out.writestr(name, src.read(name))
        with out.open(SHEET, "w", force_zip64=True) as sheet:
            sheet.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006'
                        b'/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Intitul'
                        b'\xc3\xa9 du projet</t></is></c></row><row r="2"><c r="A2" '
                        b't="inlineStr"><is><t>')
            for _ in range(unpacked // MIB):
                sheet.write(b"A" * MIB)
            sheet.write(b"</t></is></c></row></sheetData></worksheet>")
    return path


def test_zip_bomb_is_refused_from_its_directory_without_expanding(tmp_path: Path) -> None:
    bomb = zip_bomb(tmp_path / "bombe.xlsx", 320 * MIB)  # ≈ 1.4 MB on disk
    assert bomb.stat().st_size < 2 * MIB
    tracemalloc.start()
    try:
        with pytest.raises(UnreadableInput) as caught:
            read_any(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    reason = caught.value.reason
    assert reason.startswith("archive refusée : le fichier interne « xl/worksheets/sheet1.xml »")
    assert "320 Mo" in reason and "ingest_max_unpacked_bytes" in reason
    assert peak < 4 * MIB


def test_ratio_and_member_count_limits(tmp_path: Path) -> None:
    bomb = zip_bomb(tmp_path / "bombe.xlsx", 8 * MIB)
    with pytest.raises(UnreadableInput, match=r"compressé .* fois .* ingest_max_ratio"):
        read_any(bomb)  # 8 MiB is under the size limit, but « A »×8 Mi compresses ≈ 1 000:1
    many = tmp_path / "nombreux.xlsx"
    _write_zip(many, {f"xl/media/image{i}.png": b"" for i in range(30)}, source=SAMPLE_XLSX)
    with pytest.raises(UnreadableInput, match=r"fichiers à l'intérieur.*ingest_max_zip_members"):
        read_any(many, zip_limits=ZipLimits(max_members=20))
    assert len(read_any(many).records) == 10  # the default allows them


def test_decompressed_bytes_are_bounded_even_if_the_directory_lies(tmp_path: Path) -> None:
    path = tmp_path / "menteur.xlsx"
    _write_zip(path, {SHEET: b"<x>" + b"A" * (4 * MIB) + b"</x>"}, source=SAMPLE_XLSX)
    # The guard while reading: counted on the bytes the member streams really yield.
    with (
        path.open("rb") as fh,
        GuardedZipFile(fh, path.name, ZipLimits(MIB)) as archive,
        archive.open(SHEET) as stream,
        pytest.raises(UnreadableInput, match="refusée"),
    ):
        while stream.read(64 * 1024):
            pass
    # A directory that understates a member's size: zipfile stops at the declared size and
    # the checksum then fails, so the reader never holds more than the directory announced.
    _shrink_declared_size(path, SHEET, 1000)
    with pytest.raises(UnreadableInput, match="classeur XLSX endommagé"):
        read_any(path)


def _shrink_declared_size(path: Path, member: str, size: int) -> None:
    _patch_member(path, member, 22, 24, size.to_bytes(4, "little"))


def test_unpacked_size_setting_reaches_the_cli(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COOPLINK_INGEST_MAX_UNPACKED_BYTES", "20000")
    code, out = cli("validate", str(SAMPLE_XLSX), str(SAMPLE), "--data-dir", str(tmp_path))
    assert code == 2
    assert "sample.xlsx : archive refusée" in out
    assert "au-delà de la limite de 19 Ko (réglage ingest_max_unpacked_bytes)" in out
    assert "sample.csv : 10 enregistrement(s) retenu(s)" in out


# --- streaming ----------------------------------------------------------------------------


def big_csv(path: Path, megabytes: int, description: str | None = None) -> tuple[int, int]:
    """The sample rows (multi-line cells included) repeated to ``megabytes``, with one bad
    amount on the last row; returns (rows, physical line of the last row)."""
    rows = list(csv.reader(io.StringIO(SAMPLE.read_text("utf-8")), delimiter=";"))
    header, body = rows[0], rows[1:]
    amount = header.index("Coût total de l'opération")
    n = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=";", lineterminator="\n")
        writer.writerow(header)
        lines = 1
        while fh.tell() < megabytes * MIB:
            row = list(body[n % len(body)])
            row[0] = f"BIG-{n}"
            if description is not None:
                row[2] = description
            writer.writerow(row)
            lines += 1 + sum(cell.count("\n") for cell in row)
            n += 1
        row = list(body[0])
        row[0], row[amount] = "BIG-last", "beaucoup"
        writer.writerow(row)
    return n + 1, lines + 1


def test_big_csv_is_streamed_with_exact_locations(tmp_path: Path) -> None:
    path = tmp_path / "gros.csv"
    # long descriptions (3 000 rows of 4 kB): a big file, and few rows to parse under tracemalloc
    rows, last_line = big_csv(path, 12, "Gestion de l'eau potable.\n" * 150)
    result = ReadResult()
    tracemalloc.start()
    try:
        records = stream_any(path, result)
        count = sum(1 for _ in records)  # each record dropped once counted
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == rows - 1 and result.rows_seen == rows
    (issue,) = result.issues
    assert (issue.line, issue.column, issue.record) == (
        last_line, "Coût total de l'opération", "BIG-last")
    # The whole file is 12 MiB as bytes and more as text; the stream holds a row and a prefix.
    assert peak < 4 * MIB, f"peak {peak / MIB:.1f} MiB"


def test_late_windows_1252_byte_still_decides_the_encoding(tmp_path: Path) -> None:
    """The encoding is decided on the whole file, as when it was read at once: a CP1252 accent
    after megabytes of ASCII makes it CP1252, not an error or mojibake half-way."""
    path = tmp_path / "mixte.csv"
    big_csv(path, 3)
    ascii_only = unicodedata.normalize("NFKD", path.read_text("utf-8"))
    path.write_bytes(ascii_only.encode("ascii", errors="ignore"))
    with path.open("ab") as fh:
        fh.write("X-1252;Coopération à Hué\n".encode("cp1252"))
    result = read_any(path)
    assert result.records[-1].titles["fr"] == "Coopération à Hué"
    assert "Windows-1252" in result.issues[0].reason


def test_nul_byte_far_into_the_file_is_binary(tmp_path: Path) -> None:
    path = tmp_path / "binaire.csv"
    big_csv(path, 2)
    with path.open("ab") as fh:
        fh.write(b"\x00\x01\x02")
    with pytest.raises(UnreadableInput, match="octets nuls"):
        read_any(path)


def test_validate_keeps_no_quads_but_reports_every_record(tmp_path: Path) -> None:
    from search_api.knowledge_base import KnowledgeBase
    from search_api.settings import Settings

    kb = KnowledgeBase(Settings(data_dir=tmp_path / "v"))
    pipeline = kb.pipeline()
    kept = pipeline.prepare(SAMPLE)
    dropped = pipeline.prepare(SAMPLE, keep_quads=False)
    assert kept.quads and not dropped.quads and not dropped.projects
    assert dropped.report.as_dict() | {"projects": None} == kept.report.as_dict() | {
        "projects": None}
    assert dropped.report.project_ids == kept.report.project_ids


def test_chunks_check_records_like_one_batch(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Records are SHACL-checked a chunk at a time; a partner described by a record of an
    earlier chunk still satisfies the shapes of the later ones."""
    from search_api.knowledge_base import KnowledgeBase
    from search_api.settings import Settings

    rows = list(csv.reader(io.StringIO(SAMPLE.read_text("utf-8")), delimiter=";"))
    path = tmp_path / "trente.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(rows[0])
        writer.writerows([f"R-{i}", *rows[1 + i % 10][1:]] for i in range(30))
    pipeline = KnowledgeBase(Settings(data_dir=tmp_path / "v")).pipeline()
    whole = pipeline.prepare(path, keep_quads=False).report
    monkeypatch.setattr("ingest.pipeline.CHUNK_RECORDS", 7)
    chunked = pipeline.prepare(path, keep_quads=False).report
    assert whole.records_landed == 30
    assert chunked.as_dict() == whole.as_dict()


# --- a data dir that cannot be written ----------------------------------------------------


@pytest.fixture(scope="module")
def served(first_ingest: FirstIngest) -> Path:
    """A data dir serving the sample spreadsheet (10 projects; the corrupt workbook beside it
    landed nothing)."""
    assert first_ingest.report["landed"] == 10, first_ingest.out
    return first_ingest.data_dir


def _other_csv(tmp_path: Path) -> Path:
    rows = list(csv.reader(io.StringIO(SAMPLE.read_text("utf-8")), delimiter=";"))
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";").writerows([rows[0], *[[f"AUTRE-{i}", *r[1:]]
                                                             for i, r in enumerate(rows[1:4])]])
    path = tmp_path / "autre.csv"
    path.write_text(buffer.getvalue(), "utf-8")
    return path


@pytest.mark.parametrize(
    ("code", "cause"),
    [(errno.ENOSPC, "disque plein"), (errno.EROFS, "système de fichiers en lecture seule"),
     (errno.EACCES, "permission refusée")],
)
def test_write_failure_keeps_the_previous_graph_served(
    served: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, cause: str
) -> None:
    """Injected at the store's write boundary (the tests run as root: chmod cannot refuse)."""
    before = (served / "CURRENT").read_text("utf-8")
    generations = sorted((served / "generations").iterdir())

    def refuse(self: OxigraphStore, quads: object) -> None:
        raise OSError(code, os.strerror(code), str(self.path))

    monkeypatch.setattr(OxigraphStore, "add_quads", refuse)
    status, out = cli("ingest", str(_other_csv(tmp_path)), "--data-dir", str(served))
    assert status == 3
    assert f"écriture dans le dossier des données impossible : {cause}" in out
    assert "le graphe précédent reste servi" in out
    assert "3 enregistrement(s) valide(s) mais non écrit(s)" in out
    assert (served / "CURRENT").read_text("utf-8") == before
    monkeypatch.undo()
    assert _projects(served) == 10
    report = _report(served)
    assert report["landed"] == 0 and cause in str(report["write_error"])
    assert sorted((served / "generations").iterdir()) == generations  # the half-written one went


def test_read_only_data_dir_on_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: DataDir) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(self.generations_dir))

    monkeypatch.setattr(DataDir, "new_generation", refuse)
    status, out = cli("build", "--projects", "5", "--data-dir", str(tmp_path))
    assert status == 3
    assert "système de fichiers en lecture seule" in out and str(tmp_path) in out


@pytest.mark.slow  # a copy of a served data dir and two ingests
def test_report_goes_elsewhere_when_the_data_dir_refuses_it(served: Path, tmp_path: Path) -> None:
    copy = tmp_path / "var"
    subprocess.run(["cp", "-a", str(served), str(copy)], check=True)
    for report in (copy / "reports").iterdir():
        report.unlink()
    (copy / "reports").rmdir()
    (copy / "reports").write_text("un fichier, pas un dossier")  # mkdir then fails
    status, out = cli("validate", str(SAMPLE), "--data-dir", str(copy))
    assert status == 0  # validate writes nothing
    status, out = cli("ingest", str(_other_csv(tmp_path)), "--data-dir", str(copy))
    assert status == 0
    assert "rapport JSON non écrit dans" in out and "dossier temporaire" in out
    written = Path(out.split("Rapport JSON : ")[1].split()[0])
    assert json.loads(written.read_text("utf-8"))["landed"] == 3
    written.unlink()


@pytest.mark.slow
def test_full_disk_for_real_during_ingest(served: Path, tmp_path: Path) -> None:
    """A real write failure: RLIMIT_FSIZE makes every write past 2 MB fail with EFBIG, as a full
    disk fails with ENOSPC (no root tricks)."""
    before = (served / "CURRENT").read_text("utf-8")
    script = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (2 << 20, 2 << 20))\n"
        "from search_api.cli import main\n"
        "sys.argv[0] = 'cooplink'\n"
        "main()\n"
    )
    env = dict(os.environ, COOPLINK_SEARCH_ENCODER="hashing")
    proc = subprocess.run(
        [sys.executable, "-c", script, "ingest", str(_other_csv(tmp_path)),
         "--data-dir", str(served)],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 3, proc.stderr  # not killed by SIGXFSZ: the error was handled
    assert "Traceback" not in proc.stderr
    assert "taille de fichier maximale atteinte" in proc.stderr
    assert (served / "CURRENT").read_text("utf-8") == before
    assert _projects(served) == 10

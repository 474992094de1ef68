"""Reader for the DAECT project spreadsheet, as CSV or XLSX → :class:`ReadResult`.

CSV: UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "texte Unicode"), else Windows-1252
(what Excel writes for "CSV (séparateur : point-virgule)" on a French Windows), with a warning.
The delimiter (``;``, ``,`` or tab) is the one under which the header is best recognised.
Line numbers are physical lines of the file (1-based), so a row after a multi-line quoted cell
gets the line where it starts.  XLSX: the first sheet with a recognised header, line numbers
are the spreadsheet's row numbers.  In both, the header may sit anywhere in the first
:data:`HEADER_SCAN_ROWS` rows (title lines above it are common in exported tables).

The columns and the per-row rules live in :mod:`ingest._daect`; cell formats (amounts, years)
in :mod:`ingest._parsing`.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from xml.etree.ElementTree import ParseError

from ingest._daect import FIELDS, REQUIRED, Header, parse_row
from ingest._parsing import read_bytes
from ingest.errors import UnreadableInput
from ingest.records import Issue, ReadResult

#: Longer descriptions are cut (with a warning): the search index embeds descriptions, and a
#: 10 MB pasted cell must not cost minutes or gigabytes.  Settings pass their own value.
MAX_DESCRIPTION_CHARS = 20_000
#: How many rows from the top may come before the header row.
HEADER_SCAN_ROWS = 10
#: Share of control characters above which a decoded text is taken for binary data.
_CONTROL_SHARE = 0.01

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

Rows = Iterator[tuple[int, Sequence[object]]]
ZIP_MAGIC = b"PK\x03\x04"


def read_spreadsheet(path: Path, *, max_description: int = MAX_DESCRIPTION_CHARS) -> ReadResult:
    """Read a DAECT spreadsheet (CSV or XLSX, told apart by content, not by extension).

    Raises :class:`UnreadableInput` when nothing can be read: missing, empty or binary file,
    broken workbook, or no header naming the required column « Intitulé du projet ».
    """
    data = read_bytes(path)
    if data.startswith(ZIP_MAGIC):
        return _read_xlsx(path.name, data, max_description)
    text, encoding = decode_text(data, path.name)
    result = ReadResult()
    if encoding == "cp1252":
        result.issues.append(
            Issue(
                path.name,
                "fichier lu en Windows-1252 (ce n'est pas de l'UTF-8) : vérifiez les accents",
                severity="warning",
            )
        )
    # The csv module refuses fields over 128 KiB by default; a long pasted description must be
    # read (then truncated), so lift the limit to the file's size while reading.
    with _csv_field_limit(len(text) + 1):
        delimiter = _pick_delimiter(text)
        rows = _csv_rows(text, delimiter)
        try:
            _read_rows(path.name, rows, result, max_description, fixed_width=True)
        except csv.Error as exc:
            raise UnreadableInput(path.name, f"CSV illisible : {exc}") from exc
    return result


def decode_text(data: bytes, file: str) -> tuple[str, str]:
    """Decode a text file: UTF-16 with BOM, UTF-8 (BOM optional), else Windows-1252.

    Raises :class:`UnreadableInput` for binary content (NUL bytes, many control characters,
    bytes undefined in Windows-1252).
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return _check_text(data.decode("utf-16"), file), "utf-16"
        except UnicodeDecodeError as exc:
            raise UnreadableInput(file, "fichier UTF-16 mal formé") from exc
    if b"\x00" in data:
        raise UnreadableInput(file, "fichier binaire (octets nuls) : un CSV ou un XLSX est attendu")
    try:
        return _check_text(data.decode("utf-8-sig"), file), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return _check_text(data.decode("cp1252"), file), "cp1252"
    except UnicodeDecodeError as exc:
        raise UnreadableInput(
            file, "encodage non reconnu (ni UTF-8 ni Windows-1252) : fichier binaire ?"
        ) from exc


def _check_text(text: str, file: str) -> str:
    sample = text[:100_000]  # enough to tell text from binary, cheap on a 10 MB file
    if len(_CONTROL.findall(sample)) > _CONTROL_SHARE * len(sample):
        raise UnreadableInput(file, "fichier binaire (caractères de contrôle) : un CSV est attendu")
    return text


@contextmanager
def _csv_field_limit(limit: int) -> Iterator[None]:
    # csv.field_size_limit is process-wide: restore it, so other readers keep the default guard.
    previous = csv.field_size_limit(max(limit, csv.field_size_limit()))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _csv_rows(text: str, delimiter: str) -> Rows:
    """(first physical line, cells) for each CSV record; blank records are skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 1
    for cells in reader:
        if any(c.strip() for c in cells):
            yield line, cells
        line = reader.line_num + 1


def _pick_delimiter(text: str) -> str:
    """The delimiter under which the top rows hold the best header (ties: most on line 1)."""
    first_line = text.split("\n", 1)[0]
    best, best_score = ";", -1
    for delimiter in (";", ",", "\t"):
        header = _find_header(_csv_rows(text, delimiter))
        score = (header.score if header else 0) * 1000 + first_line.count(delimiter)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _find_header(rows: Rows) -> Header | None:
    """The first of the top rows naming the title column or at least two known columns."""
    for count, (line, cells) in enumerate(rows):
        if count >= HEADER_SCAN_ROWS:
            break
        header = Header.match(line, cells)
        if "title" in header.columns or header.score >= 2:
            return header
    return None


def _read_rows(
    file: str, rows: Rows, result: ReadResult, max_description: int, *, fixed_width: bool
) -> None:
    """Find the header in ``rows``, then parse every data row after it into ``result``.

    ``fixed_width``: a row longer than the header means shifted cells (CSV), not extra data.
    """
    top: list[tuple[int, Sequence[object]]] = []
    for item in rows:
        top.append(item)
        if len(top) >= HEADER_SCAN_ROWS:
            break
    header = _find_header(_non_blank(top))
    if header is None:
        raise _no_header(file, list(_non_blank(top)))
    _require_columns(file, header)
    _header_issues(file, header, result)
    seen_ids: dict[str, int] = {}
    after = [item for item in top if item[0] > header.line]
    for line, cells in _chain(after, rows):
        if not any(c is not None and str(c).strip() for c in cells):
            continue
        result.rows_seen += 1
        if fixed_width and any(str(c or "").strip() for c in cells[len(header.labels) :]):
            # Every value after the stray delimiter sits in the wrong column: one clear error
            # rather than a misleading complaint about each shifted cell.
            result.issues.append(_shifted(file, line, len(cells), len(header.labels)))
            continue
        record, issues = parse_row(file, line, cells, header, max_description)
        if record is not None and record.source_id:
            first = seen_ids.setdefault(record.source_id, line)
            if first != line:
                issues.append(
                    Issue(
                        file,
                        f"identifiant « {record.source_id} » en double (déjà utilisé ligne "
                        f"{first}) : ligne ignorée",
                        line,
                        column=header.label("id"),
                        record=record.source_id,
                    )
                )
                record = None
        result.issues.extend(issues)
        if record is not None:
            result.records.append(record)


def _chain(first: list[tuple[int, Sequence[object]]], rest: Rows) -> Rows:
    yield from first
    yield from rest


def _shifted(file: str, line: int, found: int, expected: int) -> Issue:
    return Issue(
        file,
        f"{found} cellules alors que l'en-tête en compte {expected} : un séparateur non protégé "
        "par des guillemets (par ex. « ; » entre deux collectivités) décale les colonnes ; "
        "ligne ignorée",
        line,
    )


def _no_header(file: str, top: list[tuple[int, Sequence[object]]]) -> UnreadableInput:
    required = ", ".join(f"« {FIELDS[key][0]} »" for key in REQUIRED)
    first = " | ".join(str(c)[:80] for c in top[0][1] if c not in (None, "")) if top else ""
    return UnreadableInput(
        file,
        f"aucune ligne d'en-tête reconnue dans les {HEADER_SCAN_ROWS} premières lignes "
        f"(colonne obligatoire {required} introuvable) ; première ligne : « {first[:200]} »",
    )


def _require_columns(file: str, header: Header) -> None:
    missing = [key for key in REQUIRED if key not in header.columns]
    if missing:
        found = ", ".join(f"« {label} »" for label in header.labels if label)
        names = ", ".join(f"« {FIELDS[key][0]} »" for key in missing)
        raise UnreadableInput(
            file,
            f"colonne obligatoire {names} absente (ligne {header.line}) ; "
            f"colonnes trouvées : {found}",
        )


def _header_issues(file: str, header: Header, result: ReadResult) -> None:
    for index in header.unknown:
        result.issues.append(
            Issue(
                file,
                "colonne inconnue ignorée",
                header.line,
                column=header.labels[index],
                severity="warning",
            )
        )
    for index in header.duplicates:
        result.issues.append(
            Issue(
                file,
                "colonne en double ignorée (la première est lue)",
                header.line,
                column=header.labels[index],
                severity="warning",
            )
        )


def _read_xlsx(file: str, data: bytes, max_description: int) -> ReadResult:
    """Read the first sheet of a workbook whose top rows hold a recognised header."""
    # Imported here: openpyxl is only needed for XLSX, and costs ~0.2 s to import.
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # From memory, not the path: openpyxl refuses a workbook named ".csv" or ".txt".
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, ParseError) as exc:
        raise UnreadableInput(
            file,
            "archive ZIP qui n'est pas un classeur XLSX lisible (les formats .ods et .xls ne sont "
            "pas pris en charge : enregistrez en .xlsx ou en CSV)",
        ) from exc
    try:
        result = ReadResult()
        for sheet in workbook.worksheets:
            # Sheets written by some tools declare wrong dimensions; read what is there.
            sheet.reset_dimensions()
            rows: Rows = enumerate(sheet.iter_rows(values_only=True), start=1)
            top = [item for _, item in zip(range(HEADER_SCAN_ROWS), rows, strict=False)]
            if _find_header(_non_blank(top)) is not None:
                _read_rows(file, _chain(top, rows), result, max_description, fixed_width=False)
                return result
        first = workbook.worksheets[0].iter_rows(values_only=True)
        top = list(zip(range(1, HEADER_SCAN_ROWS + 1), first, strict=False))
        raise _no_header(file, list(_non_blank(top)))
    finally:
        workbook.close()


def _non_blank(rows: Sequence[tuple[int, Sequence[object]]]) -> Rows:
    for line, cells in rows:
        if any(c is not None and str(c).strip() for c in cells):
            yield line, cells

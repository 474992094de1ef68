"""Reader for the DAECT project spreadsheet, as CSV or XLSX → :class:`ReadResult`.

CSV: UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "texte Unicode"), else Windows-1252
(what Excel writes for "CSV (séparateur : point-virgule)" on a French Windows), with a warning.
The delimiter (``;``, ``,`` or tab) is the one under which the header is best recognised.
Line numbers are physical lines of the file (1-based), so a row after a multi-line quoted cell
gets the line where it starts.  XLSX: the first sheet with a recognised header, line numbers
are the spreadsheet's row numbers.  In both, the header may sit anywhere in the first
:data:`HEADER_SCAN_ROWS` rows (title lines above it are common in exported tables).

Both are read as streams (issue 8, point 6): the CSV row by row from the file (its encoding
decided by one scan in :mod:`ingest.inputfile`), the XLSX through openpyxl's read-only mode over a
:class:`~ingest.archive.GuardedZipFile` that refuses zip bombs; :func:`stream_spreadsheet`
yields records as they are parsed, so memory does not grow with the file.

The columns and the per-row rules live in :mod:`ingest._daect`; cell formats (amounts, years)
in :mod:`ingest._parsing`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ingest._daect import FIELDS, REQUIRED, Header, parse_row
from ingest.archive import GuardedZipFile, ZipLimits, damaged, open_guarded
from ingest.errors import UnreadableInput
from ingest.inputfile import check_input, detect_encoding, opened, python_codec
from ingest.records import Issue, RawProject, ReadResult

#: Longer descriptions are cut (with a warning): the search index embeds descriptions, and a
#: 10 MB pasted cell must not cost minutes or gigabytes.  Settings pass their own value.
MAX_DESCRIPTION_CHARS = 20_000
#: How many rows from the top may come before the header row.
HEADER_SCAN_ROWS = 10
#: Characters at the start of a CSV file in which the delimiter is chosen.
DELIMITER_SCAN_CHARS = 1 << 18
#: Default limits of a workbook's ZIP archive (settings pass their own).
ZIP_LIMITS = ZipLimits()

Rows = Iterator[tuple[int, Sequence[object]]]
ZIP_MAGIC = b"PK\x03\x04"


def read_spreadsheet(
    path: Path, *, max_description: int = MAX_DESCRIPTION_CHARS, zip_limits: ZipLimits = ZIP_LIMITS
) -> ReadResult:
    """Read a DAECT spreadsheet (CSV or XLSX, told apart by content, not by extension).

    Raises :class:`UnreadableInput` when nothing can be read: missing, empty or binary file,
    broken workbook, zip bomb, or no header naming the required column « Intitulé du projet ».
    """
    result = ReadResult()
    result.records.extend(
        stream_spreadsheet(path, result, max_description=max_description, zip_limits=zip_limits)
    )
    return result


def stream_spreadsheet(
    path: Path,
    result: ReadResult,
    *,
    max_description: int = MAX_DESCRIPTION_CHARS,
    zip_limits: ZipLimits = ZIP_LIMITS,
) -> Iterator[RawProject]:
    """The records of a DAECT spreadsheet, one at a time, read row by row from the file; issues
    and the row count go to ``result`` as they are found.  Raises :class:`UnreadableInput`
    (possibly after some records: a damaged workbook can fail half-way)."""
    head = check_input(path)
    if head.startswith(ZIP_MAGIC):
        yield from _stream_xlsx(path, result, max_description, zip_limits)
    else:
        yield from _stream_csv(path, result, max_description)


def _stream_csv(path: Path, result: ReadResult, max_description: int) -> Iterator[RawProject]:
    encoding = detect_encoding(path)
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
    with _csv_field_limit(path.stat().st_size + 1):
        try:
            with open(path, encoding=python_codec(encoding), newline="") as fh:
                delimiter = _pick_delimiter(fh.read(DELIMITER_SCAN_CHARS))
            with open(path, encoding=python_codec(encoding), newline="") as fh:
                rows = _csv_rows(fh, delimiter)
                yield from _read_rows(path.name, rows, result, max_description, fixed_width=True)
        except csv.Error as exc:
            raise UnreadableInput(path.name, f"CSV illisible : {exc}") from exc
        except OSError as exc:
            raise UnreadableInput(path.name, f"lecture impossible : {exc.strerror or exc}") from exc


@contextmanager
def _csv_field_limit(limit: int) -> Iterator[None]:
    # csv.field_size_limit is process-wide: restore it, so other readers keep the default guard.
    previous = csv.field_size_limit(max(limit, csv.field_size_limit()))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _csv_rows(lines: Iterable[str], delimiter: str) -> Rows:
    """(first physical line, cells) for each CSV record of a text stream opened with
    ``newline=""``; blank records are skipped."""
    reader = csv.reader(lines, delimiter=delimiter)
    line = 1
    for cells in reader:
        if any(c.strip() for c in cells):
            yield line, cells
        line = reader.line_num + 1


def _pick_delimiter(text: str) -> str:
    """The delimiter under which the top rows of ``text`` (the start of the file) hold the best
    header (ties: most on line 1)."""
    first_line = text.split("\n", 1)[0]
    best, best_score = ";", -1
    for delimiter in (";", ",", "\t"):
        header = _find_header(_csv_rows(io.StringIO(text, newline=""), delimiter))
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
) -> Iterator[RawProject]:
    """Find the header in ``rows``, then parse every data row after it: records are yielded,
    issues and the row count go to ``result``.

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
            yield record


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


def _stream_xlsx(
    path: Path, result: ReadResult, max_description: int, limits: ZipLimits
) -> Iterator[RawProject]:
    """Read the first sheet of a workbook whose top rows hold a recognised header, row by row
    (openpyxl's read-only mode parses the sheet XML as a stream)."""
    file = path.name
    with opened(path) as fh:
        archive = open_guarded(fh, file, limits)
        workbook = _open_workbook(archive, file)
        try:
            for sheet in workbook.worksheets:
                # Sheets written by some tools declare wrong dimensions; read what is there.
                sheet.reset_dimensions()
                rows: Rows = _sheet_rows(sheet, file)
                top = [item for _, item in zip(range(HEADER_SCAN_ROWS), rows, strict=False)]
                if _find_header(_non_blank(top)) is not None:
                    yield from _read_rows(
                        file, _chain(top, rows), result, max_description, fixed_width=False
                    )
                    return
            first = _sheet_rows(workbook.worksheets[0], file)
            top = [item for _, item in zip(range(HEADER_SCAN_ROWS), first, strict=False)]
            raise _no_header(file, list(_non_blank(top)))
        finally:
            workbook.close()
            archive.close()


def _open_workbook(archive: GuardedZipFile, file: str) -> Any:
    """openpyxl's read-only workbook over our guarded archive (``load_workbook`` would open the
    file again with a plain ZipFile, outside the guard)."""
    # Imported here: openpyxl is only needed for XLSX, and costs ~0.2 s to import.
    from openpyxl.reader.excel import ExcelReader

    try:
        reader = ExcelReader(archive.fp, read_only=True, data_only=True)
        reader.archive.close()
        reader.archive = archive
        reader.read()
    except UnreadableInput:
        raise
    except Exception as exc:  # openpyxl raises anything on a malformed package
        raise UnreadableInput(
            file,
            "archive ZIP qui n'est pas un classeur XLSX lisible (les formats .ods et .xls ne sont "
            "pas pris en charge : enregistrez en .xlsx ou en CSV)",
        ) from exc
    return reader.wb


def _sheet_rows(sheet: Any, file: str) -> Rows:
    """(row number, values) of a sheet; a damaged sheet is an UnreadableInput, not whatever
    openpyxl or zlib raise.  Only openpyxl runs inside the ``try``: a bug of ours still shows."""
    rows = sheet.iter_rows(values_only=True)
    line = 0
    while True:
        try:
            cells = next(rows)
        except StopIteration:
            return
        except UnreadableInput:
            raise
        except Exception as exc:
            raise damaged(file, getattr(sheet, "_worksheet_path", None), exc) from exc
        line += 1
        yield line, cells


def _non_blank(rows: Sequence[tuple[int, Sequence[object]]]) -> Rows:
    for line, cells in rows:
        if any(c is not None and str(c).strip() for c in cells):
            yield line, cells

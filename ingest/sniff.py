"""Pick the reader for a file by looking at its content, not its extension.

- ``PK\\x03\\x04`` (a ZIP archive) → XLSX, via :func:`ingest.spreadsheet.read_spreadsheet`;
- the OLE2 signature of old ``.xls`` workbooks → refused with advice to save as XLSX or CSV;
- XML text (the first thing after the prolog is an element) → :func:`ingest.iati.read_iati`,
  which accepts an ``iati-activities`` root and refuses any other with a precise reason;
- any other text → CSV.

Users rename files, download ``export.php`` that is really a CSV, or get ``.txt`` from Excel:
the content is the only reliable signal.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from pathlib import Path

from ingest.archive import ZipLimits
from ingest.errors import UnreadableInput
from ingest.iati import stream_iati
from ingest.inputfile import check_input
from ingest.records import RawProject, ReadResult
from ingest.spreadsheet import MAX_DESCRIPTION_CHARS, ZIP_LIMITS, ZIP_MAGIC, stream_spreadsheet

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Leading noise before the first element: XML declaration, comments, processing instructions.
_XML_START = re.compile(r"\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*)*<(!DOCTYPE|[A-Za-z_][\w.:-]*)", re.S)


def sniff(data: bytes, file: str) -> str:
    """``"xlsx"``, ``"xml"`` or ``"csv"`` for a file's first bytes (old ``.xls``:
    UnreadableInput)."""
    if data.startswith(ZIP_MAGIC):
        return "xlsx"
    if data.startswith(_OLE2_MAGIC):
        raise UnreadableInput(
            file,
            "ancien classeur Excel (.xls) non pris en charge : enregistrez-le en .xlsx ou en CSV",
        )
    head = data[:4096]
    # Only the markup matters here (ASCII in every encoding an XML file may use); binary
    # content is refused by the reader that gets it.
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = head.decode("utf-16", errors="replace")
    else:
        text = head.removeprefix(codecs.BOM_UTF8).decode("utf-8", errors="replace")
    return "xml" if _XML_START.match(text) else "csv"


def read_any(
    path: Path, *, max_description: int = MAX_DESCRIPTION_CHARS, zip_limits: ZipLimits = ZIP_LIMITS
) -> ReadResult:
    """Read a DAECT spreadsheet (CSV, XLSX) or an IATI activity file, whichever ``path`` is.

    Raises :class:`UnreadableInput` for a missing path, a directory, an empty or binary file,
    an unsupported format, a zip bomb, or a file none of the readers can make sense of.
    """
    result = ReadResult()
    result.records.extend(
        stream_any(path, result, max_description=max_description, zip_limits=zip_limits)
    )
    return result


def stream_any(
    path: Path,
    result: ReadResult,
    *,
    max_description: int = MAX_DESCRIPTION_CHARS,
    zip_limits: ZipLimits = ZIP_LIMITS,
) -> Iterator[RawProject]:
    """:func:`read_any` as a stream: records are yielded as they are read, issues and the row
    count go to ``result``; nothing holds the whole file."""
    kind = sniff(check_input(path), path.name)
    if kind == "xml":
        return stream_iati(path, result, max_description=max_description)
    return stream_spreadsheet(path, result, max_description=max_description, zip_limits=zip_limits)

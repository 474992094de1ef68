"""An input file as the readers see it: checked, sniffed on its first bytes, decoded as a stream.

Nothing here reads a whole file into memory (issue 8, point 6: validating a 200 MB CSV was
killed at 5.8 GB).  :func:`check_input` looks at the start of the file, :func:`detect_encoding`
scans it once in :data:`CHUNK_BYTES` pieces (an incremental decoder, output dropped), and the
readers then open it again and parse it row by row.  Scanning the whole file before parsing
keeps the decision the old whole-file reader made: a CP1252 byte at the 190th megabyte still
makes the whole file CP1252, and rows already handed on never need taking back.

Every failure is an :class:`UnreadableInput` with a French reason; an ``OSError`` while reading
(permissions, a disk error, the file removed meanwhile) too.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Literal

from ingest.errors import UnreadableInput

Encoding = Literal["utf-16", "utf-8", "cp1252"]

#: Size of the pieces a file is scanned in.
CHUNK_BYTES = 1 << 18
#: Bytes looked at to tell the format (ZIP, OLE2, XML, text).
HEAD_BYTES = 4096
#: Characters of decoded text looked at to tell text from binary.
SAMPLE_CHARS = 100_000
#: Share of control characters above which a decoded text is taken for binary data.
_CONTROL_SHARE = 0.01
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK = b" \t\r\n"


@contextmanager
def opened(path: Path) -> Iterator[BinaryIO]:
    """``open(path, "rb")`` whose OSError (while opening or reading) is an UnreadableInput."""
    try:
        with open(path, "rb") as fh:
            yield fh
    except OSError as exc:
        raise UnreadableInput(path.name, f"lecture impossible : {exc.strerror or exc}") from exc


def check_input(path: Path) -> bytes:
    """The first :data:`HEAD_BYTES` of a readable, non-blank file (else UnreadableInput)."""
    if not path.exists():
        raise UnreadableInput(path.name, f"fichier introuvable : {path}")
    if path.is_dir():
        raise UnreadableInput(path.name, f"c'est un dossier, pas un fichier : {path}")
    with opened(path) as fh:
        head = fh.read(HEAD_BYTES)
        blank = _BLANK
        chunk = head.removeprefix(codecs.BOM_UTF8)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            chunk, blank = head[2:], blank + b"\x00"
        # A file of blanks is "empty"; stop at the first byte that is not one.
        while not chunk.strip(blank):
            chunk = fh.read(CHUNK_BYTES)
            if not chunk:
                raise UnreadableInput(path.name, "fichier vide")
    return head


def detect_encoding(path: Path) -> Encoding:
    """UTF-16 with BOM, else UTF-8 (BOM optional), else Windows-1252, for the whole file.

    Raises :class:`UnreadableInput` for binary content (NUL bytes, many control characters,
    bytes undefined in Windows-1252).
    """
    file = path.name
    with opened(path) as fh:
        if fh.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            fh.seek(0)
            try:
                sample = _scan(fh, "utf-16", check_nul=False)
            except UnicodeDecodeError as exc:
                raise UnreadableInput(file, "fichier UTF-16 mal formé") from exc
            _check_sample(sample, file)
            return "utf-16"
        for encoding in ("utf-8", "cp1252"):
            fh.seek(0)
            try:
                sample = _scan(fh, "utf-8-sig" if encoding == "utf-8" else encoding)
            except UnicodeDecodeError:
                continue
            except _NulByte as exc:
                raise UnreadableInput(
                    file, "fichier binaire (octets nuls) : un CSV ou un XLSX est attendu"
                ) from exc
            _check_sample(sample, file)
            return "utf-8" if encoding == "utf-8" else "cp1252"
    raise UnreadableInput(
        file, "encodage non reconnu (ni UTF-8 ni Windows-1252) : fichier binaire ?"
    )


def python_codec(encoding: Encoding) -> str:
    """The codec that reads a file of ``encoding`` (the UTF-8 BOM is dropped)."""
    return "utf-8-sig" if encoding == "utf-8" else encoding


class _NulByte(Exception):
    pass


def _scan(fh: BinaryIO, codec: str, *, check_nul: bool = True) -> str:
    """Decode the whole stream, dropping the text but the first :data:`SAMPLE_CHARS`."""
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    sample = ""
    while chunk := fh.read(CHUNK_BYTES):
        if check_nul and b"\x00" in chunk:
            raise _NulByte
        text = decoder.decode(chunk)
        if len(sample) < SAMPLE_CHARS:
            sample += text[: SAMPLE_CHARS - len(sample)]
    decoder.decode(b"", final=True)
    return sample


def _check_sample(sample: str, file: str) -> None:
    if len(_CONTROL.findall(sample)) > _CONTROL_SHARE * len(sample):
        raise UnreadableInput(file, "fichier binaire (caractères de contrôle) : un CSV est attendu")

"""Guards for ZIP-based inputs (XLSX): refuse a zip bomb before decompressing, and bound the
bytes actually decompressed while reading.

Issue 8, point 6: a 313 KB XLSX expanded to 928 MB of memory.  :func:`open_guarded` first reads
the archive's central directory (no decompression) and refuses it when the members would
expand past :attr:`ZipLimits.max_unpacked_bytes` in total (or one member alone would), when a
large member is compressed more than :attr:`ZipLimits.max_ratio` times (real spreadsheets stay
well under 100:1; deflate tops out near 1 000:1), or when there are more than
:attr:`ZipLimits.max_members` members.  Then, in case the directory lies, the returned
:class:`GuardedZipFile` counts the bytes every member stream really yields and stops at the
same budget (``zipfile`` itself also stops a member at its declared size, with a CRC error).

Damaged archives (truncated, not a ZIP, a corrupt deflate stream, a bad CRC) become an
:class:`UnreadableInput` naming the member, never a traceback.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, cast

from ingest.errors import UnreadableInput

#: What a damaged archive raises while its members are decompressed.
DAMAGE = (zipfile.BadZipFile, zlib.error, EOFError, zipfile.LargeZipFile, NotImplementedError)

_MIB = 1024 * 1024
_RESAVE = "réenregistrez-le depuis Excel ou LibreOffice (.xlsx), ou exportez-le en CSV"


@dataclass(frozen=True)
class ZipLimits:
    """Limits of a ZIP-based input (settings ``ingest_max_unpacked_bytes``, ``ingest_max_ratio``,
    ``ingest_max_zip_members``)."""

    max_unpacked_bytes: int = 256 * _MIB
    max_ratio: float = 100.0
    max_members: int = 1_000
    #: Members smaller than this are not ratio-checked: a tiny, very regular styles.xml can
    #: compress 200:1 and costs nothing.
    ratio_floor: int = _MIB


def mebibytes(size: int) -> str:
    """``1 024 Mo`` (or ``12 Ko`` under a mebibyte), French digit grouping."""
    if size < _MIB:
        return f"{max(size // 1024, 1)} Ko"
    return f"{size / _MIB:,.0f} Mo".replace(",", " ")


def check_directory(archive: zipfile.ZipFile, file: str, limits: ZipLimits) -> None:
    """Refuse an archive whose central directory announces a zip bomb."""
    members = archive.infolist()
    if len(members) > limits.max_members:
        raise UnreadableInput(
            file,
            f"archive refusée : {len(members)} fichiers à l'intérieur, au-delà de la limite de "
            f"{limits.max_members} (réglage ingest_max_zip_members) ; un classeur XLSX en "
            "compte une vingtaine",
        )
    total = 0
    for member in members:
        size = member.file_size
        total += size
        if size > limits.max_unpacked_bytes:
            raise _too_big(file, f"le fichier interne « {member.filename} »", size, limits)
        ratio = size / max(member.compress_size, 1)
        if size >= limits.ratio_floor and ratio > limits.max_ratio:
            raise UnreadableInput(
                file,
                f"archive refusée : le fichier interne « {member.filename} » est compressé "
                f"{ratio:,.0f} fois ({mebibytes(size)} une fois décompressé), au-delà de la "
                f"limite de {limits.max_ratio:g} (réglage ingest_max_ratio) : bombe de "
                "décompression probable".replace(",", " "),
            )
    if total > limits.max_unpacked_bytes:
        raise _too_big(file, "l'archive", total, limits)


def _too_big(file: str, what: str, size: int, limits: ZipLimits) -> UnreadableInput:
    return UnreadableInput(
        file,
        f"archive refusée : {what} se décompresserait en {mebibytes(size)}, au-delà de la "
        f"limite de {mebibytes(limits.max_unpacked_bytes)} (réglage ingest_max_unpacked_bytes) "
        "; bombe de décompression, ou classeur à découper en plusieurs fichiers",
    )


def open_guarded(fh: BinaryIO, file: str, limits: ZipLimits) -> GuardedZipFile:
    """The archive in ``fh``, its directory checked (UnreadableInput when refused or damaged)."""
    try:
        archive = GuardedZipFile(fh, file, limits)
    except (*DAMAGE, OSError, ValueError) as exc:
        raise UnreadableInput(
            file,
            "archive ZIP tronquée ou endommagée (répertoire central illisible) : "
            f"fichier incomplet ou abîmé ; {_RESAVE}",
        ) from exc
    try:
        check_directory(archive, file, limits)
    except BaseException:
        archive.close()
        raise
    return archive


def damaged(file: str, member: str | None, exc: BaseException) -> UnreadableInput:
    """The French reason for an archive whose data cannot be decompressed."""
    where = f" dans « {member} »" if member else ""
    return UnreadableInput(
        file, f"classeur XLSX endommagé : {_damage(exc)}{where} ({exc}) ; {_RESAVE}"
    )


def _damage(exc: BaseException) -> str:
    if isinstance(exc, zlib.error):
        return "données compressées illisibles"
    if isinstance(exc, EOFError):
        return "données compressées tronquées"
    if isinstance(exc, zipfile.BadZipFile) and "CRC" in str(exc):
        return "somme de contrôle fausse"
    if isinstance(exc, zipfile.BadZipFile | NotImplementedError | zipfile.LargeZipFile):
        return "archive ZIP abîmée ou d'un type non pris en charge"
    return f"contenu illisible ({type(exc).__name__})"


class GuardedZipFile(zipfile.ZipFile):
    """A read-only ZipFile whose member streams count the bytes they decompress, all members
    together, against ``limits.max_unpacked_bytes`` (twice it: a reader may open a sheet twice,
    once for its dimensions, once for its rows)."""

    def __init__(self, fh: BinaryIO, file: str, limits: ZipLimits) -> None:
        super().__init__(fh, "r")
        self.source_name = file
        self.limits = limits
        self.budget = 2 * limits.max_unpacked_bytes
        self.used = 0

    def open(
        self, name: str | zipfile.ZipInfo, mode: str = "r", pwd: bytes | None = None,
        *, force_zip64: bool = False,
    ) -> IO[bytes]:
        member = name.filename if isinstance(name, zipfile.ZipInfo) else name
        try:
            stream = super().open(name, "r", pwd)
        except DAMAGE as exc:
            raise damaged(self.source_name, member, exc) from exc
        # a binary file object as openpyxl uses it (read, close, context manager)
        return cast(IO[bytes], _CountingStream(stream, self, member))

    def charge(self, size: int, member: str) -> None:
        self.used += size
        if self.used > self.budget:
            raise _too_big(self.source_name, f"le fichier interne « {member} »", self.used,
                           self.limits)


class _CountingStream(io.RawIOBase):
    """A member stream that charges what it yields to its archive and names the member in
    decompression errors."""

    def __init__(self, inner: IO[bytes], archive: GuardedZipFile, member: str) -> None:
        super().__init__()
        self._inner = inner
        self._archive = archive
        self._member = member

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        try:
            data = self._inner.read(-1 if size is None else size)
        except DAMAGE as exc:
            raise damaged(self._archive.source_name, self._member, exc) from exc
        self._archive.charge(len(data), self._member)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()

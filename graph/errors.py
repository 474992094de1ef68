"""Domain errors: each carries its HTTP status and CLI exit code, so HTTP and CLI shells share
one translation (one error shape: ``{"ok": false, "error": "...", "status": 400}``)."""

from __future__ import annotations

import errno
from pathlib import Path


class CooplinkError(Exception):
    """Base of every error a user can cause; the message is one French sentence."""

    status: int = 400
    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, object]:
        return {"ok": False, "error": self.message, "status": self.status}

    def headers(self) -> dict[str, str]:
        """HTTP headers the answer carries besides the body (none by default)."""
        return {}


class BadRequest(CooplinkError):
    status = 400


class NotFound(CooplinkError):
    status = 404


class Forbidden(CooplinkError):
    status = 403


class NotAcceptable(CooplinkError):
    """The client's ``Accept`` header excludes every format the route answers in."""

    status = 406


class QueryTimeout(CooplinkError):
    status = 503


#: seconds a client is told to wait (``Retry-After``) when its query could not be started
RETRY_AFTER = 5


class ServerBusy(QueryTimeout):
    """The query was not started: every query slot stayed taken (or the engine was still
    loading) for the whole wait allowed, or too many queries already wait.  Answered with
    ``Retry-After`` so that a client knows when to come back."""

    def __init__(self, message: str, retry_after: int = RETRY_AFTER) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class UnreadableFile(CooplinkError):
    """The input cannot be read at all (exit code 2 of ``cooplink ingest``)."""

    status = 400
    exit_code = 2


class NoStore(CooplinkError):
    """The data directory holds no built store yet."""

    status = 503
    exit_code = 1


class StorageError(CooplinkError):
    """The data directory cannot be written (read-only, no permission, disk full): exit code 3.
    Nothing was published, so the previous generation is still the one served."""

    status = 507
    exit_code = 3


#: errno values (and the texts RocksDB puts in pyoxigraph's errno-less OSError) → French cause.
_CAUSES: tuple[tuple[int, str, str], ...] = (
    (errno.ENOSPC, "No space left", "disque plein"),
    (errno.EDQUOT, "Disk quota exceeded", "quota disque dépassé"),
    (errno.EFBIG, "File too large", "taille de fichier maximale atteinte (ulimit -f ?)"),
    (errno.EROFS, "Read-only file system", "système de fichiers en lecture seule"),
    (errno.EACCES, "Permission denied", "permission refusée"),
    (errno.EPERM, "Operation not permitted", "opération non permise"),
)


def os_cause(exc: OSError) -> str:
    """Why a write failed, in French (« disque plein »…), else the system's own words."""
    text = str(exc)
    return next(
        (french for code, english, french in _CAUSES if exc.errno == code or english in text),
        exc.strerror or text,
    )


def storage_error(exc: OSError, root: Path, doing: str) -> StorageError:
    """The French message for an OSError met while writing under the data dir ``root``."""
    cause = os_cause(exc)
    path = exc.filename or root
    return StorageError(
        f"{doing} impossible : {cause} ({path}). Libérez de la place ou rendez le dossier "
        f"{root} inscriptible (ou choisissez-en un autre avec --data-dir ou COOPLINK_DATA_DIR), "
        "puis relancez la commande. Rien n'a été publié : le graphe précédent reste servi, "
        "inchangé."
    )

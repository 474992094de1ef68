"""Domain errors: each carries its HTTP status and CLI exit code, so HTTP and CLI shells share
one translation (one error shape: ``{"ok": false, "error": "...", "status": 400}``)."""

from __future__ import annotations


class CooplinkError(Exception):
    """Base of every error a user can cause; the message is one French sentence."""

    status: int = 400
    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, object]:
        return {"ok": False, "error": self.message, "status": self.status}


class BadRequest(CooplinkError):
    status = 400


class NotFound(CooplinkError):
    status = 404


class Forbidden(CooplinkError):
    status = 403


class QueryTimeout(CooplinkError):
    status = 503


class UnreadableFile(CooplinkError):
    """The input cannot be read at all (exit code 2 of ``cooplink ingest``)."""

    status = 400
    exit_code = 2


class NoStore(CooplinkError):
    """The data directory holds no built store yet."""

    status = 503
    exit_code = 1

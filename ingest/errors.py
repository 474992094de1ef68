"""Exceptions raised by the readers.

A reader reports problems *inside* a file as :class:`ingest.records.Issue` objects and keeps
going; it raises :class:`UnreadableInput` only when nothing at all can be read from the file
(not found, empty, binary, wrong format, no usable header).  The CLI maps it to exit code 2.
It is a :class:`graph.errors.CooplinkError` like every error a user can cause.
"""

from __future__ import annotations

from graph.errors import UnreadableFile


class UnreadableInput(UnreadableFile):
    """The file cannot be read at all; ``reason`` says why, in French, for the user."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file} : {reason}")
        self.file = file
        self.reason = reason

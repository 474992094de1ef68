"""Progress reporting that the core can call without knowing about terminals.

The core takes a :class:`Progress`; the CLI passes its ``RichProgress`` (a rich progress bar,
``search_api/cli.py``), tests and the server pass :class:`NullProgress`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, TypeVar

T = TypeVar("T")


class Progress(Protocol):
    def track(self, items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
        """Yield ``items`` while showing progress under ``description``."""
        ...

    def step(self, description: str) -> None:
        """Announce a step with no measurable size."""
        ...


class NullProgress:
    def track(self, items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
        yield from items

    def step(self, description: str) -> None:
        return None

"""Progress reporting that the core can call without knowing about terminals.

The core takes a :class:`Progress`; the CLI passes :class:`RichProgress` (a rich progress bar),
tests and the server pass :class:`NullProgress`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Protocol, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import (
    Progress as RichBar,
)

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


class RichProgress:
    """A rich progress bar on stderr; use as a context manager."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._bar = RichBar(
            SpinnerColumn(),
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )

    def __enter__(self) -> RichProgress:
        self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._bar.stop()

    def track(self, items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
        if total is None and hasattr(items, "__len__"):
            total = len(items)  # type: ignore[arg-type]
        task = self._bar.add_task(description, total=total)
        for item in items:
            yield item
            self._bar.advance(task)
        self._bar.update(task, completed=total if total is not None else 0)

    def step(self, description: str) -> None:
        task = self._bar.add_task(description, total=1)
        self._bar.update(task, completed=1)

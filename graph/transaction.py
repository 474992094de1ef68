"""One write to a data directory: a new generation, published at once or not at all.

A :class:`Transaction` holds the data dir's build lock and a fresh generation folder beside the
served one.  Its owner fills the folder (store, search index, dumps) step by step and calls
:meth:`Transaction.publish` last, which swaps ``CURRENT`` atomically.  Leaving the ``with``
block without publishing — an error, or nothing to write — removes the folder; that is all the
exit does.  A ``kill -9`` at any point leaves ``CURRENT`` naming the previous generation and at
worst an unreferenced folder, which :meth:`DataDir.prune` removes later.

An ``OSError`` (read-only data dir, no permission, disk full) leaves the block as a
:class:`StorageError` with a French message: ``CURRENT`` was not replaced, so the previous
generation is still the one served.
"""

from __future__ import annotations

import shutil
from contextlib import ExitStack, suppress
from pathlib import Path
from types import TracebackType
from typing import Any

from graph.datadir import DataDir, Generation
from graph.errors import StorageError, storage_error
from graph.store import OxigraphStore

#: What the French message of a :class:`StorageError` says was impossible.
WRITING = "écriture dans le dossier des données"


class Transaction:
    """A new generation of ``datadir``, published by :meth:`publish` or removed on exit."""

    def __init__(self, datadir: DataDir, *, keep: int) -> None:
        self.datadir = datadir
        self.keep = keep
        self._exit = ExitStack()
        self._generation: Generation | None = None
        self.previous: Generation | None = None
        self.store: OxigraphStore | None = None
        self.published = False

    def __enter__(self) -> Transaction:
        try:
            self._exit.enter_context(self.datadir.build_lock())
            self.previous = self.datadir.current()
            self._generation = self.datadir.new_generation()
        except OSError as exc:
            self._exit.close()
            raise self.storage_error(exc) from exc
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self.published:
                self.rollback()
        finally:
            self._exit.close()  # the build lock
        if isinstance(exc, OSError):
            raise self.storage_error(exc) from exc

    @property
    def generation(self) -> Generation:
        if self._generation is None:
            raise RuntimeError("transaction non ouverte")
        return self._generation

    @property
    def staging(self) -> Path:
        """A folder of the new generation for files on their way into the store."""
        path = self.generation.path / "incoming"
        path.mkdir(exist_ok=True)
        return path

    def storage_error(self, exc: OSError) -> StorageError:
        return storage_error(exc, self.datadir.root, WRITING)

    def open_store(self, *, copy_previous: bool) -> OxigraphStore:
        """The new generation's store, empty or a copy of the served one (a RocksDB checkpoint:
        hard links, cheap)."""
        gen = self.generation
        if copy_previous and self.previous is not None:
            shutil.rmtree(gen.store_path, ignore_errors=True)
            source = OxigraphStore(self.previous.store_path, read_only=True)
            source.backup(gen.store_path)
            source.close()
        self.store = OxigraphStore(gen.store_path)
        return self.store

    def close_store(self) -> None:
        """Release the writer's RocksDB handle (before dumps and publication: a handle left open
        may compact files a reader of the published folder is opening)."""
        if self.store is not None:
            store, self.store = self.store, None
            store.close()

    def publish(self, manifest: dict[str, Any]) -> None:
        """Write the manifest and make the generation the served one; older ones are pruned."""
        self.close_store()
        shutil.rmtree(self.generation.path / "incoming", ignore_errors=True)
        self.generation.write_manifest(manifest)
        self.datadir.publish(self.generation)
        self.published = True
        # Housekeeping: the new generation is served whatever happens here.
        with suppress(OSError):
            self.datadir.prune(self.keep)

    def rollback(self) -> None:
        """Remove the unpublished generation.  The store is closed first: a RocksDB handle
        dropped later would write files back into the removed folder.  Closing may fail too
        (disk full); the first error is the one reported."""
        with suppress(Exception):
            self.close_store()
        if self._generation is not None:
            shutil.rmtree(self._generation.path, ignore_errors=True)

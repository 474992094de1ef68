"""The data directory: store generations and the atomic ``CURRENT`` pointer.

Layout::

    var/
      CURRENT                 JSON pointer to the generation being served
      generations/<id>/       one complete build: oxigraph/ store + manifest.json (+ indexes)
      reports/                JSON ingest reports
      .build.lock             serialises writers

A rebuild writes a *new* generation beside the served one and, only once it is complete and
flushed, replaces ``CURRENT`` with ``os.replace`` (atomic on POSIX).  A ``kill -9`` at any point
therefore leaves ``CURRENT`` naming the previous, intact generation: the server keeps serving it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from graph.errors import CooplinkError, NoStore


@dataclass(frozen=True)
class Generation:
    """One complete (or in-progress) build under ``generations/``."""

    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def store_path(self) -> Path:
        return self.path / "oxigraph"

    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.json"

    @property
    def search_path(self) -> Path:
        """The search artefacts served with this generation: the folder named in its
        ``SEARCH`` pointer (a better index computed after publication, issue 9), else
        ``search/``, the one written by the build."""
        try:
            name = (self.path / "SEARCH").read_text("utf-8").strip()
        except FileNotFoundError:
            return self.path / "search"
        return self.path / name if name and "/" not in name else self.path / "search"

    def publish_search(self, folder: Path) -> None:
        """Serve ``folder`` (inside this generation) as its search artefacts, atomically."""
        if folder.parent != self.path:
            raise ValueError(f"{folder} n'est pas dans la génération {self.id}")
        tmp = self.path / "SEARCH.tmp"
        tmp.write_text(folder.name, "utf-8")
        os.replace(tmp, self.path / "SEARCH")

    def manifest(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.manifest_path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        return data

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        tmp = self.manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), "utf-8")
        os.replace(tmp, self.manifest_path)


class BuildLocked(CooplinkError):
    status = 409


class DataDir:
    """Owns the layout of one data directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def current_file(self) -> Path:
        return self.root / "CURRENT"

    @property
    def generations_dir(self) -> Path:
        return self.root / "generations"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    def exists(self) -> bool:
        """True when a complete generation is being served from this directory."""
        return self.current() is not None

    def current(self) -> Generation | None:
        try:
            pointer = json.loads(self.current_file.read_text("utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        gen = Generation(self.generations_dir / pointer["generation"])
        return gen if gen.store_path.exists() else None

    def require_current(self) -> Generation:
        gen = self.current()
        if gen is None:
            raise NoStore(
                f"aucun graphe construit dans {self.root} : lancez « cooplink build » "
                "ou « cooplink ingest FICHIER »"
            )
        return gen

    def pointer_stamp(self) -> float:
        """mtime of CURRENT, so a server can notice a swap cheaply."""
        try:
            return self.current_file.stat().st_mtime_ns / 1e9
        except FileNotFoundError:
            return 0.0

    def new_generation(self) -> Generation:
        self.generations_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self.generations_dir / f"{stamp}-{os.getpid()}"
        path.mkdir()
        return Generation(path)

    def publish(self, gen: Generation) -> None:
        """Atomically make ``gen`` the served generation, then prune old ones."""
        tmp = self.current_file.with_suffix(".tmp")
        payload = {"generation": gen.id, "published_at": datetime.now(UTC).isoformat()}
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.current_file)
        dir_fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def prune(self, keep: int) -> list[str]:
        """Remove generations other than the current one and the ``keep - 1`` newest complete
        ones.  Incomplete leftovers of crashed builds (no manifest) older than a minute go too."""
        current = self.current()
        gens = (
            sorted(self.generations_dir.glob("*"), reverse=True)
            if self.generations_dir.exists()
            else []
        )
        kept = 1
        removed: list[str] = []
        for path in gens:
            if current is not None and path.name == current.id:
                continue
            complete = (path / "manifest.json").exists()
            young = time.time() - path.stat().st_mtime < 60
            if complete and kept < keep:
                kept += 1
                continue
            if not complete and young:
                continue  # possibly a build running right now
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
        return removed

    @contextlib.contextmanager
    def build_lock(self) -> Iterator[None]:
        """One writer at a time (a second ``cooplink ingest`` fails fast with a clear message)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".build.lock", "w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise BuildLocked(
                    f"une autre construction est en cours dans {self.root} ; réessayez ensuite"
                ) from exc
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

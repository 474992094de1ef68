"""``/dumps/cooplink.nt.gz`` and ``/dumps/cooplink.ttl.gz``: the whole graph as files.

The dumps are written with each new generation, before it is published (``graph/dumps.py``), so
this router only serves the files of the served generation: a rebuild publishes a new
generation, hence new files, and old ones disappear with their generation when it is pruned.
Generations built before dumps were part of the build have none: the first request writes them
(10 s or so for ~1 M triples), under a lock so concurrent requests never write them twice.
"""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from graph.dumps import FORMATS, dump_path, write_generation_dumps
from graph.errors import NotFound
from search_api.knowledge_base import KnowledgeBase


class Dumps:
    """Finds the dump files of the served generation (and writes them if it has none)."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._lock = threading.Lock()

    def path(self, fmt: str) -> Path:
        """The dump of the served generation in ``fmt`` (``nt`` or ``ttl``)."""
        if fmt not in FORMATS:
            raise NotFound(f"pas de dump au format « {fmt} » (formats : {', '.join(FORMATS)})")
        gen = self.kb.datadir.require_current()
        target = dump_path(gen.path, fmt)
        if target.exists():
            return target
        with self._lock:
            if not target.exists():
                # this generation's own store, not kb.store(): a swap may happen meanwhile
                write_generation_dumps(gen)
        return target


def dumps_router(kb: KnowledgeBase) -> APIRouter:
    """Routes ``/dumps/cooplink.{nt,ttl}.gz``."""
    router = APIRouter()
    dumps = Dumps(kb)

    @router.get("/dumps/cooplink.{fmt}.gz", summary="Dump complet du graphe (gzip)")
    def dump(fmt: str) -> FileResponse:
        """Tout le graphe en N-Triples ou Turtle compressé (écrit avec chaque nouvelle version)."""
        path = dumps.path(fmt)
        return FileResponse(path, media_type="application/gzip", filename=path.name)

    return router

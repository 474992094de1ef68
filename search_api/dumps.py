"""``/dumps/cooplink.nt.gz`` and ``/dumps/cooplink.ttl.gz``: the whole graph as files.

A dump is written once per store generation, into that generation's folder (``dumps/``), on the
first request for it: a rebuild publishes a new generation, so the next request writes fresh
files, and old ones disappear with the generation when it is pruned.  The triples are those of
the union of all named graphs (what the SPARQL endpoint's default graph holds), each written once.
At 13,000 projects (~1 M triples) writing takes 10–20 s on two cores, paid by the first request
after a rebuild.
Writing goes to a temporary file renamed into place, under a lock, so concurrent requests never
see half a file and never write it twice.
"""

from __future__ import annotations

import gzip
import os
import threading
from pathlib import Path
from typing import IO, cast

import pyoxigraph as ox
from fastapi import APIRouter
from fastapi.responses import FileResponse

from cooplink.errors import NotFound
from cooplink.knowledge_base import KnowledgeBase
from graph.namespaces import PREFIXES

#: Dump formats by file suffix.
FORMATS: dict[str, ox.RdfFormat] = {"nt": ox.RdfFormat.N_TRIPLES, "ttl": ox.RdfFormat.TURTLE}
#: Oxigraph's CONSTRUCT emits each triple once (it remembers what it output), so a triple held
#: by two named graphs appears once without a costly DISTINCT (tests/test_linked_data.py checks).
_ALL_TRIPLES = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"


class Dumps:
    """Writes and finds the dump files of the served generation."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._lock = threading.Lock()

    def path(self, fmt: str) -> Path:
        """The dump of the served generation in ``fmt`` (``nt`` or ``ttl``), written if absent."""
        if fmt not in FORMATS:
            raise NotFound(f"pas de dump au format « {fmt} » (formats : {', '.join(FORMATS)})")
        gen = self.kb.datadir.require_current()
        target = gen.path / "dumps" / f"cooplink.{fmt}.gz"
        if target.exists():
            return target
        with self._lock:
            if not target.exists():
                self._write(target, fmt)
        return target

    def _write(self, target: Path, fmt: str) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        result = self.kb.store().raw.query(_ALL_TRIPLES, use_default_graph_as_union=True)
        assert isinstance(result, ox.QueryTriples)
        try:
            # mtime=0: the same graph gives byte-identical files (cacheable, comparable).
            with open(tmp, "wb") as raw, gzip.GzipFile(
                filename=target.stem, fileobj=raw, mode="wb", compresslevel=6, mtime=0
            ) as out:
                sink = cast(IO[bytes], out)
                if fmt == "nt":
                    result.serialize(sink, format=FORMATS[fmt])
                else:  # Turtle with the project's prefixes (QueryTriples.serialize has none)
                    ox.serialize(result, sink, format=FORMATS[fmt], prefixes=PREFIXES)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)


def dumps_router(kb: KnowledgeBase) -> APIRouter:
    """Routes ``/dumps/cooplink.{nt,ttl}.gz``."""
    router = APIRouter()
    dumps = Dumps(kb)

    @router.get("/dumps/cooplink.{fmt}.gz", summary="Dump complet du graphe (gzip)")
    def dump(fmt: str) -> FileResponse:
        """Tout le graphe en N-Triples ou Turtle compressé (régénéré à chaque nouvelle version)."""
        path = dumps.path(fmt)
        return FileResponse(path, media_type="application/gzip", filename=path.name)

    return router

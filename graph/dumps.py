"""Dumps: the whole graph of one store as gzipped files (N-Triples and Turtle).

A generation's dumps live in its ``dumps/`` folder and are written while the generation is built,
before it is published (the ``dumps`` step of ``search_api/write_path.py``), so they are ready
as soon as it is served and disappear with it when it is pruned.  The HTTP layer
(``search_api/http/dumps.py``) only serves them, writing them itself for generations built
before dumps were part of the build.

The triples are those of the union of all named graphs (what the SPARQL endpoint's default
graph holds), each written once.  Reading them out of the store is most of the cost (~6 s for
~1 M triples), so the store is read once, into N-Triples, and the Turtle file is made from that
file (~2 s); both take ~10 s at 13,000 projects.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, cast

import pyoxigraph as ox

from graph.datadir import Generation
from graph.namespaces import PREFIXES

#: Folder of a generation holding its dumps.
DUMPS_DIR = "dumps"
#: Dump formats by file suffix.
FORMATS: dict[str, ox.RdfFormat] = {"nt": ox.RdfFormat.N_TRIPLES, "ttl": ox.RdfFormat.TURTLE}
#: Oxigraph's CONSTRUCT emits each triple once (it remembers what it output), so a triple held
#: by two named graphs appears once without a costly DISTINCT (tests/test_dumps.py checks).
_ALL_TRIPLES = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"


def dump_path(folder: Path, fmt: str) -> Path:
    """Where the dump in ``fmt`` (``nt`` or ``ttl``) of generation folder ``folder`` lives."""
    return folder / DUMPS_DIR / f"cooplink.{fmt}.gz"


@contextmanager
def _gzip_file(target: Path) -> Iterator[IO[bytes]]:
    """A gzip stream that becomes ``target`` only once complete (temporary file renamed into
    place): a reader never sees half a dump, and a failure leaves nothing behind."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        # mtime=0: the same graph gives byte-identical files (cacheable, comparable).
        with open(tmp, "wb") as raw, gzip.GzipFile(
            filename=target.stem, fileobj=raw, mode="wb", compresslevel=6, mtime=0
        ) as out:
            yield cast(IO[bytes], out)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_dumps(store: ox.Store, folder: Path) -> dict[str, Path]:
    """Write the N-Triples and Turtle dumps of ``store`` into generation ``folder``'s
    ``dumps/``; their paths by format (``nt``, ``ttl``)."""
    nt, ttl = dump_path(folder, "nt"), dump_path(folder, "ttl")
    result = store.query(_ALL_TRIPLES, use_default_graph_as_union=True)
    assert isinstance(result, ox.QueryTriples)
    with _gzip_file(nt) as out:
        result.serialize(out, format=FORMATS["nt"])
    # Turtle with the project's prefixes, from the file just written rather than a second scan
    # of the store; blank node labels are kept, so both files hold the same triples.
    with gzip.open(nt, "rb") as source, _gzip_file(ttl) as out:
        triples = ox.parse(cast(IO[bytes], source), format=FORMATS["nt"])
        ox.serialize(triples, out, format=FORMATS["ttl"], prefixes=PREFIXES)
    return {"nt": nt, "ttl": ttl}


def write_generation_dumps(gen: Generation) -> dict[str, Path]:
    """Write generation ``gen``'s dumps from its own store, opened read-only: a reader, never a
    writer, so a failure part-way cannot leave a handle that writes into a removed folder."""
    return write_dumps(ox.Store.read_only(str(gen.store_path)), gen.path)

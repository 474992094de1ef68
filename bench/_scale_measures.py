"""The measures of the scale benchmark (bench/scale.py) that the other benchmarks lack: resident
memory of a server and its SPARQL workers once their in-memory copies are made, folder sizes, a
keep-alive SPARQL client for ``cooplink serve``, and search latency in-process on the exact
index against HNSW at the same size."""

from __future__ import annotations

import http.client
import json
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._load_servers import rss_breakdown  # noqa: E402
from bench.search import percentiles  # noqa: E402
from bench.sparql import _get  # noqa: E402
from search_api.knowledge_base import KnowledgeBase  # noqa: E402
from search_api.search.search_index import SearchIndex  # noqa: E402
from search_api.search.service import SearchService, limit_threads  # noqa: E402
from search_api.search.vector_index import build_vector_index  # noqa: E402
from search_api.settings import Settings  # noqa: E402

__all__ = ["Endpoint", "dir_mb", "memory_copy", "percentiles", "rss_breakdown",
           "search_inprocess", "wait_settled"]


class Endpoint:
    """``cooplink serve``'s ``/sparql`` over one keep-alive connection (bench/sparql.py's
    ``_get`` reopens it when the server closed it while idle)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def query(self, sparql: str, graph: bool) -> bytes:
        return _get(self, "/sparql?" + urllib.parse.urlencode({"query": sparql}),  # type: ignore[arg-type]
                    graph)


def memory_copy(data_dir: Path) -> tuple[Any, dict[str, Any]]:
    """The in-memory copy a SPARQL worker makes (``sparql_in_memory``), made in this process:
    the store, and its seconds and resident memory (this process's growth)."""
    import psutil

    from graph.evaluation import open_store

    gen = KnowledgeBase(Settings(data_dir=data_dir)).datadir.require_current()
    before = psutil.Process().memory_info().rss
    started = time.perf_counter()
    store = open_store(gen.store_path, True)
    return store, {"copy_s": round(time.perf_counter() - started, 1),
                   "copy_rss_mb": round((psutil.Process().memory_info().rss - before) / 2**20)}


def dir_mb(path: Path) -> float:
    """Size on disk of the files under ``path``, in MB."""
    if not path.exists():
        return 0.0
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20, 1)


def wait_settled(pid: int, limit: float, quiet: float = 30.0) -> float:
    """Seconds until the resident memory of ``pid`` and its children stops growing (under 1 %
    for ``quiet`` seconds): the workers copy the graph into memory in the background."""
    started = time.monotonic()
    last, since = -1, time.monotonic()
    while time.monotonic() - started < limit:
        total = int(rss_breakdown(pid).get("total_mb", 0))
        if total > last * 1.01:
            last, since = total, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
        time.sleep(3)
    return round(time.monotonic() - started - quiet, 1)


def _tier_folder(data_dir: Path, spec: str | None) -> tuple[Path, str]:
    """The search folder built with ``spec`` if there is one, else the served one; its spec."""
    gen = KnowledgeBase(Settings(data_dir=data_dir)).datadir.require_current()
    found: dict[str, Path] = {}
    for folder in [*sorted(gen.path.glob("search*")), gen.search_path]:
        manifest = folder / "manifest.json"
        if folder.is_dir() and manifest.exists():
            found[str(json.loads(manifest.read_text("utf-8"))["spec"])] = folder
    served = str(json.loads((gen.search_path / "manifest.json").read_text("utf-8"))["spec"])
    chosen = spec if spec in found else served
    return found[chosen], chosen


def _timed_searches(service: SearchService, texts: list[str],
                    filters: list[dict[str, str]]) -> dict[str, Any]:
    half = len(texts) // 2
    plain: list[float] = []
    filtered: list[float] = []
    for i, text in enumerate(texts):
        chosen = service.filters(**filters[i % len(filters)]) if i >= half else None
        service.query_vector(text)  # the encoder is the same on both indexes: time the rest
        started = time.perf_counter()
        service.search(text, filters=chosen, limit=20)
        (plain if i < half else filtered).append(time.perf_counter() - started)
    return {"without_filters": percentiles(plain), "with_filters": percentiles(filtered)}


def search_inprocess(data_dir: Path, texts: list[str], filters: list[dict[str, str]],
                     hnsw_threshold: int, spec: str | None = None) -> dict[str, Any]:
    """Search latency in this process (one thread, as served) on the exact index and on HNSW.

    The index kind follows ``search_approximate_threshold``: the served folder's index is
    used as built, then the other kind is built from the same rows with the threshold set
    to ``hnsw_threshold`` (0: half the vector count) when the served one is exact.  Query
    embeddings are computed once before each timed search (they do not depend on the index)
    and timed apart."""
    settings = Settings(data_dir=data_dir)
    kb = KnowledgeBase(settings)
    folder, spec = _tier_folder(data_dir, spec)
    encoder = kb.encoder(spec=spec)
    limit_threads(settings.search_threads)
    started = time.perf_counter()
    index = SearchIndex.load(folder, encoder)
    load_s = time.perf_counter() - started
    vectors = len(index.vectors)
    report: dict[str, Any] = {"tier": spec, "vectors": vectors, "documents": len(index),
                              "load_s": round(load_s, 1),
                              "setting_threshold": settings.search_approximate_threshold}
    encoder.encode_queries(["échauffement du modèle"])  # its first call loads the model
    embed = []
    for text in texts:
        started = time.perf_counter()
        encoder.encode_queries([text])
        embed.append(time.perf_counter() - started)
    report["query_embedding"] = percentiles(embed)
    service = SearchService(index)
    report[index.vectors.kind] = _timed_searches(service, texts, filters)
    if index.vectors.kind == "exact":
        threshold = hnsw_threshold or vectors // 2
        started = time.perf_counter()
        index.vectors = build_vector_index(index.vectors.rows().copy(), threshold)
        report["hnsw_threshold"] = threshold
        report["hnsw_build_s"] = round(time.perf_counter() - started, 1)
        service = SearchService(index)
        report[index.vectors.kind] = _timed_searches(service, texts, filters)
    return report

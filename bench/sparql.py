"""SPARQL benchmark: the same queries (the 9 shapes below and the editor's example queries)
run on pyoxigraph in-process, through cooplink's HTTP endpoint on the embedded store (``cooplink
serve`` in a child process, one keep-alive connection), on Virtuoso directly over HTTP, and
through cooplink's endpoint over the Virtuoso backend (``COOPLINK_SPARQL_ENDPOINT``); rdflib's
in-memory ``Graph`` on the same triples is kept as context.  Prints JSON with medians and ratios.

    .venv/bin/cooplink build --data-dir /tmp/bench-var
    .venv/bin/python bench/sparql.py --data-dir /tmp/bench-var --no-rdflib > bench-sparql.json

Virtuoso (Debian's ``virtuoso-opensource``) is started privately on loopback in
``--virtuoso-dir`` (graph/virtuoso.py) and loaded with ``cooplink push`` (bulk loader); it is
stopped at the end.  ``--no-virtuoso`` skips those two columns.

Targets (issue 13, replacing issue 3's rdflib target): embedded endpoint ÷ Virtuoso direct:
geometric mean ≤ 1.0 and no query above 3×; cooplink over Virtuoso ÷ Virtuoso direct ≤ 1.2× +
2 ms; HTTP ÷ in-process ≤ 1.3× + 2 ms.  The in-process side evaluates on the same kind of store
as the endpoint's workers: an in-memory copy of the served generation when ``sparql_in_memory``
is on (the default), else the on-disk store (``"store"`` in the JSON says which).  Measuring
starts once every worker has loaded it.  Each answer is asked the way the endpoint sends it
(SPARQL JSON for SELECT and ASK, N-Triples for CONSTRUCT and DESCRIBE), and Virtuoso gets the
very text cooplink sends it (prefixes, and the DESCRIBE pragma).  ``rows`` counts the answer's
rows or triples on each side, so a differing answer shows.  A benchmark, not a test: the
numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.client
import json
import math
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._load_servers import start_virtuoso as push_to_virtuoso
from graph.evaluation import open_store
from graph.namespaces import PREFIXES, sparql_prologue
from graph.query_guard import shape
from graph.remote import VIRTUOSO_DESCRIBE, remote_text
from graph.virtuoso import Virtuoso, free_port, server_binary
from search_api.http.sparql import load_examples
from search_api.knowledge_base import KnowledgeBase
from search_api.settings import Settings

QUERIES: dict[str, str] = {
    "lookup": "SELECT ?p ?o WHERE { <{base}/id/pays/SN> ?p ?o }",
    "filter_order_limit": """SELECT ?projet ?titre ?cout WHERE {
        ?projet a cl:Projet ; rdfs:label ?titre ; cl:coutTotal ?cout .
        FILTER(?cout > 200000) } ORDER BY DESC(?cout) ?projet LIMIT 20""",
    "group_by_join": """SELECT ?nom (COUNT(DISTINCT ?projet) AS ?projets) WHERE {
        ?projet a cl:Projet ; cl:pays ?pays . ?pays skos:prefLabel ?nom .
        FILTER(LANG(?nom) = "fr") } GROUP BY ?nom ORDER BY DESC(?projets)""",
    "optional_heavy": """SELECT ?projet ?titre ?cout ?cofi ?fin ?statut ?partenaire WHERE {
        ?projet a cl:Projet ; cl:pays <{base}/id/pays/SN> ; rdfs:label ?titre .
        OPTIONAL { ?projet cl:coutTotal ?cout } OPTIONAL { ?projet cl:cofinancementMEAE ?cofi }
        OPTIONAL { ?projet cl:anneeFin ?fin } OPTIONAL { ?projet cl:statut ?statut }
        OPTIONAL { ?projet cl:partenaireEtranger ?partenaire } } LIMIT 500""",
    # Kept in this form: the same question with the partners made distinct in a subquery first
    # is 2-3x faster in pyoxigraph, but rdflib then evaluates the path before the join and takes
    # 646 s instead of ~1 s, which would say nothing about the engines' usual speed.
    "property_path": """SELECT ?type (COUNT(DISTINCT ?coll) AS ?n) WHERE {
        ?projet cl:collectiviteFrancaise ?coll . ?coll a ?type .
        ?type rdfs:subClassOf* cl:CollectiviteTerritoriale } GROUP BY ?type""",
    "text_filter": """SELECT ?projet ?titre WHERE {
        ?projet a cl:Projet ; rdfs:label ?titre .
        FILTER(CONTAINS(LCASE(STR(?titre)), "eau potable")) } LIMIT 100""",
    "construct": """CONSTRUCT { ?projet dcterms:title ?titre ; cl:collectiviteFrancaise ?c .
        ?c rdfs:label ?nom } WHERE { ?projet cl:pays <{base}/id/pays/ML> ; dcterms:title ?titre ;
        cl:collectiviteFrancaise ?c . ?c rdfs:label ?nom }""",
    "describe": "DESCRIBE <{project}>",
    "ask": "ASK { ?p cl:theme theme:sante ; cl:pays <{base}/id/pays/BF> }",
}


def query_set(base_uri: str, project: str, examples: bool = True) -> dict[str, str]:
    """The benchmark's queries by name, ready to send: the shapes of :data:`QUERIES` with the
    prologue, ``base_uri`` and one project's URI filled in, then the editor's examples."""
    base = base_uri.rstrip("/")
    queries = {name: sparql_prologue() + q.replace("{base}", base).replace("{project}", project)
               for name, q in QUERIES.items()}
    if examples:
        queries |= {f"example-{e.id[:2]}": e.query for e in load_examples()}
    return queries


def _serialise(result: Any) -> bytes:
    if isinstance(result, (ox.QuerySolutions, ox.QueryBoolean)):
        return bytes(result.serialize(format=ox.QueryResultsFormat.JSON) or b"")
    return bytes(result.serialize(format=ox.RdfFormat.N_TRIPLES) or b"")


def _timed(run: Callable[[], bytes], repeats: int) -> tuple[list[float], int]:
    run()  # warm-up (caches, worker start)
    times, size = [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        size = len(run())
        times.append((time.perf_counter() - started) * 1000)
    return times, size


class Server:
    """``cooplink serve`` in a child process, queried over one keep-alive connection."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        cli = Path(sys.executable).with_name("cooplink")
        self.proc = subprocess.Popen(
            [str(cli), "serve", "--data-dir", str(data_dir), "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})})
        deadline = time.monotonic() + 120
        while True:
            try:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
                self.conn.request("GET", "/healthz")
                self.conn.getresponse().read()
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("le serveur ne démarre pas") from None
                time.sleep(0.2)

    def wait_warm(self, workers: int) -> None:
        """One query per worker at once, so each is held by one of them: all return once every
        worker has loaded the graph (an in-memory copy takes seconds)."""
        failures: list[BaseException] = []

        def ask() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
            try:
                conn.request("GET", "/sparql?" + urllib.parse.urlencode({"query": "ASK {}"}))
                conn.getresponse().read()
            except OSError as exc:
                failures.append(exc)
            finally:
                conn.close()

        threads = [threading.Thread(target=ask) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise RuntimeError(f"le serveur ne répond pas : {failures[0]}")
        # the keep-alive connection has idled past the server's keep-alive timeout meanwhile
        self.conn.close()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)

    def wait_idle_workers(self, limit: float, quiet: float = 3.0) -> None:
        """Until the SPARQL worker processes have used (almost) no CPU for ``quiet`` seconds:
        their in-memory copies are made.  A fixed wait was not enough on a busy machine (copies
        of several minutes), and queries measured meanwhile ran on the disk store beside a
        copy, up to 30 times slower."""
        deadline = time.monotonic() + limit

        def cpu() -> float:
            total = 0.0
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    if "graph._query_worker" in " ".join(child.cmdline()):
                        times = child.cpu_times()
                        total += times.user + times.system
            return total

        before = cpu()
        while time.monotonic() < deadline:
            time.sleep(quiet)
            now = cpu()
            if now - before < 0.05 * quiet:
                return
            before = now
        print("les copies en mémoire ne sont pas finies : mesures sur disque", file=sys.stderr)

    def wait_ready(self, limit: float = 600.0) -> None:
        """Until ``/healthz`` says ``ok``: the search model and indexes are loaded (their
        loading takes the CPU for seconds, which would slow the first measures)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                conn.request("GET", "/healthz")
                if json.loads(conn.getresponse().read()).get("status") == "ok":
                    return
            finally:
                conn.close()
            time.sleep(1)
        raise RuntimeError("le serveur n'est pas prêt")

    def query(self, sparql: str, graph: bool) -> bytes:
        return _get(self, "/sparql?" + urllib.parse.urlencode({"query": sparql}), graph)

    def close(self) -> None:
        self.conn.close()
        self.proc.terminate()
        self.proc.wait(timeout=30)


class Direct:
    """Virtuoso's own endpoint over one keep-alive connection, asked the text cooplink sends."""

    def __init__(self, server: Virtuoso) -> None:
        self.port = server.http_port
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)

    def query(self, sparql: str, graph: bool) -> bytes:
        pragma = VIRTUOSO_DESCRIBE if shape(sparql).form == "describe" else ""
        return _get(self, "/sparql?" + urllib.parse.urlencode(
            {"query": remote_text(sparql, None, pragma)}), graph)


def _get(client: Server | Direct, target: str, graph: bool) -> bytes:
    """GET ``target`` on ``client``'s keep-alive connection, opening a new one if the server
    closed it while idle (uvicorn after 5 s, while other engines were measured)."""
    accept = "application/n-triples" if graph else "application/sparql-results+json"
    for attempt in (1, 2):
        try:
            client.conn.request("GET", target, headers={"Accept": accept})
            response = client.conn.getresponse()
            body = response.read()
            break
        except (http.client.RemoteDisconnected, ConnectionError):
            client.conn.close()
            client.conn = http.client.HTTPConnection("127.0.0.1", client.port, timeout=600)
            if attempt == 2:
                raise
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {body[:200]!r}")
    return body


def start_virtuoso(kb: KnowledgeBase, folder: Path) -> tuple[Virtuoso, dict[str, Any]]:
    """A fresh private Virtuoso holding ``kb``'s served generation: the load benchmark's
    (``cooplink push --to``, bulk loader), in an emptied ``folder`` so that every run times the
    start and the load; its log beside ``folder``."""
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
    server, report = push_to_virtuoso(kb.datadir.root, folder, 0, 0,
                                      folder.parent / f"{folder.name}-push.log")
    return server, report | {"rss_mb": _rss_mb(folder)}


def _rss_mb(folder: Path) -> int | None:
    """Resident memory of the Virtuoso server of ``folder`` (its pid file), in MB."""
    try:
        pid = (folder / "server.pid").read_text().strip()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    line = next((ln for ln in status.splitlines() if ln.startswith("VmRSS:")), "")
    return int(line.split()[1]) // 1024 if line else None


def _rows(body: bytes, graph: bool) -> int:
    if graph:
        return sum(1 for ln in body.splitlines() if ln.strip() and not ln.startswith(b"#"))
    data = json.loads(body)
    return len(data["results"]["bindings"]) if "results" in data else int(data["boolean"])


def _measure(run: Callable[[], bytes], repeats: int, graph: bool) -> dict[str, Any]:
    try:
        times, _ = _timed(run, repeats)
        rows = _rows(run(), graph)
    except Exception as exc:  # one engine failing a query must not hide the others
        return {"error": " ".join(str(exc).split())[:200]}
    return {"p50_ms": round(statistics.median(times), 2), "rows": rows}


def _geomean(values: list[float]) -> float | None:
    values = [v for v in values if v > 0]
    return round(math.exp(sum(math.log(v) for v in values) / len(values)), 2) if values else None


def _load_rdflib(store: ox.Store) -> tuple[Any, float]:
    import rdflib

    started = time.perf_counter()
    nt = _serialise(store.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
                                use_default_graph_as_union=True))
    graph = rdflib.Graph()
    graph.parse(data=nt, format="nt")
    return graph, time.perf_counter() - started


def _rdflib_run(graph: Any, sparql: str) -> bytes:
    result = graph.query(sparql)
    if result.type in ("CONSTRUCT", "DESCRIBE"):
        return bytes(result.serialize(format="nt") or b"")
    return bytes(result.serialize(format="json") or b"")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get(
        "COOPLINK_DATA_DIR", "/tmp/bench-var")))
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rdflib-repeats", type=int, default=1)
    parser.add_argument("--no-rdflib", action="store_true")
    parser.add_argument("--no-virtuoso", action="store_true")
    parser.add_argument("--no-examples", action="store_true")
    parser.add_argument("--settle", type=float, default=600.0,
                        help="at most this many seconds waiting for the workers' in-memory "
                             "copies (measuring starts once they have been idle for 3 s)")
    parser.add_argument("--virtuoso-dir", type=Path, default=Path("/tmp/bench-virtuoso"))
    parser.add_argument("--only", default="",
                        help="comma-separated query names to run (e.g. lookup,example-17); "
                             "default: all")
    args = parser.parse_args(argv)

    kb = KnowledgeBase(Settings(data_dir=args.data_dir))
    gen = kb.datadir.require_current()
    in_memory = kb.settings.sparql_in_memory
    started = time.perf_counter()
    store = open_store(gen.store_path, in_memory)  # what the endpoint's workers evaluate on
    load_s = time.perf_counter() - started
    found = store.query("SELECT ?p WHERE { ?p a cl:Projet } LIMIT 1", prefixes=PREFIXES,
                        use_default_graph_as_union=True)
    assert isinstance(found, ox.QuerySolutions)
    queries = query_set(kb.settings.base_uri, next(iter(found))[0].value, not args.no_examples)
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(wanted) - queries.keys())
        if unknown:
            parser.error(f"unknown queries {unknown}; known: {', '.join(queries)}")
        queries = {n: q for n, q in queries.items() if n in wanted}
    report: dict[str, Any] = {"dataset": {"triples": gen.manifest().get("triples"),
                                          "projects": gen.manifest().get("projects")},
                              "store": "memory" if in_memory else "disk",
                              "store_load_s": round(load_s, 1),
                              "repeats": args.repeats, "queries": {}}
    with_virtuoso = not args.no_virtuoso and server_binary() is not None

    def inprocess(q: str) -> bytes:
        return _serialise(store.query(q, prefixes=PREFIXES, use_default_graph_as_union=True))

    virtuoso: Virtuoso | None = None
    servers: list[Server] = []
    try:
        if with_virtuoso:
            virtuoso, report["virtuoso"] = start_virtuoso(kb, args.virtuoso_dir)
            print(f"virtuoso: {report['virtuoso']}", file=sys.stderr)
        embedded = Server(args.data_dir)
        servers.append(embedded)
        modes: dict[str, Callable[[str, bool], bytes]] = {
            "inprocess": lambda q, _graph: inprocess(q), "http": embedded.query}
        if virtuoso is not None:
            remote = Server(args.data_dir, {"COOPLINK_SPARQL_ENDPOINT": virtuoso.endpoint})
            servers.append(remote)
            modes |= {"virtuoso": Direct(virtuoso).query, "remote": remote.query}
        for server in servers:
            server.wait_ready()
        embedded.wait_warm(kb.settings.sparql_workers)
        # a loaded worker answers from the disk store while it copies the graph into memory
        # in the background (issue 9): measure once the copies are made
        if in_memory:
            embedded.wait_idle_workers(args.settle)
        for name, q in queries.items():
            graph = shape(q).returns_graph
            entry = {mode: _measure(functools.partial(run, q, graph), args.repeats, graph)
                     for mode, run in modes.items()}
            report["queries"][name] = entry | _ratios(entry)
            print(f"{name}: {report['queries'][name]}", file=sys.stderr)
    finally:
        for server in servers:
            server.close()
        if virtuoso is not None:
            virtuoso.stop()

    if not args.no_rdflib:
        graph_rdflib, load_s = _load_rdflib(store)
        report["rdflib_load_s"] = round(load_s, 1)
        for name, q in queries.items():
            times, _ = _timed(functools.partial(_rdflib_run, graph_rdflib, q),
                              args.rdflib_repeats)
            report["queries"][name]["rdflib_p50_ms"] = round(statistics.median(times), 1)
            print(f"{name}: rdflib {statistics.median(times):.0f} ms", file=sys.stderr)
    report["summary"] = _summary(report["queries"])
    print(_table(report), file=sys.stderr)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return report


def _table(report: dict[str, Any]) -> str:
    """The per-query medians and the ratios of the targets, as a plain table (stderr), with the
    summary's figures beneath: what a reader compares with the previous measurement."""
    modes = ("inprocess", "http", "virtuoso", "remote")
    head = (f"{'query':20} " + " ".join(f"{m + ' ms':>13}" for m in modes)
            + f" {'http/virt':>9} {'http/inp':>8} {'http ok':>7}")
    lines = [head, "-" * len(head)]
    for name, e in report["queries"].items():
        cells = [f"{e[m]['p50_ms']:13.2f}" if "p50_ms" in e.get(m, {}) else f"{'-':>13}"
                 for m in modes]
        over = e.get("http_over_virtuoso")
        mark = " !" if over is not None and over > 3 else "  "
        lines.append(
            f"{name:20} " + " ".join(cells)
            + (f" {over:7.2f}{mark}" if over is not None else f" {'-':>9}")
            + (f" {e['http_over_inprocess']:8.2f}" if "http_over_inprocess" in e
               else f" {'-':>8}")
            + f" {('yes' if e.get('http_within_target') else 'no'):>7}")
    s = report["summary"]
    lines += [
        "",
        f"embedded HTTP / Virtuoso: geomean {s['http_over_virtuoso_geomean']} over "
        f"{s['queries']} (bench shapes: {s['http_over_virtuoso_geomean_bench']}), max "
        f"{s['http_over_virtuoso_max']}, above 3x: {s['http_over_virtuoso_above_3']} "
        f"{s['above_3']}  [targets: geomean <= 1.0, none above 3x]",
        f"HTTP within 1.3 x in-process + 2 ms: {s['http_within_target']} of {s['queries']}",
        f"in-process / Virtuoso geomean {s['inprocess_over_virtuoso_geomean']}; cooplink on "
        f"Virtuoso / Virtuoso geomean {s['remote_over_virtuoso_geomean']}, within 1.2 x + 2 ms: "
        f"{s['remote_within_target']}",
    ]
    return "\n".join(lines)


def _ratios(entry: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The ratios of the targets, where both sides answered."""
    p50 = {mode: e["p50_ms"] for mode, e in entry.items() if "p50_ms" in e}
    out: dict[str, Any] = {}
    if "inprocess" in p50 and "http" in p50:
        out["http_over_inprocess"] = round(p50["http"] / p50["inprocess"], 2)
        out["http_within_target"] = p50["http"] <= 1.3 * p50["inprocess"] + 2
    if "virtuoso" in p50:
        if "http" in p50:
            out["http_over_virtuoso"] = round(p50["http"] / p50["virtuoso"], 2)
        if "inprocess" in p50:
            out["inprocess_over_virtuoso"] = round(p50["inprocess"] / p50["virtuoso"], 2)
        if "remote" in p50:
            out["remote_over_virtuoso"] = round(p50["remote"] / p50["virtuoso"], 2)
            out["remote_within_target"] = p50["remote"] <= 1.2 * p50["virtuoso"] + 2
    rows = {mode: e["rows"] for mode, e in entry.items() if "rows" in e}
    out["same_answer_size"] = len(set(rows.values())) <= 1
    return out


def _summary(queries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    entries = list(queries.values())

    def ratios(key: str, subset: list[dict[str, Any]] = entries) -> list[float]:
        return [e[key] for e in subset if key in e]

    bench = [e for name, e in queries.items() if not name.startswith("example-")]
    over = ratios("http_over_virtuoso")
    return {
        "queries": len(entries),
        "http_within_target": sum(bool(e.get("http_within_target")) for e in entries),
        "http_over_inprocess_median": (statistics.median(ratios("http_over_inprocess"))
                                       if ratios("http_over_inprocess") else None),
        "http_over_virtuoso_geomean": _geomean(over),
        "http_over_virtuoso_geomean_bench": _geomean(ratios("http_over_virtuoso", bench)),
        "http_over_virtuoso_max": max(over) if over else None,
        "http_over_virtuoso_above_3": sum(r > 3 for r in over),
        "above_3": [n for n, e in queries.items() if e.get("http_over_virtuoso", 0) > 3],
        "inprocess_over_virtuoso_geomean": _geomean(ratios("inprocess_over_virtuoso")),
        "remote_over_virtuoso_geomean": _geomean(ratios("remote_over_virtuoso")),
        "remote_within_target": sum(bool(e.get("remote_within_target")) for e in entries),
        "different_answer_sizes": [n for n, e in queries.items() if not e["same_answer_size"]],
        "errors": {f"{n}/{m}": e[m]["error"] for n, e in queries.items()
                   for m in ("inprocess", "http", "virtuoso", "remote")
                   if isinstance(e.get(m), dict) and "error" in e[m]},
    }


if __name__ == "__main__":
    main()

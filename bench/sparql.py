"""SPARQL benchmark: the same queries three ways — pyoxigraph in-process, through the HTTP
endpoint (``cooplink serve`` in a child process, one keep-alive connection), and rdflib's
in-memory ``Graph`` on the same triples — printing JSON with medians and ratios.

    .venv/bin/cooplink build --data-dir /tmp/bench-var
    .venv/bin/python bench/sparql.py --data-dir /tmp/bench-var > bench-sparql.json

Targets (issue 3): HTTP p50 ≤ 1.3 × in-process p50 + 2 ms; both ≥ 20 × faster than rdflib.
The in-process side evaluates on the same kind of store as the endpoint's workers: an in-memory
copy of the served generation when ``sparql_in_memory`` is on (the default), else the on-disk
store (``"store"`` in the JSON says which).  Measuring starts once every worker has loaded it.
Each query's answer is serialised the way the endpoint sends it (SPARQL JSON for SELECT and
ASK, N-Triples for CONSTRUCT and DESCRIBE) in all three runs.  A benchmark, not a test: the
numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from graph.evaluation import open_store
from graph.namespaces import PREFIXES, sparql_prologue
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """``cooplink serve`` in a child process, queried over one keep-alive connection."""

    def __init__(self, data_dir: Path) -> None:
        self.port = _free_port()
        cli = Path(sys.executable).with_name("cooplink")
        self.proc = subprocess.Popen(
            [str(cli), "serve", "--data-dir", str(data_dir), "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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

    def query(self, sparql: str, graph: bool) -> bytes:
        accept = "application/n-triples" if graph else "application/sparql-results+json"
        self.conn.request("GET", "/sparql?" + urllib.parse.urlencode({"query": sparql}),
                          headers={"Accept": accept})
        response = self.conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {body[:200]!r}")
        return body

    def close(self) -> None:
        self.conn.close()
        self.proc.terminate()
        self.proc.wait(timeout=30)


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
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--rdflib-repeats", type=int, default=1)
    parser.add_argument("--no-rdflib", action="store_true")
    args = parser.parse_args(argv)

    kb = KnowledgeBase(Settings(data_dir=args.data_dir))
    gen = kb.datadir.require_current()
    in_memory = kb.settings.sparql_in_memory
    started = time.perf_counter()
    store = open_store(gen.store_path, in_memory)  # what the endpoint's workers evaluate on
    load_s = time.perf_counter() - started
    base = kb.settings.base_uri.rstrip("/")
    found = store.query("SELECT ?p WHERE { ?p a cl:Projet } LIMIT 1", prefixes=PREFIXES,
                        use_default_graph_as_union=True)
    assert isinstance(found, ox.QuerySolutions)
    project = next(iter(found))[0]
    queries = {name: sparql_prologue() + q.replace("{base}", base).replace("{project}",
                                                                             project.value)
               for name, q in QUERIES.items()}
    report: dict[str, Any] = {"dataset": {"triples": gen.manifest().get("triples"),
                                          "projects": gen.manifest().get("projects")},
                              "store": "memory" if in_memory else "disk",
                              "store_load_s": round(load_s, 1),
                              "repeats": args.repeats, "queries": {}}

    def inprocess(q: str) -> bytes:
        return _serialise(store.query(q, prefixes=PREFIXES, use_default_graph_as_union=True))

    server = Server(args.data_dir)
    try:
        server.wait_warm(kb.settings.sparql_workers)
        for name, q in queries.items():
            graph = name in ("construct", "describe")
            local, size = _timed(functools.partial(inprocess, q), args.repeats)
            remote, _ = _timed(functools.partial(server.query, q, graph), args.repeats)
            p50_local, p50_http = statistics.median(local), statistics.median(remote)
            report["queries"][name] = {
                "inprocess_p50_ms": round(p50_local, 2),
                "http_p50_ms": round(p50_http, 2),
                "http_over_inprocess": round(p50_http / p50_local, 2),
                "http_target_ms": round(1.3 * p50_local + 2, 2),
                "http_within_target": p50_http <= 1.3 * p50_local + 2,
                "answer_bytes": size,
            }
            print(f"{name}: {report['queries'][name]}", file=sys.stderr)
    finally:
        server.close()

    if not args.no_rdflib:
        graph_rdflib, load_s = _load_rdflib(store)
        report["rdflib_load_s"] = round(load_s, 1)
        for name, q in queries.items():
            times, _ = _timed(functools.partial(_rdflib_run, graph_rdflib, q),
                              args.rdflib_repeats)
            entry = report["queries"][name]
            p50 = statistics.median(times)
            entry["rdflib_p50_ms"] = round(p50, 1)
            entry["rdflib_over_inprocess"] = round(p50 / entry["inprocess_p50_ms"], 1)
            entry["rdflib_over_http"] = round(p50 / entry["http_p50_ms"], 1)
            print(f"{name}: rdflib {p50:.0f} ms", file=sys.stderr)

    entries = report["queries"].values()
    report["summary"] = {
        "http_within_target": sum(e["http_within_target"] for e in entries),
        "queries": len(report["queries"]),
        "median_http_over_inprocess": statistics.median(e["http_over_inprocess"] for e in entries),
    }
    if not args.no_rdflib:
        summary = report["summary"]
        summary["min_rdflib_over_inprocess"] = min(e["rdflib_over_inprocess"] for e in entries)
        summary["min_rdflib_over_http"] = min(e["rdflib_over_http"] for e in entries)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return report


if __name__ == "__main__":
    main()

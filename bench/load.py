"""Load benchmark (issue 13, §4): concurrent clients on a mixed workload; prints one JSON document.

Usage::

    .venv/bin/python bench/load.py --data-dir var                       # both backends, 60 s stages
    .venv/bin/python bench/load.py --data-dir var --backend embedded --users 16 --duration 10
    .venv/bin/python bench/load.py --url http://127.0.0.1:8000 --users 16,64   # a running server
    .venv/bin/python bench/load.py --url http://127.0.0.1:8000 --mix search --no-isolation

For each backend — the embedded store (pyoxigraph) and Virtuoso (a private server started from
graph/virtuoso.py in ``--virtuoso-dir``, loaded with ``cooplink push --to``, then a second
``cooplink serve`` with ``COOPLINK_SPARQL_ENDPOINT``) — locust runs, from loopback only, 16, 64
and 128 clients for ``--duration`` seconds each.  A client sends its next request as soon as the
previous one is answered (no think time), drawn from a mix:

* ``search`` / ``search_filtered``: ``/api/search``, half the searches with filters (country,
  theme, both, authority type and region, years, order and page), each text new to the server
  (bench/_load_queries.py: thousands of distinct French queries, so no cache hides the cost);
* ``similar`` (``/api/projects/{id}/similar``), ``pooling`` (``/api/pooling`` by country and theme);
* ``sparql_example``: one of the editor's examples (``/api/examples``) on ``/sparql``;
* ``entity``: the HTML page of a project, an authority or a partner (``/id/…``);
* ``etat`` (``/etat``) and ``pays`` (``/pays/{iso2}``).

Then the isolation scenario: 16 search clients alone, then the same 16 while 4 clients send a
SPARQL query that takes about 25 s (same-country project pairs, its size calibrated on the
backend first); the search p95 of both periods is printed.

Printed per stage: requests/s, p50/p95/p99 per request kind, errors (5xx, other statuses,
timeouts, connection resets) by kind, the load average (the machine may be shared) and the
server's resident memory with its SPARQL workers.  Targets (2 cores): 0 errors at 128 clients;
search p95 < 200 ms at 16 clients; a slow SPARQL query never blocks searches.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import urlparse  # noqa: E402

import gevent  # noqa: E402
from locust import User  # noqa: E402
from locust.env import Environment  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _load_servers import Serve, get_json, start_virtuoso  # noqa: E402
from _load_users import (  # noqa: E402
    MixedUser,
    Recorder,
    SearchUser,
    SlowSparqlUser,
    Workload,
    _Client,
)

SEARCH_KINDS = ("search", "search_filtered")


def _stage(base: str, workload: Workload, users: list[type[_Client]], count: int,
           duration: float, server: Serve | None) -> dict[str, Any]:
    """``count`` clients of ``users`` for ``duration`` seconds after they have all started."""
    recorder = Recorder()
    env = Environment(user_classes=list[type[User]](users), host=base, events=None)
    env.events.request.add_listener(recorder.on_request)
    for user in users:
        user.workload = workload
    runner = env.create_local_runner()
    runner.start(count, spawn_rate=max(count, 1))
    while runner.user_count < count:
        gevent.sleep(0.1)
    gevent.sleep(1.0)  # slow clients get their query running first
    recorder.start()
    load_before = os.getloadavg()[0]
    gevent.sleep(duration)
    summary = recorder.summary()
    load_after = os.getloadavg()
    rss = server.rss_mb() if server else None
    runner.quit()
    gevent.sleep(3.0)  # let the server finish what the stopped clients left queued
    return {"users": count, "duration_s": duration, **summary,
            "load_average": [round(load_before, 2), *(round(v, 2) for v in load_after)],
            "server_rss_mb": rss}


def _isolation(base: str, workload: Workload, duration: float, slow_seconds: float,
               server: Serve | None) -> dict[str, Any]:
    """16 search clients alone, then with 4 clients running ~``slow_seconds`` SPARQL queries."""
    calibration = workload.calibrate_slow(base, slow_seconds)
    alone = _stage(base, workload, [SearchUser], 16, duration, server)
    SlowSparqlUser.fixed_count = 4
    together = _stage(base, workload, [SearchUser, SlowSparqlUser], 20, duration, server)
    p95 = lambda stage: _search_p95(stage)  # noqa: E731
    return {"slow_query": calibration, "search_alone": alone, "search_with_slow_sparql": together,
            "search_p95_ms": {"alone": p95(alone), "with_slow_sparql": p95(together)}}


def _search_p95(stage: dict[str, Any]) -> float | None:
    kinds = stage["kinds"]
    return kinds.get("search_all", {}).get("p95_ms")


def run_backend(base: str, args: argparse.Namespace, server: Serve | None) -> dict[str, Any]:
    workload = Workload.discover(base)
    result: dict[str, Any] = {"health": get_json(base + "/healthz"),
                              "distinct_queries": len(workload.texts)}
    if server is not None:
        result["server_ready_s"] = server.ready_s
    user = SearchUser if args.mix == "search" else MixedUser
    result["stages"] = [_stage(base, workload, [user], count, args.duration, server)
                        for count in args.users]
    if args.isolation:
        try:
            result["isolation"] = _isolation(base, workload, args.isolation_duration,
                                             args.slow_seconds, server)
        except OSError as exc:  # the stages above are still worth printing
            result["isolation"] = {"error": repr(exc)}
    result["queries_sent"] = workload.sent
    return result


def _targets(backends: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, result in backends.items():
        by_users = {s["users"]: s for s in result["stages"]}
        if 128 in by_users:
            out[f"{name}: 0 errors at 128 clients"] = by_users[128]["errors"] == 0
        if 16 in by_users:
            p95 = _search_p95(by_users[16])
            out[f"{name}: search p95 < 200 ms at 16 clients"] = p95 is not None and p95 < 200
        if "search_p95_ms" in result.get("isolation", {}):
            p95s = result["isolation"]["search_p95_ms"]
            out[f"{name}: search p95 with slow SPARQL ≤ 1.2 × alone"] = (
                p95s["alone"] is not None and p95s["with_slow_sparql"] is not None
                and p95s["with_slow_sparql"] <= 1.2 * p95s["alone"])
    return out


def _print(report: dict[str, Any]) -> None:
    print(json.dumps(report, ensure_ascii=False, indent=2), flush=True)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path("var"))
    parser.add_argument("--url", help="a running server on loopback (no server is started)")
    parser.add_argument("--backend", choices=("embedded", "virtuoso", "both"), default="both")
    parser.add_argument("--users", default="16,64,128", help="client counts, comma-separated")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per stage")
    parser.add_argument("--mix", choices=("mixed", "search"), default="mixed",
                        help="the stages' workload: the mix, or searches only")
    parser.add_argument("--no-isolation", dest="isolation", action="store_false")
    parser.add_argument("--isolation-duration", type=float, default=None,
                        help="seconds per isolation period (default: --duration)")
    parser.add_argument("--slow-seconds", type=float, default=25.0)
    parser.add_argument("--port", type=int, default=0, help="embedded-backend server (0: free)")
    parser.add_argument("--virtuoso-port", type=int, default=0,
                        help="Virtuoso-backend server (0: free)")
    parser.add_argument("--virtuoso-dir", type=Path, default=Path("/tmp/cooplink-load-virtuoso"))
    parser.add_argument("--virtuoso-http", type=int, default=0)
    parser.add_argument("--virtuoso-sql", type=int, default=0)
    args = parser.parse_args(argv)
    args.users = [int(u) for u in args.users.split(",") if u.strip()]
    if args.isolation_duration is None:
        args.isolation_duration = args.duration
    data_dir = args.data_dir.resolve()
    report: dict[str, Any] = {"cores": os.cpu_count(), "data_dir": str(data_dir),
                              "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                              "backends": {}}
    if args.url:
        if urlparse(args.url).hostname not in ("127.0.0.1", "localhost", "::1"):
            parser.error("--url : boucle locale seulement (127.0.0.1)")
        report["backends"]["url"] = run_backend(args.url.rstrip("/"), args, None)
    else:
        logs = args.virtuoso_dir.parent
        if args.backend in ("embedded", "both"):
            server = Serve(data_dir, args.port, logs / "cooplink-load-embedded.log")
            try:
                report["backends"]["embedded"] = run_backend(server.url, args, server)
            finally:
                server.close()
            if args.backend == "both":  # a failure on Virtuoso must not lose these figures
                print(json.dumps(report, ensure_ascii=False), file=sys.stderr, flush=True)
        if args.backend in ("virtuoso", "both"):
            args.virtuoso_dir.mkdir(parents=True, exist_ok=True)
            virtuoso, loaded = start_virtuoso(data_dir, args.virtuoso_dir, args.virtuoso_http,
                                              args.virtuoso_sql, logs / "cooplink-load-push.log")
            try:
                server = Serve(data_dir, args.virtuoso_port, logs / "cooplink-load-virtuoso.log",
                               env={"COOPLINK_SPARQL_ENDPOINT": virtuoso.endpoint})
                try:
                    result = run_backend(server.url, args, server)
                finally:
                    server.close()
                report["backends"]["virtuoso"] = {"virtuoso": loaded, **result}
            finally:
                virtuoso.stop()
    report["targets"] = _targets(report["backends"])
    _print(report)
    return report


if __name__ == "__main__":
    main()

"""Issue 8 measurements: what the hostile requests of the issue cost a live server, printed as
JSON — response time and status, answer size, and the worst ``/healthz`` latency while each
request runs (liveness of the event loop).  The server runs in a child process, so that a stall
holding its GIL shows in the probe's latency instead of pausing the probe.

    .venv/bin/cooplink build --data-dir /tmp/bench-var
    .venv/bin/python bench/hostile.py --data-dir /tmp/bench-var > bench-hostile.json

Its server only uses ``create_app``, ``KnowledgeBase`` and ``Settings``, so it also measures an
older tree (``PYTHONPATH=/path/to/old/tree``) for before/after numbers; a request that exceeds
``--budget`` seconds is abandoned and reported as such.  A benchmark, not a test: the numbers
depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

INNOCENT = "ASK { ?p a cl:Projet }"


def regex_bomb(escapes: int) -> str:
    """An unterminated IRI full of escapes (issue 8: 126 bytes froze the server 7.8 s)."""
    return "SELECT * WHERE { ?s ?p <http://e/" + "\\u0041" * escapes + " }"


def doubling(steps: int) -> str:
    """A string doubled ``steps`` times with CONCAT (issue 8: 802 bytes, 268 MB answered)."""
    return ("SELECT ?v WHERE { BIND(\"xx\" AS ?v0) " + "".join(
        f"BIND(CONCAT(?v{i}, ?v{i}) AS ?v{i + 1}) " for i in range(steps))
        + f"BIND(?v{steps} AS ?v) }}")


def similarity_scan(size: int) -> str:
    """Many cl:similarity calls (issue 8: the text scan was quadratic, 14 s for 28 KB)."""
    call = 'cl:similarity(?p, "x") > 2'
    calls = " || ".join([call] * (size // (len(call) + 4)))
    return f"SELECT ?p WHERE {{ ?p a cl:Projet FILTER({calls}) }} LIMIT 1"


class Probe:
    """Polls /healthz in a thread and keeps the worst latency (a timeout counts as its
    duration)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.worst = 0.0
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=60) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    ok = client.get(self.url + "/healthz").status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.worst = max(self.worst, time.monotonic() - started)
                self.failures += 0 if ok else 1
                time.sleep(0.05)

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(70)


def measure(url: str, budget: float, send: Callable[[httpx.Client], Any]) -> dict[str, Any]:
    """Run ``send`` under a /healthz probe; status, seconds, bytes, worst health latency."""
    out: dict[str, Any] = {}
    with Probe(url) as probe, httpx.Client(timeout=budget) as client:
        started = time.monotonic()
        try:
            response = send(client)
            out.update(status=response.status_code, bytes=len(response.content),
                       headers={k: v for k, v in response.headers.items()
                                if k.lower().startswith("x-sparql")})
            if response.status_code >= 400 and response.content[:1] == b"{":
                out["error"] = response.json().get("error", "")[:160]
        except httpx.HTTPError as exc:
            out["abandoned"] = f"{type(exc).__name__} après {budget:g} s"
        out["seconds"] = round(time.monotonic() - started, 3)
    out["healthz_worst_s"] = round(probe.worst, 3)
    out["healthz_failures"] = probe.failures
    return out


def innocent_after(url: str, budget: float) -> dict[str, Any]:
    started = time.monotonic()
    try:
        status = httpx.get(url + "/sparql", params={"query": INNOCENT}, timeout=budget).status_code
    except httpx.HTTPError:
        status = -1
    return {"innocent_status": status, "innocent_seconds": round(time.monotonic() - started, 3)}


_CHILD = """
import sys, threading, time
import uvicorn
from search_api.knowledge_base import KnowledgeBase
from search_api.settings import Settings
from search_api.app import create_app

kb = KnowledgeBase(Settings(data_dir=sys.argv[1]))
app = create_app(kb)
server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=int(sys.argv[2]),
                                       log_level="error"))

def announce():
    while not server.started:
        time.sleep(0.05)
    runner = app.state.query_runner
    if hasattr(runner, "wait_ready"):
        runner.wait_ready(900)
    else:  # older trees: workers start loading with the server; give them the time
        time.sleep(120)
    print("READY", flush=True)

threading.Thread(target=announce, daemon=True).start()
server.run()
"""


@contextlib.contextmanager
def serve(data_dir: Path) -> Iterator[str]:
    """``data_dir`` served by a child process, once its query workers have loaded."""
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(data_dir), str(port)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        if not proc.stdout.readline().startswith("READY"):
            raise SystemExit("le serveur n'a pas démarré")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("var"))
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--escapes", default="8,10,12,15,40",
                        help="regex-bomb sizes, in \\u escapes (an older tree may take minutes)")
    args = parser.parse_args()
    budget = args.budget
    results: dict[str, Any] = {}
    with serve(args.data_dir) as url:
        bombs = {}
        for escapes in (int(e) for e in args.escapes.split(",")):
            query = regex_bomb(escapes)
            bombs[f"{len(query.encode())} octets ({escapes} échappements)"] = found = measure(
                url, budget, lambda c, q=query: c.get(url + "/sparql", params={"query": q}))
            if "abandoned" in found:
                break
        results["regex_bomb"] = bombs
        results["concat_doubling_27"] = measure(
            url, budget, lambda c: c.get(url + "/sparql", params={"query": doubling(27)}))
        results["concat_doubling_27"]["query_bytes"] = len(doubling(27))
        results["concat_doubling_27"].update(innocent_after(url, budget))
        body = b"query=" + b"x" * (10_000_000 - 6)
        results["post_10_mb"] = measure(url, budget, lambda c: c.post(
            url + "/sparql", content=body,
            headers={"content-type": "application/x-www-form-urlencoded"}))
        scan = similarity_scan(28_000)
        results["similarity_scan_28_kb"] = measure(
            url, budget, lambda c: c.post(url + "/sparql", content=scan.encode(),
                                          headers={"content-type": "application/sparql-query"}))
        nested = "SELECT * WHERE " + "{" * 3000 + "}" * 3000
        results["nested_3000"] = measure(url, budget, lambda c: c.post(
            url + "/sparql", content=nested.encode(),
            headers={"content-type": "application/sparql-query"}))
        results["nested_3000"].update(innocent_after(url, budget))
        order = "SELECT ?o WHERE { ?s ?p ?o } ORDER BY ?o"
        results["order_by_everything"] = measure(
            url, budget, lambda c: c.get(url + "/sparql", params={"query": order}))
        results["order_by_everything"].update(innocent_after(url, budget))
        results["order_by_everything_again"] = measure(
            url, budget, lambda c: c.get(url + "/sparql", params={"query": order}))
    print(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

"""First-run timeline (issue 9, point 7): what a newcomer waits for after the install.

From an empty data directory, exactly what ``make run`` does — ``cooplink build --quick`` then
``cooplink serve`` (which computes the better search tiers in the background) — timed from the
start of the build:

* ``graph_built_s``: the quick build has published the graph, the dumps and a fast search index;
* ``healthz_s``: ``/healthz`` answers (``starting`` or ``ok``);
* ``ready_s``: ``/healthz`` says ``ok`` (model and indexes loaded and warmed);
* ``first_search_s`` / ``first_sparql_s``: the first search and SPARQL query answered;
* ``tiers``: when each search tier was served (``/healthz`` → ``search.model``), the last one
  being full quality (``search.full``).

:func:`restart` times ``cooplink serve`` on a built data dir the same way (issue 9, point 6:
ready, first search and first SPARQL answer within 10 s on 2 cores).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from graph.virtuoso import free_port

ROOT = Path(__file__).resolve().parent.parent
COOPLINK = [sys.executable, "-m", "search_api.cli"]


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()


def first_run(data_dir: Path, projects: int | None = None, timeout: float = 3600.0,
              env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``build --quick`` + ``serve`` on the empty ``data_dir`` and time each stage."""
    env = {**os.environ, **(env or {})}
    started = time.perf_counter()
    elapsed = lambda: round(time.perf_counter() - started, 1)  # noqa: E731
    build = [*COOPLINK, "build", "--quick", "--data-dir", str(data_dir)]
    if projects:
        build += ["--projects", str(projects)]
    subprocess.run(build, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    out: dict[str, Any] = {"graph_built_s": elapsed()}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [*COOPLINK, "serve", "--data-dir", str(data_dir), "--port", str(port)],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tiers: list[dict[str, Any]] = []
    try:
        with httpx.Client(timeout=120) as client:
            while elapsed() < timeout:
                try:
                    health = client.get(f"{base}/healthz").json()
                except httpx.HTTPError:
                    time.sleep(0.2)
                    continue
                out.setdefault("healthz_s", elapsed())
                if health.get("status") == "ok":
                    out.setdefault("ready_s", elapsed())
                    if "first_search_s" not in out:
                        client.get(f"{base}/api/search",
                                   params={"q": "eau potable au Sénégal"}).raise_for_status()
                        out["first_search_s"] = elapsed()
                        client.get(f"{base}/sparql", params={
                            "query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"},
                            headers={"Accept": "application/sparql-results+json"},
                        ).raise_for_status()
                        out["first_sparql_s"] = elapsed()
                search = health.get("search", {})
                if search and (not tiers or tiers[-1]["model"] != search.get("model")):
                    tiers.append({"model": search.get("model"), "served_s": elapsed(),
                                  "full": bool(search.get("full"))})
                if search.get("full") and "first_search_s" in out:
                    client.get(f"{base}/api/search", params={"q": "eau potable"})
                    out["full_quality_s"] = elapsed()
                    break
                time.sleep(0.5)
    finally:
        _stop(server)
    out["tiers"] = tiers
    return out


def restart(data_dir: Path, timeout: float = 300.0) -> dict[str, Any]:
    """Seconds from ``cooplink serve`` on a built data dir to ``/healthz`` answering, to
    ``ok``, and to the first search and SPARQL answers (sent as soon as ``/healthz`` answers:
    they wait for what they need)."""
    env = {**os.environ}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    elapsed = lambda: round(time.perf_counter() - started, 2)  # noqa: E731
    server = subprocess.Popen(
        [*COOPLINK, "serve", "--data-dir", str(data_dir), "--port", str(port)],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out: dict[str, Any] = {}
    try:
        with httpx.Client(timeout=120) as client:
            while elapsed() < timeout and "healthz_s" not in out:
                try:
                    client.get(f"{base}/healthz")
                    out["healthz_s"] = elapsed()
                except httpx.HTTPError:
                    time.sleep(0.05)
            client.get(f"{base}/api/search",
                       params={"q": "gestion des déchets ménagers en Tunisie"}).raise_for_status()
            out["first_search_s"] = elapsed()
            client.get(f"{base}/sparql", params={
                "query": "SELECT (COUNT(?p) AS ?n) WHERE { ?p a "
                         "<https://w3id.org/cooplink/def#Projet> }"},
                headers={"Accept": "application/sparql-results+json"}).raise_for_status()
            out["first_sparql_s"] = elapsed()
            while elapsed() < timeout and client.get(f"{base}/healthz").json().get(
                    "status") != "ok":
                time.sleep(0.1)
            out["ready_s"] = elapsed()
    finally:
        _stop(server)
    return out

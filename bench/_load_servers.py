"""The servers the load benchmark drives (bench/load.py): ``cooplink serve`` in a child process
on the embedded store or on a private Virtuoso, loaded with ``cooplink push --to``.

Everything listens on 127.0.0.1.  The served data folder is only read: the server runs with
``COOPLINK_SEARCH_BACKGROUND_UPGRADE=false`` so that no index upgrade writes into it, and the
push reads the generation and writes its N-Quads into Virtuoso's own load folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graph.virtuoso import Virtuoso, free_port  # noqa: E402


def get_json(url: str, timeout: float = 120.0, accept: str = "application/json",
             form: dict[str, str] | None = None) -> Any:
    """The body of a GET (or of a form POST of ``form``) as JSON (``accept``: the media type
    asked for)."""
    body = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=body, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return json.loads(answer.read())


def rss_breakdown(pid: int) -> dict[str, Any]:
    """Memory of a server process and of each of its children (the SPARQL template and its
    forks, an index upgrade), in MB: proportional (PSS), so the graph the forks share with
    their template counts once in ``total_mb`` (resident sizes would count it per process)."""
    import psutil

    def held(process: psutil.Process) -> int:
        info = process.memory_full_info()
        return int(getattr(info, "pss", info.rss))

    try:
        proc = psutil.Process(pid)
        children = proc.children(recursive=True)
        server = held(proc)
        workers = sorted((held(c) for c in children), reverse=True)
    except psutil.Error:
        return {}
    return {"total_mb": round((server + sum(workers)) / 2**20),
            "server_mb": round(server / 2**20),
            "workers_mb": [round(w / 2**20) for w in workers]}


class Serve:
    """``cooplink serve`` on ``data_dir`` at ``port`` (0: a free one), its output in ``log``."""

    def __init__(self, data_dir: Path, port: int, log: Path,
                 env: dict[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        environment = {**os.environ, "COOPLINK_SEARCH_BACKGROUND_UPGRADE": "false",
                       "PYTHONPATH": str(ROOT), **(env or {})}
        started = time.monotonic()
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "search_api.cli", "serve", "--data-dir", str(data_dir),
                 "--host", "127.0.0.1", "--port", str(self.port)],
                env=environment, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            self.health = self._wait_ready(600.0)
            self._warm()
        except BaseException:
            self.close()
            raise
        self.ready_s = round(time.monotonic() - started, 1)

    def _wait_ready(self, limit: float) -> dict[str, Any]:
        """Until ``/healthz`` says ``ok`` (the model and indexes loaded)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cooplink serve s'est arrêté ; voir {self.log}")
            with contextlib.suppress(OSError, ValueError):
                health = get_json(self.url + "/healthz", timeout=10)
                if health.get("status") == "ok":
                    return dict(health)
            time.sleep(1)
        raise RuntimeError(f"cooplink serve n'est pas prêt en {limit:g} s ; voir {self.log}")

    def _warm(self) -> None:
        """A first search (loads the encoder's caches) and one SPARQL query per worker at once
        (each in-memory worker copies the graph before its first answer)."""
        get_json(self.url + "/api/search?" + urllib.parse.urlencode({"q": "échauffement"}))
        ask = self.url + "/sparql?" + urllib.parse.urlencode({"query": "ASK {}"})
        threads = [threading.Thread(target=lambda: get_json(ask, timeout=300)) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def rss_mb(self) -> int:
        """Resident memory of the server and its SPARQL worker processes."""
        return int(rss_breakdown(self.proc.pid).get("total_mb", 0))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_virtuoso(data_dir: Path, folder: Path, http_port: int, sql_port: int,
                   log: Path, buffers: int = 85_000) -> tuple[Virtuoso, dict[str, Any]]:
    """A private Virtuoso in ``folder`` holding ``data_dir``'s served generation, loaded by
    ``cooplink push --to`` through the bulk loader.  A folder that already holds the same
    generation (a previous run's ``pushed.json``) is not loaded again.  ``buffers``: its
    8 KiB pages (85,000 ≈ 700 MB holds the default dataset)."""
    server = Virtuoso(folder, http_port=http_port or free_port(),
                      sql_port=sql_port or free_port(), buffers=buffers)
    started = time.monotonic()
    server.start()
    report: dict[str, Any] = {"start_s": round(time.monotonic() - started, 1)}
    generation = (data_dir / "CURRENT").read_text("utf-8")
    marker = folder / "pushed.json"
    if marker.exists() and json.loads(marker.read_text("utf-8")).get("current") == generation:
        report["push"] = "déjà chargé"
        return server, report
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "COOPLINK_VIRTUOSO_ISQL": server.address,
           "COOPLINK_VIRTUOSO_LOAD_DIR": str(server.load_dir),
           "COOPLINK_SPARQL_UPDATE_ENDPOINT": server.update_endpoint,
           "COOPLINK_SPARQL_USER": "dba", "COOPLINK_SPARQL_PASSWORD": server.password}
    started = time.monotonic()
    with open(log, "ab") as err:
        done = subprocess.run([sys.executable, "-m", "search_api.cli", "push", "--to",
                               server.endpoint, "--data-dir", str(data_dir), "--json"],
                              env=env, stdout=subprocess.PIPE, stderr=err, check=False)
    if done.returncode != 0:
        server.stop()
        raise RuntimeError(f"cooplink push a échoué ; voir {log}")
    pushed = json.loads(done.stdout)
    report.update(push_s=round(time.monotonic() - started, 1), triples=pushed.get("triples"),
                  method=pushed.get("method"))
    marker.write_text(json.dumps({"current": generation}), "utf-8")
    return server, report

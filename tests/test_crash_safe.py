"""A rebuild killed with SIGKILL leaves the previous graph intact and served."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from search_api.knowledge_base import KnowledgeBase
from search_api.settings import Settings


def _wait_for_new_generation(gens: Path, known: set[str], proc: subprocess.Popen[bytes]) -> Path:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        fresh = [p for p in gens.iterdir() if p.name not in known and (p / "oxigraph").exists()]
        if fresh and any((fresh[0] / "oxigraph").iterdir()):
            return fresh[0]
        if proc.poll() is not None:
            pytest.fail("the rebuild finished before it could be killed")
        time.sleep(0.05)
    pytest.fail("the rebuild never started writing")


@pytest.mark.slow
def test_kill_9_during_rebuild_keeps_previous_graph_served(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", projects=200, seed=1)
    kb = KnowledgeBase(settings)
    kb.build()
    before = kb.health()
    client = TestClient(create_app(kb))
    assert client.get("/healthz").json()["projects"] == 200

    gens = kb.datadir.generations_dir
    known = {p.name for p in gens.iterdir()}
    env = dict(os.environ, COOPLINK_DATA_DIR=str(settings.data_dir))
    proc = subprocess.Popen(
        [sys.executable, "-m", "search_api.cli", "build", "--projects", "3000", "--seed", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    half = _wait_for_new_generation(gens, known, proc)
    time.sleep(0.3)  # let it write a little more
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    assert half.exists() and not (half / "manifest.json").exists()
    assert kb.datadir.require_current().id == before["generation"]
    health = client.get("/healthz").json()
    # /healthz adds readiness and the served search model to kb.health()
    assert {k: v for k, v in health.items() if k not in ("status", "search")} == {
        k: v for k, v in before.items() if k != "status"}
    rows = kb.query("SELECT (COUNT(?p) AS ?n) WHERE { ?p a cl:Projet }").rows()
    assert rows == [{"n": 200}]
    # a fresh process opening the data dir sees the same graph
    fresh = KnowledgeBase(settings)
    assert fresh.query("ASK { ?p a cl:Projet }").boolean()

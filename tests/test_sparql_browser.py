"""The editor page in a real headless Chromium: YASGUI loads from the app's own static files
(every other host is unresolvable here), runs an example query against the endpoint and shows
the result table; a screenshot is kept under pytest's temporary folder
(``…/pytest-of-USER/pytest-N/screenshots/sparql-editor.png``)."""
# ruff: noqa: F811 - fixtures imported from fixtures_sparql are parameters of the tests

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.parse
from pathlib import Path

import pytest
from fixtures_sparql import server_url, sparql_app, sparql_kb  # noqa: F401 - fixtures

from search_api.http.sparql import load_examples

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--no-first-run", "--disable-quic", "--disable-component-update", "--disable-sync",
    # any host but the test server fails to resolve: proves the page needs no CDN
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--virtual-time-budget=20000", "--window-size=1400,1000",
]


def _chromium(url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    if CHROMIUM is None:
        pytest.skip("chromium absent : « apt-get install -y chromium » (fait par make test)")
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, url],
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def example_page(server_url: str) -> str:
    example = next(e for e in load_examples() if e.id.startswith("01-"))
    return f"{server_url}/sparql?{urllib.parse.urlencode({'query': example.query})}"


def test_the_editor_runs_an_example_and_shows_results(example_page: str, tmp_path: Path) -> None:
    done = _chromium(example_page, tmp_path / "profile", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "yasgui" in dom and "Interroger le graphe en SPARQL" in dom
    table = dom[dom.find("<table"):]
    assert re.search(r"Mali.*Sénégal", table, re.DOTALL), "résultats absents du tableau"
    assert "6 results" in dom


def test_a_screenshot_of_the_editor_is_saved(example_page: str, tmp_path: Path,
                                             tmp_path_factory: pytest.TempPathFactory) -> None:
    target = tmp_path_factory.getbasetemp() / "screenshots" / "sparql-editor.png"
    target.parent.mkdir(exist_ok=True)
    done = _chromium(example_page, tmp_path / "profile", f"--screenshot={target}")
    assert done.returncode == 0, done.stderr[-2000:]
    data = target.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000

"""The editor page in a real headless Chromium: YASGUI loads from the app's own static files
(every other host is unresolvable here), runs an example query against the endpoint and shows
the result table; a screenshot is kept in ``tests/artifacts/sparql-editor.png``. Driven over
the DevTools pipe (``tests/chromium.py``): a share link restores the edited query, the address
bar follows the query run, and a malformed query shows the parser's sentence in French, not the
JSON of the error."""
# ruff: noqa: F811 - fixtures imported from fixtures_sparql are parameters of the tests

from __future__ import annotations

import json
import re
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chromium import Browser, open_browser
from fixtures_sparql import server_url, sparql_app, sparql_kb  # noqa: F401 - fixtures

from search_api.http.sparql import load_examples
from search_api.knowledge_base import KnowledgeBase

pytestmark = [pytest.mark.browser, pytest.mark.slow]

@pytest.fixture(scope="module")
def example_page(server_url: str) -> str:
    example = next(e for e in load_examples() if e.id.startswith("01-"))
    return f"{server_url}/sparql?{urllib.parse.urlencode({'query': example.query})}"


def test_the_editor_runs_an_example_and_shows_results(browser: Browser,
                                                      example_page: str) -> None:
    browser.go(example_page)
    table = str(_until(browser, RESULT))
    assert re.search(r"Mali.*Sénégal", table, re.DOTALL), "résultats absents du tableau"
    page = str(browser.js("document.documentElement.outerHTML"))
    assert "yasgui" in page and "Interroger le graphe en SPARQL" in page
    assert "6 results" in str(_until(browser, "document.querySelector('.yasr').innerText"))


def test_a_screenshot_of_the_editor_is_saved(browser: Browser, example_page: str) -> None:
    browser.go(example_page)
    _until(browser, RESULT)
    data = browser.screenshot("sparql-editor.png").read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000


# ---------------------------------------------------------------- driven over DevTools
#: an edited query whose one result says it ran
EDITED = 'SELECT ?edited WHERE { BIND("requête modifiée" AS ?edited) }'
RESULT = "document.querySelector('.yasr table') && document.querySelector('.yasr table').innerText"


@pytest.fixture()
def browser(tmp_path: Path, server_url: str) -> Iterator[Browser]:
    with open_browser(tmp_path / "profile") as chromium:
        yield chromium
        # the editor needs nothing from another server (YASGUI, prefixes, fonts are local)
        assert chromium.outside(server_url) == []


def _until(browser: Browser, expression: str, timeout: float = 30.0) -> Any:
    """The value of ``expression`` once it is truthy (YASGUI answers asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        value = browser.js(expression)
        if value or time.monotonic() > deadline:
            assert value, f"jamais vrai : {expression}"
            return value
        time.sleep(0.1)


def _editor_query(browser: Browser) -> str:
    return str(browser.js("window.cooplinkYasgui.getTab().getQuery()"))


def test_a_share_link_restores_the_edited_query(browser: Browser, server_url: str,
                                                example_page: str) -> None:
    browser.go(example_page)
    _until(browser, RESULT)
    browser.js(f"void window.cooplinkYasgui.getTab().setQuery({json.dumps(EDITED)})")
    browser.click(".yasqe_share")  # YASQE's share button
    link = str(_until(browser, "document.querySelector('.yasqe_sharePopup input') && "
                               "document.querySelector('.yasqe_sharePopup input').value"))
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(link).query) == {"query": [EDITED]}
    browser.go(link)  # as whoever received it: the edited query, run
    assert _editor_query(browser) == EDITED
    assert "requête modifiée" in _until(browser, RESULT)


def test_the_address_bar_carries_the_query_run(browser: Browser, server_url: str) -> None:
    browser.go(server_url + "/sparql?lang=en")
    browser.js(f"void window.cooplinkYasgui.getTab().setQuery({json.dumps(EDITED)})")
    browser.js("void window.cooplinkYasgui.getTab().query()")
    _until(browser, RESULT)
    address = urllib.parse.urlsplit(str(browser.js("location.href")))
    assert urllib.parse.parse_qs(address.query) == {"query": [EDITED], "lang": ["en"]}
    browser.go(urllib.parse.urlunsplit(address))  # a reload keeps it
    assert _editor_query(browser) == EDITED


def test_a_query_after_the_hash_opens_too(browser: Browser, server_url: str,
                                          sparql_kb: KnowledgeBase) -> None:
    # YASGUI's own share links put the edited query after « # » (the first one stays in the
    # URL), and so do ours when the query is too long for a URL the server accepts
    yasgui_link = (server_url + "/sparql?" + urllib.parse.urlencode({"query": "ASK {}"}) + "#"
                   + urllib.parse.urlencode({"query": EDITED, "endpoint": server_url}))
    browser.go(yasgui_link)
    assert _editor_query(browser) == EDITED
    assert "requête modifiée" in _until(browser, RESULT)
    long = "# " + "x" * sparql_kb.settings.http_max_url_bytes + "\n" + EDITED
    browser.js(f"void window.cooplinkYasgui.getTab().setQuery({json.dumps(long)})")
    link = str(browser.js("window.cooplinkYasgui.getTab().getShareableLink()"))
    parts = urllib.parse.urlsplit(link)
    assert parts.query == "" and urllib.parse.parse_qs(parts.fragment) == {"query": [long]}
    browser.go(server_url + "/")  # then open it afresh
    browser.go(link)
    assert _editor_query(browser) == long


def test_a_malformed_query_shows_the_parser_message_in_french(browser: Browser,
                                                              server_url: str) -> None:
    browser.go(server_url + "/sparql?" + urllib.parse.urlencode(
        {"query": "SELECT * WHERE { ?s ?p }"}))
    shown = str(_until(browser, "document.querySelector('.yasr .sparql-error') && "
                                "document.querySelector('.yasr .sparql-error').innerText"))
    assert shown == ("Erreur 400 : requête SPARQL invalide : ligne 1, colonne 25 : attendu : "
                     "l'un de LATERAL, SERVICE, un caractère")
    whole = str(browser.js("document.querySelector('.yasr').innerText"))
    assert '"ok"' not in whole and "{" not in whole and "error at" not in whole
    # the editor's own syntax hint (YASQE's parser, on hovering the line's mark) in French
    browser.js("document.querySelector('.parseErrorIcon').onmouseover()")
    hint = str(browser.js("document.querySelector('.yasqe_tooltip').innerText"))
    assert hint.startswith("Ligne invalide. Attendu :") and "This line" not in hint
    browser.screenshot("sparql-malformed.png")

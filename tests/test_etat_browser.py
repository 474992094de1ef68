"""The state of cooperation and two country briefs in a real headless Chromium over a real
uvicorn server (the harness of ``tests/test_search_browser.py``): no request leaves the server,
the figures shown are the graph's counts, the maps are drawn, the print layout hides the
navigation. Screenshots go to ``tests/artifacts/``."""

from __future__ import annotations

from typing import Any

import pytest
from chromium import Browser

from search_api.knowledge_base import KnowledgeBase

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def count(kb: KnowledgeBase, query: str) -> int:
    rows: list[dict[str, Any]] = [dict(r) for r in kb.query(query).rows()]
    return int(str(rows[0]["n"]))


def test_the_dashboard_shows_the_graphs_numbers_offline(browser: Browser, server: str,
                                                        built_kb: KnowledgeBase) -> None:
    browser.go(server + "/etat")
    assert browser.outside(server) == []
    assert any(u.endswith("/static/etat.css") for u in browser.requested)
    projects = count(built_kb, "SELECT (COUNT(?p) AS ?n) WHERE { ?p a cl:Projet }")
    shown = browser.js("document.querySelector('#ind-projects .value').textContent")
    assert int("".join(c for c in shown if c.isdigit())) == projects
    # the largest country's bar and its path on the map say the same count as the graph
    top = built_kb.query("SELECT ?iso (COUNT(?p) AS ?n) WHERE { ?p a cl:Projet ; "
                         "cl:pays/cl:codeIso2 ?iso } GROUP BY ?iso ORDER BY DESC(?n) "
                         "LIMIT 1").rows()[0]
    title = browser.js(f"document.querySelector('svg.map path[data-iso2={top['iso']}] title')"
                       ".textContent")
    assert str(top["n"]) in title.replace("\u202f", "")
    fill = browser.js(f"getComputedStyle(document.querySelector("
                      f"'svg.map path[data-iso2={top['iso']}]')).fill")
    assert fill == "rgb(0, 0, 145)"  # the darkest class: the largest country
    assert browser.js("document.querySelectorAll('svg.map path[data-iso2]').length") > 150
    browser.screenshot("etat.png")


@pytest.mark.parametrize("iso2", ["SN", "HT"])
def test_a_country_brief_loads_offline_with_its_map(browser: Browser, server: str, iso2: str,
                                                    built_kb: KnowledgeBase) -> None:
    browser.go(f"{server}/pays/{iso2}")
    assert browser.outside(server) == []
    projects = count(built_kb, f'SELECT (COUNT(?p) AS ?n) WHERE {{ ?p a cl:Projet ; '
                               f'cl:pays/cl:codeIso2 "{iso2}" }}')
    shown = browser.js("document.querySelector('#ind-projects .value').textContent")
    assert int("".join(c for c in shown if c.isdigit())) == projects
    assert browser.js("document.querySelector('#map-partners path.land').getBBox().width") > 100
    assert browser.js("document.querySelector('button[data-print]').hidden") is False
    browser.screenshot(f"pays-{iso2}.png")
    # the print layout: no navigation, no buttons, the folded lists opened by the script
    browser.send("Emulation.setEmulatedMedia", {"media": "print"})
    assert browser.js("getComputedStyle(document.querySelector('header.site nav')).display") \
        == "none"
    assert browser.js("getComputedStyle(document.querySelector('button[data-print]'))"
                      ".display") == "none"
    browser.js("window.dispatchEvent(new Event('beforeprint'))")
    assert browser.js("document.querySelectorAll('details:not([open])').length") == 0
    browser.screenshot(f"pays-{iso2}-print.png")

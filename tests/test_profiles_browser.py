"""Profile pages in a real headless Chromium over a real uvicorn server (the harness of
``tests/test_search_browser.py``): an authority profile and a project page, their figures
checked against SPARQL written here, the next page of a list, the English toggle, and no
request leaving 127.0.0.1. Screenshots are saved under ``tests/artifacts/``."""


from __future__ import annotations

import json
from typing import Any

import pytest
from chromium import Browser

from search_api.http import i18n
from search_api.knowledge_base import KnowledgeBase

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BASE = "https://w3id.org/cooplink"
PREFIXES = ("PREFIX cl: <https://w3id.org/cooplink/def#>\n"
            "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
            "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n")


def rows(kb: KnowledgeBase, query: str) -> list[dict[str, Any]]:
    return kb.query(PREFIXES + query).rows()


def requested(chromium: Browser) -> list[str]:
    """URLs the page asked for since its navigation began (``Network`` events)."""
    return [e["params"]["request"]["url"] for e in chromium.events
            if e.get("method") == "Network.requestWillBeSent"]


def only_local(chromium: Browser, server: str) -> None:
    urls = requested(chromium)
    assert urls, "no request seen"
    outside = [u for u in urls if not (u.startswith(server) or u.startswith("data:"))]
    assert not outside, outside


def test_an_authority_profile_draws_what_sparql_counts(browser: Browser, server: str,
                                                       built_kb: KnowledgeBase) -> None:
    authority = str(rows(built_kb, """SELECT ?a (COUNT(DISTINCT ?p) AS ?n) WHERE {
        ?p a cl:Projet ; cl:collectiviteFrancaise ?a . ?a a cl:Intercommunalite }
        GROUP BY ?a ORDER BY DESC(?n) ?a LIMIT 1""")[0]["a"])
    browser.send("Network.enable")
    browser.go(server + authority.removeprefix(BASE))
    only_local(browser, server)
    assert browser.js("document.documentElement.lang") == "fr"
    # the figure « projets par thématique »: its table against a GROUP BY written here
    drawn = browser.js("""[...document.querySelectorAll('#fig-projects_by_theme tbody tr')]
        .map(tr => [tr.querySelector('th').textContent.trim(),
                    tr.querySelector('td').textContent.replace(/\\D/g, '')])""")
    expected = [[str(r["l"]), str(r["n"])] for r in rows(built_kb, f"""
        SELECT ?l (COUNT(DISTINCT ?p) AS ?n) WHERE {{
          ?p a cl:Projet ; cl:collectiviteFrancaise <{authority}> ; cl:theme ?t .
          ?t skos:prefLabel ?l FILTER(lang(?l) = "fr") }} GROUP BY ?l ORDER BY DESC(?n) ?l""")]
    assert drawn == expected[:len(drawn)] and len(drawn) == min(12, len(expected))
    bars = browser.js("[...document.querySelectorAll('#fig-projects_by_theme svg rect')]"
                      ".map(r => parseFloat(r.getAttribute('width')))")
    assert len(bars) == len(drawn) and bars == sorted(bars, reverse=True)
    projects = rows(built_kb, f"SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE {{ ?p a cl:Projet ; "
                              f"cl:collectiviteFrancaise <{authority}> }}")[0]["n"]
    assert browser.js("document.querySelector('#fact-projects .num').textContent"
                      ".replace(/\\D/g, '')") == str(projects)
    assert browser.js("document.querySelectorAll('#projects ol.entries > li').length") == \
        min(25, int(str(projects)))
    browser.screenshot("profile-authority.png")
    if int(str(projects)) > 25:  # the next page of its projects, by a real click
        browser.loads(lambda: browser.click("#projects a.next"))
        assert "projects_page=2" in browser.js("location.search")
        assert browser.js("document.querySelector('#projects ol.entries').start") == 26
    browser.loads(lambda: browser.click("a.lang"))
    assert browser.js("document.documentElement.lang") == "en"
    assert browser.js("document.querySelector('#summary-title').textContent") == "At a glance"
    browser.screenshot("profile-authority-en.png")


def test_a_project_page_in_euros_with_roles(browser: Browser, server: str,
                                            built_kb: KnowledgeBase) -> None:
    found = rows(built_kb, """SELECT ?p ?c (COUNT(?x) AS ?n) WHERE {
        ?p a cl:Projet ; cl:coutTotal ?c ; cl:participation ?x }
        GROUP BY ?p ?c ORDER BY DESC(?n) ?p LIMIT 1""")[0]
    project = str(found["p"])
    browser.send("Network.enable")
    browser.go(server + project.removeprefix(BASE) + "?lang=fr")
    only_local(browser, server)
    assert browser.js("document.querySelector('#amount-cost').textContent.trim()") == \
        i18n.format_euros(float(str(found["c"])), "fr")
    shown = browser.js("""[...document.querySelectorAll('table.participants-table tbody tr')]
        .map(tr => [tr.querySelector('th').textContent.trim(),
                    tr.querySelector('td.role').textContent.trim()])""")
    expected = sorted([str(r["a"]), str(r["r"])] for r in rows(built_kb, f"""
        SELECT ?a ?r WHERE {{ <{project}> cl:participation ?x . ?x cl:acteur ?w ; cl:role ?o .
          ?w rdfs:label ?a . ?o rdfs:label ?r FILTER(lang(?r) = "fr") }}"""))
    assert sorted(shown) == expected and len(expected) == int(str(found["n"]))
    assert "xsd:" not in browser.js("document.body.innerText")  # no datatype shown
    browser.screenshot("profile-project.png")
    similar = browser.js("document.querySelector('a.similar').getAttribute('href')")
    assert json.dumps(similar).startswith('"/projets/')

"""The network view of a country or theme and the concentration measures: every number equals
what SPARQL computed in the test gives, and the page draws the graph from files of the server."""

from __future__ import annotations

from collections import Counter
from html import unescape
from pathlib import Path

import pytest
from chromium import Browser, open_browser
from fastapi.testclient import TestClient

from search_api.knowledge_base import KnowledgeBase
from search_api.search.network import concentration

PAIRS = """PREFIX cl: <https://w3id.org/cooplink/def#>
SELECT ?p ?a WHERE { ?p a cl:Projet ; cl:pays/cl:codeIso2 "%s" ; cl:collectiviteFrancaise ?a }"""


def test_concentration_measures_by_hand() -> None:
    # a holds 3 of 4 projects, b 1 of them, c 1: pairs 5, shares .6 .2 .2
    held = {"a": {"p1", "p2", "p3"}, "b": {"p3"}, "c": {"p4"}}
    measures = concentration(held, 4)
    assert measures.authorities == 3 and measures.projects == 4
    assert measures.hhi == pytest.approx(0.6 ** 2 + 0.2 ** 2 + 0.2 ** 2, abs=1e-4)
    assert measures.top10_share == 1.0  # fewer than 10 authorities: every project
    many = {f"a{i:02d}": {f"p{i}"} for i in range(20)}
    assert concentration(many, 20).top10_share == 0.5
    assert concentration(many, 20).hhi == pytest.approx(1 / 20)
    assert concentration({}, 0).hhi == 0.0


def _country_pairs(kb: KnowledgeBase, iso2: str) -> dict[str, set[str]]:
    held: dict[str, set[str]] = {}
    for row in kb.query(PAIRS % iso2).rows():
        held.setdefault(str(row["a"]), set()).add(str(row["p"]))
    return held


def test_the_network_of_a_country_counts_what_sparql_counts(
        client: TestClient, built_kb: KnowledgeBase) -> None:
    body = client.get("/api/network", params={"country": "SN"}).json()
    held = _country_pairs(built_kb, "SN")
    projects = {p for ps in held.values() for p in ps}
    conc = body["concentration"]
    assert conc["projects"] == len(projects) > 0
    assert conc["authorities"] == len(held) == body["totals"]["authority"]
    pairs = sum(len(ps) for ps in held.values())
    assert conc["hhi"] == pytest.approx(sum((len(ps) / pairs) ** 2 for ps in held.values()),
                                        abs=1e-4)
    nodes = {n["id"]: n for n in body["nodes"]}
    top = max(held, key=lambda a: (len(held[a]), a))
    assert nodes[top]["kind"] == "authority" and nodes[top]["projects"] == len(held[top])
    assert {n["kind"] for n in body["nodes"]} >= {"authority", "partner", "actor"}
    assert all(e["source"] in nodes and e["target"] in nodes for e in body["edges"])
    assert all(nodes[e["source"]]["kind"] == "authority" for e in body["edges"])
    # the same measures in the all-country table
    table = client.get("/api/concentration").json()
    senegal = next(c for c in table["countries"] if c["iso2"] == "SN")
    assert {k: senegal[k] for k in conc} == conc and senegal["name"] == "Sénégal"
    counts = Counter(c["projects"] for c in table["countries"])
    assert sum(counts.values()) == len(table["countries"])
    assert [c["projects"] for c in table["countries"]] == sorted(
        (c["projects"] for c in table["countries"]), reverse=True)


def test_the_network_of_a_theme_and_bad_scopes(client: TestClient) -> None:
    body = client.get("/api/network", params={"theme": "eau-assainissement"}).json()
    assert body["scope"] == {"theme": "eau-assainissement"}
    assert body["concentration"]["projects"] > 0 and body["nodes"]
    for params, status in [({}, 400), ({"country": "SN", "theme": "sante"}, 400),
                           ({"country": "S\"N"}, 400), ({"country": "ZZ"}, 404),
                           ({"theme": "aucun-theme"}, 404)]:
        answer = client.get("/api/network", params=params)
        assert answer.status_code == status, params
        assert set(answer.json()) >= {"ok", "error", "status"}


def test_the_page_draws_from_the_server_and_lists_the_same_nodes(client: TestClient) -> None:
    page = client.get("/reseau", params={"country": "SN"})
    assert page.status_code == 200
    html = page.text
    assert '<script src="/static/vendor/cytoscape/cytoscape.min.js">' in html
    assert client.get("/static/vendor/cytoscape/cytoscape.min.js").status_code == 200
    assert "Réseau des acteurs — Sénégal" in html and "Herfindahl" in html
    body = client.get("/api/network", params={"country": "SN"}).json()
    first = body["nodes"][0]
    assert first["label"] in unescape(html)
    # « voir la requête » runs at the endpoint and gives the rows the figures come from
    href = html.split('class="query" href="')[1].split('"')[0].replace("&amp;", "&")
    assert href.startswith("/sparql?query=")
    rows = client.get(href + "&format=json").json()["results"]["bindings"]
    assert {r["e"]["value"] for r in rows} >= {n["id"] for n in body["nodes"]
                                               if n["kind"] != "network"}
    english = client.get("/reseau", params={"country": "SN", "lang": "en"}).text
    assert "Network of actors — Senegal" in english and "Réseau des acteurs" not in english


@pytest.mark.browser
@pytest.mark.slow
def test_the_graph_is_drawn_offline_in_a_real_browser(server: str, tmp_path: Path,
                                                      client: TestClient) -> None:
    browser: Browser
    with open_browser(tmp_path / "profile") as browser:
        browser.go(server + "/reseau?country=SN")
        drawn = browser.js("""new Promise(done => { const t = Date.now(); (function wait() {
            const n = document.getElementById('graphe').getAttribute('data-ready');
            if (n || Date.now() - t > 20000) { done(Number(n)); } else { setTimeout(wait, 100); }
        })(); })""")
        nodes = client.get("/api/network", params={"country": "SN"}).json()["nodes"]
        assert drawn == len(nodes)
        assert browser.js("document.querySelectorAll('#graphe canvas').length") >= 1
        browser.screenshot("reseau-senegal.png")
        assert browser.outside(server) == []

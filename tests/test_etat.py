"""The state of cooperation (``/etat``, ``/api/etat``) and the country briefs (``/pays/{iso2}``,
``/api/countries/{iso2}``) on the fast test build: every number equals a count the test makes
itself from plain SPARQL rows, every « voir la requête » runs at ``/sparql``, the world map has a
linked country per row, and the pages switch to English."""

from __future__ import annotations

import threading
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_pages import Page

from graph.namespaces import CL
from search_api.app import create_app
from search_api.http.etat_routes import StateOfCooperation
from search_api.knowledge_base import KnowledgeBase
from search_api.search.documents import AUTHORITY_TYPES
from search_api.settings import Settings

HTML = {"accept": "text/html"}
COUNTRIES = ("SN", "HT")  # the largest country of the test corpus, and one without provinces


def rows(kb: KnowledgeBase, query: str) -> list[dict[str, Any]]:
    return [dict(r) for r in kb.query(query).rows()]


def authority_types(kb: KnowledgeBase, uris: set[str]) -> dict[str, str]:
    """Each authority's type as the search facets give it (first class of AUTHORITY_TYPES)."""
    classes: dict[str, set[str]] = {}
    values = " ".join(f"<{u}>" for u in sorted(uris))
    for r in rows(kb, f"SELECT ?a ?c WHERE {{ VALUES ?a {{ {values} }} ?a a ?c }}"):
        classes.setdefault(str(r["a"]), set()).add(str(r["c"]))
    return {u: next((v for c, v in AUTHORITY_TYPES.items() if c in classes.get(u, set())),
                    "autre") for u in uris}


@pytest.fixture(scope="module")
def etat(client: TestClient) -> dict[str, Any]:
    answer = client.get("/api/etat")
    assert answer.status_code == 200
    data: dict[str, Any] = answer.json()
    return data


def figure(data: dict[str, Any], name: str) -> dict[str, float]:
    return {r["key"]: r["value"] for r in data["figures"][name]["rows"]}


def test_the_headline_numbers_are_the_graphs(etat: dict[str, Any],
                                              built_kb: KnowledgeBase) -> None:
    projects = rows(built_kb, "SELECT ?p ?s ?cost ?meae WHERE { ?p a cl:Projet . "
                              "OPTIONAL { ?p cl:statut ?s } OPTIONAL { ?p cl:coutTotal ?cost } "
                              "OPTIONAL { ?p cl:cofinancementMEAE ?meae } }")
    links = rows(built_kb, "SELECT ?x ?a ?f ?c WHERE { { ?x a cl:Projet } UNION "
                           "{ ?x a cl:Partenariat } OPTIONAL { ?x cl:collectiviteFrancaise ?a } "
                           "OPTIONAL { ?x cl:partenaireEtranger ?f } OPTIONAL { ?x cl:pays ?c } }")
    status = Counter(str(r["s"]) for r in projects)
    expected = {
        "projects": len(projects),
        "projects_active": status[f"{CL}statutEnCours"],
        "projects_finished": status[f"{CL}statutTermine"],
        "french_authorities": len({r["a"] for r in links if r["a"]}),
        "foreign_partners": len({r["f"] for r in links if r["f"]}),
        "countries": len({r["c"] for r in links if r["c"]}),
        "partnerships": len(rows(built_kb, "SELECT ?s WHERE { ?s a cl:Partenariat }")),
        "total_cost": sum(r["cost"] or 0 for r in projects),
        "ministry_cofinancing": sum(r["meae"] or 0 for r in projects),
    }
    got = {name: i["value"] for name, i in etat["indicators"].items()}
    assert got == pytest.approx(expected)
    assert expected["projects"] == 1500 and 0 < expected["projects_active"] < 1500


def test_each_figure_counts_what_its_name_says(etat: dict[str, Any],
                                               built_kb: KnowledgeBase) -> None:
    themes = rows(built_kb, "SELECT ?p ?k WHERE { ?p a cl:Projet ; cl:theme/skos:notation ?k }")
    assert figure(etat, "projects_by_theme") == Counter(str(r["k"]) for r in themes)
    years = rows(built_kb, "SELECT ?p ?y WHERE { ?p a cl:Projet ; cl:anneeDebut ?y }")
    assert figure(etat, "projects_by_year") == Counter(str(r["y"]) for r in years)
    assert [r["key"] for r in etat["figures"]["projects_by_year"]["rows"]] == sorted(
        {str(r["y"]) for r in years})
    countries = rows(built_kb, "SELECT ?p ?k WHERE { ?p a cl:Projet ; cl:pays/cl:codeIso2 ?k }")
    assert figure(etat, "projects_by_country") == Counter(str(r["k"]) for r in countries)
    leads = rows(built_kb, "SELECT DISTINCT ?p ?a WHERE { ?p a cl:Projet ; "
                           "cl:collectiviteFrancaise ?a }")
    types = authority_types(built_kb, {str(r["a"]) for r in leads})
    per_type: Counter[str] = Counter(t for _, t in {(str(r["p"]), types[str(r["a"])])
                                                    for r in leads})
    assert figure(etat, "projects_by_authority_type") == per_type
    engaged = rows(built_kb, "SELECT DISTINCT ?a WHERE { { ?x a cl:Projet } UNION "
                             "{ ?x a cl:Partenariat } ?x cl:collectiviteFrancaise ?a }")
    kinds = authority_types(built_kb, {str(r["a"]) for r in engaged})
    assert figure(etat, "authorities_by_type") == Counter(kinds.values())
    regions = rows(built_kb, """SELECT DISTINCT ?a ?code WHERE {
        ?p cl:collectiviteFrancaise ?a .
        { ?a cl:region/cl:codeInsee ?code } UNION { ?a a cl:Region ; cl:codeInsee ?code }
        UNION { ?a dcterms:replaces/cl:region/cl:codeInsee ?code
                FILTER NOT EXISTS { ?a cl:region ?r } } }""")
    region_of: dict[str, set[str]] = {}
    for r in regions:
        region_of.setdefault(str(r["a"]), set()).add(str(r["code"]))
    per_region = Counter(code for code in {(str(r["p"]), c) for r in leads
                                           for c in region_of.get(str(r["a"]), ())})
    assert figure(etat, "projects_by_region") == Counter(c for _, c in per_region)


def test_figure_queries_rerun_at_the_endpoint(etat: dict[str, Any],
                                              client: TestClient) -> None:
    for name, fig in etat["figures"].items():
        answer = client.get("/sparql", params={"query": fig["query"], "format": "json"})
        assert answer.status_code == 200, name
        bindings = answer.json()["results"]["bindings"]
        assert [(b["key"]["value"], float(b["value"]["value"])) for b in bindings] == [
            (r["key"], r["value"]) for r in fig["rows"]], name
    for name, indicator in etat["indicators"].items():
        answer = client.get("/sparql", params={"query": indicator["query"], "format": "json"})
        value = answer.json()["results"]["bindings"][0]["value"]["value"]
        assert float(value) == pytest.approx(indicator["value"]), name


@pytest.mark.parametrize("iso2", COUNTRIES)
def test_a_country_brief_counts_what_the_graph_holds(iso2: str, client: TestClient,
                                                      built_kb: KnowledgeBase) -> None:
    data = client.get(f"/api/countries/{iso2.lower()}").json()
    assert data["iso2"] == iso2 and data["name"] and data["uri"].endswith(f"/pays/{iso2}")
    country = f'cl:pays/cl:codeIso2 "{iso2}"'
    projects = rows(built_kb, f"SELECT ?p ?y WHERE {{ ?p a cl:Projet ; {country} . "
                              "OPTIONAL { ?p cl:anneeDebut ?y } }")
    assert data["projects"] == len(projects) > 0
    assert {y["year"]: y["count"] for y in data["years"]} == Counter(
        r["y"] for r in projects if r["y"] is not None)
    themes = rows(built_kb, f"SELECT ?p ?slug WHERE {{ ?p a cl:Projet ; {country} ; "
                            "cl:theme/skos:notation ?slug }")
    assert {t["slug"]: t["count"] for t in data["themes"]} == Counter(
        str(r["slug"]) for r in themes)
    assert all(t["label"] for t in data["themes"])
    leads = rows(built_kb, f"SELECT DISTINCT ?p ?a ?name WHERE {{ ?p a cl:Projet ; {country} ; "
                           "cl:collectiviteFrancaise ?a . ?a rdfs:label ?name }")
    per_authority = Counter(str(r["a"]) for r in leads)
    types = authority_types(built_kb, set(per_authority))
    assert {a["uri"]: (a["projects"], a["type"], a["name"]) for a in data["french_authorities"]} \
        == {str(r["a"]): (per_authority[str(r["a"])], types[str(r["a"])], str(r["name"]))
            for r in leads}
    counts = [a["projects"] for a in data["french_authorities"]]
    assert counts == sorted(counts, reverse=True)
    named = rows(built_kb, f"""SELECT ?x ?f ?kind WHERE {{
        ?f a cl:CollectiviteEtrangere ; {country} .
        {{ ?x a cl:Projet ; cl:partenaireEtranger ?f BIND("p" AS ?kind) }}
        UNION {{ ?x a cl:Partenariat ; cl:partenaireEtranger ?f BIND("s" AS ?kind) }} }}""")
    on_projects = Counter(str(r["f"]) for r in named if r["kind"] == "p")
    assert {p["uri"] for p in data["partners"]} == {str(r["f"]) for r in named}
    assert {p["uri"]: p["projects"] for p in data["partners"]} == {
        str(r["f"]): on_projects[str(r["f"])] for r in named}
    alone = rows(built_kb, f"SELECT ?s WHERE {{ ?s a cl:Partenariat ; {country} . "
                           "FILTER NOT EXISTS { ?p cl:partenariat ?s } }")
    assert {p["uri"] for p in data["partnerships_without_project"]} == {
        str(r["s"]) for r in alone}
    assert {p["kind"] for p in data["partnerships_without_project"]} <= {
        "jumelage", "convention", "partenariat"}
    kinds = {a["kind"] for a in data["actors"]}
    assert {"ambassade", "scac"} <= kinds and "collectivite" not in kinds
    pooling = client.get("/api/pooling", params={"country": iso2}).json()
    assert [g["id"] for g in data["pooling"]] == [g["id"] for g in pooling["clusters"][:8]]
    assert data["pooling_total"] == len(pooling["clusters"])
    assert set(data["queries"]) >= {"projects", "french_authorities", "partners", "themes",
                                    "years", "actors", "partnerships_without_project"}


def test_partners_have_provinces_and_places_inside_their_country(client: TestClient) -> None:
    data = client.get("/api/countries/SN").json()
    placed = [p for p in data["partners"] if p["lat"] is not None]
    assert placed, "no partner of Senegal placed"
    assert all(12 <= p["lat"] <= 17 and -18 <= p["lon"] <= -11 for p in placed)
    assert any(p["province"] and p["province"]["code"].startswith("SN-") for p in placed)


@pytest.mark.parametrize("path", ["/api/countries/ZZ", "/api/countries/S1",
                                  "/api/countries/SNN"])
def test_an_unknown_country_is_a_404_in_the_one_error_shape(path: str,
                                                             client: TestClient) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    body = answer.json()
    assert body["ok"] is False and body["status"] == 404 and "pays inconnu" in body["error"]
    page = client.get(path.replace("/api/countries/", "/pays/"), headers=HTML)
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]


def test_openapi_lists_the_two_answers(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "DashboardAnswer" in str(spec["paths"]["/api/etat"]["get"]["responses"]["200"])
    country = spec["paths"]["/api/countries/{iso2}"]["get"]["responses"]
    assert "CountryAnswer" in str(country["200"]) and "404" in country
    fields = spec["components"]["schemas"]["CountryAnswer"]["properties"]
    assert {"iso2", "name", "projects", "french_authorities", "partners", "themes", "years",
            "actors", "pooling", "partnerships_without_project"} <= set(fields)


def query_links(page: Page) -> list[str]:
    return [urllib.parse.parse_qs(urllib.parse.urlsplit(a["href"]).query)["query"][0]
            for a in page.all("a", class_="query")]


@pytest.mark.parametrize("path", ["/etat", "/pays/SN"])
def test_every_see_the_query_link_runs_at_the_endpoint(path: str, client: TestClient) -> None:
    page = Page(client.get(path, headers=HTML).text)
    queries = query_links(page)
    assert len(queries) >= (15 if path == "/etat" else 8)
    for query in set(queries):
        answer = client.get("/sparql", params={"query": query, "format": "json"})
        assert answer.status_code == 200, query
        assert answer.json()["results"]["bindings"], query


def test_the_dashboard_page_shows_the_answer(client: TestClient, etat: dict[str, Any]) -> None:
    page = Page(client.get("/etat", headers=HTML).text)
    assert page.one("h1").text == "État de la coopération décentralisée"
    shown = page.one("div", id="ind-projects").one("span", class_="value").text
    assert shown.replace(" ", "") == str(int(etat["indicators"]["projects"]["value"]))
    assert page.one("a", href="/etat")["aria-current"] == "page"
    themes = page.one("figure", id="fig-projects_by_theme")
    first = etat["figures"]["projects_by_theme"]["rows"][0]
    assert themes.all("tbody")[0].all("tr")[0].one("a")["href"] == f"/?theme={first['key']}"
    years = page.one("figure", id="fig-projects_by_year")
    year_rows = etat["figures"]["projects_by_year"]["rows"]
    assert len(years.one("svg").all("rect")) == len(year_rows)
    assert years.one("svg").all("a")[0]["href"] == (
        f"/?start_year_min={year_rows[0]['key']}&start_year_max={year_rows[0]['key']}")


def test_the_world_map_has_a_linked_path_per_country_with_projects(
        client: TestClient, etat: dict[str, Any]) -> None:
    page = Page(client.get("/etat", headers=HTML).text)
    svg = page.one("figure", id="fig-projects_by_country-map").one("svg")
    drawn = {p["data-iso2"]: p for p in svg.all("path") if p.attrs.get("data-iso2")}
    rows_ = etat["figures"]["projects_by_country"]["rows"]
    missing = [r for r in rows_ if r["key"] not in drawn]
    assert len(missing) <= 3, missing  # microstates Natural Earth 1:50m lacks
    for row in rows_:
        if row["key"] in drawn:
            path = drawn[row["key"]]
            assert path.attrs["class"] != ["q0"] and path.parent["href"] == f"/pays/{row['key']}"
            assert row["label"] in path.one("title").text
    with_data = {r["key"] for r in rows_}
    assert all(p.attrs["class"] == ["q0"] for iso, p in drawn.items() if iso not in with_data)
    assert len(page.one("ul", class_="legend").all("li")) >= 4


def test_the_pages_switch_to_english(client: TestClient, built_kb: KnowledgeBase) -> None:
    try:
        english(client, built_kb)
    finally:
        client.cookies.clear()  # the choice is remembered: the other tests read French


def english(client: TestClient, built_kb: KnowledgeBase) -> None:
    page = Page(client.get("/etat?lang=en", headers=HTML).text)
    assert page.one("html")["lang"] == "en"
    assert page.one("h1").text == "State of decentralised cooperation"
    assert page.one("figure", id="fig-projects_by_theme").one("figcaption").text == (
        "Projects by theme")
    water = rows(built_kb, "SELECT ?l WHERE { ?t skos:notation 'eau-assainissement' ; "
                           "skos:prefLabel ?l FILTER(lang(?l) = 'en') }")[0]["l"]
    assert water in page.one("figure", id="fig-projects_by_theme").text
    brief = Page(client.get("/pays/SN?lang=en", headers=HTML).text)
    assert brief.one("h1").text == "Country brief Senegal"
    assert brief.one("button", class_="print").text == "Print / PDF"
    assert "Eau et assainissement" not in brief.one("section", aria_labelledby="brief-themes").text


def test_a_country_page_links_back_to_search_pooling_and_prints(client: TestClient) -> None:
    page = Page(client.get("/pays/SN", headers=HTML).text)
    assert page.one("h1").text == "Fiche pays Sénégal"
    hrefs = [a["href"] for a in page.all("a")]
    assert "/?country=SN" in hrefs and "/mutualisation?country=SN" in hrefs
    assert any(h.startswith("/mutualisation?country=SN#") for h in hrefs)
    assert any(h.startswith("/mutualisation?country=SN&theme=") for h in hrefs)
    assert page.one("button", class_="print").attrs.get("data-print") is not None
    svg = page.one("figure", id="map-partners").one("svg")
    assert svg.one("path", class_="land")["d"].startswith("M")
    assert svg.all("circle", class_="partner")
    css = client.get("/static/etat.css").text
    assert "@media print" in css


def test_warming_an_empty_data_dir_does_nothing(tmp_path: Path) -> None:
    kb = KnowledgeBase(Settings(data_dir=tmp_path / "empty"))
    StateOfCooperation(kb).warm()  # cooplink serve before the first build: no error
    with TestClient(create_app(kb)) as empty:
        answer = empty.get("/api/etat")
    assert answer.status_code == 503 and answer.json()["ok"] is False


def test_concurrent_first_visits_of_a_country_compute_its_brief_once(
        built_kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    """Eight visitors open /pays/SN of a fresh server together: one brief is computed and all
    eight get it (``KnowledgeBase.memo`` is single-flight)."""
    kb = KnowledgeBase(built_kb.settings)  # nothing kept yet
    state = StateOfCooperation(kb)
    computed: list[str] = []
    brief = state.briefs.brief

    def counted(*args: Any) -> Any:
        computed.append(args[0])
        return brief(*args)

    monkeypatch.setattr(state.briefs, "brief", counted)
    start = threading.Barrier(8)
    answers: list[Any] = []

    def visit(code: str) -> None:
        start.wait()
        answers.append(state.country(code))

    threads = [threading.Thread(target=visit, args=(code,))
               for code in ["SN", "sn", " SN", "Sn"] * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert computed == ["SN"]
    assert len(answers) == 8 and all(a is answers[0] for a in answers)
    assert answers[0].iso2 == "SN" and answers[0].projects > 0

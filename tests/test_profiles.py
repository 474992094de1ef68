"""Profile pages (issue 11, §3): an entity read as a person reads it. Each kind renders with the
numbers SPARQL gives (queries written here, not the page's), lists come 25 at a time, a project
shows euros and roles, the raw triples stay one click away with counts that match, and
``?lang=en`` translates. Run on the shared hashing-encoder test corpus (``built_kb``)."""

from __future__ import annotations

import re
import urllib.parse
from datetime import datetime
from typing import Any

import numpy as np
import pytest
from babel.dates import format_date
from bs4 import BeautifulSoup, Tag
from fastapi.testclient import TestClient

from search_api.http import i18n
from search_api.knowledge_base import KnowledgeBase
from search_api.search.portfolios import CONFIDENCE, Portfolios, ProjectVectors
from search_api.search.profiles import PAGE_SIZE

BASE = "https://w3id.org/cooplink"
PREFIXES = ("PREFIX cl: <https://w3id.org/cooplink/def#>\n"
            "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
            "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n")
BROWSER = {"accept": "text/html"}


def rows(kb: KnowledgeBase, query: str) -> list[dict[str, Any]]:
    return kb.query(PREFIXES + query).rows()


def number(kb: KnowledgeBase, query: str) -> float:
    found = rows(kb, query)
    return float(str(found[0]["n"])) if found and found[0]["n"] is not None else 0.0


def largest(kb: KnowledgeBase, pattern: str) -> str:
    """The ``?x`` of ``pattern`` with the most projects ``?p``."""
    found = rows(kb, f"SELECT ?x (COUNT(DISTINCT ?p) AS ?n) WHERE {{ {pattern} }} "
                     "GROUP BY ?x ORDER BY DESC(?n) ?x LIMIT 1")
    return str(found[0]["x"])


def page(client: TestClient, path: str, **params: str) -> BeautifulSoup:
    # params=None keeps the query string of ``path`` (httpx replaces it with ``params``)
    response = client.get(path, params=params or None, headers=BROWSER)
    assert response.status_code == 200, (path, response.status_code)
    return BeautifulSoup(response.text, "html.parser")


def path_of(uri: str) -> str:
    return uri.removeprefix(BASE)


def facts(soup: BeautifulSoup) -> dict[str, float]:
    return {str(div["id"]).removeprefix("fact-"): float(str(div["data-value"]))
            for div in soup.select("div.tile")}


def tag(soup: BeautifulSoup | Tag, selector: str) -> Tag:
    found = soup.select_one(selector)
    assert isinstance(found, Tag), selector
    return found


# Each kind: how to find its largest entity, and SPARQL for the numbers its page shows.
AUTHORITY = ("?p a cl:Projet ; cl:collectiviteFrancaise ?x . "
             "FILTER NOT EXISTS { ?x a cl:Region } FILTER NOT EXISTS { ?x a cl:Departement }")


@pytest.fixture(scope="module")
def entities(built_kb: KnowledgeBase) -> dict[str, str]:
    return {
        "authority": largest(built_kb, AUTHORITY),
        "region": largest(built_kb, "?x a cl:Region . ?a cl:region? ?x . "
                                    "?p a cl:Projet ; cl:collectiviteFrancaise ?a"),
        "departement": largest(built_kb, "?x a cl:Departement . ?a cl:departement? ?x . "
                                         "?p a cl:Projet ; cl:collectiviteFrancaise ?a"),
        "partner": largest(built_kb, "?p a cl:Projet ; cl:partenaireEtranger ?x"),
        "theme": largest(built_kb, "?p a cl:Projet ; cl:theme ?x"),
        "country": largest(built_kb, "?p a cl:Projet ; cl:pays ?x"),
    }


def expected_counts(kb: KnowledgeBase, kind: str, uri: str) -> dict[str, float]:
    """The page's summary numbers, computed here with plain SPARQL."""
    me = f"<{uri}>"
    projects = {
        "authority": f"?p a cl:Projet ; cl:collectiviteFrancaise {me} .",
        "region": f"?p a cl:Projet ; cl:collectiviteFrancaise ?a . "
                  f"{{ ?a cl:region {me} }} UNION {{ VALUES ?a {{ {me} }} }}",
        "departement": f"?p a cl:Projet ; cl:collectiviteFrancaise ?a . "
                       f"{{ ?a cl:departement {me} }} UNION {{ VALUES ?a {{ {me} }} }}",
        "partner": f"?p a cl:Projet ; cl:partenaireEtranger {me} .",
        "theme": f"?p a cl:Projet ; cl:theme {me} .",
        "country": f"?p a cl:Projet ; cl:pays {me} .",
    }[kind]
    out = {
        "projects": number(kb, f"SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE {{ {projects} }}"),
        "cost": number(kb, f"SELECT (SUM(?c) AS ?n) WHERE {{ {{ SELECT DISTINCT ?p WHERE "
                           f"{{ {projects} }} }} ?p cl:coutTotal ?c }}"),
        "actors": number(kb, f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ {projects} "
                             "?p cl:participation/cl:acteur ?x }"),
    }
    if kind != "theme":
        link = projects.replace("?p a cl:Projet ; ", "?p ").replace("?p a cl:Projet .", "")
        out["partnerships"] = number(kb, f"SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE {{ {link} "
                                         "?p a cl:Partenariat }")
    if kind not in ("country", "partner"):
        out["countries"] = number(kb, f"SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE {{ {projects} "
                                      "?p cl:pays ?c }")
    if kind in ("partner", "theme", "country"):
        out["authorities"] = number(kb, f"SELECT (COUNT(DISTINCT ?a) AS ?n) WHERE {{ "
                                        f"{projects} ?p cl:collectiviteFrancaise ?a }}")
    if kind in ("region", "departement"):  # the territory's own authorities
        out["authorities"] = number(kb, f"SELECT (COUNT(DISTINCT ?a) AS ?n) WHERE {{ "
                                        f"{projects} }}")
    return out


@pytest.mark.parametrize("kind", ["authority", "region", "departement", "partner", "theme",
                                  "country"])
def test_each_profile_shows_the_numbers_sparql_gives(
        client: TestClient, built_kb: KnowledgeBase, entities: dict[str, str], kind: str) -> None:
    uri = entities[kind]
    soup = page(client, path_of(uri))
    assert tag(soup, "article.profile")["data-kind"] == kind
    shown = facts(soup)
    for name, value in expected_counts(built_kb, kind, uri).items():
        assert shown[name] == pytest.approx(value), (kind, name)
    # the largest of its kind: its list needs pages (a partner has a few projects)
    assert shown["projects"] > (0 if kind == "partner" else PAGE_SIZE)
    # the raw triples one click away, the RDF formats as before
    assert soup.select_one(f'a.raw[href="{path_of(uri)}?view=raw"]') is not None
    assert soup.select_one(f'a[href="{path_of(uri)}?format=ttl"]') is not None
    # every figure links to its own query, which gives the rows drawn
    for figure in soup.select("figure.figure"):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(
            str(tag(figure, "a.query")["href"])).query)["query"][0]
        table = [(tr.th.get_text(strip=True), tr.td.get_text(strip=True))
                 for tr in figure.select("tbody tr") if tr.th and tr.td]
        got = [(str(r["label"]), i18n.format_number(int(float(str(r["value"]))), "fr"))
               for r in built_kb.query(query).rows()][:len(table)]
        assert table == got, figure["id"]


def test_a_country_figure_matches_a_group_by_written_here(
        client: TestClient, built_kb: KnowledgeBase, entities: dict[str, str]) -> None:
    uri = entities["country"]
    soup = page(client, path_of(uri))
    drawn = [(tr.th.get_text(strip=True), int(re.sub(r"\D", "", tr.td.get_text())))
             for tr in soup.select("#fig-projects_by_theme tbody tr") if tr.th and tr.td]
    expected = [(str(r["l"]), int(str(r["n"]))) for r in rows(built_kb, f"""
        SELECT ?l (COUNT(DISTINCT ?p) AS ?n) WHERE {{
          ?p a cl:Projet ; cl:pays <{uri}> ; cl:theme ?t . ?t skos:prefLabel ?l
          FILTER(lang(?l) = "fr") }} GROUP BY ?l ORDER BY DESC(?n) ?l""")]
    assert drawn == expected[:len(drawn)] and len(drawn) == min(12, len(expected))


def test_lists_come_a_page_at_a_time_in_the_order_of_their_query(
        client: TestClient, built_kb: KnowledgeBase, entities: dict[str, str]) -> None:
    uri = entities["country"]
    first = page(client, path_of(uri))
    assert len(first.find_all("a")) < 400  # never a thousand links
    section = tag(first, "section#projects")
    assert len(section.select("ol.entries > li")) == PAGE_SIZE
    ordered = [str(r["p"]) for r in rows(built_kb, f"""
        SELECT ?p (MAX(?y) AS ?start) WHERE {{ ?p a cl:Projet ; cl:pays <{uri}> .
          OPTIONAL {{ ?p cl:anneeDebut ?y }} }} GROUP BY ?p ORDER BY DESC(?start) ?p""")]
    assert int(str(section["data-total"])) == len(ordered)
    hrefs = [a["href"] for a in section.select("ol.entries > li > a")]
    assert hrefs == [path_of(u) for u in ordered[:PAGE_SIZE]]
    assert section.select_one("a.previous") is None
    following = str(tag(section, "a.next")["href"])
    assert "projects_page=2" in following and following.endswith("#projects")
    second = page(client, following.split("#")[0])
    section = tag(second, "section#projects")
    assert [a["href"] for a in section.select("ol.entries > li > a")] == [
        path_of(u) for u in ordered[PAGE_SIZE:2 * PAGE_SIZE]]
    assert section.select_one("a.previous") is not None
    assert "26" in tag(section, ".range").get_text()
    # the other lists of the page did not move
    assert facts(second) == facts(first)
    # a page past the end shows the last one
    last = page(client, path_of(uri), projects_page="999")
    entries = tag(last, "section#projects").select("ol.entries > li")
    assert 0 < len(entries) <= PAGE_SIZE and tag(last, "section#projects").select_one(
        "a.next") is None


def test_the_authority_profile_has_partners_networks_neighbours_and_links(
        client: TestClient, built_kb: KnowledgeBase, entities: dict[str, str]) -> None:
    uri = entities["authority"]
    soup = page(client, path_of(uri))
    partners = tag(soup, "section#partners")
    expected = number(built_kb, "SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE { ?p "
                                f"cl:collectiviteFrancaise <{uri}> ; cl:partenaireEtranger ?x }}")
    assert int(str(partners["data-total"])) == expected
    assert 0 < len(partners.select("ol.entries > li")) <= PAGE_SIZE
    networks = {str(r["n"]) for r in rows(built_kb, f"SELECT ?n WHERE {{ <{uri}> "
                                                    "<http://www.w3.org/ns/org#memberOf> ?n }")}
    assert {a["href"] for a in soup.select("section.networks a")} == {path_of(n)
                                                                      for n in networks}
    # its partners on a map: each country of its projects coloured and linked to its brief
    countries = {str(r["iso"]) for r in rows(built_kb, "SELECT DISTINCT ?iso WHERE { ?p "
                 f"cl:collectiviteFrancaise <{uri}> ; cl:pays/cl:codeIso2 ?iso }}")}
    drawn = tag(soup, "#carte-partenaires svg.map")
    coloured = {str(p["data-iso2"]) for p in drawn.select("path[data-iso2]")
                if p.get("class") != ["q0"]}
    assert countries and coloured and coloured <= countries
    assert {a["href"] for a in drawn.select("a[href^='/pays/']")} <= {
        f"/pays/{c}" for c in countries}
    neighbours = soup.select("table.neighbours-table tbody tr")
    assert 0 < len(neighbours) <= 8
    assert all(a["href"] != path_of(uri) for a in soup.select("table.neighbours-table a"))
    search = urllib.parse.parse_qs(urllib.parse.urlsplit(str(tag(soup, "a.search")["href"])).query)
    label = str(rows(built_kb, f"SELECT ?n WHERE {{ <{uri}> rdfs:label ?n }}")[0]["n"])
    assert search["q"] == [label] and search["region"]
    pooling = [urllib.parse.parse_qs(urllib.parse.urlsplit(str(a["href"])).query)
               for a in soup.select("a.pooling")]
    assert pooling and all(p.get("country") and p.get("theme") for p in pooling)


def test_the_country_profile_points_to_its_brief(
        client: TestClient, entities: dict[str, str]) -> None:
    uri = entities["country"]
    soup = page(client, path_of(uri))
    assert tag(soup, "li.brief a")["href"] == f"/pays/{uri.rsplit('/', 1)[-1]}"


def _project(kb: KnowledgeBase) -> str:
    """A project with a cost, a co-financing and at least two participants."""
    return str(rows(kb, """SELECT ?p (COUNT(?x) AS ?n) WHERE {
        ?p a cl:Projet ; cl:coutTotal ?c ; cl:cofinancementMEAE ?m ; cl:participation ?x }
        GROUP BY ?p HAVING (COUNT(?x) >= 2) ORDER BY DESC(?n) ?p LIMIT 1""")[0]["p"])


def test_a_project_shows_euros_years_and_every_participant_with_its_role(
        client: TestClient, built_kb: KnowledgeBase) -> None:
    uri = _project(built_kb)
    soup = page(client, path_of(uri))
    row = rows(built_kb, f"SELECT ?c ?m ?id ?s ?e WHERE {{ <{uri}> cl:coutTotal ?c ; "
                         "cl:cofinancementMEAE ?m ; <http://purl.org/dc/terms/identifier> ?id ; "
                         "cl:anneeDebut ?s . OPTIONAL { <" + uri + "> cl:anneeFin ?e } }")[0]
    assert tag(soup, "#amount-cost").get_text(strip=True) == i18n.format_euros(
        float(str(row["c"])), "fr")
    assert tag(soup, "#amount-cost").get_text(strip=True).endswith("\u00a0€")
    assert tag(soup, "#amount-cofinancing").get_text(strip=True) == i18n.format_euros(
        float(str(row["m"])), "fr")
    assert "xsd:decimal" not in soup.get_text()
    assert str(row["s"]) in tag(soup, "dd.years").get_text()
    participants = {(tr.th.get_text(strip=True), tr.select_one("td.role").get_text(strip=True))
                    for tr in soup.select("table.participants-table tbody tr") if tr.th}
    expected = {(str(r["a"]), str(r["r"])) for r in rows(built_kb, f"""
        SELECT ?a ?r WHERE {{ <{uri}> cl:participation ?x . ?x cl:acteur ?who ; cl:role ?role .
          ?who rdfs:label ?a . ?role rdfs:label ?r FILTER(lang(?r) = "fr") }}""")}
    assert participants == expected and len(expected) >= 2
    assert not any(label.startswith("http") for label, _ in participants)
    assert tag(soup, "a.similar")["href"] == f"/projets/{row['id']}/comparables"
    pooling = urllib.parse.parse_qs(urllib.parse.urlsplit(str(tag(soup, "a.pooling")["href"]))
                                    .query)
    country = rows(built_kb, f"SELECT ?c WHERE {{ <{uri}> cl:pays/cl:codeIso2 ?c }}")
    assert pooling["country"] == [str(country[0]["c"])] and pooling["theme"]
    assert client.get(str(tag(soup, "a.similar")["href"]), headers=BROWSER).status_code == 200
    started = rows(built_kb, f"SELECT ?t WHERE {{ <{uri}> "
                             "<http://www.w3.org/ns/prov#wasGeneratedBy>/"
                             "<http://www.w3.org/ns/prov#startedAtTime> ?t }")
    when = datetime.fromisoformat(str(started[0]["t"]).replace("Z", "+00:00")).date()
    assert f"importé le {format_date(when, format='long', locale='fr')}" in tag(
        soup, "p.provenance").get_text()


def test_raw_data_still_shows_every_triple_with_counts_that_match(
        client: TestClient, built_kb: KnowledgeBase, entities: dict[str, str]) -> None:
    uri = entities["partner"]  # its own statements, and projects and partnerships naming it
    soup = page(client, path_of(uri), view="raw")
    outgoing = number(built_kb, f"SELECT (COUNT(*) AS ?n) WHERE {{ <{uri}> ?p ?o }}")
    incoming = number(built_kb, f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s ?p <{uri}> }}")
    tables = soup.select("table.props")
    listed = [len(t.select("ul.values > li")) for t in tables]
    assert listed == [outgoing, incoming]
    assert tag(soup, "h2.outgoing").get_text() == f"Propriétés ({int(outgoing)})"
    assert tag(soup, "h2.incoming").get_text() == f"Liens entrants ({int(incoming)})"
    assert tag(soup, "a.profile")["href"] == path_of(uri)  # and back to the profile


def test_the_ontology_page_counts_what_it_lists(client: TestClient) -> None:
    soup = page(client, "/ontology")
    sections = soup.select("main section")
    assert len(sections) > 20
    for section in sections:
        for heading, table in zip(section.select(".outgoing, .incoming"),
                                  section.select("table.props"), strict=True):
            count = int(re.sub(r"\D", "", heading.get_text()))
            assert count == len(table.select("ul.values > li")), heading.get_text()
    first = sections[0].select_one(".incoming")
    assert first is not None and "(0)" not in first.get_text()


def test_entity_pages_speak_english_on_request(
        client: TestClient, built_kb: KnowledgeBase, entities: dict[str, str]) -> None:
    uri = entities["country"]
    english = client.get(path_of(uri), params={"lang": "en"}, headers=BROWSER)
    soup = BeautifulSoup(english.text, "html.parser")
    assert tag(soup, "html")["lang"] == "en" and english.cookies.get("lang") == "en"
    name = rows(built_kb, f"SELECT ?l WHERE {{ <{uri}> skos:prefLabel ?l "
                          'FILTER(lang(?l) = "en") }')
    assert tag(soup, "h1").get_text() == str(name[0]["l"])
    assert tag(soup, "#summary-title").get_text() == "At a glance"
    assert "Projects by theme" in soup.get_text()
    assert tag(soup, "#fact-projects dt").get_text() == "Projects"
    assert tag(soup, "a.lang")["href"].endswith("lang=fr")
    raw = page(client, path_of(uri), view="raw", lang="en")
    assert "Incoming links" in raw.get_text()
    project = page(client, path_of(_project(built_kb)), lang="en")
    assert "Participants and roles" in project.get_text()
    assert re.search(r"€[\d,]+", tag(project, "#amount-cost").get_text())
    french = page(client, path_of(uri), lang="fr")
    assert tag(french, "html")["lang"] == "fr" and tag(french, "#summary-title").get_text() == \
        "En résumé"


def test_an_entity_without_profile_shows_its_raw_data(client: TestClient,
                                                      built_kb: KnowledgeBase) -> None:
    network = str(rows(built_kb, "SELECT ?n WHERE { ?n a cl:Reseau } LIMIT 1")[0]["n"])
    soup = page(client, path_of(network))
    assert tag(soup, "p.kicker").get_text() == "Données brutes"
    assert soup.select_one("a.profile") is None


# ---------------------------------------------------------------- « collectivités proches »
def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na and nb else 0.0


def test_neighbours_score_is_the_documented_formula() -> None:
    """Three authorities over two countries and two themes, with project vectors: the score
    of the docstring, computed by hand."""
    counts = [("a", "country", "SN", 3), ("a", "theme", "eau", 3), ("a", "all", "-", 3),
              ("b", "country", "SN", 2), ("b", "country", "ML", 2), ("b", "theme", "eau", 4),
              ("b", "all", "-", 4),
              ("c", "country", "ML", 1), ("c", "theme", "sante", 1), ("c", "all", "-", 1)]
    means = {"a": np.array([1.0, 0.0]), "b": np.array([0.6, 0.8]), "c": np.array([0.0, 1.0])}
    found = Portfolios(counts, ProjectVectors(means, pair_mean=0.2)).neighbours("a")
    assert [n.uri for n in found] == ["b"]  # c shares nothing with a: score 0, left out
    b = found[0]
    countries = _cosine(np.array([3, 0]), np.array([2, 2]))
    similarity = (0.6 - 0.2) / (1 - 0.2)
    expected = (countries + 1.0 + similarity) / 3 * 4 / (4 + CONFIDENCE)
    assert b.countries == pytest.approx(countries, abs=1e-4)
    assert b.themes == pytest.approx(1.0) and b.projects == 4
    assert b.projects_similarity == pytest.approx(similarity, abs=1e-4)
    assert b.score == pytest.approx(expected, abs=1e-4)
    assert b.shared_countries == ["SN"] and b.shared_themes == ["eau"]
    assert Portfolios(counts).neighbours("a")[0].projects_similarity is None  # no index


def test_neighbours_on_the_corpus_match_a_brute_force_score(built_kb: KnowledgeBase) -> None:
    portfolios = Portfolios.from_graph(built_kb.query)
    uri = largest(built_kb, AUTHORITY)
    vectors: dict[str, dict[str, dict[str, float]]] = {}
    for r in rows(built_kb, "SELECT ?a ?d ?v (COUNT(DISTINCT ?p) AS ?n) WHERE { "
                            "{ ?p a cl:Projet ; cl:collectiviteFrancaise ?a ; cl:pays ?v "
                            "BIND('c' AS ?d) } UNION { ?p a cl:Projet ; cl:collectiviteFrancaise "
                            "?a ; cl:theme ?v BIND('t' AS ?d) } } GROUP BY ?a ?d ?v"):
        vectors.setdefault(str(r["a"]), {}).setdefault(str(r["d"]), {})[str(r["v"])] = float(
            str(r["n"]))
    sizes = {str(r["a"]): float(str(r["n"])) for r in rows(
        built_kb, "SELECT ?a (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p a cl:Projet ; "
                  "cl:collectiviteFrancaise ?a } GROUP BY ?a")}

    def cos(a: dict[str, float], b: dict[str, float]) -> float:
        keys = sorted(set(a) | set(b))
        return _cosine(np.array([a.get(k, 0) for k in keys]), np.array([b.get(k, 0) for k in keys]))

    mine = vectors[uri]
    scores = {other: (cos(mine.get("c", {}), v.get("c", {})) + cos(mine.get("t", {}),
                                                                    v.get("t", {}))) / 2
              * sizes[other] / (sizes[other] + CONFIDENCE)
              for other, v in vectors.items() if other != uri}
    best = sorted(scores.items(), key=lambda kv: (-kv[1], -sizes[kv[0]], kv[0]))[:8]
    found = portfolios.neighbours(uri)
    assert [n.uri for n in found] == [u for u, _ in best]
    assert [n.score for n in found] == pytest.approx([s for _, s in best], abs=1e-4)

"""A figure keeps its rows and the very query that computed them, and draws as an accessible
chart whose links re-run that query at the public endpoint."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pyoxigraph as ox
from bs4 import BeautifulSoup
from jinja2 import Environment, FileSystemLoader

from graph.store import OxigraphStore
from search_api.http import i18n
from search_api.search.figures import Figure, FigureRow, run_figure, scalar

TEMPLATES = Path(__file__).parent.parent / "search_api" / "http" / "templates"
EX = "http://example.org/"
QUERY = f"""
SELECT ?key ?label (COUNT(?p) AS ?value) ?uri WHERE {{
  ?p <{EX}theme> ?uri . ?uri <{EX}code> ?key ; <{EX}label> ?label .
}} GROUP BY ?key ?label ?uri ORDER BY DESC(?value) ?key
"""


def _store() -> OxigraphStore:
    store = OxigraphStore()
    quads = []
    for project, theme in [("p1", "eau"), ("p2", "eau"), ("p3", "santé"), ("p4", "eau")]:
        quads.append(ox.Quad(ox.NamedNode(EX + project), ox.NamedNode(EX + "theme"),
                             ox.NamedNode(EX + "t/" + theme)))
    for theme, label in [("eau", "Eau et assainissement"), ("santé", "Santé")]:
        node = ox.NamedNode(EX + "t/" + theme)
        quads.append(ox.Quad(node, ox.NamedNode(EX + "code"), ox.Literal(theme)))
        quads.append(ox.Quad(node, ox.NamedNode(EX + "label"), ox.Literal(label)))
    store.add_quads(quads)
    return store


def test_a_figure_keeps_the_rows_in_the_query_order_and_the_query_itself() -> None:
    store = _store()
    figure = run_figure(store.query, "projects_by_theme", QUERY)
    assert [(r.key, r.label, r.value) for r in figure.rows] == [
        ("eau", "Eau et assainissement", 3.0), ("santé", "Santé", 1.0)]
    assert figure.rows[0].uri == EX + "t/eau"
    assert figure.query == QUERY.strip()
    assert figure.total == 4 and figure.maximum == 3
    top = run_figure(store.query, "top", QUERY, limit=1)
    assert [r.key for r in top.rows] == ["eau"] and top.query == figure.query
    assert scalar(store.query, f"SELECT (COUNT(*) AS ?value) WHERE {{ ?p <{EX}theme> ?t }}") == 4


def _render(figure: Figure, lang: str) -> BeautifulSoup:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    i18n.install(env)
    page = env.from_string(
        '{% import "_figure.html" as f with context %}{{ f.bars(fig, "Projets par thème") }}')
    return BeautifulSoup(page.render(fig=figure, lang=lang), "html.parser")


def test_the_chart_has_a_table_for_screen_readers_and_links_that_rerun_its_query() -> None:
    figure = Figure(id="projects_by_theme", query=QUERY.strip(), rows=[
        FigureRow(key="eau", label="Eau et assainissement", value=12345),
        FigureRow(key="santé", label="Santé", value=7)])
    soup = _render(figure, "fr")
    assert soup.svg is not None and soup.svg["aria-hidden"] == "true"
    cells = [[c.get_text() for c in tr.find_all(["th", "td"])] for tr in soup.tbody.find_all("tr")]
    assert cells == [["Eau et assainissement", "12\u202f345"], ["Santé", "7"]]
    links = {a["class"][0]: a["href"] for a in soup.select(".figure-links a")}
    assert soup.select_one(".figure-links a.query").get_text() == "Voir la requête"
    for kind, fmt in (("query", None), ("csv", "csv"), ("json", "json")):
        params = urllib.parse.parse_qs(urllib.parse.urlsplit(links[kind]).query)
        assert params["query"] == [QUERY.strip()]
        assert params.get("format") == ([fmt] if fmt else None)
    english = _render(figure, "en")
    assert english.select_one(".figure-links a.query").get_text() == "See the query"
    assert [td.get_text() for td in english.find_all("td")] == ["12,345", "7"]


def test_amounts_are_written_in_euros() -> None:
    figure = Figure(id="cost", unit="euros", query="SELECT * {}", rows=[
        FigureRow(key="x", label="Sénégal", value=20300)])
    assert _render(figure, "fr").td.get_text() == "20\u202f300\u00a0€"

"""The staff pages (``/``, ``/projets/{id}/comparables``, ``/mutualisation``) in-process: they
render the same data as the JSON API, in French by default and in English on request, with
facets, cards, highlighted matches, paging, the CSV and SPARQL links, and escaped user input.

Expectations come from the JSON API over the same knowledge base, so they hold whatever the
encoder."""

from __future__ import annotations

import csv
import io
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup, Tag
from fastapi.testclient import TestClient

from search_api.app import create_app
from search_api.http import i18n
from search_api.knowledge_base import KnowledgeBase
from search_api.settings import Settings

HTML = {"accept": "text/html,application/xhtml+xml"}
PACKAGE = Path(i18n.__file__).parent
CSS = PACKAGE / "static" / "app.css"


class Element(Tag):
    """A parsed element with the two look-ups the tests use, ``el.all("li", class_="card")``
    and ``el.one(...)`` (exactly one), and its ``text`` with whitespace folded."""

    @property
    def text(self) -> str:
        return " ".join(self.get_text().split())

    def __getitem__(self, name: str) -> str:  # the attributes read here have one value
        return str(self.attrs[name])

    def all(self, tag: str, **attrs: str) -> list[Element]:
        # for_ → for, aria_current → aria-current; class and rel match one of their words
        wanted: dict[str, Any] = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
        return [e for e in self.find_all(tag, attrs=wanted) if isinstance(e, Element)]

    def one(self, tag: str, **attrs: str) -> Element:
        found = self.all(tag, **attrs)
        assert len(found) == 1, f"{len(found)} × <{tag} {attrs}>"
        return found[0]


class Page(BeautifulSoup, Element):
    """A page parsed by Beautiful Soup: ``page.all("a", class_="csv")``."""

    def __init__(self, html: str) -> None:
        super().__init__(html, "html.parser", element_classes={Tag: Element})


@pytest.fixture()
def client(built_kb: KnowledgeBase) -> Iterator[TestClient]:
    # A client per test: the language cookie of one test must not leak into the next.
    with TestClient(create_app(built_kb)) as test_client:
        yield test_client


def get(client: TestClient, url: str, status: int = 200) -> Page:
    response = client.get(url, headers=HTML)
    assert response.status_code == status, response.text[:500]
    return Page(response.text)


def api(client: TestClient, url: str) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def href_params(href: str) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(urllib.parse.urlparse(href).query)


def cards(page: Page) -> list[Element]:
    return page.all("li", class_="card")


def card_ids(page: Page) -> list[str]:
    return [c["id"].removeprefix("projet-") for c in cards(page)]


# ---------------------------------------------------------------- language, landmarks, notice
def test_the_search_page_is_french_by_default(client: TestClient) -> None:
    page = get(client, "/")
    assert page.one("html")["lang"] == "fr"
    form = page.one("form", role="search")
    assert form["action"] == "/" and form["method"] == "get"
    box = page.one("input", name="q")
    assert page.one("label", for_="q").text == "Que cherchez-vous ?"
    assert box["placeholder"] == "ex. aider des villages sahéliens à gérer leurs forages"
    assert page.one("a", class_="lang").text == "English"
    for landmark in ("header", "nav", "main", "footer"):
        assert page.all(landmark), landmark
    assert page.one("a", class_="skip")["href"] == "#" + page.one("main")["id"]


def test_english_is_one_click_away_and_remembered(client: TestClient) -> None:
    toggle = get(client, "/?q=eau").one("a", class_="lang")["href"]
    assert href_params(toggle) == {"q": ["eau"], "lang": ["en"]}
    response = client.get(toggle, headers=HTML)
    page = Page(response.text)
    assert page.one("html")["lang"] == "en"
    assert page.one("label", for_="q").text == "What are you looking for?"
    assert "lang=en" in response.headers["set-cookie"]
    # the cookie keeps English on the next pages, ?lang=fr brings French back
    assert get(client, "/mutualisation").one("html")["lang"] == "en"
    assert get(client, "/?lang=fr").one("html")["lang"] == "fr"
    assert get(client, "/").one("html")["lang"] == "fr"


def test_english_pages_use_english_labels(client: TestClient, built_kb: KnowledgeBase) -> None:
    page = get(client, "/?lang=en")
    themes = [lab.text for lab in page.one("fieldset", id="facet-theme").all("label")]
    types = [lab.text for lab in page.one("fieldset", id="facet-authority_type").all("label")]
    assert any(t.startswith("Water and sanitation") for t in themes), themes
    assert any(t.startswith("Municipality") for t in types), types
    french = get(client, "/?lang=fr").one("fieldset", id="facet-theme")
    assert any(lab.text.startswith("Eau et assainissement") for lab in french.all("label"))


def test_the_synthetic_corpus_is_announced(client: TestClient, built_kb: KnowledgeBase) -> None:
    health = built_kb.health()
    assert health["synthetic_projects"] > 0
    notice = get(client, "/").one("div", class_="notice")
    assert notice["role"] == "note"
    assert f"{health['synthetic_projects']}projetssur{health['projects']}" in re.sub(
        r"\s", "", notice.text)
    assert "synthétiques" in notice.text
    assert "synthetic" in get(client, "/mutualisation?lang=en").one("div", class_="notice").text


# ---------------------------------------------------------------- facets, cards, paging
def test_facets_show_the_api_counts(client: TestClient) -> None:
    data = api(client, "/api/search?q=eau+potable")
    page = get(client, "/?q=eau+potable")
    for field in ("country", "theme", "authority_type", "region"):
        shown = {}
        for box in page.all("input", type="checkbox", name=field):
            count = page.one("label", for_=box["id"]).one("span", class_="count")
            shown[box["value"]] = int(re.sub(r"\s", "", count.text))
        # With a text query a facet shows its close matches (the API's ``relevant``).
        expected = {e["value"]: e["relevant"] for e in data["facets"][field]}
        assert shown == expected and shown, field
    years = page.one("select", name="start_year_min").all("option")
    expected_years = [str(y["value"]) for y in data["facets"]["start_year"]]
    assert [o["value"] for o in years[1:]] == expected_years


def test_several_values_per_facet_narrow_like_the_api(client: TestClient) -> None:
    facets = api(client, "/api/search")["facets"]
    two = [e["value"] for e in facets["country"][:2]]
    theme = facets["theme"][0]["value"]
    query = urllib.parse.urlencode([("country", two[0]), ("country", two[1]), ("theme", theme),
                                    ("start_year_min", "2010")])
    data = api(client, f"/api/search?{query}")
    page = get(client, f"/?{query}")
    checked = {(b["name"], b["value"]) for b in page.all("input", type="checkbox")
               if "checked" in b.attrs}
    assert checked == {("country", two[0]), ("country", two[1]), ("theme", theme)}
    assert card_ids(page) == [r["id"] for r in data["results"]]
    summary = re.sub(r"\s", "", page.one("h2", id="results-title").text)
    assert summary.startswith(str(data["total"]) if data["total"] > 1 else "")
    selected = [o for o in page.all("option") if "selected" in o.attrs and o["value"]]
    assert [o["value"] for o in selected] == ["2010"]


def test_result_cards_show_the_project(client: TestClient, built_kb: KnowledgeBase) -> None:
    data = api(client, "/api/search?q=gestion+des+d%C3%A9chets")
    page = get(client, "/?q=gestion+des+d%C3%A9chets")
    vocab = built_kb.search_service().index.vocab
    assert len(cards(page)) == len(data["results"]) > 0
    for card, result in zip(cards(page), data["results"], strict=True):
        text = card.text
        assert " ".join(result["title"].split()) in text
        for a in result["french_authorities"]:
            assert a["name"] in text
        for p in result["partners"]:
            assert p["name"] in text
        for iso in result["countries"]:
            assert vocab["country"][iso] in text
        for slug in result["themes"]:
            assert vocab["theme"][slug] in text
        if result["start_year"]:
            assert str(result["start_year"]) in text
        assert card.one("a", class_="similar")["href"] == f'/projets/{result["id"]}/comparables'


def test_country_names_are_the_french_display_names(client: TestClient) -> None:
    page = get(client, "/?country=SN")
    assert page.one("label", for_="f-country-SN").text.startswith("Sénégal")


def test_matched_terms_are_highlighted(client: TestClient) -> None:
    page = get(client, "/?q=forages")
    marks = [m.text.lower() for m in page.all("mark")]
    assert marks and all(m.startswith("forage") for m in marks), marks
    snippets = page.all("p", class_="snippet")
    assert any(s.all("mark") for s in snippets)


def test_paging_links_keep_the_search(client: TestClient) -> None:
    page = get(client, "/?theme=eau-assainissement&limit=5")
    nav = page.one("nav", class_="paging")
    assert nav["aria-label"] == "Pages de résultats"
    following = page.one("a", rel="next")["href"]
    assert href_params(following) == {"theme": ["eau-assainissement"], "limit": ["5"],
                                      "offset": ["5"]}
    second = get(client, following)
    expected = api(client, "/api/search?theme=eau-assainissement&limit=5&offset=5")
    assert card_ids(second) == [r["id"] for r in expected["results"]]
    assert "résultats 6 à 10" in second.one("h2", id="results-title").text
    assert second.one("nav", class_="paging").one("a", aria_current="page").text == "2"
    assert href_params(second.one("a", rel="prev")["href"]) == {
        "theme": ["eau-assainissement"], "limit": ["5"]}


# ---------------------------------------------------------------- exports
def csv_ids(client: TestClient, href: str) -> list[str]:
    response = client.get(href)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    return [row["identifiant"] for row in csv.DictReader(io.StringIO(text), delimiter=";")]


def test_the_csv_link_exports_the_same_search(client: TestClient) -> None:
    page = get(client, "/?q=sant%C3%A9&authority_type=commune&limit=5")
    href = page.one("a", class_="csv")["href"]
    assert href.startswith("/api/search.csv?")
    assert href_params(href) == {"q": ["santé"], "authority_type": ["commune"]}
    first = api(client, "/api/search?q=sant%C3%A9&authority_type=commune&limit=100")
    ids = csv_ids(client, href)
    assert len(ids) == first["total"] and ids[:100] == [r["id"] for r in first["results"]]


def test_the_sparql_link_selects_the_same_projects(client: TestClient,
                                                   built_kb: KnowledgeBase) -> None:
    page = get(client, "/?country=SN&authority_type=commune")
    link = page.one("a", class_="sparql")
    assert link.text == "Voir la requête SPARQL"
    assert link["href"].startswith("/sparql?")
    query = href_params(link["href"])["query"][0]
    # the same set of projects (a project titled in two languages comes back on two rows)
    selected = {str(row["id"]) for row in built_kb.query(query).rows()}
    assert selected and selected == set(csv_ids(client, page.one("a", class_="csv")["href"]))
    editor = client.get(link["href"], headers=HTML)
    assert editor.status_code == 200 and "yasgui" in editor.text
    assert "cl:codeIso2" in editor.text  # the editor opens with that query


def test_the_sparql_link_of_a_text_search_lists_the_page_in_order(client: TestClient) -> None:
    """The endpoint (its worker processes) evaluates the link's query with the search's own
    ranking: the page's cards, in the page's order (issue 9, point 5)."""
    page = get(client, "/?q=eau+potable+au+S%C3%A9n%C3%A9gal&authority_type=commune")
    query = href_params(page.one("a", class_="sparql")["href"])["query"][0]
    assert "cl:searchScore" in query and "cl:closeMatch" in query
    response = client.get("/sparql", params={"query": query + "LIMIT 20"},
                          headers={"accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.text[:300]
    ids = [b["id"]["value"] for b in response.json()["results"]["bindings"]]
    assert ids == card_ids(page)


# ---------------------------------------------------------------- comparables, pooling
def test_the_comparables_page_gives_the_reasons(client: TestClient) -> None:
    first = api(client, "/api/search?q=eau")["results"][0]
    page = get(client, f"/projets/{first['id']}/comparables")
    data = api(client, f"/api/projects/{first['id']}/similar")
    assert first["title"] in page.one("section", class_="source").text
    assert card_ids(page) == [r["id"] for r in data["results"]] and data["results"]
    for card, result in zip(cards(page), data["results"], strict=True):
        reasons = [li.text for li in card.one("div", class_="why").all("li")]
        assert reasons == [" ".join(r["text"].split()) for r in result["why"]]
    english = get(client, f"/projets/{first['id']}/comparables?lang=en")
    assert "Semantic similarity" in english.one("main").text


def test_the_comparables_link_of_a_card_opens_that_page(client: TestClient) -> None:
    page = get(client, "/?q=eau")
    link = page.all("a", class_="similar")[0]["href"]
    assert get(client, link).one("h1").text == "Coopérations comparables"


def test_the_pooling_page_lists_authorities_and_clusters(client: TestClient) -> None:
    form = get(client, "/mutualisation")
    assert form.one("label", for_="country").text == "Pays"
    assert any(o.text == "Sénégal" for o in form.all("option"))
    assert "Choisissez un pays" in form.one("main").text
    facets = api(client, "/api/search?theme=eau-assainissement")["facets"]
    country = facets["country"][0]["value"]
    params = f"country={country}&theme=eau-assainissement"
    data = api(client, f"/api/pooling?{params}")
    page = get(client, f"/mutualisation?{params}")
    main = page.one("main").text
    assert data["authorities"]
    for authority in data["authorities"]:
        assert authority["name"] in main
    assert len(page.all("li", class_="cluster")) == len(data["clusters"])
    selected = {o["value"] for o in page.all("option") if "selected" in o.attrs}
    assert selected == {country, "eau-assainissement"}
    assert href_params(page.one("a", class_="json")["href"]) == {
        "country": [country], "theme": ["eau-assainissement"]}


def _plain(text: str) -> str:
    return " ".join(text.split())  # the test DOM folds (no-break) spaces the same way


def test_each_pooling_group_shows_its_title_contacts_and_csv(client: TestClient) -> None:
    params = "country=SN&theme=eau-assainissement"
    data = api(client, f"/api/pooling?{params}")
    page = get(client, f"/mutualisation?{params}")
    items = page.all("li", class_="cluster")
    assert data["clusters"] and len(items) == len(data["clusters"])
    for item, group in zip(items, data["clusters"], strict=True):
        assert item["id"] == group["id"]
        assert item.one("h3").text == _plain(group["title"])
        rows = item.all("tr", class_="contact")
        assert [r.one("a").text for r in rows] == [c["name"] for c in group["contacts"]]
        for row, contact in zip(rows, group["contacts"], strict=True):
            for network in contact["networks"]:
                assert network["label"] in row.one("td", class_="networks").text
            if contact["amount"] is not None:
                assert row.one("td", class_="amount").text == _plain(
                    i18n.format_euros(contact["amount"], "fr"))
            assert row.one("td", class_="years").text == i18n.format_years(contact["years"])
        link = item.one("a", class_="csv")
        assert link.text == "Télécharger ce groupe (CSV)"
        assert href_params(link["href"])["group"] == [group["id"]]
    first = items[0].one("a", class_="csv")["href"]
    rows = list(csv.DictReader(io.StringIO(client.get(first).content.decode("utf-8-sig")),
                               delimiter=";"))
    assert {r["projet"] for r in rows} == set(data["clusters"][0]["projects"])
    labels = {n["label"] for a in data["authorities"] for n in a["networks"]}
    assert labels and all(_plain(label) in page.one("main").text for label in labels)
    english = get(client, f"/mutualisation?{params}&lang=en")
    assert english.all("a", class_="csv")[0].text == "Download this group (CSV)"
    heading = english.all("li", class_="cluster")[0].one("h3").text
    assert heading.startswith(("Same partner", "Same partner region", "Sub-topic", "Similar"))
    amounts = [c["amount"] for g in data["clusters"] for c in g["contacts"] if c["amount"]]
    assert amounts and _plain(i18n.format_euros(amounts[0], "en")) in english.one("main").text


# ---------------------------------------------------------------- safety and errors
def test_user_input_is_escaped(client: TestClient) -> None:
    attack = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    response = client.get("/", params={"q": attack}, headers=HTML)
    assert response.status_code == 200
    assert "<script>alert" not in response.text and "<img src=x" not in response.text
    assert Page(response.text).one("input", name="q")["value"] == attack
    missing = client.get("/projets/%3Cscript%3Ealert(3)%3C%2Fscript%3E/comparables", headers=HTML)
    assert missing.status_code == 404 and "<script>alert(3)" not in missing.text


def test_an_unknown_filter_value_gives_the_error_page(client: TestClient) -> None:
    page = get(client, "/?country=XX", status=400)
    assert "« XX »" in page.one("main").text and "SN" in page.one("main").text
    assert client.get("/api/search?country=XX").json()["ok"] is False


def test_an_empty_data_dir_says_how_to_build(tmp_path: Path) -> None:
    kb = KnowledgeBase(Settings(data_dir=tmp_path / "var"))
    with TestClient(create_app(kb)) as empty:
        response = empty.get("/", headers=HTML)
    assert response.status_code == 200 and "cooplink build" in response.text


# ---------------------------------------------------------------- contrast
def _luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_text_colours_have_enough_contrast() -> None:
    colours = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", CSS.read_text("utf-8")))
    pairs = [("ink", "bg"), ("muted", "bg"), ("muted", "blue-soft"), ("blue", "bg"),
             ("blue", "blue-soft"), ("warn-ink", "warn-bg"), ("ink", "mark")]
    for fg, bg in pairs:
        assert contrast(colours[fg], colours[bg]) >= 4.5, (fg, bg)
    assert contrast("#ffffff", colours["blue"]) >= 4.5  # button and current page text
    assert contrast(colours["focus"], colours["bg"]) >= 3  # focus ring (non-text, WCAG 1.4.11)


def test_every_form_control_has_a_label(client: TestClient) -> None:
    for url in ("/?q=eau", "/mutualisation?theme=eau-assainissement"):
        page = get(client, url)
        labelled = {lab["for"] for lab in page.all("label") if "for" in lab.attrs}
        for control in [*page.all("input"), *page.all("select")]:
            if control.attrs.get("type") in ("hidden", "submit"):
                continue
            assert control["id"] in labelled, (url, control.attrs)

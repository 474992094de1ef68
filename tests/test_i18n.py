"""The page strings: one gettext catalog per language (``search_api/http/locale``), both with
every key the templates use, the same ``%(name)s`` fields, and the committed ``.mo`` compiled
from the ``.po`` beside it; numbers and euros written as each language writes them; the English
editor and error pages show no French string, and every page has the language toggle."""

from __future__ import annotations

import html
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from fixtures_sparql import fixture_kb
from jinja2.ext import babel_extract

from search_api.app import create_app
from search_api.http import i18n
from search_api.http.sparql import load_examples

TEMPLATES = Path(i18n.__file__).parent / "templates"


def _catalog(lang: str, suffix: str) -> Catalog:
    path = i18n.LOCALE_DIR / lang / "LC_MESSAGES" / f"{i18n.DOMAIN}{suffix}"
    with path.open("rb") as f:
        return read_mo(f) if suffix == ".mo" else read_po(f, locale=lang)


def _messages(catalog: Catalog) -> dict[str, str]:
    return {str(m.id): str(m.string) for m in catalog if m.id}


def test_the_compiled_catalogs_are_up_to_date() -> None:
    for lang in i18n.LANGUAGES:
        source = _catalog(lang, ".po")
        assert not [m.id for m in source if m.fuzzy and m.id], lang
        assert _messages(_catalog(lang, ".mo")) == _messages(source), (
            f"{lang}: messages.mo is older than messages.po — run `make messages`")


def test_both_languages_have_every_string_with_the_same_fields() -> None:
    french, english = (_messages(_catalog(lang, ".po")) for lang in i18n.LANGUAGES)
    assert french.keys() == english.keys()
    for key in french:
        assert french[key] and english[key], key
        # Jinja inserts a catalog string as it is (only its fields are escaped): no markup, and
        # no straight quote that would close the attribute it sits in
        assert not set('<>&"') & set(french[key] + english[key]), key
        fields = [set(re.findall(r"%\((\w+)\)s", text)) for text in (french[key], english[key])]
        assert fields[0] == fields[1], key


def test_every_string_a_template_uses_is_in_the_catalogs() -> None:
    used = set()
    for template in TEMPLATES.glob("*.html"):
        with template.open("rb") as f:
            used |= {message for _, _, message, _ in babel_extract(f, ("_",), [], {})
                     if isinstance(message, str)}
    known = _messages(_catalog("fr", ".po")).keys()
    assert len(used) > 50 and used <= known, sorted(used - known)


def test_strings_numbers_and_amounts_in_each_language() -> None:
    french, english = i18n.Translator("fr"), i18n.Translator("en")
    assert french("search.placeholder").endswith("sahéliens à gérer leurs forages")
    assert english("results.many", n="1,234") == "1,234 cooperations"
    assert french("no.such.key") == "no.such.key"  # a missing string shows its key
    assert french.number(12345) == "12\u202f345" and english.number(12345) == "12,345"
    assert i18n.format_euros(45000.4, "fr") == "45\u202f000\u00a0€"
    assert i18n.format_euros(1234567, "en") == "€1,234,567"


# ---------------------------------------------------------------- pages in English
HTML = {"accept": "text/html"}


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app over the small SPARQL fixture graph (the editor and error pages need no index)."""
    app = create_app(fixture_kb(tmp_path_factory.mktemp("i18n"), http_max_url_bytes=4_000))
    with TestClient(app) as client:
        yield client
    app.state.query_runner.close()


def _french_only() -> set[str]:
    """Every French string of the catalogs that English writes otherwise, cut at its
    ``%(fields)s`` (the pieces a page shows as they are)."""
    french, english = (_messages(_catalog(lang, ".po")) for lang in i18n.LANGUAGES)
    pieces = {piece.strip() for key, text in french.items() if text != english[key]
              for piece in re.split(r"%\(\w+\)s", text)}
    return {piece for piece in pieces if len(piece) >= 5}  # not « page », the same word


def _visible(page: str) -> str:
    """The text and attributes a reader meets (scripts and styles left out)."""
    soup = BeautifulSoup(page, "html.parser")
    for tag in soup(["script", "style"]):
        tag.decompose()
    attributes = [str(v) for tag in soup.find_all(True)
                  for k, v in tag.attrs.items() if k in ("title", "aria-label", "placeholder")]
    return html.unescape(" ".join([soup.get_text(" "), *attributes]))


ENGLISH_PAGES = {
    "editor": ({"url": "/sparql"}, 200),
    "404": ({"url": "/nulle-part"}, 404),
    "405": ({"url": "/api/search", "method": "DELETE"}, 405),
    "414": ({"url": "/sparql", "params": {"query": "ASK {} #" + "x" * 5_000}}, 414),
}


@pytest.mark.parametrize("name", ENGLISH_PAGES)
def test_the_english_page_has_no_french_string(pages: TestClient, name: str) -> None:
    request, status = ENGLISH_PAGES[name]
    pages.cookies.clear()
    params = {**request.get("params", {}), "lang": "en"}  # the toggle's parameter
    response = pages.request(**{"method": "GET", **request, "params": params, "headers": HTML})
    assert response.status_code == status
    soup = BeautifulSoup(response.text, "html.parser")
    assert soup.html is not None and soup.html["lang"] == "en"
    text = _visible(response.text)
    french = sorted(s for s in _french_only() if s in text)
    assert not french, french
    # and by name, a few the reader would notice
    for words in ("Erreur", "Retour à l'accueil", "introuvable", "Interroger le graphe",
                  "lecture seule", "Exemples", "choisir une requête", "Données de référence"):
        assert words not in text, words
    assert status != 200 or "Query the graph in SPARQL" in text
    assert status == 200 or (f"Error {status}" in text and "Back to the home page" in text)


def test_the_editor_has_the_language_toggle(pages: TestClient) -> None:
    pages.cookies.clear()
    french = BeautifulSoup(pages.get("/sparql", headers=HTML).text, "html.parser")
    toggle = french.find("a", class_="lang")
    assert toggle is not None and toggle.get_text() == "English" and toggle["hreflang"] == "en"
    assert toggle["href"] == "/sparql?lang=en"
    response = pages.get(str(toggle["href"]), headers=HTML)
    english = BeautifulSoup(response.text, "html.parser")
    back = english.find("a", class_="lang")
    assert back is not None and back.get_text() == "Français" and back["href"] == "/sparql?lang=fr"
    assert "lang=en" in response.headers["set-cookie"]  # remembered, as on the search pages
    # the example queries are titled in the page's language
    first = load_examples()[0]
    options = [o.get_text() for o in english.find_all("option")]
    assert first.title_en in options and first.title_fr not in options
    # a shared editor link keeps its query when switching language
    pages.cookies.clear()
    query = "SELECT * WHERE { ?s ?p ?o } LIMIT 3"
    shared = BeautifulSoup(pages.get("/sparql", params={"query": query}, headers=HTML).text,
                           "html.parser").find("a", class_="lang")
    assert shared is not None
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(str(shared["href"])).query) == {
        "query": [query], "lang": ["en"]}

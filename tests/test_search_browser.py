"""The search page in a real headless Chromium over a real uvicorn server: type a query, apply a
facet with the keyboard, open the comparable cooperations, use the pooling view, switch to
English, and check the phone layout. Screenshots are saved under ``tests/artifacts/``.
Chromium is driven by ``tests/chromium.py``; every host but 127.0.0.1 fails to resolve, and
each test checks that the page asked nothing of another server.
"""

from __future__ import annotations

import pytest
from chromium import Browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]
QUERY = "aider des villages sahéliens à gérer leurs forages"


def test_type_a_query_apply_a_facet_and_open_comparables(browser: Browser, server: str) -> None:
    browser.go(server + "/")
    assert browser.js("document.documentElement.lang") == "fr"
    # the stylesheet and the script come from the app itself (any other host is unreachable)
    assert browser.js("getComputedStyle(document.querySelector('header.site'))"
                      ".borderBottomColor") == "rgb(0, 0, 145)"
    browser.screenshot("search-home.png")

    # type the query the way a user does, and press Enter
    browser.click("#q")
    browser.send("Input.insertText", {"text": QUERY})
    browser.loads(lambda: browser.key("Enter", "Enter", 13, "\r"))
    assert browser.js("new URLSearchParams(location.search).get('q')") == QUERY
    assert browser.js("document.querySelectorAll('li.card').length") > 0
    assert browser.js("document.getElementById('q').value") == QUERY
    browser.screenshot("search-results.png")

    # apply a facet with the keyboard: focus the first country, press Space
    box = browser.js("document.querySelector('#facet-country input[type=checkbox]').id")
    country = browser.js(f"document.getElementById('{box}').value")
    label = browser.js(f"document.querySelector('label[for={box}]').firstChild.textContent.trim()")
    browser.js(f"document.getElementById('{box}').focus()")
    browser.loads(lambda: browser.key(" ", "Space", 32, " "))
    assert browser.js("new URLSearchParams(location.search).getAll('country')") == [country]
    assert browser.js(f"document.getElementById('{box}').checked") is True
    assert browser.js("document.activeElement.id") == box  # focus kept for keyboard users
    countries = browser.js("[...document.querySelectorAll('li.card')].map(c => c.textContent)")
    assert countries and all(label in text for text in countries)
    browser.screenshot("search-facet.png")

    # open the comparable cooperations of the first result
    title = browser.js("document.querySelector('li.card h3').textContent.trim()")
    browser.loads(lambda: browser.click("li.card a.similar"))
    assert browser.js("document.querySelector('h1').textContent") == "Coopérations comparables"
    assert title in browser.js("document.querySelector('section.source').textContent")
    assert browser.js("document.querySelectorAll('.why li').length") > 0
    browser.screenshot("comparables.png")


def test_the_page_fits_a_phone(browser: Browser, server: str) -> None:
    browser.viewport(390, 844, mobile=True)
    browser.go(server + "/?q=" + QUERY.replace(" ", "+"))
    assert browser.js("document.documentElement.scrollWidth") <= 390
    assert browser.js("document.getElementById('facets').open") is False  # folded on a phone
    browser.screenshot("search-phone.png")
    browser.click("#facets > summary")
    assert browser.js("document.getElementById('facets').open") is True


def test_pooling_view_and_english_toggle(browser: Browser, server: str) -> None:
    browser.go(server + "/mutualisation")
    # the country with the most water projects, chosen in the two selects
    country = browser.js("""(async () => {
        const data = await (await fetch('/api/search?theme=eau-assainissement')).json();
        const iso = data.facets.country[0].value;
        document.getElementById('country').value = iso;
        document.getElementById('theme').value = 'eau-assainissement';
        return iso; })()""")
    browser.loads(lambda: browser.click("#mutualisation button[type=submit]"))
    assert f"country={country}" in browser.js("location.search")
    assert browser.js("document.querySelectorAll('ul.authorities > li').length") > 0
    browser.screenshot("pooling.png")
    browser.loads(lambda: browser.click("a.lang"))
    assert browser.js("document.documentElement.lang") == "en"
    assert browser.js("document.querySelector('h1').textContent") == "Pooling"
    browser.go(server + "/")  # the choice is remembered
    assert browser.js("document.querySelector('label[for=q]').textContent") == (
        "What are you looking for?")

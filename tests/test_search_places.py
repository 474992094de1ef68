"""Places in a query steer the search (issue 9, point 2): recognised, shown, put first, and
never a reason to hide a result."""

from __future__ import annotations

import urllib.parse
from collections import Counter

import pytest
from fastapi.testclient import TestClient
from test_pages import HTML, Page

from search_api.search.service import SearchService


def busiest(service: SearchService, theme: str) -> tuple[str, int]:
    """The country with the most projects of ``theme`` and how many it has."""
    counts = Counter(c for d in service.index.docs if theme in d.themes for c in d.countries)
    return counts.most_common(1)[0]


def test_a_country_in_the_query_is_understood_and_put_first(service: SearchService) -> None:
    country, _ = busiest(service, "eau-assainissement")
    name = service.index.vocab["country"][country]
    query = f"accès à l'eau potable {name}"
    body = service.search(query, limit=10).model_dump()
    places = body["understood"]["places"]
    assert [p["countries"] for p in places] == [[country]] and places[0]["kind"] == "country"
    assert query[places[0]["start"]:places[0]["end"]] == places[0]["text"]
    assert body["understood"]["text"] == "accès à l'eau potable"
    in_place = sum(1 for d in service.index.docs if country in d.countries)
    top = body["results"]
    # Enough projects lie there: the whole first page is theirs.
    assert all(country in r["countries"] for r in top[:min(10, in_place)])
    # Close matches are projects of the place only.
    assert all(country in r["countries"] for r in top if r["close_match"])


@pytest.mark.slow
def test_within_the_place_the_subject_leads(real_service: SearchService) -> None:
    """The place comes first, and within it the projects on the subject (the meaning of the
    query: the real model)."""
    country, count = busiest(real_service, "eau-assainissement")
    name = real_service.index.vocab["country"][country]
    top = real_service.search(f"accès à l'eau potable {name}", limit=10).model_dump()["results"]
    assert sum("eau-assainissement" in r["themes"] for r in top) >= min(count, 10) - 1


def test_places_never_hide_results(service: SearchService) -> None:
    country, _ = busiest(service, "sante")
    name = service.index.vocab["country"][country]
    body = service.search(f"santé maternelle {name}", limit=10).model_dump()
    assert body["total"] == len(service.index)  # every project is still ranked
    filtered = service.search(f"santé maternelle {name}", service.filters(theme=["sante"]),
                              limit=10).model_dump()
    assert filtered["total"] == sum("sante" in d.themes for d in service.index.docs)


def test_places_can_be_ignored(service: SearchService) -> None:
    country, _ = busiest(service, "eau-assainissement")
    name = service.index.vocab["country"][country]
    body = service.search(f"eau potable {name}", limit=10, places=False).model_dump()
    assert body["understood"]["places"] == [] and body["understood"]["places_ignored"]


@pytest.mark.parametrize(("query", "expected"), [
    ("forages au Sahel", {"ML", "NE", "BF"}),
    ("déchets au Maghreb", {"MA", "TN", "DZ"}),
    ("water in West Africa", {"SN", "CI", "BJ"}),
])
def test_world_regions_mean_their_countries(service: SearchService, query: str,
                                            expected: set[str]) -> None:
    places = service.search(query, limit=1).model_dump()["understood"]["places"]
    assert places and places[0]["kind"] == "world_region"
    assert expected <= set(places[0]["countries"])


def test_a_partner_town_is_understood(service: SearchService) -> None:
    by_partner = Counter(p.name for d in service.index.docs for p in d.partners)
    partner = next(name for name, n in by_partner.most_common() if n >= 2)
    body = service.search(f"coopération avec {partner}", limit=5).model_dump()
    assert body["understood"]["places"], partner
    top = body["results"][0]
    assert partner in [p["name"] for p in top["partners"]]


def test_the_french_side_is_understood(service: SearchService) -> None:
    body = service.search("une commune bretonne qui travaille sur l'eau", limit=10).model_dump()
    places = body["understood"]["places"]
    assert [p["kind"] for p in places] == ["french_region"]
    assert places[0]["french_regions"] == ["53"]
    regions = [{a.region for a in service.index.docs[service.index.by_id[r["id"]]].authorities}
               for r in body["results"]]
    assert regions and all("53" in found for found in regions)


def test_api_and_page_show_the_place(client: TestClient, service: SearchService) -> None:
    country, _ = busiest(service, "eau-assainissement")
    name = service.index.vocab["country"][country]
    q = f"eau potable {name}"
    api = client.get("/api/search", params={"q": q, "limit": 5}).json()
    assert api["understood"]["places"][0]["filter"] == {"country": [country]}
    assert client.get("/api/search", params={"q": q, "places": "off"}).json()[
        "understood"]["places"] == []
    assert client.get("/api/search", params={"q": q, "places": "peut-être"}).status_code == 400
    page = Page(client.get("/", params={"q": q}, headers=HTML).text)
    chip = page.one("li", class_="chip")
    assert chip.one("span", class_="chip-label").text == f"Pays : {name}"
    strict = urllib.parse.parse_qs(urllib.parse.urlsplit(
        chip.one("a", class_="chip-filter")["href"]).query)
    assert strict["country"] == [country] and strict["q"] == [q]
    removed = urllib.parse.parse_qs(urllib.parse.urlsplit(
        chip.one("a", class_="chip-remove")["href"]).query)
    assert removed["places"] == ["off"]
    off = Page(client.get("/", params={"q": q, "places": "off"}, headers=HTML).text)
    assert not off.all("ul", class_="chips") and off.all("p", class_="chips-ignored")
    # The pooling link of a card in the place points to that country.
    pool = page.all("a", class_="pool")[0]
    assert f"country={country}" in pool["href"]

"""What a search query is understood to say beyond its words: the places it names (issue 9).

« gestion des déchets ménagers en Tunisie » is a subject (« gestion des déchets ménagers »)
and a place (Tunisia). The subject is matched by the ranking as any text; the place steers it:
projects in the place gain ``place_boost`` (:func:`place_steering`), so that when enough
projects of the subject lie there, the first page is theirs. Nothing is filtered out: a chip
on the page offers to turn the place into a strict filter, or to ignore it.

A place means documents at one of two strengths:

* **named** — a partner authority or province of the index, or a city that is one of the
  project's partners: the full boost;
* **its country** — every project in the country (or the countries of a world region);
  the full boost for a country or a world region, half of it for the country around a
  named partner, province or city (other towns of the country are near, not there);
* **French side** — a French région or département: projects of an authority of that région.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from search_api.search.places import PlaceMatch, PlaceRecognizer, partner_places, remainder
from search_api.search.search_index import SearchIndex

#: Kinds whose countries are the place itself; the others are a spot inside a country.
WHOLE_COUNTRY_KINDS = ("country", "world_region")
#: Kinds of the French side (the authorities' régions), against the partners' side.
FRENCH_KINDS = ("french_region", "french_departement")
#: A word used by this share of the projects tells none apart (« coopération », « projet »).
GENERIC_SHARE = 0.2
#: Label of each kind on the page's chips (French; the pages translate).
KIND_LABELS = {
    "country": "Pays",
    "world_region": "Région du monde",
    "city": "Ville",
    "partner": "Partenaire",
    "province": "Province",
    "french_region": "Région française",
    "french_departement": "Département français",
}


@dataclass(frozen=True)
class Understood:
    """A query read for places: ``text`` is what the ranking matches (the query without its
    place spans, or the whole query when nothing else is left)."""

    query: str
    text: str
    places: tuple[PlaceMatch, ...] = ()
    ignored: bool = False  # places recognition turned off for this query (« ignorer »)

    def as_dict(self) -> dict[str, Any]:
        """The API's ``understood`` object."""
        return {
            "text": self.text,
            "places": [{**p.as_dict(), "kind_label": KIND_LABELS.get(p.kind, p.kind),
                        "filter": place_filter(p)} for p in self.places],
            "places_ignored": self.ignored,
        }


def place_filter(place: PlaceMatch) -> dict[str, list[str]]:
    """The strict filter a place stands for (the chip's « filtrer » link)."""
    if place.kind in ("french_region", "french_departement"):
        return {"region": list(place.french_regions)} if place.french_regions else {}
    return {"country": list(place.countries)} if place.countries else {}


@dataclass
class QueryReader:
    """Reads queries against one index: its partners and provinces are places too."""

    index: SearchIndex
    base: tuple[Any, ...] | None = None
    recognizer: PlaceRecognizer = field(init=False)

    def __post_init__(self) -> None:
        partners = ((p.name, p.country) for doc in self.index.docs for p in doc.partners)
        self.recognizer = PlaceRecognizer(partner_places(partners), base=self.base)
        self._partner_docs: dict[str, list[int]] = {}
        for position, doc in enumerate(self.index.docs):
            for partner in doc.partners:
                self._partner_docs.setdefault(partner.name, []).append(position)

    def read(self, query: str, places: bool = True) -> Understood:
        """The query's places (none when ``places`` is False) and the text left to match."""
        if not places or not query:
            return Understood(query, query, ignored=not places and bool(query))
        found = tuple(self.recognizer.find(query))
        left = remainder(query, found) if found else query
        return Understood(query, left or query, found)

    def steering(self, understood: Understood) -> np.ndarray:
        """Per document, the share of the place boost it gets (0, ½ or 1). Places of one
        side are alternatives (the best counts); a French place and a foreign one must both
        hold (« une commune bretonne qui coopère en Afrique »)."""
        n = len(self.index)
        sides: dict[bool, np.ndarray] = {}
        for place in understood.places:
            french = place.kind in FRENCH_KINDS
            side = sides.setdefault(french, np.zeros(n, dtype=np.float64))
            np.maximum(side, self._place_share(place, n), out=side)
        out = np.ones(n, dtype=np.float64) if sides else np.zeros(n, dtype=np.float64)
        for side in sides.values():
            np.minimum(out, side, out=out)
        return out

    def generic(self, text: str) -> bool:
        """True when ``text`` says nothing a project could be told apart by — no word, or
        only words most projects use (« coopération avec », « projets ») — so that a query
        like « coopération avec la ville de Dakar » is about its place alone."""
        stems = set(self.index.keyword.analyzer.stems(text))
        n = max(len(self.index), 1)
        return all(self.index.keyword.document_frequency(s) >= GENERIC_SHARE * n for s in stems)

    def _place_share(self, place: PlaceMatch, n: int) -> np.ndarray:
        share = np.zeros(n, dtype=np.float64)
        if place.kind in ("french_region", "french_departement"):
            share[self._values_mask("region", place.french_regions, n)] = 1.0
            return share
        in_country = self._values_mask("country", place.countries, n)
        if place.kind in WHOLE_COUNTRY_KINDS:
            share[in_country] = 1.0
            return share
        share[in_country] = 0.5
        named = self._named(place)
        share[named] = 1.0
        return share

    def _named(self, place: PlaceMatch) -> list[int]:
        """Documents whose partner is the named partner or province, or, for a city, a partner
        authority named after it (« Commune de Kaolack » for Kaolack)."""
        names: Iterable[str] = place.partners
        if place.kind == "city" or not place.partners:
            label = place.label.casefold()
            names = [name for name in self._partner_docs if label in name.casefold()]
        return [p for name in names for p in self._partner_docs.get(name, [])]

    def _values_mask(self, field_name: str, values: Iterable[str], n: int) -> np.ndarray:
        vocab = self.index.values[field_name]
        positions = {v: i for i, v in enumerate(vocab)}
        selected = np.array([positions[v] for v in values if v in positions], dtype=np.int64)
        if not len(selected):
            return np.zeros(n, dtype=bool)
        return self.index.fields[field_name].mask(selected, n)

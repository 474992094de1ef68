"""Pools and rules behind :mod:`ingest.synthetic.generator`: French authorities, networks,
years, money.

Kept apart so that the generator module reads as the story of a corpus (partners, links,
projects) while the details — how a département is named, which network a commune joins,
how a co-financing is rounded — live here (the other actors are in ``_synthetic_actors``).
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass

from ingest.records import AuthorityMention
from ingest.reference import FrenchAuthority, Institution, ReferenceData
from ingest.synthetic.names import tidy_french
from ingest.synthetic.plausibility import DISSOLVED_DEPARTEMENTS

#: Statuses are computed as of this year: the corpus is a 2025 snapshot (projects 2005–2027).
REFERENCE_YEAR = 2025
FIRST_YEAR, LAST_YEAR = 2005, 2027
#: World zones of twinnings rather than development cooperation (Europe, North America, Pacific).
NORTH_ZONES = ("europe-ouest", "amerique-nord", "pacifique")

#: Article of département and région names, by INSEE code (the COG's "typeLiaison", TNCC):
#: « du Nord », « de la Somme », « des Landes », « de l'Ain », « d'Ille-et-Vilaine ».
_DEPARTEMENT_OF = (
    ("d'", "28 35 37"),
    ("du ", "14 15 18 25 29 30 32 39 41 45 46 47 56 59 62 63 67 68 69 81 82 83 84 90 94 95"),
    ("de la ", "16 17 19 21 23 24 26 2A 2B 31 33 42 43 44 48 50 51 52 53 55 57 58 70 72 73 74 "
               "76 80 85 86 87 93 971 972 973"),
    ("des ", "04 05 06 08 13 22 40 64 65 66 78 79 88 92"),
    ("de l'", "01 02 03 07 09 10 11 12 27 34 36 38 60 61 89 91"),
)
_REGION_OF = (("d'", "11 76 84"), ("du ", "24 44"), ("de la ", "01 02 03 75"), ("des ", "32 52"))
_TYPE_HINT = {"region": "region", "departement": "departement", "commune": "commune",
              "intercommunalite": "intercommunalite"}
_EPCI_PREFIX = (("CC ", "Communauté de communes "), ("CA ", "Communauté d'agglomération "),
                ("CU ", "Communauté urbaine "))


def table(rows: Sequence[tuple[str, str]], code: str | None) -> str | None:
    return next((value for value, codes in rows if code in codes.split()), None)


def _sample(
    rng: random.Random, items: Sequence[int], weights: Sequence[float], k: int
) -> list[int]:
    """Weighted sampling without replacement (Efraimidis–Spirakis keys), in ``items`` order."""
    keys = [(rng.random() ** (1.0 / w), i) for i, w in zip(items, weights, strict=True)]
    chosen = {i for _, i in sorted(keys, reverse=True)[:k]}
    return [i for i in items if i in chosen]


class FrenchSide:
    """The French authorities of the corpus (real COG entries) and how sources name them."""

    def __init__(self, reference: ReferenceData, rng: random.Random, size: int) -> None:
        self._rng = rng
        # Départements that no longer act (2A, 2B, 972, 973, 976) are never drawn: their single
        # collectivity (Corse, Martinique, Guyane, Mayotte) is, among the « top » authorities.
        # Département 75 neither: the Ville de Paris (commune 75056) holds its powers.  Only the
        # COG lists are drawn from: the EPT and the CeA, added later (issue 12), would change
        # every seeded corpus.
        every = sorted((a for a in reference.authorities
                        if a.origin == "cog" and not (a.type == "departement"
                                and a.insee in (*DISSOLVED_DEPARTEMENTS, "75"))),
                       key=lambda a: (a.type, a.insee or "", a.siren or "", a.name))
        groups: dict[str, list[int]] = {"top": [], "departement": [], "intercommunalite": [],
                                        "commune": []}
        for i, a in enumerate(every):
            top = a.type in ("region", "statut-particulier")
            groups.setdefault("top" if top else a.type, []).append(i)
        # every kind of authority is present even in a small corpus
        quotas = {"top": max(1, round(size * 0.005)), "departement": max(1, round(size * 0.02)),
                  "intercommunalite": max(1, round(size * 0.09))}
        chosen: list[int] = []
        for group, exponent in (("top", 0.3), ("departement", 0.5), ("intercommunalite", 0.6)):
            members = groups[group]
            weights = [float(every[i].population or 1000) ** exponent for i in members]
            chosen += _sample(rng, members, weights, min(quotas[group], len(members), size))
        communes = groups["commune"]
        weights = [float(every[i].population or 50) ** 0.8 for i in communes]
        chosen += _sample(rng, communes, weights, max(0, size - len(chosen)))
        self.pool: list[FrenchAuthority] = [every[i] for i in chosen[:size]]
        base = {"region": 30.0, "statut-particulier": 15.0, "departement": 12.0,
                "intercommunalite": 3.0, "commune": 1.5}
        self._activity = [
            base[a.type] * ((a.population or 1000) / 10_000) ** 0.4 * rng.lognormvariate(0, 0.7)
            for a in self.pool
        ]
        north = [w**0.5 * (3.0 if a.type == "commune" else 0.6)
                 for a, w in zip(self.pool, self._activity, strict=True)]
        south = [w * (1.0 if a.type == "commune" else 2.0)
                 for a, w in zip(self.pool, self._activity, strict=True)]
        self._cumulative = {True: list(itertools.accumulate(north)),
                            False: list(itertools.accumulate(south))}
        self._by_region: dict[str, list[int]] = {}
        for i, a in enumerate(self.pool):
            self._by_region.setdefault(a.region or a.insee or "", []).append(i)

    def get(self, index: int) -> FrenchAuthority:
        """The authority at ``index`` in the pool."""
        return self.pool[index]

    def pick(self, north: bool) -> int:
        """An authority for a new partnership, by activity (communes twin in Europe)."""
        cumulative = self._cumulative[north]
        return bisect.bisect_right(cumulative, self._rng.random() * cumulative[-1])

    def prefers_north(self, index: int) -> bool:
        """Whether an authority's extra partnership goes to Europe/North America."""
        share = {"commune": 0.65, "intercommunalite": 0.4}.get(self.pool[index].type, 0.25)
        return self._rng.random() < share

    def co_leaders(self, index: int) -> list[int]:
        """Other authorities of the same région joining a project (the département, a town…)."""
        if self._rng.random() >= 0.12:
            return []
        a = self.pool[index]
        near = [i for i in self._by_region.get(a.region or a.insee or "", []) if i != index]
        return self._rng.sample(near, k=min(len(near), 1 if self._rng.random() < 0.8 else 2))

    def supporters(self, index: int) -> list[int]:
        """Larger authorities that may join a project of ``index``: its département, its
        région, intercommunalities and départements of its région (largest kinds first)."""
        a = self.pool[index]
        near = [i for i in self._by_region.get(a.region or a.insee or "", []) if i != index]
        rank = {"region": 0, "statut-particulier": 0, "departement": 1, "intercommunalite": 2}
        own = [i for i in near if self.pool[i].insee in (a.departement, a.region)
               or (a.uri in self.pool[i].members)]
        others = [i for i in near if i not in own and self.pool[i].type in rank]
        return own + sorted(others, key=lambda i: rank[self.pool[i].type])

    def mention(self, index: int) -> AuthorityMention:
        """How a source names the authority: real name, sometimes with a designator, its code."""
        a = self.pool[index]
        if a.type == "statut-particulier":
            hint = "region" if a.insee else "intercommunalite"
        else:
            hint = _TYPE_HINT[a.type]
        code = a.siren if a.type == "intercommunalite" or not a.insee else a.insee
        return AuthorityMention(self._designated(a, self._rng.random()), hint, code)

    def phrase(self, index: int, with_article: bool) -> str:
        """The authority inside a sentence: « la Ville de Rennes », « le Département du Nord »."""
        a = self.pool[index]
        name = self._designated(a, 0.0 if a.type != "commune" or self._rng.random() < 0.5 else 0.99)
        if not with_article:
            return name
        head = name.split(" ", 1)[0]
        article = {"Département": "le ", "Conseil": "le ", "Région": "la ", "Ville": "la ",
                   "Commune": "la ", "Communauté": "la ", "Métropole": "la ",
                   "Collectivité": "la "}.get(head, "")
        return article + name

    def short_name(self, index: int) -> str:
        """The bare name (« Rennes », « Nord », « Bretagne »)."""
        return self.pool[index].name

    @staticmethod
    def _designated(a: FrenchAuthority, draw: float) -> str:
        name = a.name
        if a.type == "region":
            of = table(_REGION_OF, a.insee) or "de "
            forms = (f"Région {name}", f"Conseil régional {of}{name}", name)
        elif a.type == "departement":
            of = table(_DEPARTEMENT_OF, a.insee) or "de "
            forms = (f"Département {of}{name}", f"Conseil départemental {of}{name}", name)
        elif a.type == "statut-particulier":
            forms = (name if a.siren else f"Collectivité de {name}", name, name)
        elif a.type == "intercommunalite":
            full = next((long + name[len(short):] for short, long in _EPCI_PREFIX
                         if name.startswith(short)), name)
            forms = (full, name, full)
        else:
            big = (a.population or 0) >= 20_000
            forms = (f"Ville de {name}" if big else f"Commune de {name}", name, name)
        chosen = forms[0] if draw < 0.45 else forms[1] if draw < 0.6 else forms[2]
        return tidy_french(chosen)


def project_years(rng: random.Random, signed: int) -> tuple[int, int, str]:
    """Start and end years (more projects in recent years) and the status they imply."""
    first = max(FIRST_YEAR, min(signed, REFERENCE_YEAR))
    years = list(range(first, LAST_YEAR + 1))
    weights = [3.0 if y == REFERENCE_YEAR else 1.5 if y == REFERENCE_YEAR + 1 else 0.6
               if y > REFERENCE_YEAR + 1 else 1.0 + 0.12 * (y - FIRST_YEAR) for y in years]
    start = rng.choices(years, weights=weights)[0]
    end = start + rng.choices((0, 1, 2, 3), weights=(3, 4, 2, 1))[0]
    if start > REFERENCE_YEAR:
        status = "prevu"
    elif end < REFERENCE_YEAR:
        status = "termine"
    else:
        status = "en-cours"
    return start, end, status


#: Network classes a French authority can be a member of in the corpus.
MEMBER_NETWORKS = ("ReseauRegionalMultiActeurs", "AssociationNationaleElus", "ReseauThematique")
_MEDITERRANEAN = ("maghreb", "moyen-orient")


@dataclass(frozen=True)
class Membership:
    """A pool authority (by index) in a network (by key)."""

    network_key: str
    member: int


class MembershipRules:
    """Who joins which network: the RRMA of one's région, CUF for cooperation far away, AFCCRE
    for European twinnings, the association of one's kind of authority, thematic networks."""

    def __init__(self, reference: ReferenceData, rng: random.Random) -> None:
        self._rng = rng
        self._networks = [i for i in reference.institutions if i.cls in MEMBER_NETWORKS]

    def draw(
        self, french: FrenchSide, links: list[tuple[int, str]], themes_of: dict[int, list[str]]
    ) -> list[Membership]:
        """Memberships of the pool's authorities, given their partnerships' zones and themes."""
        zones_of: dict[int, list[str]] = {}
        for index, zone in links:
            zones_of.setdefault(index, []).append(zone)
        out = []
        for network in self._networks:
            for index, authority in enumerate(french.pool):
                chance = self._chance(network, authority, zones_of.get(index, []),
                                      themes_of.get(index, []))
                if chance > 0 and self._rng.random() < chance:
                    out.append(Membership(network.key, index))
        return out

    @staticmethod
    def _chance(net: Institution, a: FrenchAuthority, zones: list[str], themes: list[str]) -> float:
        kind, pop = a.type, a.population or 0
        commune = kind == "commune"
        if net.cls == "ReseauRegionalMultiActeurs":
            if net.region not in (a.region, a.insee):
                return 0.0
            by_kind = {"region": 1.0, "statut-particulier": 1.0, "departement": 0.6,
                       "intercommunalite": 0.3}
            return by_kind.get(kind, min(0.6, 0.15 + 0.05 * len(themes)))
        match net.key:
            case "cites-unies-france":  # cooperation beyond Europe
                far = any(z not in NORTH_ZONES for z in zones)
                return (0.35 if commune or kind == "intercommunalite" else 0.85) if far else 0.0
            case "afccre":  # European twinnings
                near = any(z in NORTH_ZONES for z in zones)
                return (0.3 if commune or kind == "intercommunalite" else 0.6) if near else 0.0
            case "regions-de-france":
                regional = kind == "region" or (kind == "statut-particulier" and a.insee)
                return 1.0 if regional else 0.0
            case "departements-de-france":
                return 0.95 if kind == "departement" else 0.0
            case "amf":
                return {"commune": 0.7, "intercommunalite": 0.5}.get(kind, 0.0)
            case "france-urbaine":
                big = (commune and pop >= 100_000) or a.epci_type in ("METRO", "CU", "MET69")
                return 0.9 if big else 0.0
            case "intercommunalites-de-france":
                return 0.7 if kind == "intercommunalite" else 0.0
            case "villes-de-france":
                return 0.4 if commune and 10_000 <= pop < 100_000 else 0.0
            case "apvf":
                return 0.35 if commune and 2_500 <= pop < 25_000 else 0.0
            case "amrf":
                return 0.4 if commune and pop < 3_500 else 0.0
            case "ps-eau":
                return 0.5 if "eau-assainissement" in themes else 0.0
            case "aimf":
                far = any(z not in NORTH_ZONES for z in zones)
                return 0.3 if commune and pop >= 30_000 and far else 0.0
            case "energy-cities":
                near = any(z in NORTH_ZONES for z in zones)
                return 0.25 if "climat-energie" in themes or (pop >= 50_000 and near) else 0.0
            case "amorce":
                return 0.3 if "dechets" in themes or "climat-energie" in themes else 0.0
            case "climate-chance":
                return 0.2 if "climat-energie" in themes else 0.0
            case "f3e":
                return 0.15 if len(themes) >= 4 else 0.0
            case "medcites":
                return 0.4 if pop >= 50_000 and any(z in _MEDITERRANEAN for z in zones) else 0.0
        # a network these rules do not know yet: a few members among the active authorities
        return 0.05 if themes else 0.0

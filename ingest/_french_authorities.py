"""French authorities by code or by name, as people write them (used by :mod:`ingest.resolver`).

Order of the look-ups for a name, first hit wins:

1. the official name (COG) or a hand alias (``authority_aliases.csv``: « Région Sud »);
2. a usual name derived from the COG (:mod:`ingest.authority_names`: « Grand Poitiers »,
   « COPAMO »);
3. the same after an institutional prefix (« Ville de », « Conseil départemental du », « EPT »)
   or with a designator and a code (« CD 93 »);
4. the same without a leading article (« Région Réunion » → La Réunion);
5. an EPCI by the core of its name when the text names an EPCI (« Agglo », « Métropole de »):
   exact core, else the only EPCI whose core holds every word (« Métropole de Rouen »);
6. « Saint-Denis 93 » read as « Saint-Denis (93) ».

The type column breaks ties; when it contradicts what the name says (« Région Bretagne »
typed Commune) the name wins and the contradiction is reported — never a silent wrong hit.
A département whose council a single collectivity took over (2A, 2B, 972, 973, 976) gives
that collectivity, with a note.  Every note is a ``(kind, French text)`` pair, the kind being
one of :data:`ingest.records.ISSUE_KINDS`.
"""

from __future__ import annotations

import re
from collections import defaultdict

from ingest.authority_names import (
    DESIGNATED_CODE,
    core_words,
    epci_core,
    names_an_epci,
    official_keys,
    split_code,
    strip_article,
    strip_designator,
    usual_keys,
)
from ingest.normalise import name_key
from ingest.reference import FrenchAuthority, ReferenceData

Note = tuple[str, str]

#: Types a type hint accepts (the collectivités à statut particulier stand in for their level).
HINT_TYPES = {
    "region": ("region", "statut-particulier"),
    "departement": ("departement", "statut-particulier"),
    "commune": ("commune",),
    "intercommunalite": ("intercommunalite", "statut-particulier"),
}
TYPE_LABELS = {
    "region": "Région",
    "departement": "Département",
    "commune": "Commune",
    "intercommunalite": "Intercommunalité",
    "statut-particulier": "Collectivité à statut particulier",
}
#: Without a hint, a name shared by several kinds means the larger authority ("Bretagne" is the
#: région, not the two small communes), except a département merged into another collectivité.
_TYPE_RANK = {
    "statut-particulier": 0,
    "region": 1,
    "departement": 2,
    "commune": 3,
    "intercommunalite": 4,
}
_MERGED_DEPARTEMENTS = frozenset({"75", "2A", "2B", "972", "973", "976"})
_PAREN = re.compile(r"^(.*?)\s*\(([^)]*)\)\s*$")
_TRAILING_CODE = re.compile(r"^(.*?) (\d[\dab]\d?|97\d)$")


class FrenchAuthorities:
    """Indexes of the reference's French authorities by code, name, usual name and core."""

    def __init__(self, ref: ReferenceData) -> None:
        self.siren: dict[str, FrenchAuthority] = {}
        self.commune: dict[str, FrenchAuthority] = {}
        self.departement: dict[str, FrenchAuthority] = {}
        self.region: dict[str, FrenchAuthority] = {}
        self._names: dict[str, list[FrenchAuthority]] = defaultdict(list)
        self._usual: dict[str, list[FrenchAuthority]] = defaultdict(list)
        self._cores: dict[str, list[FrenchAuthority]] = defaultdict(list)
        self._by_departement: dict[str, list[tuple[str, FrenchAuthority]]] = defaultdict(list)
        self._successor: dict[str, FrenchAuthority] = {}
        for a in ref.authorities:
            if a.siren:
                self.siren[a.siren] = a
            if a.type == "commune" and a.insee:
                self.commune[a.insee] = a
                self._by_departement[a.departement or ""].append((name_key(a.name), a))
            elif a.type == "departement" and a.insee:
                self.departement[a.insee] = a
            elif a.insee:
                self.region[a.insee] = a
            is_epci = a.epci_type is not None
            for key in official_keys(a.name, is_epci):
                self._names[key].append(a)
            if a.type in ("region", "departement", "statut-particulier"):
                self._usual[strip_article(name_key(a.name))].append(a)
            if is_epci:
                for key in usual_keys(a.name):
                    self._usual[key].append(a)
                    self._cores[epci_core(key)].append(a)
            if a.origin == "cog":
                self._successor.update({code: a for code in a.territories})
        by_uri = {a.uri: a for a in ref.authorities}
        for alias, uri in ref.authority_aliases.items():
            # Added to the homonyms, not replacing them: « Saint-Ouen » (Saint-Ouen-sur-Seine
            # until 2018) is still the commune of the Loir-et-Cher when written « Saint-Ouen (41) ».
            self._names[name_key(alias)].append(by_uri[uri])
        for index in (self._usual, self._cores):
            for key, found in index.items():
                index[key] = list({a.uri: a for a in found}.values())
        # Places used to disambiguate homonyms: « Saint-Denis (93) », « Saint-Denis (La Réunion) ».
        self.places: dict[str, str] = {}
        for a in [*self.departement.values(), *self.region.values()]:
            self.places.setdefault(name_key(a.name), a.insee or "")

    # By code ---------------------------------------------------------------------------------

    def by_code(self, code: str, hint: str | None) -> FrenchAuthority | None:
        code = re.sub(r"[\s.]", "", code).upper()
        if re.fullmatch(r"\d{9}|\d{14}", code):  # SIREN, or a SIRET whose first 9 are one
            return self.siren.get(code[:9])
        if re.fullmatch(r"\d{5}|2[AB]\d{3}", code):
            return self.commune.get(code)
        if re.fullmatch(r"\d{2,3}|2[AB]", code):
            if hint == "region":
                return self.region.get(code) or self.departement.get(code)
            return self.departement.get(code) or self.region.get(code)
        return None

    def successor(self, a: FrenchAuthority) -> tuple[FrenchAuthority, list[Note]]:
        """The single collectivity that took over a département's council, with a note."""
        heir = self._successor.get(a.insee or "") if a.type == "departement" else None
        if heir is None:
            return a, []
        note = (f"le conseil du département « {a.name} » ({a.insee}) a laissé place à la "
                f"collectivité unique ; retenue : {heir.name}")  # fmt: skip
        return heir, [("collectivite-unique", note)]

    # By name ---------------------------------------------------------------------------------

    def by_name(self, name: str, hint: str | None) -> tuple[FrenchAuthority | None, list[Note]]:
        notes: list[Note] = []
        place = None
        designated = None
        paren = _PAREN.match(name)
        if paren:  # « Saint-Denis (93) », « Montreuil (Seine-Saint-Denis) », « Lyon (ville) »
            inner = name_key(paren[2])
            designated = strip_designator(inner + " x")[1]  # a designator word alone?
            if designated is None:
                place = self._place_code(inner)  # None: an acronym (« m2A »), not a place
            name = paren[1]
        key = split_code(name_key(name))
        candidates, named_kind, approx = self._candidates(key, hint)
        designated = designated or named_kind
        if approx:
            notes.append(("nom-rapproche", f"« {name} » rapproché de « {candidates[0].name} »"))
        if not candidates and place is None:  # « Saint-Denis 93 »
            trailing = _TRAILING_CODE.match(key)
            if trailing:
                return self.by_name(f"{trailing[1]} ({trailing[2]})", hint)
        if place and not any(place in (a.departement, a.region, a.insee) for a in candidates):
            found = self._starting_with(key, place)  # « Saint-Ouen (93) »: Saint-Ouen-sur-Seine
            if found:
                note = f"« {name} » ({paren[2] if paren else place}) : retenue {found.name}"
                return found, [*notes, ("nom-rapproche", note)]
        if not candidates:
            return None, notes
        if designated and hint in HINT_TYPES and designated != hint:
            notes.append(
                (
                    "type-contredit",
                    f"le type « {TYPE_LABELS[hint]} » ne correspond pas "
                    f"au nom « {name} » ({TYPE_LABELS[designated]}) : retenu d'après le nom",
                )
            )
            hint = designated
        hint = hint if hint in HINT_TYPES else designated
        if hint in HINT_TYPES:
            typed = [a for a in candidates if a.type in HINT_TYPES[hint]]
            if typed:
                candidates = typed
            else:
                notes.append(("type-contredit", f"aucune collectivité de type "
                              f"« {TYPE_LABELS[hint]} » ne s'appelle « {name} »"))  # fmt: skip
        if place:
            here = [a for a in candidates if place in (a.departement, a.region, a.insee)]
            candidates = here or candidates
        best = min(_rank(a, hint) for a in candidates)
        tied = [a for a in candidates if _rank(a, hint) == best]
        chosen = max(tied, key=lambda a: a.population or 0)
        if len(tied) > 1:
            where = chosen.departement or chosen.region or ""
            notes.append(("homonyme", f"« {name} » désigne {len(tied)} collectivités homonymes ; "
                          f"retenue : {chosen.name} ({where}), la plus peuplée"))  # fmt: skip
        return chosen, notes

    def _candidates(
        self, key: str, hint: str | None
    ) -> tuple[list[FrenchAuthority], str | None, bool]:
        """Candidates for a name key, the kind the name itself designates, and whether the
        match is approximate (an EPCI found by some words of its name)."""
        # The official name and the usual names together: « Arras » is the commune, and the
        # CU d'Arras when the type column says intercommunalité.
        found = list(
            {a.uri: a for a in self._names.get(key, []) + self._usual.get(key, [])}.values()
        )
        if found:
            return found, None, False
        variants, designated = strip_designator(key)
        coded = DESIGNATED_CODE.match(key)
        if coded:  # « CD 93 », « Conseil départemental 93 »
            kind = strip_designator(coded[1] + " x")[1]
            a = self.by_code(coded[2], kind)
            if a:
                return [a], kind, False
        for look_up in (self._names, self._usual):
            for variant in (*variants, *(strip_article(v) for v in variants)):
                if look_up.get(variant):
                    return look_up[variant], designated, False
        if names_an_epci(key) or "intercommunalite" in (hint, designated):
            designated = designated or "intercommunalite"
            core = epci_core(key)
            if self._cores.get(core):
                return self._cores[core], designated, False
            words = core_words(core)
            wide = {a.uri: a for c, found in self._cores.items() if words <= core_words(c)
                    for a in found} if any(len(w) > 2 for w in words) else {}  # fmt: skip
            if len(wide) == 1:
                return list(wide.values()), designated, True
        return [], designated, False

    def _starting_with(self, key: str, place: str) -> FrenchAuthority | None:
        """The only commune of a département whose name starts with ``key`` plus a word."""
        found = [a for k, a in self._by_departement.get(place, []) if k.startswith(key + " ")]
        return found[0] if len(found) == 1 else None

    def _place_code(self, place: str) -> str | None:
        """INSEE code of a département or région given by code, name or postal code."""
        if re.fullmatch(r"\d{5}", place):  # a postal code: its département
            return place[:3] if place.startswith("97") else place[:2]
        code = self.places.get(place) or place.upper()
        return code if code in self.departement or code in self.region else None


def _rank(a: FrenchAuthority, hint: str | None) -> int:
    if a.type == "departement" and a.insee in _MERGED_DEPARTEMENTS:
        return 9  # « Martinique », even as a département, is the collectivité unique
    return -1 if a.type == hint else _TYPE_RANK[a.type]

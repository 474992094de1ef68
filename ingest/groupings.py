"""Groupings outside the COG: syndicats, SDIS, hospitals, PETR… named in the Collectivité column.

The COG lists communes, départements, régions and the EPCI à fiscalité propre; a cooperation
sheet also names the bodies they set up together — « SDE 35 », « Syndicat départemental
d'énergie de la Loire », « SIAEP de la vallée de … », « EPTB Seine Grands Lacs », « SDIS 13 »,
« CHU de Rennes », « PETR du Pays de … ».  They are real and legitimate, just not in the
reference: the resolver types them (``cl:Syndicat``, ``cl:EtablissementPublic``, ``cl:GIP``),
mints a stable URI from their name (``/id/groupement/<slug>``), places them in a département
when the name says which one, and the report lists them as « groupements hors COG » rather than
as unknown names (issue 12).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.normalise import name_key

#: Authority type (``ResolvedRef.type``) -> ontology class of the grouping.
GROUPING_CLASSES = {
    "syndicat": "Syndicat",
    "etablissement-public": "EtablissementPublic",
    "gip": "GIP",
}
#: French label of each grouping type, for warnings.
GROUPING_LABELS = {
    "syndicat": "syndicat",
    "etablissement-public": "établissement public",
    "gip": "groupement d'intérêt public",
}

# Name keys (name_key output) -> grouping type, first match wins.  Acronyms are those of the
# trade: SIVU/SIVOM (syndicat intercommunal à vocation unique/multiple), SIAEP/SIEA/SIE (eau),
# SDE/SDEA/SIEL/SYDEV (énergie), SMICTOM/SICTOM/SYCTOM (déchets), SEDIF/SIAAP (eau en
# Île-de-France), EPTB (établissement public territorial de bassin, a syndicat mixte), PETR
# (pôle d'équilibre territorial et rural, a syndicat mixte too).
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"^(?:syndicat|syndicats|sivu|sivom|petr|eptb|pole d equilibre territorial|"
            r"pole metropolitain|etablissement public territorial de bassin)\b"
        ),
        "syndicat",
    ),
    (
        re.compile(r"^(?!sdis\b)(?:sd[a-z]{0,4}|si[a-z]{1,6}|sy[a-z]{2,6}|sm[a-z]{1,6}|sedif)\b"),
        "syndicat",
    ),
    (
        re.compile(
            r"^(?:sdis|service departemental d incendie|chu|chr|chru|ch|centre hospitalier|"
            r"hopital|hopitaux|office public|etablissement public|ccas|cias|"
            r"caisse des ecoles)\b"
        ),
        "etablissement-public",
    ),
    (re.compile(r"^(?:gip|groupement d interet public)\b"), "gip"),
)


@dataclass(frozen=True)
class Grouping:
    """A grouping recognised from its name: its type and, when named, its département."""

    type: str  # a key of GROUPING_CLASSES
    departement: str | None  # INSEE code of the département the name places it in


def grouping_type(name: str, hint: str | None) -> str | None:
    """The grouping type a name (or a « Syndicat » type column) says, else None.

    A name made of capitals only is read as an acronym (« SDEA Alsace-Moselle », « SEDIF »);
    a name in ordinary case must start with a grouping word (« Syndicat des eaux du … »).
    """
    key = name_key(name)
    for pattern, kind in _PATTERNS:
        if pattern.match(key):
            acronym = pattern is _PATTERNS[1][0]
            if acronym and not name.split()[0].isupper():
                continue  # « Sigean », « Smarves »: a commune, not an acronym
            return kind
    return "syndicat" if hint == "syndicat" else None


class DepartementFinder:
    """Finds the département a grouping's name places it in (« SDE 35 », « … de la Loire »)."""

    def __init__(self, names: dict[str, str]) -> None:
        # Longest names first, so « loire atlantique » wins over « loire ».
        self._names = sorted(names.items(), key=lambda item: -len(item[0]))
        self._codes = set(names.values())

    def find(self, name: str) -> str | None:
        """INSEE code of the département a number or a name in ``name`` designates."""
        key = name_key(name)
        for token in key.split()[1:]:
            code = token.upper()
            if re.fullmatch(r"\d{2,3}|2[AB]", code) and code in self._codes:
                return code
        padded = f" {key} "
        for dep_key, code in self._names:
            # Only after a preposition or an article: « du Morbihan », « de la Loire »; a
            # département name standing alone in a longer name is too often a river or a word.
            if re.search(rf" (?:de|du|des|d|la|l|en) {re.escape(dep_key)} ", padded):
                return code
        return None

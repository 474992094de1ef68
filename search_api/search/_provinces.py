"""The province (first-level subdivision) a foreign partner authority lies in, from its name.

The graph links a partner to its country only. Pooling wants « same partner province »: the
Commune de Ziguinchor, the Département de Bignona and the Région de Ziguinchor work in the
same Senegalese région. Partners are named « <designator> de <place> » (« Commune rurale de »,
« Municipio de », « Wilaya d' »…), so the place is read from the name and looked up among its
country's ISO 3166-2 subdivisions (``pycountry``, already a dependency, with its French
translations): a first-level subdivision is the province itself, a second-level one (a
Burkinabè or Moroccan province) gives its parent région. Only an exact match of the whole
place counts (accents, case and hyphens aside): an invented or unknown place gives no province
rather than a wrong one.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import Any

from search_api.search.keyword_index import fold

#: « <designator> de <place> »: the designator is one to four words (« Conseil départemental »).
_PLACE = re.compile(
    r"^\s*(?:[^\s]+\s+){1,4}?(?:de\s+la\s+|de\s+l['’]|de\s+|d['’]|du\s+|des\s+|del\s+|of\s+)(.+)$",
    re.IGNORECASE,
)
#: ISO 3166-2 subdivision types (English, as pycountry gives them) → French designator.
_TYPE_FR = {
    "region": "Région", "province": "Province", "department": "Département",
    "governorate": "Gouvernorat", "prefecture": "Préfecture", "state": "État",
    "district": "District", "county": "Comté", "wilaya": "Wilaya", "oblast": "Oblast",
    "municipality": "Municipalité", "canton": "Canton", "autonomous region": "Région autonome",
}


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", fold(text))


def place_of(name: str) -> str:
    """The place a partner's name designates (« Commune rurale de Ndiaffate » → « Ndiaffate »)."""
    match = _PLACE.match(name)
    return (match.group(1) if match else name).strip()


def _designated(kind: str, name: str) -> str:
    """« Région de Ziguinchor », « Gouvernorat d'Ariana »; the bare name for unknown types."""
    designator = _TYPE_FR.get(kind.casefold())
    if not designator:
        return name
    if name[:2] in ("L'", "L’"):
        return f"{designator} de l'{name[2:]}"
    first = fold(name.split("-")[0].split()[0]) if name.split() else ""
    if first in ("centre", "nord", "sud", "plateau", "littoral", "sahel"):
        return f"{designator} du {name}"  # Région du Centre-Est, du Nord
    if first in ("est", "ouest", "extreme"):
        return f"{designator} de l'{name}"
    elided = fold(name[:1]) in "aeiouyh"
    return f"{designator} d'{name}" if elided else f"{designator} de {name}"


class Provinces:
    """Province lookups, one country's subdivisions read on first use (build time only)."""

    def __init__(self) -> None:
        self._by_country: dict[str, dict[str, tuple[str, str]]] = {}

    def _table(self, country: str) -> dict[str, tuple[str, str]]:
        """Folded place name → (code, French label) of the first-level subdivision."""
        table = self._by_country.get(country)
        if table is not None:
            return table
        import gettext

        import pycountry

        french: Callable[[str], str] = str
        with contextlib.suppress(OSError):  # pycountry ships the French catalogue
            french = gettext.translation("iso3166-2", pycountry.LOCALES_DIR,
                                         languages=["fr"]).gettext
        subdivisions: list[Any] = list(pycountry.subdivisions.get(country_code=country) or [])
        by_code = {s.code: s for s in subdivisions}

        def top(sub: Any) -> Any:
            seen = 0
            while sub.parent_code and sub.parent_code in by_code and seen < 5:
                sub, seen = by_code[sub.parent_code], seen + 1
            return sub

        table = {}
        # First-level entries first, so that a name both levels share means the région.
        for sub in sorted(subdivisions, key=lambda s: (s.parent_code is not None, s.code)):
            head = top(sub)
            label = _designated(head.type, french(head.name))
            for name in {sub.name, french(sub.name)}:
                table.setdefault(_key(name), (head.code, label))
                # « L'Ariana » is named « Gouvernorat de l'Ariana » and « Ariana » alike.
                bare = re.sub(r"^(?:l['’]|la |le |les |el |al-)", "", name, flags=re.IGNORECASE)
                table.setdefault(_key(bare), (head.code, label))
        self._by_country[country] = table
        return table

    def subdivisions(self, country: str) -> dict[str, tuple[str, str]]:
        """Folded names of ``country``'s subdivisions (both levels) → (code, French label) of
        the first-level one they lie in."""
        return dict(self._table(country.upper()))

    def of(self, name: str, country: str | None) -> tuple[str | None, str | None]:
        """(ISO 3166-2 code, French label) of the partner's province, or ``(None, None)``."""
        if not country:
            return None, None
        table = self._table(country.upper())
        for candidate in (place_of(name), name):
            found = table.get(_key(candidate))
            if found and len(_key(candidate)) >= 3:
                return found
        return None, None

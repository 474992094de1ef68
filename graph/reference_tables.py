"""The vendored reference tables of ``graph/reference/`` and the countries read from them.

The tables (COG 2026 régions, départements, communes, EPCI; IATI/OECD-DAC codelists; the DAC ↔
ISO country bridge; hand-written names and aliases; their licence texts, see SOURCES.md) sit on
the ground floor because two floors read them: ``ingest/reference.py`` builds the whole
``ReferenceData`` the resolver and the synthetic generator use, and the search domain
(``search_api/search/``) reads the country names, the COG régions and départements and the DAC
regions for place recognition and comparables. This module reads only the vendored copies in
``graph/reference/`` (``scripts/vendor_reference.py`` writes them by hand, once).
"""

from __future__ import annotations

import csv
import gettext
from dataclasses import dataclass
from pathlib import Path

#: Shipped as package data (pyproject ``[tool.setuptools.package-data]``): holds for editable and
#: wheel installs.
REFERENCE_DIR = Path(__file__).parent / "reference"


@dataclass(frozen=True)
class Country:
    iso2: str
    iso3: str
    name_fr: str  # display form: "Corée du Sud", not "Corée, République de"
    name_en: str
    dac_code: str | None = None  # OECD-DAC recipient code
    dac_region: str | None = None  # DAC region name (English), e.g. "South of Sahara, regional"
    aliases: tuple[str, ...] = ()  # ISO sort forms, official names, common variants ("RDC")


def rows(name: str) -> list[dict[str, str]]:
    """The rows of one vendored CSV table (e.g. ``"regions.csv"``), as dicts keyed by header.

    Raises ``FileNotFoundError`` if the table is missing.
    """
    with (REFERENCE_DIR / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _countries() -> dict[str, Country]:
    import pycountry  # heavy: loaded only by whoever needs the countries

    tr = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"]).gettext
    overrides = {r["iso2"]: r for r in rows("countries_fr.csv")}
    bridge = {r["iso2"]: r for r in rows("dac_countries.csv")}
    name_fields = ("common_name", "name", "official_name")
    entries = [
        (c.alpha_2, c.alpha_3, [getattr(c, a, "") for a in name_fields])
        for c in pycountry.countries
    ]
    entries.append(("XK", "XKX", ["Kosovo"]))  # user-assigned code, a DAC recipient (57)
    out: dict[str, Country] = {}
    for iso2, iso3, english_names in entries:
        names_en = [n for n in english_names if n]
        extra = overrides.get(iso2, {})
        name_fr = extra.get("name_fr") or tr(names_en[0])
        name_en = extra.get("name_en") or names_en[0]
        aliases = {*names_en, *(tr(n) for n in names_en)}
        aliases.update(a for a in (extra.get("aliases") or "").split(";") if a)
        dac = bridge.get(iso2, {})
        dac_code, dac_region = dac.get("dac_code") or None, dac.get("dac_region_name") or None
        out[iso2] = Country(
            iso2,
            iso3,
            name_fr,
            name_en,
            dac_code,
            dac_region,
            tuple(sorted(aliases - {name_fr, name_en})),
        )
    return out


def load_countries() -> dict[str, Country]:
    """The countries alone (``pycountry`` and the hand-written overrides), without reading the
    COG files: what search's place recognition needs at each index load."""
    return _countries()


def dac_regions() -> dict[str, str]:
    """ISO2 → OECD-DAC region name, from the DAC ↔ ISO bridge table (countries without one are
    left out)."""
    return {r["iso2"]: r["dac_region_name"] for r in rows("dac_countries.csv")
            if r.get("dac_region_name")}

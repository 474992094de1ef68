"""Neighbouring countries, for the "pays voisin" reason of comparable projects.

A small hand-written table of land borders (ISO 3166-1 alpha-2) covering the countries where
French decentralised cooperation concentrates: West, Central, North and East Africa, the
Middle East, the Caucasus, South-East Asia, the Caribbean, Latin America and Eastern Europe.
It is made symmetric when read. A country absent from it has no "neighbour" — comparable
projects then fall back to the OECD-DAC region (``Geography.same_dac_region``), a coarser reason.
"""

from __future__ import annotations

from graph.reference_tables import dac_regions

_BORDERS: dict[str, str] = {
    # West Africa
    "SN": "MR ML GN GW GM", "ML": "SN MR DZ NE BF CI GN", "BF": "ML NE BJ TG GH CI",
    "NE": "ML DZ LY TD NG BJ BF", "MR": "SN ML DZ EH", "GN": "SN ML CI LR SL GW",
    "CI": "LR GN ML BF GH", "GH": "CI BF TG", "TG": "GH BF BJ", "BJ": "TG BF NE NG",
    "NG": "BJ NE TD CM", "GW": "SN GN", "GM": "SN", "SL": "GN LR", "LR": "SL GN CI",
    # Central Africa
    "CM": "NG TD CF CG GA GQ", "TD": "LY SD CF CM NG NE", "CF": "TD SD SS CD CG CM",
    "CG": "GA CM CF CD AO", "CD": "CG CF SS UG RW BI TZ ZM AO", "GA": "GQ CM CG",
    "GQ": "CM GA", "RW": "UG TZ BI CD", "BI": "RW TZ CD",
    # North Africa
    "MA": "DZ EH ES", "DZ": "MA EH MR ML NE LY TN", "TN": "DZ LY", "LY": "TN DZ NE TD SD EG",
    "EG": "LY SD IL PS",
    # East and Southern Africa
    "ET": "ER DJ SO KE SS SD", "DJ": "ER ET SO", "KE": "ET SO TZ UG SS",
    "TZ": "KE UG RW BI CD ZM MW MZ", "UG": "KE SS CD RW TZ", "SD": "EG LY TD CF SS ET ER",
    "SS": "SD ET KE UG CD CF", "MZ": "TZ MW ZM ZW ZA SZ", "ZA": "NA BW ZW MZ SZ LS",
    "AO": "CG CD ZM NA", "ZM": "AO CD TZ MW MZ ZW BW NA", "ZW": "ZM MZ ZA BW",
    "MW": "TZ MZ ZM", "NA": "AO ZM BW ZA", "BW": "NA ZM ZW ZA",
    # Middle East and Caucasus
    "LB": "SY IL", "PS": "IL EG JO", "IL": "LB SY JO EG PS", "JO": "IL PS SY IQ SA",
    "SY": "LB IL JO IQ TR", "IQ": "SY JO SA KW IR TR", "TR": "GR BG GE AM AZ IR IQ SY",
    "AM": "GE AZ IR TR", "GE": "RU AZ AM TR", "AZ": "RU GE AM IR TR",
    # South-East Asia
    "VN": "CN LA KH", "LA": "CN VN KH TH MM", "KH": "TH LA VN", "TH": "MM LA KH MY",
    "MM": "BD IN CN LA TH",
    # Caribbean and Latin America
    "HT": "DO", "BR": "UY AR PY BO PE CO VE GY SR GF", "AR": "CL BO PY BR UY",
    "CL": "PE BO AR", "BO": "BR PY AR CL PE", "PE": "EC CO BR BO CL", "CO": "PA VE BR PE EC",
    "EC": "CO PE", "VE": "CO BR GY", "MX": "US GT BZ", "GT": "MX BZ HN SV", "HN": "GT SV NI",
    "SV": "GT HN", "NI": "HN CR", "CR": "NI PA", "PA": "CR CO",
    # Eastern Europe
    "RO": "MD UA HU RS BG", "MD": "RO UA", "UA": "PL SK HU RO MD RU BY",
    "PL": "DE CZ SK UA BY LT RU", "BG": "RO RS MK GR TR", "RS": "HU RO BG MK XK ME BA HR",
    "AL": "ME XK MK GR", "MK": "XK RS BG GR AL", "BA": "HR RS ME", "HR": "SI HU RS BA ME",
}


def neighbours() -> dict[str, frozenset[str]]:
    """Land neighbours of each country of the table, made symmetric."""
    table: dict[str, set[str]] = {}
    for country, others in _BORDERS.items():
        for other in others.split():
            table.setdefault(country, set()).add(other)
            table.setdefault(other, set()).add(country)
    return {k: frozenset(v) for k, v in table.items()}


class Geography:
    """Neighbour and DAC-region lookups, read once (the search service holds one)."""

    def __init__(self) -> None:
        self._neighbours = neighbours()
        self._regions = dac_regions()

    def are_neighbours(self, a: str, b: str) -> bool:
        """True when ``a`` and ``b`` share a land border (per the table)."""
        return b in self._neighbours.get(a, frozenset())

    def same_dac_region(self, a: str, b: str) -> bool:
        """True when two different countries are in the same OECD-DAC region."""
        return a != b and a in self._regions and self._regions.get(a) == self._regions.get(b)

    def region_name(self, iso2: str) -> str | None:
        """The DAC region of a country (English name of the OECD list)."""
        return self._regions.get(iso2)

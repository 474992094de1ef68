"""Write trimmed copies of the shared reference data into ``graph/reference/``.

Run by hand by a developer when a new millésime is wanted; the product and the tests only read the
vendored copies, never ``../shared``::

    .venv/bin/python scripts/vendor_reference.py [../shared/data/reference]

Inputs (see ``../shared/data/reference/SOURCES.md``): the data folder of the npm package
``@etalab/decoupage-administratif`` (COG 2026), the IATI codelists flattened to CSV, and the
OECD-DAC ↔ ISO country bridge of ``markbrough/fr-crs-iati``.  Outputs are compact UTF-8 CSV files
with only the columns the loader reads, plus the licence texts, which are kept alongside in
``graph/reference/`` (they are not produced by this script).  ``institutions.csv`` is written
by hand and is never touched here.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import pycountry

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "graph" / "reference"

#: Fixes applied to the DAC country bridge (a ~2016 spreadsheet with a few slips).  Keyed by DAC
#: recipient code; values override (iso2, iso3).  Each one was checked against ISO 3166-1.
DAC_ISO_FIXES: dict[str, tuple[str, str]] = {
    "235": ("CD", "COD"),  # "Congo, Dem. Rep." carried iso2 CG (that is the Republic of Congo)
    "247": ("CI", "CIV"),  # Côte d'Ivoire: English name truncated to "C"; codes were right
    "258": ("YT", "MYT"),  # Mayotte carried the Comoros' codes (KM/COM)
    "279": ("SS", "SSD"),  # South Sudan had no ISO3
    "57": ("XK", "XKX"),  # Kosovo: not in ISO 3166-1; XK/XKX is the user-assigned code in use
}


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Write a CSV with a header; returns the number of data rows."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if value is None else value for value in row])
            count += 1
    return count


def vendor_cog(src: Path) -> dict[str, int]:
    """Régions, départements, communes (``commune-actuelle`` only), EPCI and the EPT of the
    Métropole du Grand Paris."""
    counts: dict[str, int] = {}
    regions = json.loads((src / "regions.json").read_text(encoding="utf-8"))
    counts["regions.csv"] = _write_csv(
        OUT / "regions.csv",
        ["code", "nom", "zone"],
        ([r["code"], r["nom"], r["zone"]] for r in regions),
    )
    departements = json.loads((src / "departements.json").read_text(encoding="utf-8"))
    counts["departements.csv"] = _write_csv(
        OUT / "departements.csv",
        ["code", "region", "nom", "zone"],
        ([d["code"], d["region"], d["nom"], d["zone"]] for d in departements),
    )
    communes = json.loads((src / "communes.json").read_text(encoding="utf-8"))
    counts["communes.csv"] = _write_csv(
        OUT / "communes.csv",
        ["code", "nom", "departement", "region", "siren", "population"],
        (
            [
                c["code"],
                c["nom"],
                c["departement"],
                c["region"],
                c.get("siren"),
                c.get("population"),
            ]
            for c in communes
            if c["type"] == "commune-actuelle"
        ),
    )
    # populationMunicipale is the sum of the members' municipal population, the same measure
    # as the communes' "population" column, so the two stay comparable.  The 11 établissements
    # publics territoriaux of the Grand Paris (no own taxation, so not in epci.json) take the
    # same columns; their members are communes of the petite couronne and Paris.
    for name in ("epci", "ept"):
        groupings = json.loads((src / f"{name}.json").read_text(encoding="utf-8"))
        counts[f"{name}.csv"] = _write_csv(
            OUT / f"{name}.csv",
            ["siren", "nom", "type", "population", "membres"],
            (
                [
                    e["code"],
                    e["nom"],
                    e["type"],
                    e.get("populationMunicipale"),
                    " ".join(m["code"] for m in e["membres"]),
                ]
                for e in groupings
            ),
        )
    return counts


def vendor_dac(src: Path) -> dict[str, int]:
    """DAC 5-digit purpose codes and 3-digit categories with English and French names."""
    counts: dict[str, int] = {}
    with (src / "Sector_en_fr.csv").open(encoding="utf-8", newline="") as handle:
        sectors = list(csv.DictReader(handle))
    counts["dac_sectors.csv"] = _write_csv(
        OUT / "dac_sectors.csv",
        ["code", "status", "name_en", "name_fr", "category"],
        (
            [s["code"], s["status"] or "active", s["name_en"], s["name_fr"], s["category"]]
            for s in sectors
        ),
    )
    with (src / "SectorCategory_en_fr.csv").open(encoding="utf-8", newline="") as handle:
        categories = list(csv.DictReader(handle))
    counts["dac_categories.csv"] = _write_csv(
        OUT / "dac_categories.csv",
        ["code", "status", "name_en", "name_fr"],
        ([c["code"], c["status"] or "active", c["name_en"], c["name_fr"]] for c in categories),
    )
    return counts


def vendor_dac_countries(src: Path) -> dict[str, int]:
    """The DAC recipient ↔ ISO bridge, countries only, ISO codes checked against pycountry."""
    with src.open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["type"] == "Country"]
    out: list[list[str]] = []
    for row in rows:
        dac = row["dac_country_code"]
        iso2, iso3 = DAC_ISO_FIXES.get(dac, (row["iso2"], row["iso3"]))
        known = pycountry.countries.get(alpha_3=iso3) if iso3 else None
        if known is not None and known.alpha_2 != iso2:
            raise ValueError(f"DAC {dac}: ISO2 {iso2} does not match ISO3 {iso3}")
        if known is None and iso2 != "XK":
            raise ValueError(f"DAC {dac} ({row['country_name']}): unknown ISO3 {iso3!r}")
        out.append([iso2, iso3, dac, row["dac_region_code"], row["dac_region_name"]])
    out.sort()
    return {
        "dac_countries.csv": _write_csv(
            OUT / "dac_countries.csv",
            ["iso2", "iso3", "dac_code", "dac_region_code", "dac_region_name"],
            out,
        )
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Vendor every file; prints one line per file written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "source",
        nargs="?",
        default=str(REPO.parent / "shared" / "data" / "reference"),
        help="dossier data/reference partagé (défaut : ../shared/data/reference)",
    )
    args = parser.parse_args(argv)
    src = Path(args.source)
    OUT.mkdir(parents=True, exist_ok=True)
    counts = vendor_cog(src / "decoupage-administratif")
    counts |= vendor_dac(src / "iati-codelists")
    counts |= vendor_dac_countries(src / "dac-country-codes" / "countries-regions.csv")
    for name, rows in counts.items():
        size = (OUT / name).stat().st_size
        print(f"{name}: {rows} lignes, {size / 1024:.0f} Kio")


if __name__ == "__main__":
    main()

"""French authority names: how many usual names resolve right, and on the project's own sheets.

    .venv/bin/python bench/names.py [--details]

prints one JSON document:

- ``usual_names``: every row of ``tests/data/usual_names.csv`` (a usual name as people write it,
  the value of the « Type de collectivité » column, the expected URI path, a kind) resolved with
  the type column read as the DAECT reader reads it.  A row is *right* when it lands on the
  expected entity — and, for the ``type-contraire`` rows (the type column contradicts the name),
  only if the resolver also says so in a warning; *wrong* when it lands on another entity;
  *unresolved* otherwise.  Rates per kind and overall.
- ``cog_sweep``: every EPCI and EPT of the reference under the forms sheets use (legal form
  spelled out, legal form dropped), typed « Intercommunalité »: a check that is not written by
  hand.
- ``sheets``: every French authority mention of the sample sheets (``bench/people_corpus``,
  ``tests/data``: DAECT CSV/XLSX and IATI XML) — how many resolved against the COG, how many
  were recognised as groupings outside the COG (``/id/groupement/`` URIs), how many stayed
  unknown.  ``bench/french_check`` holds free text only (no authority column): nothing to count.

``--details`` adds the rows that are not right and the unknown sheet names.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from ingest import _daect  # noqa: E402
from ingest.errors import UnreadableInput  # noqa: E402
from ingest.records import AuthorityMention  # noqa: E402
from ingest.reference import ReferenceData  # noqa: E402
from ingest.resolver import Resolver  # noqa: E402
from ingest.sniff import read_any  # noqa: E402

USUAL_NAMES = ROOT / "tests" / "data" / "usual_names.csv"
SHEETS = [ROOT / "bench" / "people_corpus", ROOT / "tests" / "data"]


def type_hint(text: str) -> str | None:
    """The « Type de collectivité » value as the DAECT reader normalises it."""
    return _daect._lookup(_daect._AUTHORITY_TYPES, text) if text else None


def usual_names(resolver: Resolver, details: bool) -> dict[str, object]:
    """Rates of the usual-names file, overall and per kind."""
    outcomes: dict[str, Counter[str]] = {}
    misses: list[dict[str, str]] = []
    with USUAL_NAMES.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        ref, reason = resolver.authority(AuthorityMention(row["nom"], type_hint(row["type"])))
        path = ref.uri.split("/id/", 1)[1]
        if not ref.resolved:
            outcome = "unresolved"
        elif path != row["attendu"]:
            outcome = "wrong"
        elif row["genre"] == "type-contraire" and not reason:
            outcome = "silent"  # the right entity, but the contradiction went unreported
        else:
            outcome = "right"
        outcomes.setdefault(row["genre"], Counter())[outcome] += 1
        if outcome != "right":
            misses.append({"nom": row["nom"], "type": row["type"], "attendu": row["attendu"],
                           "obtenu": path, "issue": outcome, "motif": reason or ""})  # fmt: skip
    total: Counter[str] = sum(outcomes.values(), Counter())
    out: dict[str, object] = {
        "rows": len(rows),
        "right": total["right"],
        "wrong": total["wrong"],
        "unresolved": total["unresolved"],
        "silent_type_conflicts": total["silent"],
        "rate": round(total["right"] / len(rows), 4),
        "by_kind": {
            kind: {
                "rows": sum(c.values()),
                "right": c["right"],
                "rate": round(c["right"] / sum(c.values()), 4),
            }
            for kind, c in sorted(outcomes.items())
        },
    }
    if details:
        out["misses"] = misses
    return out


_LEGAL = re.compile(r"^(CA|CC|CU) (?:(?:de la |de l'|du |des |de |d'))?(.*)$")
_SPELLED = {"CA": "Communauté d'agglomération", "CC": "Communauté de communes",
            "CU": "Communauté urbaine"}  # fmt: skip


def cog_sweep(resolver: Resolver, ref: ReferenceData) -> dict[str, object]:
    """Every EPCI of the COG named the two ways sheets name them — legal form spelled out
    (« Communauté de communes du Pays d'Iroise ») and without it (« Pays d'Iroise »), the type
    column saying « Intercommunalité » — plus every EPT by its name: right, wrong, unresolved."""
    counts = Counter[str]()
    for a in ref.authorities:
        if a.epci_type is None or a.epci_type == "MET69":
            continue
        match = _LEGAL.match(a.name)
        forms = [f"{_SPELLED[match[1]]} {match[2]}", match[2]] if match else [a.name]
        for form in forms:
            got, _ = resolver.authority(AuthorityMention(form, "intercommunalite"))
            counts["right" if got.uri == a.uri else "wrong" if got.resolved else "unresolved"] += 1
    total = sum(counts.values())
    return {"names": total, **dict(counts), "rate": round(counts["right"] / total, 4)}


def sheets(resolver: Resolver, details: bool) -> dict[str, object]:
    """French authority mentions of the sample sheets: resolved, groupings, unknown."""
    per_file: dict[str, dict[str, int]] = {}
    unknown: set[str] = set()
    for folder in SHEETS:
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() not in (".csv", ".xlsx", ".xml") or "w3c" in path.parts:
                continue
            try:
                records = read_any(path).records
            except UnreadableInput:
                continue
            counts = Counter[str]()
            for raw in records:
                for mention in raw.french_authorities:
                    ref, _ = resolver.authority(mention)
                    if ref.resolved:
                        counts["resolved"] += 1
                    elif "/id/groupement/" in ref.uri:
                        counts["groupings"] += 1
                    else:
                        counts["unknown"] += 1
                        unknown.add(mention.name)
            if counts:
                per_file[str(path.relative_to(ROOT))] = {
                    "mentions": sum(counts.values()),
                    **dict(counts),
                }
    totals = sum((Counter(c) for c in per_file.values()), Counter())
    out: dict[str, object] = {
        "mentions": totals["mentions"],
        "resolved": totals["resolved"],
        "groupings": totals["groupings"],
        "unknown": totals["unknown"],
        "files": per_file,
    }
    if details:
        out["unknown_names"] = sorted(unknown)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--details", action="store_true", help="lister les échecs")
    args = parser.parse_args()
    ref = ReferenceData.load()
    resolver = Resolver(ref)
    report = {
        "usual_names": usual_names(resolver, args.details),
        "cog_sweep": cog_sweep(resolver, ref),
        "sheets": sheets(resolver, args.details),
    }
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

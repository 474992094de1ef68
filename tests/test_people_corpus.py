"""The people-written evaluation corpus (bench/people_corpus) is consistent with itself and
with what cooplink reads.

Every threshold and weight of the search is calibrated on this corpus (issue 9), so a broken
judgment (an id that does not exist, a filtered query whose answers fail its own filters) would
silently skew every figure measured on it.  These checks are cheap: no model, no build.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ingest.reference import ReferenceData
from ingest.resolver import Resolver
from ingest.spreadsheet import read_spreadsheet
from search_api.search.documents import AUTHORITY_TYPE_VALUES

CORPUS = Path(__file__).resolve().parent.parent / "bench" / "people_corpus"
PROJECTS = CORPUS / "projects.csv"
QUERIES = CORPUS / "queries.json"

#: The DAECT spreadsheet layout, exactly as the corpus writes it.
HEADER = [
    "Identifiant", "Intitulé du projet", "Description détaillée", "Collectivité",
    "Type de collectivité", "Partenaire", "Pays", "Thématique", "Statut", "Année de début",
    "Année de fin", "Coût total de l'opération", "Cofinancement du MAEDI",
    "Part financière des collectivités", "Acteurs",
]  # fmt: skip
KINDS = ("paraphrase", "keyword", "short", "crosslingual", "place", "filtered")
FILTER_KEYS = {"country", "theme", "authority_type", "region", "start_year_min", "start_year_max"}
SAHEL = {"MR", "SN", "ML", "BF", "NE", "TD"}


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with PROJECTS.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter=";")
        header = next(reader)
        assert header == HEADER
        body = list(reader)
    assert all(len(row) == len(HEADER) for row in body), "cellules décalées"
    return [dict(zip(HEADER, row, strict=True)) for row in body]


@pytest.fixture(scope="module")
def queries() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(QUERIES.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def resolved(resolver: Resolver) -> dict[str, dict[str, Any]]:
    """Each project as cooplink's own reader and resolver see it (countries, themes, year)."""
    result = read_spreadsheet(PROJECTS)
    rejected = [i for i in result.issues if i.severity == "error"]
    assert not rejected, rejected
    out = {}
    for raw in result.records:
        project = resolver.resolve(raw, PROJECTS.name)
        out[project.id] = {
            "countries": set(project.countries),
            "themes": set(project.themes),
            "start": raw.start_year,
        }
    return out


def test_projects_csv_layout(rows: list[dict[str, str]]) -> None:
    ids = [row["Identifiant"] for row in rows]
    assert len(rows) >= 150
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"PW-\d{3}", i) for i in ids)
    assert all(row["Intitulé du projet"].strip() for row in rows)
    # Written like real sheets: very uneven lengths, some cells left empty.
    words = [len(row["Description détaillée"].split()) for row in rows]
    assert sum(w == 0 for w in words) >= 3
    assert sum(1 <= w <= 30 for w in words) >= 20
    assert sum(60 <= w <= 120 for w in words) >= 60
    assert sum(w >= 230 for w in words) >= 8
    assert sum(not row["Type de collectivité"] for row in rows) >= 1


def test_every_row_is_read_and_resolved_by_cooplink(
    rows: list[dict[str, str]], resolved: dict[str, dict[str, Any]]
) -> None:
    assert set(resolved) == {row["Identifiant"] for row in rows}
    assert all(p["countries"] for p in resolved.values()), "pays non reconnu"
    assert all(p["themes"] for p in resolved.values()), "thématique non reconnue"
    themes = Counter(t for p in resolved.values() for t in p["themes"])
    assert len(themes) == 19


def test_depth_where_issue_9_failed(
    rows: list[dict[str, str]], resolved: dict[str, dict[str, Any]]
) -> None:
    """The failures the issue names must be measurable on this corpus."""

    def count(country: set[str], theme: str | None = None) -> int:
        return sum(
            bool(p["countries"] & country) and (theme is None or theme in p["themes"])
            for p in resolved.values()
        )

    assert count({"TN"}) >= 10 and count({"TN"}, "dechets") >= 6
    assert count({"VN"}) >= 8 and count({"VN"}, "tourisme") >= 5
    assert count({"CA"}, "culture-patrimoine") >= 5
    assert count(SAHEL) >= 15
    assert count({"SN"}, "eau-assainissement") >= 8
    # Québec projects say Québec (or a Québec town), never Canada: the place must be inferred.
    canadian = [r for r in rows if resolved[r["Identifiant"]]["countries"] == {"CA"}]
    assert canadian
    assert not any(
        "canada" in (r["Intitulé du projet"] + r["Description détaillée"] + r["Partenaire"]).lower()
        for r in canadian
    )
    # A pooling case: one Senegalese partner town shared by several French authorities.
    podor = [r for r in rows if r["Partenaire"].startswith("Commune de Podor")]
    assert len({r["Collectivité"] for r in podor}) >= 3


def test_queries_are_well_formed(
    queries: list[dict[str, Any]], rows: list[dict[str, str]], reference: ReferenceData
) -> None:
    ids = {row["Identifiant"] for row in rows}
    assert len(queries) >= 80
    assert len({q["id"] for q in queries}) == len(queries)
    kinds = Counter(q["kind"] for q in queries)
    assert set(kinds) == set(KINDS)
    assert all(kinds[k] >= 10 for k in KINDS), kinds
    region_codes = {a.region for a in reference.authorities if a.region}
    for q in queries:
        assert q["lang"] in ("fr", "en", "es"), q["id"]
        assert q["text"].strip(), q["id"]
        assert q["relevant"], f"{q['id']} : aucun projet pertinent"
        assert set(q["relevant"]) <= ids, (q["id"], set(q["relevant"]) - ids)
        assert set(q["relevant"].values()) <= {1, 2, 3}, q["id"]
        filters = q["filters"]
        assert set(filters) <= FILTER_KEYS, q["id"]
        assert all(re.fullmatch(r"[A-Z]{2}", c) for c in filters.get("country", []))
        assert set(filters.get("theme", [])) <= set(reference.themes), q["id"]
        assert set(filters.get("authority_type", [])) <= set(AUTHORITY_TYPE_VALUES), q["id"]
        assert set(filters.get("region", [])) <= region_codes, q["id"]
        if q["kind"] == "crosslingual":
            assert q["lang"] in ("en", "es"), q["id"]
        if q["kind"] == "filtered":
            assert filters, q["id"]
        if q["kind"] == "place":
            assert q.get("place"), q["id"]
            span = q["place"].get("span")
            assert span is None or span in q["text"], q["id"]
    sizes = [len(q["relevant"]) for q in queries]
    assert max(sizes) >= 10 and min(sizes) <= 2


def test_translations_share_their_judgments(queries: list[dict[str, Any]]) -> None:
    by_id = {q["id"]: q for q in queries}
    translated = [q for q in queries if "same_as" in q]
    assert len(translated) >= 5
    for q in translated:
        source = by_id[q["same_as"]]
        assert source["lang"] == "fr" and q["lang"] != "fr", q["id"]
        assert q["relevant"] == source["relevant"], q["id"]
        assert q["filters"] == source["filters"], q["id"]


def test_filtered_answers_pass_their_own_filters(
    queries: list[dict[str, Any]], resolved: dict[str, dict[str, Any]]
) -> None:
    """Country, theme and year filters checked against what cooplink reads.  Authority type and
    région are not: they depend on resolving usual names (« Région Sud », syndicats), which is
    exactly what the search is measured on."""
    for q in queries:
        f = q["filters"]
        for pid in q["relevant"]:
            p = resolved[pid]
            if "country" in f:
                assert p["countries"] & set(f["country"]), (q["id"], pid)
            if "theme" in f:
                assert p["themes"] & set(f["theme"]), (q["id"], pid)
            if "start_year_min" in f:
                assert p["start"] is not None and p["start"] >= f["start_year_min"], (q["id"], pid)
            if "start_year_max" in f:
                assert p["start"] is not None and p["start"] <= f["start_year_max"], (q["id"], pid)

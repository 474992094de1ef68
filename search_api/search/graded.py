"""Graded evaluation of the search as served, on a corpus written by people (issue 9).

``bench/people_corpus/`` holds projects in the DAECT layout and queries with *complete*
graded judgments (3: exactly what is asked, 2: clearly relevant, 1: partly). Each query goes
through :meth:`SearchService.search` with its filters — places, close-match marking and all —
so what is measured is what staff get. Per query:

* ``ndcg@10`` — gains ``2^grade − 1``, ideal from every judged project that matches the filters;
* ``close_recall`` / ``close_precision`` — judged projects among the close matches, and close
  matches that are judged relevant (how well the « proches » line is placed);
* ``full_page`` — the first page holds ``min(10, total)`` results (nothing hidden);
* ``missing`` — judged projects matching the filters that no page reaches (must be 0);
* ``place@10`` — for a query naming a place, the share of its first *k* results that lie in
  that place's countries, *k* = min(10, number of judged projects): judged projects lie in
  the place (the corpus's rule), so a perfect steering scores 1.

Used by ``bench/search.py`` and ``tests/test_search_people.py``.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

from search_api.search.answers import SearchResult
from search_api.search.service import SearchService

PAGE = 10


def load_queries(folder: Path) -> list[dict[str, Any]]:
    """The graded queries of a corpus folder (``queries.json``)."""
    queries: list[dict[str, Any]] = json.loads((folder / "queries.json").read_text("utf-8"))
    return queries


def _dcg(gains: list[float]) -> float:
    return sum(g / math.log2(rank + 2) for rank, g in enumerate(gains))


def judge(service: SearchService, query: dict[str, Any]) -> dict[str, Any]:
    """Metrics of one query (see the module docstring)."""
    filters = service.filters(**query.get("filters", {}))
    first = service.search(query["text"], filters, limit=PAGE)
    grades: dict[str, int] = {k: int(v) for k, v in query["relevant"].items()}
    total, close_total = first.total, first.relevant_total
    # Close matches come first: the first ``relevant_total`` results are exactly them.
    reached: list[SearchResult] = []
    offset = 0
    while offset < total:
        page = service.search(query["text"], filters, limit=100, offset=offset)
        reached.extend(page.results)
        offset += 100
    ids = [r.id for r in reached]
    close = {r.id for r in reached if r.close_match}
    judged = {pid: g for pid, g in grades.items() if pid in service.index.by_id}
    allowed = _listed(service, query)
    judged_matching = {pid: g for pid, g in judged.items() if pid in allowed}
    top = [r.id for r in first.results]
    gains = [2.0 ** judged_matching.get(pid, 0) - 1 for pid in top]
    ideal = sorted((2.0 ** g - 1 for g in judged_matching.values()), reverse=True)[:PAGE]
    out: dict[str, Any] = {
        "id": query["id"], "kind": query["kind"],
        "ndcg@10": _dcg(gains) / _dcg(ideal) if ideal else 1.0,
        "close_recall": (len(close & set(judged_matching)) / len(judged_matching)
                         if judged_matching else 1.0),
        "close_precision": len(close & set(judged_matching)) / len(close) if close else 0.0,
        "full_page": len(top) == min(PAGE, total),
        "missing": sorted(set(judged_matching) - set(ids)),
        "total": total, "close": close_total,
    }
    place = query.get("place") or {}
    countries = set(place.get("countries", ()))
    if countries and judged_matching:
        # Judged projects lie in the place (the corpus's rule): with k of them, the first k
        # results should all be in the place, whatever their subject.
        k = min(PAGE, len(judged_matching))
        in_place = [r for r in first.results[:k] if countries & set(r.countries)]
        out["place@10"] = len(in_place) / k
    return out


def _listed(service: SearchService, query: dict[str, Any]) -> set[str]:
    """Every project the query's filters admit (listed without text, page by page)."""
    filters = service.filters(**query.get("filters", {}))
    listed: set[str] = set()
    offset, total = 0, 1
    while offset < total:
        page = service.search("", filters, limit=100, offset=offset)
        total = page.total
        listed.update(r.id for r in page.results)
        offset += 100
    return listed


def report(service: SearchService, queries: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean metrics per query kind and overall, plus the queries that lost results."""
    judged = [judge(service, q) for q in queries]
    kinds: dict[str, list[dict[str, Any]]] = {}
    for row in judged:
        kinds.setdefault(row["kind"], []).append(row)
        kinds.setdefault("all", []).append(row)
    summary: dict[str, Any] = {}
    for kind, rows in sorted(kinds.items(), key=lambda kv: (kv[0] == "all", kv[0])):
        entry: dict[str, Any] = {"n": len(rows)}
        for metric in ("ndcg@10", "close_recall", "close_precision"):
            entry[metric] = round(statistics.fmean(r[metric] for r in rows), 3)
        places = [r["place@10"] for r in rows if "place@10" in r]
        if places:
            entry["place@10"] = round(statistics.fmean(places), 3)
        entry["full_pages"] = sum(r["full_page"] for r in rows)
        entry["missing"] = sum(len(r["missing"]) for r in rows)
        summary[kind] = entry
    return {"by_kind": summary,
            "lost": [{"id": r["id"], "missing": r["missing"]} for r in judged if r["missing"]],
            "queries": judged}

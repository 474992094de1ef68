"""Pooling groups before and after issue 9 (point 4), on a built data dir: prints one JSON document.

Usage::

    .venv/bin/python bench/pooling.py --data-dir var --country SN --theme eau-assainissement

``before`` replays the first version's grouping (average linkage over the document vectors,
merging while the mean cosine stays 2.5 spreads above random pairs, kept when two different
sets of authorities are involved) on the same index; ``after`` is ``/api/pooling`` as served.
For each: number of groups, sizes, distinct authorities per group, the kinds, the time taken,
and the first groups' titles. ``example`` is the first group as the API gives it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search_api.knowledge_base import KnowledgeBase  # noqa: E402
from search_api.search import ranking  # noqa: E402
from search_api.search._clustering import MAX_CLUSTERED, average_linkage  # noqa: E402
from search_api.search.service import SearchService  # noqa: E402
from search_api.settings import Settings  # noqa: E402

LEGACY_Z = 2.5


def title_topic(title: str) -> str:
    """The activity a synthetic title names (« Latrines scolaires et lavage des mains » of
    « Programme X–Y : Latrines scolaires et lavage des mains à Z (Sénégal) »): the synthetic
    corpus draws a project's title topic first, then its sentences, so the share of a group's
    projects sharing its commonest title topic (``purity``) measures sub-topic coherence."""
    if title.startswith("Programme") and ":" in title:
        title = title.split(":", 1)[1].strip()
    for cut in (" à ", " dans le secteur", " au ", " aux ", " (", ", phase", " —", " : ", " – "):
        title = title.split(cut)[0]
    return title.strip()


def purity(service: SearchService, groups: list[list[str]]) -> float:
    members = sum(len(g) for g in groups)
    common = sum(Counter(title_topic(service.document(p).title) for p in g).most_common(1)[0][1]
                 for g in groups if g)
    return round(common / members, 3) if members else 0.0


def legacy_groups(service: SearchService, positions: np.ndarray) -> list[list[int]]:
    """The first version's clusters (search_api/search/_comparison.py before issue 9)."""
    index = service.index
    chosen = positions[:MAX_CLUSTERED]
    vectors = index.doc_vectors[chosen]
    threshold = (float(index.manifest.get("pair_mean", 0.0))
                 + LEGACY_Z * float(index.manifest.get("pair_std", 1.0)))
    out = []
    for group in average_linkage(vectors @ vectors.T, threshold):
        members = [index.docs[int(chosen[g])] for g in group]
        owners = {frozenset(a.uri for a in d.authorities) for d in members}
        if len(group) >= 2 and len(owners) >= 2:
            out.append([int(chosen[g]) for g in group])
    return out


def summary(sizes: list[int], authorities: list[int]) -> dict[str, Any]:
    return {
        "groups": len(sizes),
        "projects_in_groups": sum(sizes),
        "size_max": max(sizes, default=0),
        "size_median": statistics.median(sizes) if sizes else 0,
        "sizes": sizes,
        "authorities_max": max(authorities, default=0),
        "authorities_median": statistics.median(authorities) if authorities else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--country", default="SN", help="ISO code; empty for every country")
    parser.add_argument("--theme", default="eau-assainissement", help="empty for every theme")
    args = parser.parse_args()
    kb = KnowledgeBase(Settings(data_dir=args.data_dir))
    service = kb.search_service()
    filters = service.filters(country=args.country or None, theme=args.theme or None)
    positions = np.flatnonzero(ranking.combine(service._masks(filters), len(service.index)))

    started = time.perf_counter()
    legacy = legacy_groups(service, positions)
    legacy_seconds = time.perf_counter() - started
    started = time.perf_counter()
    result = service.pooling(filters).model_dump()
    seconds = time.perf_counter() - started
    groups = result["clusters"]
    kinds: dict[str, int] = {}
    for group in groups:
        kinds[group["kind"]] = kinds.get(group["kind"], 0) + 1
    docs = service.index.docs
    print(json.dumps({
        "scope": {"country": args.country, "theme": args.theme, "projects": result["total"],
                  "authorities": len(result["authorities"]),
                  "documents": len(docs)},
        "before": {**summary([len(g) for g in legacy],
                             [len({a.uri for p in g for a in docs[p].authorities})
                              for g in legacy]),
                   "seconds": round(legacy_seconds, 3),
                   "title_purity": purity(service, [[docs[p].id for p in g] for g in legacy]),
                   "first_headings": [" · ".join(sorted({a.name for p in g
                                                          for a in docs[p].authorities}))
                                      for g in legacy[:3]]},
        "after": {**summary([len(g["projects"]) for g in groups],
                            [len(g["contacts"]) for g in groups]),
                  "kinds": kinds, "seconds": round(seconds, 3),
                  "title_purity_subtopics": purity(service, [
                      g["projects"] for g in groups if g["kind"] in ("subtopic", "similar")]),
                  "authorities_with_networks": sum(bool(a["networks"])
                                                   for a in result["authorities"]),
                  "authorities_with_amounts": sum(a["amount"] is not None
                                                  for a in result["authorities"]),
                  "titles": [g["title"] for g in groups]},
        "example": groups[0] if groups else None,
    }, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

"""Place recognition: build time and memory, query latency, precision and recall on the cases.

    .venv/bin/python bench/places.py [--repeat 200]

prints one JSON document. Build time is measured in a fresh process after imports (what an
index load pays), memory as the traced allocations the recogniser keeps and its peak while
building, latency over every test query (positive and negative), ``--repeat`` times each.
Precision and recall are counted on tests/place_cases.py: a positive case is recalled when the
expected span, kind and code are found; every place reported on a negative query, and every
reported span that is not the expected one on a positive query, is a false positive.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from place_cases import NEGATIVE, PARTNERS, POSITIVE  # noqa: E402

from search_api.search import _place_data as data  # noqa: E402
from search_api.search.places import KINDS, PlaceRecognizer  # noqa: E402


def _quality(recognizer: PlaceRecognizer) -> dict[str, object]:
    recalled = 0
    extra: list[str] = []
    by_kind: dict[str, list[int]] = {kind: [0, 0] for kind in KINDS}
    for query, span, kind, code in POSITIVE:
        matches = recognizer.find(query)
        good = [m for m in matches if m.text == span and m.kind == kind
                and code in (*m.countries, *m.french_regions)]
        recalled += bool(good)
        extra += [f"{query} → {m.text}" for m in matches if m not in good[:1]]
        by_kind[kind][0] += bool(good)
        by_kind[kind][1] += 1
    negative_hits = sum(len(recognizer.find(q)) for q in NEGATIVE)
    return {
        "positive_cases": len(POSITIVE),
        "negative_queries": len(NEGATIVE),
        "recall": round(recalled / len(POSITIVE), 4),
        "precision_on_negative_queries": round(1 - negative_hits / len(NEGATIVE), 4),
        "places_on_negative_queries": negative_hits,
        "other_places_found_in_positive_queries": extra,
        "recall_by_kind": {k: f"{v[0]}/{v[1]}" for k, v in by_kind.items()},
    }


def _synthetic_partners(count: int) -> list[tuple[str, str | None, str]]:
    """Partner names as the default corpus makes them (ingest.synthetic.names), spread like it."""
    import random

    from ingest.synthetic.names import PlaceBank, PlaceNamer

    bank = PlaceBank.load()
    namer = PlaceNamer(bank, random.Random(7))
    weights = {iso2: profile.weight for iso2, profile in bank.countries.items()}
    isos = random.Random(8).choices(list(weights), list(weights.values()), k=count)
    return [(namer.authority(iso2)[0], iso2, "partner") for iso2 in isos]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()

    import pycountry  # noqa: F401 - imports are not what an index load pays

    import graph.reference_tables  # noqa: F401

    builds = []
    for _ in range(3):
        gc.collect()
        start = time.perf_counter()
        PlaceRecognizer(PARTNERS)
        builds.append(time.perf_counter() - start)
    gc.collect()
    tracemalloc.start()
    recognizer = PlaceRecognizer(PARTNERS)
    gc.collect()
    kept, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    partners = _synthetic_partners(10_000)
    gc.collect()
    start = time.perf_counter()
    PlaceRecognizer(partners)
    big_build = time.perf_counter() - start

    queries = [q for q, *_ in POSITIVE] + NEGATIVE
    timings = []
    for query in queries:
        start = time.perf_counter()
        for _ in range(args.repeat):
            recognizer.find(query)
        timings.append((time.perf_counter() - start) / args.repeat * 1e6)
    timings.sort()
    print(json.dumps({
        "build_seconds": {
            "min": round(min(builds), 3), "median": round(statistics.median(builds), 3),
            "with_10000_synthetic_partners": round(big_build, 3),
        },
        "memory_mb": {"kept": round(kept / 1e6, 1), "peak_while_building": round(peak / 1e6, 1)},
        "find_microseconds": {
            "p50": round(timings[len(timings) // 2], 1),
            "p95": round(timings[int(len(timings) * 0.95)], 1),
            "max": round(timings[-1], 1),
        },
        "counts": {
            "keys": recognizer.key_count,
            "cities": data.city_count(),
            "world_regions": len(data.world_regions()),
            "partners_given": recognizer.partner_count,
        },
        "quality": _quality(recognizer),
    }, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()

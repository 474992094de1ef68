"""Render time of each kind of page (issue 11, §6): prints one JSON document.

Usage::

    .venv/bin/python bench/pages.py /work/cache/default [--requests 20] [--cold 5]

The app runs in-process over the data dir given (FastAPI's TestClient, the app's startup as
``cooplink serve`` does it, search index warmed; one on-disk SPARQL worker, as the tests use).
Each kind's URLs are its **largest** cases, found by SPARQL: the French authority, foreign
partner, theme, région, département, country with the most projects, the project with the most
participants; plus the ontology, the raw data of the largest country, ``/etat``, and
``/pays/{iso2}`` and ``/reseau?country={iso2}`` of the five largest countries (a URL that
answers 404 is skipped and listed under ``skipped``).

- ``cold``: the first request of each of the ``--cold`` largest entities of the kind (a profile
  is kept once read, per generation: the first request is what a visitor waits for);
- ``warm``: ``--requests`` requests of the largest one after its first (the next page of a
  list, another visitor).

Before measuring, one page of each kind of a smaller entity is requested (``warmup_ms``): it
builds what the server computes once per generation (the « collectivités proches » matrices).
Times are wall-clock milliseconds of the whole request; ``cpu_ms`` is the process CPU time of
the cold requests (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from search_api.app import create_app  # noqa: E402
from search_api.knowledge_base import KnowledgeBase  # noqa: E402
from search_api.settings import Settings  # noqa: E402

PREFIX = "PREFIX cl: <https://w3id.org/cooplink/def#>\n"
#: The entities of each kind, largest first (``?x``, by number of projects ``?n``).
LARGEST = {
    "authority": "?p a cl:Projet ; cl:collectiviteFrancaise ?x . FILTER NOT EXISTS "
                 "{ ?x a cl:Region } FILTER NOT EXISTS { ?x a cl:Departement }",
    "partner": "?p a cl:Projet ; cl:partenaireEtranger ?x .",
    "theme": "?p a cl:Projet ; cl:theme ?x .",
    "region": "?x a cl:Region . ?a cl:region? ?x . ?p cl:collectiviteFrancaise ?a ; a cl:Projet .",
    "departement": "?x a cl:Departement . ?a cl:departement? ?x . "
                   "?p cl:collectiviteFrancaise ?a ; a cl:Projet .",
    "country": "?p a cl:Projet ; cl:pays ?x .",
    "project": "?x a cl:Projet ; cl:participation ?p .",
}
HTML = {"accept": "text/html"}


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def largest(kb: KnowledgeBase, pattern: str, n: int) -> list[str]:
    rows = kb.query(f"{PREFIX}SELECT ?x (COUNT(DISTINCT ?p) AS ?n) WHERE {{ {pattern} }} "
                    f"GROUP BY ?x ORDER BY DESC(?n) ?x LIMIT {n}").rows()
    return [str(r["x"]) for r in rows]


def timed(client: TestClient, url: str) -> tuple[int, float, float]:
    """Status, wall milliseconds and CPU milliseconds of one request."""
    started, used = time.perf_counter(), cpu()
    response = client.get(url, headers=HTML)
    return (response.status_code, (time.perf_counter() - started) * 1000,
            (cpu() - used) * 1000)


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {"p50": round(float(np.percentile(values, 50)), 1),
            "p95": round(float(np.percentile(values, 95)), 1),
            "max": round(max(values), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--requests", type=int, default=20, help="warm requests per kind")
    parser.add_argument("--cold", type=int, default=5, help="largest entities per kind")
    args = parser.parse_args()
    kb = KnowledgeBase(Settings(data_dir=args.data_dir, search_background_upgrade=False,
                                sparql_in_memory=False, sparql_workers=1,
                                sparql_spare_workers=0))
    base = kb.settings.base_uri.rstrip("/")
    out: dict[str, Any] = {"data_dir": str(args.data_dir), "projects": kb.health()["projects"],
                           "requests": args.requests, "cold": args.cold, "kinds": {},
                           "skipped": []}
    with TestClient(create_app(kb, warm_pages=True)) as client:
        # as `cooplink serve`: the model, the indexes, the dashboard and the briefs of the ten
        # largest countries are computed in the background at start; wait for them
        started = time.perf_counter()
        while any(t.name == "cooplink-warm" for t in threading.enumerate()):
            time.sleep(0.2)
        out["startup_warm_s"] = round(time.perf_counter() - started, 1)
        urls: dict[str, list[str]] = {}
        spare: list[str] = []
        for kind, pattern in LARGEST.items():
            found = largest(kb, pattern, args.cold + 1)
            urls[kind] = [uri.removeprefix(base) for uri in found[:args.cold]]
            spare += [uri.removeprefix(base) for uri in found[args.cold:]]
        countries = [u.rsplit("/", 1)[-1] for u in urls["country"]]
        urls["ontology"] = ["/ontology"]
        urls["raw"] = [f"{urls['country'][0]}?view=raw"]
        urls["etat"] = ["/etat"]
        urls["pays"] = [f"/pays/{iso2}" for iso2 in countries[:5]]
        urls["reseau"] = [f"/reseau?country={iso2}" for iso2 in countries[:5]]
        # countries the start-up does not prepare (11th to 15th by projects): a first visit
        etat = client.get("/api/etat").json()
        ranked = [row["key"] for row in etat["figures"]["projects_by_country"]["rows"]]
        urls["pays_not_prepared"] = [f"/pays/{iso2}" for iso2 in ranked[10:15]]
        started = time.perf_counter()
        for url in spare:
            timed(client, url)
        out["warmup_ms"] = round((time.perf_counter() - started) * 1000, 1)
        for kind, chosen in urls.items():
            cold, cold_cpu, shown = [], [], []
            for url in chosen:
                status, wall, used = timed(client, url)
                if status == 404:
                    out["skipped"].append({"url": url, "status": status})
                    continue
                if status != 200:
                    raise SystemExit(f"{url}: HTTP {status}")
                cold.append(wall)
                cold_cpu.append(used)
                shown.append(url)
            if not shown:
                continue
            warm = [timed(client, shown[0])[1] for _ in range(args.requests)]
            out["kinds"][kind] = {"urls": shown, "cold_ms": summary(cold),
                                  "cold_cpu_ms": summary(cold_cpu), "warm_ms": summary(warm)}
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

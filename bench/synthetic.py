"""Benchmark the graph part of the default-dataset build and check the corpus's plausibility.

Times what ``cooplink build`` does before the search index (reference graphs, generation of
the synthetic corpus, resolution and mapping, writing to a fresh store), then counts the
violations of the plausibility rules of ``ingest.synthetic.plausibility`` on the generated corpus.
Prints JSON.

Usage: .venv/bin/python bench/synthetic.py [--projects N] [--seed S] [--no-store]
Run by hand; numbers go to the closing notes and docs/synthetic.md, never into tests.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from graph.progress import NullProgress
from graph.store import OxigraphStore
from ingest.synthetic.default_dataset import synthetic_batch
from ingest.synthetic.generator import generate
from search_api.knowledge_base import KnowledgeBase
from search_api.settings import Settings
from search_api.write_path import WritePath


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=13_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-store", action="store_true", help="skip the store writes")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="cooplink-bench-"))
    kb = KnowledgeBase(Settings(data_dir=data_dir, projects=args.projects, seed=args.seed))
    timings: dict[str, float] = {}
    started = time.perf_counter()
    reference = kb.reference
    timings["reference_seconds"] = time.perf_counter() - started
    store = None if args.no_store else OxigraphStore(data_dir / "store")
    mark = time.perf_counter()
    if store is not None:
        WritePath(kb, NullProgress())._base_graphs(store)
    timings["base_graphs_seconds"] = time.perf_counter() - mark
    mark = time.perf_counter()
    corpus = generate(reference, n_projects=args.projects, seed=args.seed)
    timings["generate_seconds"] = time.perf_counter() - mark
    mark = time.perf_counter()
    batch = synthetic_batch(corpus, kb.resolver, kb.minter, seed=args.seed)
    timings["map_seconds"] = time.perf_counter() - mark
    mark = time.perf_counter()
    if store is not None:
        store.add_quads(batch.quads)
        store.add_quads(batch.provenance)
        store.flush()
    timings["write_seconds"] = time.perf_counter() - mark
    timings["graph_part_seconds"] = time.perf_counter() - started
    result: dict[str, object] = {"projects": len(corpus.projects), "quads": len(batch.quads),
                                 **{k: round(v, 2) for k, v in timings.items()}}
    try:
        from ingest.synthetic.audit import violations
    except ImportError:  # an older generator, measured before the rules existed
        pass
    else:
        result["violations"] = violations(corpus, reference).counts()
    print(json.dumps(result, indent=2, ensure_ascii=False))
    del store
    shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()

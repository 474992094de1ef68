"""Benchmark the default-dataset build: prints JSON (time, triples, store size, peak memory).

Usage: .venv/bin/python bench/build.py [--projects N] [--seed S] [--data-dir DIR]
Run by hand; numbers go to the closing notes and docs/store.md, never into tests.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

from search_api.knowledge_base import KnowledgeBase
from search_api.settings import Settings


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=13_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="cooplink-bench-"))
    kb = KnowledgeBase(Settings(data_dir=data_dir, projects=args.projects, seed=args.seed))
    started = time.perf_counter()
    manifest = kb.build()
    seconds = time.perf_counter() - started
    gen = kb.datadir.require_current()
    result = {
        "projects": manifest["projects"],
        "triples": manifest["triples"],
        "build_seconds": round(seconds, 2),
        "triples_per_second": round(manifest["triples"] / seconds),
        "store_bytes": dir_size(gen.store_path),
        "store_mb": round(dir_size(gen.store_path) / 2**20, 1),
        # ru_maxrss is in KiB on Linux
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(result, indent=2))
    if args.data_dir is None:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()

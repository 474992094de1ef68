"""Issue 10, point 4 measurements (the write path), printed as JSON: an ingest of the sample
spreadsheet into an empty data dir (generations created, seconds, with the configured search
model), and an ingest of a big CSV into a served data dir (peak memory, hashing encoder).

    .venv/bin/python bench/write_path.py                     # this checkout
    .venv/bin/python bench/write_path.py --tree /tmp/old     # an older tree, measured the same way

Each case runs ``cooplink ingest`` in a child process whose ``PYTHONPATH`` starts with
``--tree``; peak memory is the child's ``ru_maxrss``.  A benchmark, not a test: the numbers
depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "daect" / "sample.csv"

_INGEST = r"""
import json, resource, sys, time
from pathlib import Path
from search_api.knowledge_base import KnowledgeBase
from search_api.settings import Settings
data_dir, target = sys.argv[1:3]
kb = KnowledgeBase(Settings(data_dir=Path(data_dir)))
started = time.perf_counter()
outcome = kb.ingest([Path(target)])
print(json.dumps({"landed": outcome.landed, "exit": outcome.exit_code,
                  "seconds": round(time.perf_counter() - started, 2),
                  "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def _ingest(tree: Path, data_dir: Path, target: Path, env: dict[str, str]) -> dict[str, Any]:
    # cwd too: ``python -c`` puts the current folder first on sys.path
    proc = subprocess.run([sys.executable, "-c", _INGEST, str(data_dir), str(target)], cwd=tree,
                          env=dict(env, PYTHONPATH=str(tree)), capture_output=True, text=True)
    if proc.returncode:
        return {"error": proc.stderr[-2000:]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _generations_made(data_dir: Path, ingest: Any) -> int:
    """Generation folders created during ``ingest()``: the data dir's ``generations/`` is
    watched by polling, since a pruned generation leaves no trace afterwards."""
    seen: set[str] = set()
    gens = data_dir / "generations"
    proc = ingest()
    while proc.poll() is None:
        if gens.exists():
            seen.update(p.name for p in gens.iterdir())
        time.sleep(0.02)
    if gens.exists():
        seen.update(p.name for p in gens.iterdir())
    return len(seen)


def case_empty_dir(tree: Path, work: Path) -> dict[str, Any]:
    data_dir = work / "vide"
    result = _ingest(tree, data_dir, SAMPLE, dict(os.environ))
    # the same ingest again into a new empty dir, counting the generation folders it makes
    watched = work / "vide-compte"
    env = dict(os.environ, PYTHONPATH=str(tree))

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-c", _INGEST, str(watched), str(SAMPLE)],
                                cwd=tree, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    result["generations_created"] = _generations_made(watched, start)
    return result


def big_csv(path: Path, rows: int) -> None:
    lines = list(csv.reader(io.StringIO(SAMPLE.read_text("utf-8")), delimiter=";"))
    header, body = lines[0], lines[1:]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=";", lineterminator="\n")
        writer.writerow(header)
        for n in range(rows):
            row = list(body[n % len(body)])
            row[0] = f"BIG-{n}"
            writer.writerow(row)


def case_big_csv(tree: Path, work: Path, rows: int) -> dict[str, Any]:
    env = dict(os.environ, COOPLINK_SEARCH_ENCODER="hashing")
    data_dir = work / "gros"
    first = _ingest(tree, data_dir, SAMPLE, env)  # a served data dir: reference data + sample
    path = work / "gros.csv"
    big_csv(path, rows)
    result = _ingest(tree, data_dir, path, env)
    result.update(rows=rows, megabytes=round(path.stat().st_size / 2**20, 1),
                  first_peak_mb=first.get("peak_mb"))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tree", type=Path, default=ROOT)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--skip-empty", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cooplink-write-path-") as tmp:
        work = Path(tmp)
        out: dict[str, Any] = {"tree": str(args.tree)}
        if not args.skip_empty:
            out["empty_dir"] = case_empty_dir(args.tree, work)
        out["big_csv"] = case_big_csv(args.tree, work, args.rows)
        out["bench_peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Issue 8, point 6 measurements (ingest faults), printed as JSON: a corrupt XLSX beside a good
CSV, a zip bomb, validating a 200 MB CSV (peak memory), and a full disk during an ingest.

    .venv/bin/python bench/ingest_faults.py > bench-ingest-faults.json
    .venv/bin/python bench/ingest_faults.py --tree /tmp/old-tree      # before/after numbers

Every case runs ``cooplink`` (or the KnowledgeBase) in a child process whose ``PYTHONPATH``
starts with ``--tree`` (default: this checkout), so an older tree is measured the same way.
Peak memory is the child's ``ru_maxrss``; ``growth_mb`` is the peak during the measured step
minus the peak before it (reference data and shapes loaded).  A benchmark, not a test: the
numbers depend on the machine and on what else runs on it.
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
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "daect" / "sample.csv"
SAMPLE_XLSX = ROOT / "tests" / "data" / "daect" / "sample.xlsx"

_MEASURE = r"""
import json, resource, sys, time
from pathlib import Path
from search_api.knowledge_base import KnowledgeBase
from search_api.settings import Settings
data_dir, warm, target = sys.argv[1:4]
kb = KnowledgeBase(Settings(data_dir=Path(data_dir)))
kb.prepare([Path(warm)])
peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
before = peak()
started = time.perf_counter()
try:
    outcome = kb.prepare([Path(target)])
    result = {"landed": outcome.landed, "unreadable": outcome.unreadable,
              "read": sum(r.records_read for r in outcome.reports)}
except BaseException as exc:
    result = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
result.update(seconds=round(time.perf_counter() - started, 2), peak_before_mb=round(before),
              peak_mb=round(peak()), growth_mb=round(peak() - before))
print(json.dumps(result, ensure_ascii=False))
"""

_FULL_DISK = r"""
import resource, signal, sys
from search_api.cli import main
# RLIMIT_FSIZE: any write past the limit fails with EFBIG, as a full disk fails with ENOSPC.
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = int(sys.argv.pop(1))
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
sys.argv[0] = "cooplink"
main()
"""


def _env(tree: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(tree), COOPLINK_SEARCH_ENCODER="hashing")


#: Address-space cap of a measured child (``--max-memory-gb``): the old reader took more than
#: 16 GB on a 1 GB zip bomb before it was stopped; a MemoryError is a result, a swapping machine
#: is not.
MAX_MEMORY = [6 << 30]


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MAX_MEMORY[0], MAX_MEMORY[0]))


def _run(tree: Path, *args: str, timeout: float = 1800,
         capped: bool = False) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run([sys.executable, *args], env=_env(tree), capture_output=True,
                              text=True, timeout=timeout, cwd=tree,
                              preexec_fn=_cap_memory if capped else None)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, -1, "", f"timeout after {timeout} s")


def _sample_rows() -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(SAMPLE.read_text("utf-8")), delimiter=";"))
    return rows[0], rows[1:]


def big_csv(path: Path, megabytes: int, description_chars: int) -> int:
    """A DAECT CSV of about ``megabytes`` MB: the sample rows, unique ids, long descriptions."""
    header, rows = _sample_rows()
    words = "La commune accompagne ses partenaires dans la gestion de l'eau potable. "
    description = (words * (description_chars // len(words) + 1))[:description_chars]
    n = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(header)
        while fh.tell() < megabytes * 1_000_000:
            row = list(rows[n % len(rows)])
            row[0], row[2] = f"BIG-{n}", description
            writer.writerow(row)
            n += 1
    return n


def zip_bomb(path: Path, unpacked: int) -> None:
    """A valid XLSX skeleton whose sheet holds one cell of ``unpacked`` bytes of « A »."""
    with zipfile.ZipFile(SAMPLE_XLSX) as src, zipfile.ZipFile(
        path, "w", zipfile.ZIP_DEFLATED, compresslevel=9
    ) as out:
        for info in src.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                out.writestr(info.filename, src.read(info.filename))
        with out.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas'
                        b'.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
                        b'<c r="A1" t="inlineStr"><is><t>Intitul\xc3\xa9 du projet</t></is></c>'
                        b'</row><row r="2"><c r="A2" t="inlineStr"><is><t>')
            block = b"A" * (1 << 20)
            for _ in range(unpacked >> 20):
                sheet.write(block)
            sheet.write(b"</t></is></c></row></sheetData></worksheet>")


def corrupt_xlsx(path: Path) -> None:
    """The sample workbook with bytes flipped inside the sheet's deflate stream."""
    data = bytearray(SAMPLE_XLSX.read_bytes())
    with zipfile.ZipFile(SAMPLE_XLSX) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for i in range(start + 10, start + min(info.compress_size, 200) - 10):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


def case_corrupt(tree: Path, work: Path) -> dict[str, Any]:
    bad = work / "abime.xlsx"
    corrupt_xlsx(bad)
    data_dir = work / "var-corrupt"
    proc = _run(tree, "-m", "search_api.cli", "ingest", str(bad), str(SAMPLE),
                "--data-dir", str(data_dir))
    reports = sorted((data_dir / "reports").glob("*.json")) if data_dir.exists() else []
    landed = json.loads(reports[-1].read_text("utf-8"))["landed"] if reports else None
    return {"exit_code": proc.returncode, "traceback": "Traceback" in proc.stderr,
            "report_written": bool(reports), "good_csv_landed": landed,
            "message": [line for line in proc.stderr.splitlines() if "abime.xlsx" in line][:2]}


def _measure(tree: Path, work: Path, target: Path) -> dict[str, Any]:
    proc = _run(tree, "-c", _MEASURE, str(work / "var-measure"), str(SAMPLE), str(target),
                capped=True)
    if proc.returncode != 0:
        return {"exit_code": proc.returncode, "stderr": proc.stderr[-400:]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def case_bomb(tree: Path, work: Path, unpacked_mb: int) -> dict[str, Any]:
    bomb = work / "bombe.xlsx"
    zip_bomb(bomb, unpacked_mb << 20)
    result = _measure(tree, work, bomb)
    result.update(file_kb=round(bomb.stat().st_size / 1024), unpacked_mb=unpacked_mb)
    return result


def case_big_csv(tree: Path, work: Path, megabytes: int, description: int) -> dict[str, Any]:
    path = work / "gros.csv"
    rows = big_csv(path, megabytes, description)
    result = _measure(tree, work, path)
    result.update(file_mb=round(path.stat().st_size / 1e6), rows=rows)
    return result


def case_full_disk(tree: Path, work: Path) -> dict[str, Any]:
    data_dir = work / "var-full"
    first = _run(tree, "-m", "search_api.cli", "ingest", str(SAMPLE), "--data-dir", str(data_dir))
    served = (data_dir / "CURRENT").read_text("utf-8") if first.returncode == 0 else None
    other = work / "autre.csv"
    header, rows = _sample_rows()
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";").writerows([header, *rows[:3]])
    other.write_text(buffer.getvalue(), "utf-8")
    proc = _run(tree, "-c", _FULL_DISK, str(2 << 20), "ingest", str(other),
                "--data-dir", str(data_dir))
    after = (data_dir / "CURRENT").read_text("utf-8") if (data_dir / "CURRENT").exists() else None
    return {"exit_code": proc.returncode, "traceback": "Traceback" in proc.stderr,
            "previous_generation_still_served": served is not None and served == after,
            "message": proc.stderr.strip().splitlines()[-3:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT)
    parser.add_argument("--csv-mb", type=int, default=200)
    parser.add_argument("--description-chars", type=int, default=19_000)
    parser.add_argument("--bomb-mb", type=int, default=1024)
    parser.add_argument("--only", nargs="*", default=["corrupt", "bomb", "csv", "disk"])
    parser.add_argument("--max-memory-gb", type=float, default=6.0)
    args = parser.parse_args()
    MAX_MEMORY[0] = int(args.max_memory_gb * (1 << 30))
    tree = args.tree.resolve()
    out: dict[str, Any] = {"tree": str(tree)}
    with tempfile.TemporaryDirectory(prefix="cooplink-faults-") as tmp:
        work = Path(tmp)
        cases = {
            "corrupt": lambda: case_corrupt(tree, work),
            "bomb": lambda: case_bomb(tree, work, args.bomb_mb),
            "csv": lambda: case_big_csv(tree, work, args.csv_mb, args.description_chars),
            "disk": lambda: case_full_disk(tree, work),
        }
        for name in args.only:
            started = time.perf_counter()
            out[name] = cases[name]()
            out[name]["wall_seconds"] = round(time.perf_counter() - started, 1)
            print(f"{name}: {out[name]}", file=sys.stderr)
    json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

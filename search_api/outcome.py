"""What an ingest tells its caller: :class:`IngestOutcome`, and the JSON report it writes."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from graph.errors import os_cause
from ingest.pipeline import IngestReport


@dataclass
class IngestOutcome:
    """Result of ``ingest``: one report per file, plus files that could not be read at all."""

    reports: list[IngestReport] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    report_path: Path | None = None
    generation: str | None = None
    #: Why the good records could not be written (data dir read-only, disk full): exit 3.
    write_error: str | None = None
    #: Set when the report could not go to the data dir and went elsewhere (or nowhere).
    report_note: str | None = None

    @property
    def landed(self) -> int:
        """Records written to the served graph (none when writing failed)."""
        if self.write_error:
            return 0
        return sum(r.records_landed for r in self.reports)

    @property
    def exit_code(self) -> int:
        """3 when the data dir could not be written (nothing was published), else 2 when an
        input could not be read at all (scripts must notice, even if the other files landed),
        else 0 when at least one record landed and 1 when none did."""
        if self.write_error:
            return 3
        if self.unreadable:
            return 2
        return 0 if self.landed > 0 else 1

    def as_dict(self) -> dict[str, object]:
        return {
            "landed": self.landed,
            "generation": self.generation,
            "files": [r.as_dict() for r in self.reports],
            "unreadable": [{"file": f, "reason": r} for f, r in self.unreadable],
            "write_error": self.write_error,
        }


def write_report(outcome: IngestOutcome, reports_dir: Path) -> Path | None:
    """Write ``outcome`` as JSON into ``reports_dir``; under the system's temporary folder if
    the data dir refuses it (``report_note`` says so), or nowhere; its path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    text = json.dumps(outcome.as_dict(), ensure_ascii=False, indent=2)
    try:
        reports_dir.mkdir(parents=True, exist_ok=True)
        path = reports_dir / f"ingest-{stamp}.json"
        path.write_text(text, "utf-8")
        return path
    except OSError as exc:
        cause = os_cause(exc)
    fallback = Path(tempfile.gettempdir()) / f"cooplink-ingest-{stamp}.json"
    try:
        fallback.write_text(text, "utf-8")
    except OSError:
        outcome.report_note = (
            f"rapport JSON non écrit dans {reports_dir} ({cause}) ni ailleurs : "
            "« cooplink validate --json » le donne sur la sortie standard"
        )
        return None
    outcome.report_note = (
        f"rapport JSON non écrit dans {reports_dir} ({cause}) : écrit à la "
        "place dans le dossier temporaire du système"
    )
    return fallback

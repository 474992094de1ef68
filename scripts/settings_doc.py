"""Regenerate the table of docs/settings.md from ``search_api.settings`` (keeps the prose
around it).

    .venv/bin/python scripts/settings_doc.py
"""

from __future__ import annotations

from pathlib import Path

from search_api.settings import settings_markdown

DOC = Path(__file__).resolve().parent.parent / "docs" / "settings.md"


def main() -> None:
    lines = DOC.read_text("utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("| setting"))
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    DOC.write_text("".join(lines[:start]) + settings_markdown() + "".join(lines[end:]), "utf-8")


if __name__ == "__main__":
    main()

"""Regenerate ``sample.xlsx`` from ``sample.csv`` (same rows, typed cells as Excel keeps them).

Run from the repository root: ``.venv/bin/python tests/data/daect/make_sample_xlsx.py``.
Years and amounts become numbers, everything else stays text, the header stays on row 1.
"""

from __future__ import annotations

import csv
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import openpyxl

from ingest._parsing import parse_amount

HERE = Path(__file__).parent
YEAR_COLUMNS = {"Année de début", "Année de fin"}
AMOUNT_COLUMNS = {
    "Coût total de l'opération",
    "Cofinancement du MAEDI",
    "Part financière des collectivités",
}


def typed(column: str, value: str) -> object:
    """The cell value as a spreadsheet user would have typed it."""
    if not value:
        return None
    if column in YEAR_COLUMNS:
        return int(value)
    if column in AMOUNT_COLUMNS:
        amount = parse_amount(value)
        assert isinstance(amount, Decimal)
        return int(amount) if amount == amount.to_integral_value() else float(amount)
    return value


def main() -> None:
    with (HERE / "sample.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    header, data = rows[0], rows[1:]
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Projets"
    sheet.append(header)
    for row in data:
        sheet.append([typed(column, value) for column, value in zip(header, row, strict=True)])
    # Fixed metadata so that regenerating gives the same document properties.
    workbook.properties.creator = "cooplink tests"
    workbook.properties.created = workbook.properties.modified = datetime(2026, 1, 1)
    workbook.save(HERE / "sample.xlsx")


if __name__ == "__main__":
    main()

"""TikTok Shop bulk tracking upload ("Shipped by Seller" template): XLSX plus a CSV twin.

Layout (``tiktok.md`` section 2): sheet ``Shipping info``; row 1 a note merged over A1:D1; row 2 the header
``Order ID | Tracking ID | Shipping Provider Name | Auto Combine Group ID``; one row per order from row 3.
Every cell is written as text (order ids are 18 digits and must never become numbers).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font

from fulfilment.domain.shipments import TrackingRow

SHEET = "Shipping info"
NOTE = "Review the examples before you fill out this sheet."
HEADER = ("Order ID", "Tracking ID", "Shipping Provider Name", "Auto Combine Group ID")
FIRST_DATA_ROW = 3
TEXT = "@"
_WIDTHS = {"A": 24, "B": 30, "C": 24, "D": 24}


def _row_values(row: TrackingRow) -> tuple[str, str, str, str]:
    """The four cells of one upload row, as text."""
    return (str(row.order_id), str(row.tracking_number), str(row.provider_name), str(row.combine_group_id))


def _tmp(path: Path) -> Path:
    """Sibling temporary path used to write `path` atomically."""
    return path.with_name(f".{path.name}.{os.getpid()}.part")


def _write_xlsx(rows: Sequence[TrackingRow], path: Path) -> None:
    """The XLSX template with every cell typed as text."""
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws["A1"] = NOTE
    ws["A1"].alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells("A1:D1")
    for col, name in enumerate(HEADER, start=1):
        cell = ws.cell(row=2, column=col, value=name)
        cell.font = Font(bold=True)
        cell.number_format = TEXT
    for r, row in enumerate(rows, start=FIRST_DATA_ROW):
        for col, value in enumerate(_row_values(row), start=1):
            cell = ws.cell(row=r, column=col, value=value)
            cell.number_format = TEXT
    for letter, width in _WIDTHS.items():
        ws.column_dimensions[letter].width = width
    tmp = _tmp(path)
    wb.save(tmp)
    tmp.replace(path)


def _write_csv(rows: Sequence[TrackingRow], path: Path) -> None:
    """The CSV twin: header row then one row per order, UTF-8 without BOM, LF line ends."""
    tmp = _tmp(path)
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(_row_values(row) for row in rows)
    tmp.replace(path)


def write_tracking_upload(rows: Sequence[TrackingRow], xlsx_path: Path, csv_path: Path) -> None:
    """Write the bulk tracking upload as XLSX (TikTok template) and CSV, one row per order, in order given.

    Each file is written to a temporary sibling first and renamed into place.
    """
    xlsx_path.parent.mkdir(parents=True, exist_ok=True)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    _write_xlsx(rows, xlsx_path)
    _write_csv(rows, csv_path)


def _cell_text(value: object, what: str) -> str:
    """A cell as text; integers (an id re-typed by a spreadsheet) are accepted, floats are refused."""
    if value is None:
        return ""
    if isinstance(value, (bool, float)):
        raise ValueError(f"{what}: {value!r} is not text (an id stored as a number loses digits)")
    return str(value).strip()


def read_tracking_upload(xlsx_path: Path) -> list[TrackingRow]:
    """Rows of a tracking upload XLSX written by :func:`write_tracking_upload` (or edited in a spreadsheet).

    Checks the sheet name and the header in row 2; skips empty rows; an empty group id reads as ``N/A``.
    Raises ValueError when the layout is not the template's.
    """
    wb = load_workbook(xlsx_path)
    try:
        if SHEET not in wb.sheetnames:
            raise ValueError(f"{xlsx_path}: no sheet {SHEET!r} (found {wb.sheetnames})")
        ws = wb[SHEET]
        header = tuple(_cell_text(c.value, "header") for c in ws[2][: len(HEADER)])
        if header != HEADER:
            raise ValueError(f"{xlsx_path}: row 2 is {header!r}, expected {HEADER!r}")
        out: list[TrackingRow] = []
        for r, values in enumerate(
            ws.iter_rows(min_row=FIRST_DATA_ROW, max_col=len(HEADER), values_only=True), start=FIRST_DATA_ROW
        ):
            cells = [_cell_text(v, f"row {r}") for v in values]
            cells += [""] * (len(HEADER) - len(cells))
            if not any(cells):
                continue
            order_id, tracking, provider, group = cells
            out.append(TrackingRow(order_id, tracking, provider, group or "N/A"))
        return out
    finally:
        wb.close()

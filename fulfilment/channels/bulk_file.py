"""TikTok Shop bulk tracking upload ("Shipped by Seller" template): XLSX plus a CSV twin.

Layout (``tiktok.md`` section 2): sheet ``Shipping info``; row 1 a note merged over A1:D1; row 2 the header
``Order ID | Tracking ID | Shipping Provider Name | Auto Combine Group ID``; one row per order from row 3.
Every cell is written as text (order ids are 18 digits and must never become numbers).
"""

from __future__ import annotations

import csv
import os
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from openpyxl import load_workbook

from fulfilment.domain.shipments import TrackingRow

SHEET = "Shipping info"
NOTE = "Review the examples before you fill out this sheet."
HEADER = ("Order ID", "Tracking ID", "Shipping Provider Name", "Auto Combine Group ID")
FIRST_DATA_ROW = 3
_WIDTHS = {"A": 24, "B": 30, "C": 24, "D": 24}
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def _row_values(row: TrackingRow) -> tuple[str, str, str, str]:
    """The four cells of one upload row, as text."""
    return (str(row.order_id), str(row.tracking_number), str(row.provider_name), str(row.combine_group_id))


def _tmp(path: Path) -> Path:
    """Sibling temporary path used to write `path` atomically."""
    return path.with_name(f".{path.name}.{os.getpid()}.part")


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_OFFICE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_PARTS = {
    "[Content_Types].xml": f'<Types xmlns="{_PKG}/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_OFFICE}.sheet.main+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{_OFFICE}.styles+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_OFFICE}.worksheet+xml"/></Types>',
    "_rels/.rels": f'<Relationships xmlns="{_PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
    f'<sheet name="{SHEET}" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{_PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/></Relationships>',
    # cell styles: 0 default, 1 the note (wrapped, top), 2 header (bold, text), 3 data (text)
    "xl/styles.xml": f'<styleSheet xmlns="{_MAIN}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b val="1"/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '</fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
    '<alignment vertical="top" wrapText="1"/></xf>'
    '<xf numFmtId="49" fontId="1" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyFont="1"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>',
}
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_COLUMNS = "ABCD"


def _row_xml(r: int, values: Sequence[str], style: int) -> str:
    """One sheet row of inline text cells."""
    cells = []
    for column, value in zip(_COLUMNS, values, strict=False):
        if _ILLEGAL.search(value):
            raise ValueError(f"row {r}: {value!r} has characters a spreadsheet cannot hold")
        text = escape(value)
        cells.append(f'<c r="{column}{r}" s="{style}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>')
    return f'<row r="{r}">{"".join(cells)}</row>'


def _sheet_xml(rows: Sequence[TrackingRow]) -> str:
    """The worksheet: column widths, the note merged over A1:D1, the header, then one row per order."""
    last = FIRST_DATA_ROW + len(rows) - 1 if rows else 2
    widths = "".join(
        f'<col min="{i}" max="{i}" width="{width}" customWidth="1"/>' for i, width in enumerate(_WIDTHS.values(), 1)
    )
    data = "".join(_row_xml(r, _row_values(row), 3) for r, row in enumerate(rows, start=FIRST_DATA_ROW))
    return (
        f'<worksheet xmlns="{_MAIN}"><dimension ref="A1:D{last}"/><cols>{widths}</cols><sheetData>'
        f"{_row_xml(1, (NOTE,), 1)}{_row_xml(2, HEADER, 2)}{data}</sheetData>"
        '<mergeCells count="1"><mergeCell ref="A1:D1"/></mergeCells></worksheet>'
    )


def _write_xlsx(rows: Sequence[TrackingRow], path: Path) -> None:
    """The XLSX template with every cell typed as text, written as its XML parts (openpyxl builds a cell
    object per value and costs ~100x as much for a batch's rows)."""
    tmp = _tmp(path)
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as book:
        for name, xml in _PARTS.items():
            book.writestr(name, _XML_DECLARATION + xml)
        book.writestr("xl/worksheets/sheet1.xml", _XML_DECLARATION + _sheet_xml(rows))
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

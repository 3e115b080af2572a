"""The fast XLSX row reader gives exactly what openpyxl's read-only mode gives, for usual and unusual sheets."""

from __future__ import annotations

import re
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from fulfilment.ingest.xlsx_rows import open_sheet, sheet_values

SHARED = '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>shared &amp; one</t></si>'
SHARED += "<si><r><t>rich </t></r><r><t>shared</t></r></si></sst>"


def _openpyxl_rows(path: Path, name: str) -> list[tuple[Any, ...]]:
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = book[name] if name in book.sheetnames else book.worksheets[0]
        sheet.reset_dimensions()
        return list(sheet.iter_rows(values_only=True))
    finally:
        book.close()


def _fast_rows(path: Path, name: str) -> list[tuple[Any, ...]]:
    archive, sheet = open_sheet(path, name)
    try:
        return list(sheet_values(sheet))
    finally:
        archive.close()


def _workbook(path: Path) -> Path:
    book = openpyxl.Workbook()
    book.active.title = "Other"
    book.active.append(["not this sheet"])
    sheet = book.create_sheet("OrderSKUList")
    sheet.append(["Order ID", "Amount", None, "Paid", "Note"])
    sheet.append(["577114606862925743", 12.5, None, datetime(2026, 11, 2, 10, 0, 2), "a & b <c>\nline 2"])
    sheet.append([5.771146068629257e17, 3, True, None, "  spaced  "])
    sheet["A6"] = "after a gap"
    sheet["C6"] = "=1+1"
    book.save(path)
    return path


def _hand_written(path: Path, source: Path) -> Path:
    """The same workbook with a sheet in forms openpyxl does not write: shared strings, cells without a
    reference, rich text, errors, cached formula values, character references, CR LF, empty rows."""
    with zipfile.ZipFile(source) as zin:
        members = {name: zin.read(name) for name in zin.namelist()}
    sheet_path = "xl/worksheets/sheet2.xml"
    date_style = re.search(rb'<c r="D2" s="(\d+)"', members[sheet_path])[1].decode()  # type: ignore[index]
    rows = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="s"><v>1</v></c></row>'
        '<row r="3" spans="1:4"><c t="inlineStr"><is><t>no reference</t></is></c><c><v>7</v></c></row>'
        '<row r="4"><c r="A4" t="inlineStr"><is><r><t>rich </t></r><r><rPr><b/></rPr><t>text</t></r></is></c>'
        '<c r="B4" t="b"><v>1</v></c><c r="C4" t="e"><v>#N/A</v></c>'
        '<c r="D4" t="str"><f>A1</f><v>x &amp; y</v></c></row>'
        '<row r="5"/>'
        '<row r="6"><c r="A6" t="inlineStr"><is><t xml:space="preserve"> a&#10;b &lt;c&gt;\r\nd </t></is></c>'
        f'<c r="B6" s="{date_style}"><v>45000.5</v></c><c r="AA6"><v>1.5E3</v></c>'
        '<c r="AB6" t="inlineStr"></c><c r="AC6" t="n"><v></v></c><c r="AD6" t="str"><v>1&#x41;</v></c></row>'
    )
    members[sheet_path] = re.sub(
        rb"<sheetData>.*</sheetData>", f"<sheetData>{rows}</sheetData>".encode(), members[sheet_path], flags=re.S
    )
    members["xl/sharedStrings.xml"] = SHARED.encode()
    members["[Content_Types].xml"] = members["[Content_Types].xml"].replace(
        b"</Types>",
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        b'spreadsheetml.sharedStrings+xml"/></Types>',
    )
    members["xl/_rels/workbook.xml.rels"] = members["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        b'<Relationship Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
        b'Target="sharedStrings.xml" Id="rIdShared"/></Relationships>',
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in members.items():
            zout.writestr(name, data)
    return path


@pytest.mark.parametrize("name", ["OrderSKUList", "orderskulist", "Missing"])
def test_rows_match_openpyxl(tmp_path: Path, name: str) -> None:
    path = _workbook(tmp_path / "book.xlsx")
    expected = _openpyxl_rows(path, "OrderSKUList" if name.casefold() == "orderskulist" else name)
    assert _fast_rows(path, name) == expected
    assert len(expected) > 1 or name == "Missing"


def test_unusual_sheet_matches_openpyxl(tmp_path: Path) -> None:
    path = _hand_written(tmp_path / "hand.xlsx", _workbook(tmp_path / "book.xlsx"))
    expected = _openpyxl_rows(path, "OrderSKUList")
    assert expected[0][0] == "shared & one" and isinstance(expected[5][1], datetime), "the file is as intended"
    assert _fast_rows(path, "OrderSKUList") == expected

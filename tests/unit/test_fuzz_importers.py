"""Property tests of the importers: any input either imports or is refused with a per-row or per-field
message; nothing crashes and nothing half-imports. CI runs a few hundred cases per importer;
`scripts/bench fuzz` runs 10,000 (HYPOTHESIS_PROFILE=bench, FULFIL_FUZZ_EXAMPLES=N)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from fulfilment.domain.orders import NotAnExportError, RowError
from fulfilment.ingest.tables import TABLES, read_table
from fulfilment.ingest.tiktok_export import HEADER, parse_tiktok_export
from fulfilment.rules import load_rules
from fulfilment.yamlfile import ConfigInvalid
from tests.conftest import FIXTURES, ROOT

settings.register_profile("ci", max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
settings.register_profile(
    "bench",
    max_examples=int(os.environ.get("FULFIL_FUZZ_EXAMPLES", "10000")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

PACIFIC = ZoneInfo("America/Los_Angeles")
SAMPLE_ROWS = list(csv.reader(io.StringIO((FIXTURES / "tiktok-export-sample.csv").read_text(encoding="utf-8-sig"))))
GOOD_ROW = dict(zip(SAMPLE_ROWS[0], SAMPLE_ROWS[1], strict=True))

nasty_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
cell_values = {
    "Order ID": st.sampled_from(["577100000000000001", "577100000000000002", "", "abc", "5.771e17", "1\t"]),
    "Quantity": st.sampled_from(["1", "2", "0", "-1", "1.5", "", "two", "999999999999"]),
    "Order Status": st.sampled_from(["To ship", "Cancelled", "Shipped", "", "???"]),
    "State": st.sampled_from(["California", "CA", "ae", "Narnia", "", "New  York"]),
    "Zipcode": st.sampled_from(["90001", "02139-4307", "1234", "ABCDE", "", "90001\t"]),
    "Created Time": st.sampled_from(["09/15/2025 7:44:26 AM", "2025-09-15 07:44:26", "31/31/2025 7:00:00 AM", ""]),
    "Order Amount": st.sampled_from(["39.94", "USD 12", "$5", "", "1,234.5", "free", "NaN"]),
    "Weight(kg)": st.sampled_from(["0.205", "", "-1", "heavy", "1e3"]),
    "Seller SKU": st.sampled_from(["TSHIRT-BLK-M", "MUG-WHT", "", " "]),
}


@st.composite
def export_rows(draw: st.DrawFn) -> list[list[str]]:
    rows = []
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        row = dict(GOOD_ROW)
        for column in draw(st.sets(st.sampled_from(sorted(cell_values)), max_size=4)):
            row[column] = draw(cell_values[column])
        if draw(st.booleans()):
            row[draw(st.sampled_from(HEADER))] = draw(nasty_text)
        rows.append([row[h] for h in HEADER])
    return rows


def check_parse(path: Path, rows: int) -> None:
    """Either the whole file is refused, or every order imported is whole and every bad row is named."""
    try:
        result = parse_tiktok_export(path, PACIFIC)
    except NotAnExportError as exc:
        assert str(path) in str(exc) or path.name in str(exc)
        return
    bad_orders = {e.order_id for e in result.errors}
    for order in result.orders:
        assert order.id and order.id not in bad_orders, "an order with a bad row was half-imported"
        assert order.lines and all(line.quantity > 0 and line.sku for line in order.lines)
        assert order.created_at.tzinfo is not None
    for error in result.errors:
        assert isinstance(error, RowError) and error.line >= 2 and error.reason
    assert len(result.orders) + len(bad_orders) + sum(result.skipped.values()) <= max(rows, 1) + 1


@given(rows=export_rows(), crlf=st.booleans(), bom=st.booleans())
def test_tiktok_csv_imports_or_names_rows(tmp_path_factory, rows: list[list[str]], crlf: bool, bom: bool) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n" if crlf else "\n").writerows([list(HEADER), *rows])
    path = tmp_path_factory.mktemp("fuzz") / "export.csv"
    path.write_bytes(("\ufeff" if bom else "").encode() + buffer.getvalue().encode("utf-8"))
    check_parse(path, len(rows))


@given(rows=export_rows())
@settings(max_examples=max(20, settings().max_examples // 10))
def test_tiktok_xlsx_imports_or_names_rows(tmp_path_factory, rows: list[list[str]]) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "OrderSKUList"
    sheet.append(list(HEADER))
    for row in rows:
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", cell) for cell in row])  # an XLSX cannot hold them
    path = tmp_path_factory.mktemp("fuzz") / "export.xlsx"
    book.save(path)
    check_parse(path, len(rows))


@given(data=st.binary(max_size=400))
def test_random_bytes_are_refused_or_parsed(tmp_path_factory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "garbage.csv"
    path.write_bytes(data)
    check_parse(path, data.count(b"\n") + 1)


table_cells = st.one_of(
    st.sampled_from(["A", "WH-EAST", "12", "0", "-3", "1.5", "", " ", "nan", "inf", "1e400", "ten"]), nasty_text
)


@given(kind=st.sampled_from(sorted(TABLES)), rows=st.lists(st.lists(table_cells, max_size=9), max_size=6))
def test_tables_import_or_name_rows(tmp_path_factory, kind: str, rows: list[list[str]]) -> None:
    header = [c.name for c in TABLES[kind]]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    path = tmp_path_factory.mktemp("fuzz") / f"{kind}.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    good_lines, bad_lines = set(), set()
    for item in read_table(path, TABLES[kind]):
        if isinstance(item, RowError):
            assert item.column in header and item.reason
            bad_lines.add(item.line)
        else:
            line, parsed = item
            assert all(parsed[c.name] is not None for c in TABLES[kind] if c.required)
            good_lines.add(line)
    assert not good_lines & bad_lines, "a row was both imported and rejected"


RULES_TEXT = {name: (ROOT / "rules" / name).read_text() for name in ("carriers.yaml", "warehouses.yaml")}


@given(
    name=st.sampled_from(sorted(RULES_TEXT)),
    cut=st.integers(min_value=0, max_value=4000),
    insert=st.sampled_from(["", ":", "- ", "  x: 1\n", "{", "]", "\t", "up_to: -1", "carrier: zz", "\n- id: x\n"]),
)
def test_rules_load_or_name_file_and_line(tmp_path_factory, name: str, cut: int, insert: str) -> None:
    folder = tmp_path_factory.mktemp("rules")
    for file, text in RULES_TEXT.items():
        if file == name:
            at = min(cut, len(text))
            text = text[:at] + insert + text[at:]
        (folder / file).write_text(text)
    try:
        load_rules(folder)
    except ConfigInvalid as exc:
        assert exc.errors and all(e.file.endswith(".yaml") and e.message for e in exc.errors)

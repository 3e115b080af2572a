"""The TikTok Seller Center export reader and its twin writer, on local files only."""

from __future__ import annotations

import csv
import io
import random
import re
import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from fulfilment.domain.orders import Address, ImportedOrder, NotAnExportError, OrderLine, ParseResult
from fulfilment.ingest.tiktok_export import HEADER, parse_tiktok_export
from fulfilment.ingest.tiktok_writer import write_tiktok_export

PACIFIC = ZoneInfo("America/Los_Angeles")
SAMPLE = Path(__file__).parents[1] / "fixtures" / "tiktok-export-sample.csv"
ID1, ID2 = "577100000000000001", "577100000000000002"


def sample_rows() -> list[dict[str, str]]:
    """The sample's data rows as raw cells (tabs kept), by column name."""
    with SAMPLE.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def write_rows(path: Path, rows: list[dict[str, str]], header: list[str] | None = None) -> Path:
    """A CSV like the export (BOM, LF, minimal quoting) from rows by column name."""
    header = header or list(HEADER)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(name, "") for name in header])
    return path


def line_of(row_index: int) -> int:
    """Physical line of data row `row_index` in a file written by `write_rows` from sample-like rows."""
    return 2 + 5 * row_index  # the Shipping Information cell spans 5 lines


def parse(path: Path) -> ParseResult:
    return parse_tiktok_export(path, PACIFIC)


def by_id(result: ParseResult) -> dict[str, ImportedOrder]:
    return {order.id: order for order in result.orders}


def order_row(order_id: str, sku: str = "TSHIRT-BLK-M", **cells: str) -> dict[str, str]:
    """A sample row for another order, with some cells replaced."""
    row = dict(sample_rows()[0])
    row.update({"Order ID": order_id + "\t", "Seller SKU": sku, **cells})
    return row


# --- the sample --------------------------------------------------------------------------------------------


def test_sample_imports_two_pending_orders_with_their_lines() -> None:
    result = parse(SAMPLE)

    assert result.errors == [] and result.skipped == {}
    assert [order.id for order in result.orders] == [ID1, ID2]
    first, second = result.orders
    assert [(line.sku, line.quantity) for line in first.lines] == [("TSHIRT-BLK-M", 2), ("MUG-WHT", 1)]
    assert [(line.sku, line.quantity) for line in second.lines] == [("TSHIRT-BLK-M", 1)]
    assert {order.status for order in result.orders} == {"pending"}
    assert first.channel == "tiktok" and first.buyer == "jane.doe99"
    assert first.ship_to == Address(
        name="Jane Doe",
        street1="123 Example St",
        street2="Apt 4",
        city="Los Angeles",
        state="CA",
        zip="90001",
        country="US",
        phone="(+1)5555550101",
    )
    assert second.ship_to.state == "NY" and second.ship_to.zip == "11201"
    assert first.amount == Decimal("39.94") and second.amount == 0
    assert first.lines[0].unit_price == Decimal("19.99") and second.lines[0].unit_price == 0
    assert first.lines[0].name == "Example Tee - Soft Cotton, Unisex – Black, M"
    assert first.lines[0].unit_weight_oz == pytest.approx(0.205 * 35.274, abs=0.01)  # per unit, not per row
    assert first.lines[1].unit_weight_oz == pytest.approx(0.35 * 35.274, abs=0.01)
    assert first.source_line == 2 and second.source_line == 12


def test_sample_times_are_shop_local_pacific() -> None:
    first = parse(SAMPLE).orders[0]

    assert first.created_at == datetime(2025, 9, 15, 7, 44, 26, tzinfo=PACIFIC)
    assert first.created_at.utcoffset() == timedelta(hours=-7)  # PDT in September
    assert first.paid_at == datetime(2025, 9, 15, 14, 44, 29, tzinfo=ZoneInfo("UTC"))


def test_times_are_read_in_the_shop_zone_given() -> None:
    eastern = parse_tiktok_export(SAMPLE, ZoneInfo("America/New_York")).orders[0]

    assert eastern.created_at == datetime(2025, 9, 15, 7, 44, 26, tzinfo=ZoneInfo("America/New_York"))
    assert parse(SAMPLE).orders[0].created_at - eastern.created_at == timedelta(hours=3)


def test_sample_extras_keep_only_non_empty_useful_strings() -> None:
    first, second = parse(SAMPLE).orders

    assert first.extra["payment_method"] == "ApplePay"
    assert first.extra["package_id"] == "1154770000000000001"  # trailing tab stripped
    assert first.extra["delivery_option"] == "Standard Shipping"
    assert "payment_method" not in second.extra  # empty for the zero-price giveaway
    assert all(second.extra.values())


def test_crlf_copy_reads_the_same(tmp_path: Path) -> None:
    copy = tmp_path / "crlf.csv"
    copy.write_bytes(SAMPLE.read_bytes().replace(b"\n", b"\r\n"))

    assert parse(copy) == parse(SAMPLE)


def test_copy_without_bom_reads_the_same(tmp_path: Path) -> None:
    data = SAMPLE.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    copy = tmp_path / "nobom.csv"
    copy.write_bytes(data[3:])

    assert parse(copy) == parse(SAMPLE)


# --- XLSX --------------------------------------------------------------------------------------------------


def write_sample_xlsx(path: Path, edit: Callable[[Any], None] | None = None, stale_dimension: bool = False) -> Path:
    """The sample as a Seller Center XLSX: description row, some cells typed as numbers and datetimes.

    `edit` may change the sheet before it is saved (saving again would round the numeric order IDs).
    """
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    sheet = book.create_sheet("OrderSKUList")
    sheet.append(list(HEADER))
    sheet.append(["Platform unique order ID. Each order has one.", "Order status."])
    for row in sample_rows():
        cells: list[object] = [row[name].strip() for name in HEADER]
        cells[HEADER.index("Quantity")] = int(row["Quantity"])
        cells[HEADER.index("Weight(kg)")] = float(row["Weight(kg)"])
        cells[HEADER.index("Order Amount")] = float(row["Order Amount"])
        cells[HEADER.index("Created Time")] = datetime.strptime(row["Created Time"].strip(), "%m/%d/%Y %I:%M:%S %p")
        sheet.append(cells)
        # The order ID as an exact integer cell (openpyxl would write an int this long as 5.771e+17).
        id_cell = sheet.cell(row=sheet.max_row, column=1)
        id_cell.value, id_cell.data_type = row["Order ID"].strip(), "n"
    if edit:
        edit(sheet)
    book.save(path)
    if stale_dimension:
        with zipfile.ZipFile(path) as source:
            parts = {name: source.read(name) for name in source.namelist()}
        for name, data in parts.items():
            if name.startswith("xl/worksheets/"):
                parts[name], count = re.subn(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:A1"/>', data)
                assert count == 1
        with zipfile.ZipFile(path, "w") as target:
            for name, data in parts.items():
                target.writestr(name, data)
    return path


def comparable(order: ImportedOrder) -> ImportedOrder:
    """The order without its source line (sheet rows and CSV lines differ)."""
    order.source_line = None
    return order


def test_xlsx_with_description_row_and_typed_cells_reads_like_the_csv(tmp_path: Path) -> None:
    result = parse(write_sample_xlsx(tmp_path / "export.xlsx"))

    assert result.errors == []
    assert [comparable(o) for o in result.orders] == [comparable(o) for o in parse(SAMPLE).orders]
    assert [order.id for order in result.orders] == [ID1, ID2]  # an integer cell, not 5.771e17


def test_xlsx_order_id_rounded_by_a_spreadsheet_is_a_row_error(tmp_path: Path) -> None:
    def edit(sheet: Any) -> None:
        sheet["A5"] = 577100000000000002  # saved as the float 5.771e+17

    result = parse(write_sample_xlsx(tmp_path / "export.xlsx", edit))

    assert [order.id for order in result.orders] == [ID1]
    assert [(e.line, e.column, e.order_id) for e in result.errors] == [(5, "Order ID", "577100000000000000")]
    assert "as text" in result.errors[0].reason


def test_xlsx_source_lines_are_sheet_rows(tmp_path: Path) -> None:
    first, second = parse(write_sample_xlsx(tmp_path / "export.xlsx")).orders

    assert (first.source_line, second.source_line) == (3, 5)


def test_xlsx_with_stale_dimension_reads_all_rows(tmp_path: Path) -> None:
    result = parse(write_sample_xlsx(tmp_path / "stale.xlsx", stale_dimension=True))

    assert [order.id for order in result.orders] == [ID1, ID2]


def test_xlsx_numeric_zip_gets_its_leading_zero_back(tmp_path: Path) -> None:
    def edit(sheet: Any) -> None:
        column = HEADER.index("Zipcode") + 1
        sheet.cell(row=3, column=column, value=2139)
        sheet.cell(row=5, column=column, value=21394307)

    first, second = parse(write_sample_xlsx(tmp_path / "export.xlsx", edit)).orders

    assert first.ship_to.zip == "02139"
    assert second.ship_to.zip == "02139-4307"


def test_xlsx_round_trip_of_the_sample(tmp_path: Path) -> None:
    original = parse(SAMPLE).orders
    path = tmp_path / "again.xlsx"

    assert write_tiktok_export(path, original, PACIFIC, fmt="xlsx") == 3
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["OrderSKUList"]
    assert book["OrderSKUList"]["A2"].value.startswith("Platform unique order ID.")
    again = parse(path).orders
    assert [comparable(o) for o in again] == [comparable(o) for o in parse(SAMPLE).orders]


# --- layouts and address forms -----------------------------------------------------------------------------


def test_older_header_layout_with_house_number_and_aliases(tmp_path: Path) -> None:
    renames = {
        "Address Line 1": "Detail Address",
        "Address Line 2": "Additional address information",
        "Order Substatus": "Order Sub Status",
        "Cancelation/Return Type": "Cancellation/Return Type",
        "Order ID": " order id ",
        "Weight(kg)": "Weight (kg)",
    }
    header = [
        renames.get(name, name)
        for name in HEADER
        if name not in ("Co-Funded Shipping Fee Discount", "Combined Listing")
    ]
    header.insert(header.index("Detail Address"), "House Name or Number")
    rows = []
    for row in sample_rows():
        renamed = {renames.get(name, name): value for name, value in row.items()}
        rows.append(renamed)
    rows[0]["Detail Address"] = rows[1]["Detail Address"] = "Example St"
    rows[0]["House Name or Number"] = rows[1]["House Name or Number"] = "123"
    rows[2]["House Name or Number"] = "45"  # already in "45 Sample Rd"

    result = parse(write_rows(tmp_path / "old.csv", rows, header))

    assert result.errors == []
    first, second = result.orders
    assert first.ship_to.street1 == "123 Example St" and first.ship_to.street2 == "Apt 4"
    assert second.ship_to.street1 == "45 Sample Rd"
    assert [(line.sku, line.quantity) for line in first.lines] == [("TSHIRT-BLK-M", 2), ("MUG-WHT", 1)]
    assert first.lines[0].unit_weight_oz == pytest.approx(7.23, abs=0.01)


def test_leading_zero_zip_and_zip_plus_four_are_kept_as_text(tmp_path: Path) -> None:
    rows = sample_rows()
    for row in rows[:2]:
        row.update({"Zipcode": "02139\t", "State": "Massachusetts", "City": "Cambridge"})
    rows[2]["Zipcode"] = "02139-4307\t"

    first, second = parse(write_rows(tmp_path / "zips.csv", rows)).orders

    assert (first.ship_to.zip, first.ship_to.state) == ("02139", "MA")
    assert second.ship_to.zip == "02139-4307"


def test_military_address_gets_its_state_code(tmp_path: Path) -> None:
    rows = sample_rows()
    for row in rows[:2]:
        row.update({"State": "Armed Forces Europe", "City": "APO", "Zipcode": "09012\t"})
        row.update({"Address Line 1": "Unit 3050 Box 12", "Address Line 2": ""})
    rows[2].update({"State": "AP", "City": "FPO", "Zipcode": "96601\t"})

    first, second = parse(write_rows(tmp_path / "military.csv", rows)).orders

    assert (first.ship_to.state, first.ship_to.city, first.ship_to.zip) == ("AE", "APO", "09012")
    assert second.ship_to.state == "AP"


def test_missing_address_parts_are_not_row_errors(tmp_path: Path) -> None:
    rows = sample_rows()
    rows[2].update({"Recipient": "", "Address Line 1": "", "City": "", "Zipcode": "\t", "State": ""})

    result = parse(write_rows(tmp_path / "incomplete.csv", rows))

    assert result.errors == []
    assert by_id(result)[ID2].ship_to.street1 == "" and by_id(result)[ID2].ship_to.state == ""


# --- rows and orders ---------------------------------------------------------------------------------------


def test_broken_rows_are_named_by_line_and_column_and_good_orders_still_import(tmp_path: Path) -> None:
    rows = [
        order_row("577100000000000010", Quantity="two"),
        order_row("577100000000000011", **{"Created Time": "31/31/2025 7:44:26 AM\t"}),
        order_row("577100000000000012", State="Narnia"),
        order_row("", sku="MUG-WHT"),
        order_row("577100000000000013", Quantity="0"),
        order_row("577100000000000014", **{"Order Amount": "lots"}),
        order_row("577100000000000015", **{"Seller SKU": "", "SKU ID": "\t"}),
        *sample_rows(),
    ]

    result = parse(write_rows(tmp_path / "broken.csv", rows))

    assert [(e.line, e.column, e.order_id) for e in result.errors] == [
        (line_of(0), "Quantity", "577100000000000010"),
        (line_of(1), "Created Time", "577100000000000011"),
        (line_of(2), "State", "577100000000000012"),
        (line_of(3), "Order ID", ""),
        (line_of(4), "Quantity", "577100000000000013"),
        (line_of(5), "Order Amount", "577100000000000014"),
        (line_of(6), "Seller SKU", "577100000000000015"),
    ]
    assert "two" in result.errors[0].reason and "Narnia" in result.errors[2].reason
    assert str(result.errors[0]).startswith(f"line {line_of(0)}, column 'Quantity'")
    assert [order.id for order in result.orders] == [ID1, ID2]
    assert by_id(result)[ID1].source_line == line_of(7)


def test_an_order_with_one_bad_row_out_of_two_is_left_out_whole(tmp_path: Path) -> None:
    rows = sample_rows()
    rows[1]["Quantity"] = "1.5"

    result = parse(write_rows(tmp_path / "half.csv", rows))

    assert [order.id for order in result.orders] == [ID2]
    assert [(e.line, e.column, e.order_id) for e in result.errors] == [(line_of(1), "Quantity", ID1)]


def test_every_bad_row_and_cell_of_an_order_is_reported(tmp_path: Path) -> None:
    rows = sample_rows()
    rows[0]["Quantity"] = "-1"
    rows[1]["Paid Time"] = "yesterday"
    rows[1]["SKU Unit Original Price"] = "abc"

    result = parse(write_rows(tmp_path / "bad.csv", rows))

    assert [(e.line, e.column) for e in result.errors] == [
        (line_of(0), "Quantity"),
        (line_of(1), "SKU Unit Original Price"),
        (line_of(1), "Paid Time"),
    ]
    assert [order.id for order in result.orders] == [ID2]


def test_rows_are_grouped_by_order_id_in_first_seen_order_and_repeated_skus_merged(tmp_path: Path) -> None:
    first, mug, second = sample_rows()
    later = dict(first, Quantity="3")
    moved = dict(second, Recipient="Someone Else", City="Queens")
    result = parse(write_rows(tmp_path / "scattered.csv", [second, first, moved, mug, later]))

    assert [order.id for order in result.orders] == [ID2, ID1]
    one, two = by_id(result)[ID1], by_id(result)[ID2]
    assert [(line.sku, line.quantity) for line in one.lines] == [("TSHIRT-BLK-M", 5), ("MUG-WHT", 1)]
    assert [(line.sku, line.quantity) for line in two.lines] == [("TSHIRT-BLK-M", 2)]
    assert two.ship_to.name == "John Roe" and two.ship_to.city == "Brooklyn"  # the first row's address
    assert one.source_line == line_of(1)


def test_sku_id_is_used_when_seller_sku_is_empty(tmp_path: Path) -> None:
    rows = sample_rows()
    rows[2]["Seller SKU"] = ""

    result = parse(write_rows(tmp_path / "skuid.csv", rows))

    assert by_id(result)[ID2].lines[0].sku == "1731700000000000001"


def test_money_prefixes_and_24_hour_times_are_accepted(tmp_path: Path) -> None:
    rows = sample_rows()
    for row in rows[:2]:
        row.update({"Order Amount": "USD 4.8", "Created Time": "2025-09-15 19:44:26\t", "Paid Time": "\t"})
    rows[2].update({"Order Amount": "$5", "SKU Unit Original Price": "$1,234.50", "Weight(kg)": ""})

    result = parse(write_rows(tmp_path / "forms.csv", rows))

    first, second = result.orders
    assert first.amount == Decimal("4.8") and second.amount == Decimal("5")
    assert second.lines[0].unit_price == Decimal("1234.50")
    assert second.lines[0].unit_weight_oz is None
    assert first.created_at == datetime(2025, 9, 15, 19, 44, 26, tzinfo=PACIFIC)
    assert first.paid_at is None


# --- statuses ----------------------------------------------------------------------------------------------


def test_cancelled_shipped_and_tiktok_shipped_orders(tmp_path: Path) -> None:
    rows = [
        order_row("1", **{"Order Status": "Cancelled", "Order Substatus": "Cancelled"}),
        order_row("2", **{"Order Status": "Shipped", "Order Substatus": "In transit"}),
        order_row("2", sku="MUG-WHT", **{"Order Status": "Shipped", "Quantity": "oops"}),
        order_row("3", **{"Order Status": "Shipped"}),
        order_row("4", **{"Order Status": "Completed"}),
        order_row("5", **{"Delivery Option Type": "TikTok Shipping"}),
        order_row("6", **{"Order Substatus": "Awaiting collection"}),
        order_row("7", **{"Order Status": "Unpaid", "Paid Time": "\t"}),
        order_row("8", **{"Fulfillment Type": "Fulfillment by TikTok"}),
        order_row("9", **{"Order Substatus": "", "Delivery Option Type": ""}),
    ]

    result = parse(write_rows(tmp_path / "statuses.csv", rows))

    assert result.errors == []  # rows of orders that are not imported are not checked
    assert [(order.id, order.status) for order in result.orders] == [("1", "cancelled"), ("9", "pending")]
    assert result.skipped == {
        "status Shipped": 2,
        "status Completed": 1,
        "shipped by TikTok": 1,
        "substatus Awaiting collection": 1,
        "status Unpaid": 1,
        "fulfilled by TikTok": 1,
    }


# --- not an export -----------------------------------------------------------------------------------------


def test_a_catalog_csv_is_not_an_export(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text("sku,weight_oz,length_in,width_in,height_in\nTSHIRT-BLK-M,7.2,10,8,1\n")

    with pytest.raises(NotAnExportError, match="catalog.csv") as caught:
        parse(path)
    message = str(caught.value)
    assert "Order ID" in message and "Quantity" in message and "Seller SKU or SKU ID" in message


def test_an_export_without_an_address_column_is_refused(tmp_path: Path) -> None:
    header = [name for name in HEADER if name not in ("Address Line 1", "City")]
    path = write_rows(tmp_path / "noaddress.csv", sample_rows(), header)

    with pytest.raises(NotAnExportError, match=r"Address Line 1.*|City"):
        parse(path)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("random.bin", random.Random(7).randbytes(5000)),
        ("empty.csv", b""),
        ("blank.csv", b"\xef\xbb\xbf\r\n"),
        ("fake.xlsx", b"PK\x03\x04" + bytes(200)),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200)),
        ("latin1.csv", "Order ID,Recipient\n1,Jos\xe9\n".encode("latin-1") * 2),
    ],
)
def test_binary_empty_or_broken_files_are_not_exports(tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)

    with pytest.raises(NotAnExportError, match=re.escape(name)):
        parse(path)


def test_a_zip_that_is_not_a_workbook_is_not_an_export(tmp_path: Path) -> None:
    path = tmp_path / "photos.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("photo.txt", "hello")

    with pytest.raises(NotAnExportError, match="photos.zip"):
        parse(path)


# --- the writer --------------------------------------------------------------------------------------------


def test_writer_produces_the_byte_format_of_the_sample(tmp_path: Path) -> None:
    path = tmp_path / "written.csv"

    assert write_tiktok_export(path, parse(SAMPLE).orders, PACIFIC) == 3

    data, sample = path.read_bytes(), SAMPLE.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r" not in data
    assert data.split(b"\n")[0] == sample.split(b"\n")[0]  # the 58-column header
    assert data.count(b"\n") == sample.count(b"\n")
    assert data.startswith(sample[: sample.index(b"Normal,")] + b"Normal,")  # tab after the id, no quotes
    assert b',"\t","\t","\t","\t",' in data  # empty time cells
    assert b'"Jane Doe\n(+1)5555550101\nLos Angeles, California\n90001\nUnited States",\n' in data
    carried = set(HEADER) - {
        "SKU ID",
        "SKU Platform Discount",
        "SKU Subtotal After Discount",
        "Shipping Fee After Discount",
        "Original Shipping Fee",
        "Taxes",
        "Product Category",
    }
    with path.open(encoding="utf-8-sig", newline="") as handle:
        written = list(csv.DictReader(handle))
    for mine, theirs in zip(written, sample_rows(), strict=True):
        assert {c: mine[c] for c in carried} == {c: theirs[c] for c in carried}


def test_writer_refuses_unknown_format_and_skipped_orders(tmp_path: Path) -> None:
    order = parse(SAMPLE).orders[0]
    with pytest.raises(ValueError, match="pdf"):
        write_tiktok_export(tmp_path / "x.pdf", [order], PACIFIC, fmt="pdf")
    order.status = "skipped"
    with pytest.raises(ValueError, match="skipped"):
        write_tiktok_export(tmp_path / "x.csv", [order], PACIFIC)


STATES = ["CA", "NY", "MA", "NJ", "AE", "AP", "PR", "TX", "FL", "WA", "HI", "AK", "DC"]
WORDS = ["Tee", "Mug", "Cap", "Sticker", "Tote", "Hoodie", "Poster", "Pin"]


def generated_orders(count: int, seed: int = 42) -> list[ImportedOrder]:
    """Varied orders: awkward text (commas, quotes, newlines, accents), leading-zero and +4 ZIPs."""
    rng = random.Random(seed)
    start = datetime(2025, 9, 1, tzinfo=PACIFIC)
    orders = []
    for number in range(count):
        created = start + timedelta(seconds=rng.randrange(0, 55 * 86400))
        lines = [
            OrderLine(
                sku=f"{sku.upper()}-{rng.randrange(100)}",
                quantity=rng.randint(1, 12),
                unit_price=Decimal(rng.randrange(0, 10000)) / 100,
                name=rng.choice([f'{sku}, "classic"', f"{sku} – Size {rng.choice('SML')}", sku, "Café Mug"]),
                unit_weight_oz=rng.choice([None, round(rng.uniform(0.5, 80), 2)]),
            )
            for sku in rng.sample(WORDS, rng.randint(1, 4))
        ]
        zip_code = rng.choice(["02139", "00601", "90001", "10001-0001", "09012", "99501"])
        orders.append(
            ImportedOrder(
                id=str(577100000000000000 + number * 7919),
                channel="tiktok",
                status=rng.choice(["pending"] * 5 + ["cancelled"]),
                buyer=f"buyer_{rng.randrange(1000)}",
                ship_to=Address(
                    name=rng.choice(["Jane Doe", "José Núñez", "O'Brien, Pat", 'Al "Bo" Cy', "J*** D**"]),
                    street1=f"{rng.randrange(1, 9999)} Example St",
                    street2=rng.choice(["", "Apt 4", "Unit 7, Floor 2"]),
                    city=rng.choice(["Los Angeles", "Cambridge", "APO", "San Juan"]),
                    state=rng.choice(STATES),
                    zip=zip_code,
                    phone=rng.choice(["(+1)5555550101", "(+1)555****101", ""]),
                ),
                lines=lines,
                created_at=created,
                paid_at=rng.choice([None, created + timedelta(seconds=rng.randrange(1, 3600))]),
                amount=Decimal(rng.randrange(0, 50000)) / 100,
                buyer_message=rng.choice(["", "Please gift wrap, thanks!", 'Say "hi"\nto mom']),
                extra={
                    "payment_method": rng.choice(["ApplePay", "PayPal"]),
                    "package_id": str(1154770 + number),
                },
            )
        )
    return orders


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_write_then_parse_round_trip_of_generated_orders(tmp_path: Path, fmt: str) -> None:
    orders = generated_orders(300)
    path = tmp_path / f"export.{fmt}"

    rows = write_tiktok_export(path, orders, PACIFIC, fmt=fmt)

    assert rows == sum(len(order.lines) for order in orders)
    result = parse(path)
    assert result.errors == [] and result.skipped == {}
    assert len(result.orders) == len(orders)
    for original, read in zip(orders, result.orders, strict=True):
        assert (read.id, read.status, read.buyer, read.channel) == (
            original.id,
            original.status,
            original.buyer,
            "tiktok",
        )
        assert read.ship_to == original.ship_to
        assert [(x.sku, x.quantity, x.unit_price, x.name) for x in read.lines] == [
            (x.sku, x.quantity, x.unit_price, x.name) for x in original.lines
        ]
        assert [x.unit_weight_oz for x in read.lines] == [x.unit_weight_oz for x in original.lines]
        assert read.amount == original.amount
        assert read.created_at == original.created_at and read.paid_at == original.paid_at
        assert read.buyer_message == original.buyer_message
        assert read.extra["payment_method"] == original.extra["payment_method"]
        assert read.extra["package_id"] == original.extra["package_id"]


def test_round_trip_converts_times_to_the_shop_zone(tmp_path: Path) -> None:
    order = parse(SAMPLE).orders[0]
    order.created_at = datetime(2025, 12, 1, 20, 5, 9, tzinfo=ZoneInfo("UTC"))
    path = tmp_path / "utc.csv"
    write_tiktok_export(path, [order], PACIFIC)

    assert "12/01/2025 12:05:09 PM\t" in path.read_text(encoding="utf-8-sig")
    assert parse(path).orders[0].created_at == order.created_at


def test_writer_output_is_csv_readable_one_record_per_line(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    write_tiktok_export(path, generated_orders(20, seed=3), PACIFIC)

    records = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert records[0] == list(HEADER)
    assert {len(record) for record in records} == {58}

"""Read a TikTok Shop Seller Center order export (CSV or XLSX) into `ImportedOrder`s.

The export has one row per SKU line; rows of one order share the ``Order ID``. Columns are found by name
(case and space tolerant, with the aliases of older layouts), never by position. The format and its quirks
are described in the shared format notes (``formats/tiktok.md``, section 1). The twin writer, which simulates
an export, is `fulfilment.ingest.tiktok_writer.write_tiktok_export`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

from fulfilment.domain.orders import (
    Address,
    ImportedOrder,
    NotAnExportError,
    OrderLine,
    ParseResult,
    RowError,
)
from fulfilment.domain.states import state_code
from fulfilment.ingest.storable import refuse_unstorable, without_nul

CHANNEL = "tiktok"
ROUNDED_REASON = (
    "Order ID is stored as a number in the spreadsheet and its last digits are lost; "
    "export again and keep the column as text, or use the CSV export"
)
ID_COLUMNS = ("Order ID", "SKU ID", "Package ID")
EXACT_FLOAT_LIMIT = 2**53
OZ_PER_KG = 1000 / 28.349523125
DESCRIPTION_PREFIX = "Platform unique order ID."

# The 2025 US export header, in file order (TikTok's spellings).
HEADER: tuple[str, ...] = (
    "Order ID",
    "Order Status",
    "Order Substatus",
    "Cancelation/Return Type",
    "Normal or Pre-order",
    "SKU ID",
    "Seller SKU",
    "Product Name",
    "Variation",
    "Quantity",
    "Sku Quantity of return",
    "SKU Unit Original Price",
    "SKU Subtotal Before Discount",
    "SKU Platform Discount",
    "SKU Seller Discount",
    "SKU Subtotal After Discount",
    "Shipping Fee After Discount",
    "Original Shipping Fee",
    "Shipping Fee Seller Discount",
    "Co-Funded Shipping Fee Discount",
    "Shipping Fee Platform Discount",
    "Payment platform discount",
    "Retail Delivery Fee",
    "Taxes",
    "Order Amount",
    "Order Refund Amount",
    "Created Time",
    "Paid Time",
    "RTS Time",
    "Shipped Time",
    "Delivered Time",
    "Cancelled Time",
    "Cancel By",
    "Cancel Reason",
    "Fulfillment Type",
    "Warehouse Name",
    "Tracking ID",
    "Delivery Option Type",
    "Delivery Option",
    "Shipping Provider Name",
    "Buyer Message",
    "Buyer Username",
    "Recipient",
    "Phone #",
    "Country",
    "State",
    "City",
    "Zipcode",
    "Address Line 1",
    "Address Line 2",
    "Delivery Instruction",
    "Payment Method",
    "Weight(kg)",
    "Product Category",
    "Package ID",
    "Seller Note",
    "Shipping Information",
    "Combined Listing",
)

# Other names seen for a column (older layouts, other markets); the current name is always tried first.
ALIASES: dict[str, tuple[str, ...]] = {
    "Order Substatus": ("Order Sub Status", "Order Sub-Status"),
    "Cancelation/Return Type": ("Cancellation/Return Type", "Cancellation Return Type"),
    "Address Line 1": ("Detail Address", "Street Address"),
    "Address Line 2": ("Additional address information", "Additional Address"),
    "Zipcode": ("Zip Code", "Postal Code", "Postcode"),
    "Phone #": ("Phone", "Phone Number"),
    "House Name or Number": ("House Number",),
}

REQUIRED = ("Order ID", "Order Status", "Quantity", "Recipient", "Zipcode", "State", "City", "Address Line 1")
SKU_COLUMNS = ("Seller SKU", "SKU ID")

# extra key -> column; only non-empty values are kept.
EXTRA_COLUMNS: dict[str, str] = {
    "delivery_option": "Delivery Option",
    "payment_method": "Payment Method",
    "package_id": "Package ID",
    "combined_listing": "Combined Listing",
    "delivery_instruction": "Delivery Instruction",
    "seller_note": "Seller Note",
    "warehouse_name": "Warehouse Name",
    "order_type": "Normal or Pre-order",
    "cancel_by": "Cancel By",
    "cancel_reason": "Cancel Reason",
}

# The columns the reader uses (the others are ignored).
USED_COLUMNS: tuple[str, ...] = (
    "Order ID",
    "Order Status",
    "Order Substatus",
    "Fulfillment Type",
    "Delivery Option Type",
    "SKU ID",
    "Seller SKU",
    "Product Name",
    "Variation",
    "Quantity",
    "SKU Unit Original Price",
    "Weight(kg)",
    "Order Amount",
    "Created Time",
    "Paid Time",
    "Buyer Username",
    "Buyer Message",
    "Recipient",
    "Phone #",
    "Country",
    "State",
    "City",
    "Zipcode",
    "Address Line 1",
    "Address Line 2",
    "House Name or Number",
    *EXTRA_COLUMNS.values(),
)

_TIME_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
)
_COUNTRIES = {"": "US", "united states": "US", "united states of america": "US", "usa": "US", "us": "US"}
_US_TIME = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d{2}):(\d{2}) ([AaPp][Mm])")
_MONEY = re.compile(r"-?\d+(\.\d+)?")
_CURRENCY = re.compile(r"^(?:[A-Z]{3}\s*)?\$?\s*")

T = TypeVar("T")
CACHED_CELLS = 1 << 16
"""How many parsed cells (money, quantities, times, ...) each parse function keeps: exports repeat them."""


def parse_tiktok_export(path: Path, shop_tz: ZoneInfo) -> ParseResult:
    """Read a Seller Center export: pending and cancelled orders, row errors, and counts of skipped orders.

    An order with any bad row is left out whole (every bad row is reported). Orders already shipped, not
    yet paid, awaiting collection or shipped by TikTok are counted in `skipped` by reason, not returned.
    Raises NotAnExportError (and returns nothing) if the file is not an order export.
    """
    rows = _open_rows(path)
    columns = _Columns.from_header(path, next(rows, None))
    result = ParseResult()
    builder = _OrderBuilder(shop_tz)
    skipped: set[str] = set()
    first = True
    for line, cells in rows:
        row, rounded = columns.row(cells)
        if not any(row.values()):
            continue
        order_id = row["Order ID"]
        if first and order_id.startswith(DESCRIPTION_PREFIX):
            continue
        first = False
        if not order_id:
            result.errors.append(RowError(line, "Order ID", "Order ID is empty"))
        elif "Order ID" in rounded:
            result.errors.append(RowError(line, "Order ID", ROUNDED_REASON, order_id))
        elif order_id not in skipped:
            reason = builder.add(line, row, result.errors)
            if reason:
                skipped.add(order_id)
                result.skipped[reason] = result.skipped.get(reason, 0) + 1
    result.orders = builder.orders()
    refuse_unstorable(result, _column_of)
    return result


_FIELD_COLUMNS = {
    "id": "Order ID",
    "channel": "Order ID",
    "buyer": "Buyer Username",
    "buyer_message": "Buyer Message",
    "ship_to.name": "Recipient",
    "ship_to.street1": "Address Line 1",
    "ship_to.street2": "Address Line 2",
    "ship_to.city": "City",
    "ship_to.state": "State",
    "ship_to.zip": "Zipcode",
    "ship_to.country": "Country",
    "ship_to.phone": "Phone #",
    "created_at": "Created Time",
    "paid_at": "Paid Time",
    "amount": "Order Amount",
    "sku": "Seller SKU",
    "name": "Product Name",
    "quantity": "Quantity",
    "unit_price": "SKU Unit Original Price",
    **{f"extra.{key}": column for key, column in EXTRA_COLUMNS.items()},
}


def _column_of(field: str) -> str:
    """The export column an order field comes from (`lines[2].quantity` → `Quantity`)."""
    return _FIELD_COLUMNS.get(field, _FIELD_COLUMNS.get(field.rpartition(".")[2], field))


# --- reading cells -----------------------------------------------------------------------------------------


def _open_rows(path: Path) -> Iterator[tuple[int, list[object]]]:
    """Yield (physical line or sheet row, cells) of a CSV or XLSX file, header first."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise NotAnExportError(f"{path}: cannot read ({exc.strerror})") from None
    if not head.strip(b"\xef\xbb\xbf \t\r\n"):
        raise NotAnExportError(f"{path}: the file is empty, not a TikTok Shop order export")
    if head.startswith(b"PK\x03\x04"):
        return _xlsx_rows(path)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise NotAnExportError(f"{path}: old Excel .xls file; export the orders as CSV or XLSX")
    if head.count(b"\x00") * 100 > len(head) or path.suffix.lower() in (".xlsx", ".xlsm"):
        raise NotAnExportError(f"{path}: binary file, not a CSV or XLSX order export")
    return _csv_rows(path)


def _csv_rows(path: Path) -> Iterator[tuple[int, list[object]]]:
    """Stream CSV rows (UTF-8, BOM optional, LF or CRLF) with the physical line each row starts on."""
    start = 1
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(without_nul(handle))
        try:
            for cells in reader:
                yield start, cells
                start = reader.line_num + 1
        except (csv.Error, UnicodeDecodeError) as exc:
            raise NotAnExportError(f"{path}: line {start}: not a readable UTF-8 CSV file ({exc})") from None


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[object]]]:
    """Yield the rows of sheet OrderSKUList (else the first sheet) with their sheet row numbers.

    The sheet is streamed (all of it, whatever its stated dimension) with the values openpyxl's read-only
    mode gives; see `fulfilment.ingest.xlsx_rows`.
    """
    from fulfilment.ingest.xlsx_rows import open_sheet, sheet_values  # openpyxl is slow to import

    try:
        archive, sheet = open_sheet(path, "OrderSKUList")
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise NotAnExportError(f"{path}: not a readable XLSX file ({exc})") from None
    try:
        for number, values in enumerate(sheet_values(sheet), start=1):
            yield number, list(values)
    finally:
        archive.close()


def _text(value: object, column: str) -> str:
    """A cell as stripped text; XLSX numbers and datetimes become what the CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        if column == "Zipcode" and 0 <= value < 10**9:
            digits = str(value)
            return digits.zfill(5) if len(digits) <= 5 else f"{digits.zfill(9)[:5]}-{digits.zfill(9)[5:]}"
        return str(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d 00:00:00")
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    return str(value).strip()


def _key(name: str) -> str:
    """Header comparison key: no case, no spaces, no BOM."""
    return "".join(name.replace("\ufeff", "").split()).casefold()


@dataclass(frozen=True, slots=True)
class _Columns:
    """Where each known column is in the file, by its current name (`ids`: the ID columns present)."""

    index: dict[str, int]
    ids: tuple[tuple[str, int], ...]
    pick: Callable[[list[object]], tuple[object, ...]]
    """The cells of the columns in `index`, in its order (for a row that reaches the last of them)."""
    reach: int

    @classmethod
    def from_header(cls, path: Path, header: tuple[int, list[object]] | None) -> _Columns:
        """Map the header row; refuse a file that lacks the columns an order needs."""
        cells = [_text(value, "") for value in header[1]] if header else []
        positions: dict[str, int] = {}
        for number, cell in enumerate(cells):
            positions.setdefault(_key(cell), number)
        index = {}
        for name in USED_COLUMNS:
            for candidate in (name, *ALIASES.get(name, ())):
                if _key(candidate) in positions:
                    index[name] = positions[_key(candidate)]
                    break
        missing = [name for name in REQUIRED if name not in index]
        if not any(name in index for name in SKU_COLUMNS):
            missing.append(" or ".join(SKU_COLUMNS))
        if missing:
            shown = ", ".join(cells[:6]) + (", ..." if len(cells) > 6 else "")
            raise NotAnExportError(
                f"{path}: not a TikTok Shop order export: missing column(s) {', '.join(missing)} "
                f"(the first row is {shown!r})"
            )
        numbers = list(index.values())  # at least the REQUIRED ones: itemgetter gives a tuple
        return cls(
            index,
            tuple((name, index[name]) for name in ID_COLUMNS if name in index),
            itemgetter(*numbers),
            max(numbers) + 1,
        )

    def row(self, cells: list[object]) -> tuple[dict[str, str], list[str]]:
        """The used cells by column name, stripped (every used column is present, '' when absent), and the
        ID columns whose XLSX number was rounded (see `rounded`): those of them other than Order ID are left empty.
        """
        if len(cells) >= self.reach:
            with suppress(TypeError):  # a cell that is not text (XLSX): the general way below
                return _BLANK_ROW | dict(zip(self.index, map(str.strip, self.pick(cells)), strict=True)), []  # type: ignore[arg-type]
        rounded = self.rounded(cells)
        row = dict(_BLANK_ROW)
        size = len(cells)
        for name, number in self.index.items():
            if number < size:
                cell = cells[number]
                row[name] = cell.strip() if type(cell) is str else _text(cell, name)
        for name in rounded:
            if name != "Order ID":
                row[name] = ""
        return row, rounded

    def rounded(self, cells: list[object]) -> list[str]:
        """ID columns holding an XLSX float too large to be exact (an 18-digit ID saved as a number)."""
        size = len(cells)
        return [
            name
            for name, number in self.ids
            if number < size and isinstance(value := cells[number], float) and abs(value) >= EXACT_FLOAT_LIMIT
        ]


_BLANK_ROW = dict.fromkeys(USED_COLUMNS, "")


# --- parsing values ----------------------------------------------------------------------------------------


@lru_cache(maxsize=CACHED_CELLS)
def _quantity(cell: str) -> int:
    try:
        value = Decimal(cell)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value != value.to_integral_value() or value < 1:
        raise ValueError(f"{cell!r} is not a whole number above 0")
    return int(value)


@lru_cache(maxsize=CACHED_CELLS)
def _money(cell: str) -> Decimal:
    """A money cell: plain decimal, maybe with a `USD `/`$` prefix and thousands commas; empty is 0."""
    text = _CURRENCY.sub("", cell, count=1).replace(",", "")
    if not text:
        return Decimal("0")
    if not _MONEY.fullmatch(text):
        raise ValueError(f"{cell!r} is not an amount of money")
    return Decimal(text)


@lru_cache(maxsize=CACHED_CELLS)
def _weight_oz(cell: str) -> float | None:
    """Weight(kg) per unit, in ounces rounded to 0.01; None when empty."""
    if not cell:
        return None
    try:
        kg = float(cell)
    except ValueError:
        kg = -1.0
    if not 0 <= kg < 10_000:
        raise ValueError(f"{cell!r} is not a number of kilograms")
    return round(kg * OZ_PER_KG, 2)


def _time_parser(shop_tz: ZoneInfo) -> Callable[[str], datetime | None]:
    @lru_cache(maxsize=CACHED_CELLS)
    def parse(cell: str) -> datetime | None:
        """`MM/DD/YYYY h:mm:ss AM` (or 24-hour ISO-like) in the shop's zone; None when empty."""
        if not cell:
            return None
        match = _US_TIME.fullmatch(cell)  # the usual layout, parsed faster than by strptime
        if match and 1 <= int(match[4]) <= 12:
            month, day, year, hour, minute, second = (int(part) for part in match.groups()[:6])
            hour = hour % 12 + (12 if match[7].upper() == "PM" else 0)
            with suppress(ValueError):
                return datetime(year, month, day, hour, minute, second, tzinfo=shop_tz)
        for layout in _TIME_FORMATS:
            try:
                return datetime.strptime(cell, layout).replace(tzinfo=shop_tz)
            except ValueError:
                continue
        raise ValueError(f"{cell!r} is not a date and time like 09/15/2025 7:44:26 AM")

    return parse


@lru_cache(maxsize=CACHED_CELLS)
def _state(cell: str) -> str:
    """USPS code for a state name or code; '' stays '' (an incomplete address is judged later)."""
    if not cell:
        return ""
    code = state_code(cell)
    if code is None:
        raise ValueError(f"{cell!r} is not a US state, territory or military state")
    return code


def _country(cell: str) -> str:
    code = _COUNTRIES.get(cell.casefold())
    return code or (cell.upper() if len(cell) == 2 else cell)


def _street1(street: str, house: str) -> str:
    """Older layout: put `House Name or Number` in front of the street unless the street already has it."""
    if not house or re.search(rf"(?<!\w){re.escape(house)}(?!\w)", street, re.IGNORECASE):
        return street
    return f"{house} {street}".strip()


def _status(row: dict[str, str]) -> tuple[str, str]:
    """(status, skip reason): `pending`, `cancelled`, or `skipped` with a readable reason."""
    status, substatus = row["Order Status"], row["Order Substatus"]
    if status.casefold() in ("cancelled", "canceled"):
        return "cancelled", ""
    if status.casefold() != "to ship":
        return "skipped", f"status {status or '(empty)'}"
    if "tiktok" in row["Fulfillment Type"].casefold():
        return "skipped", "fulfilled by TikTok"
    delivery = row["Delivery Option Type"]
    if delivery and "seller" not in delivery.casefold():
        return "skipped", "shipped by TikTok" if "tiktok" in delivery.casefold() else f"delivery {delivery}"
    if substatus.casefold() not in ("", "awaiting shipment"):
        return "skipped", f"substatus {substatus}"
    return "pending", ""


# --- building orders ---------------------------------------------------------------------------------------


class _Cells:
    """One row's cells, parsed one column at a time; each bad cell becomes a RowError."""

    def __init__(self, line: int, row: dict[str, str], errors: list[RowError]) -> None:
        self.line, self.row, self.errors, self.bad = line, row, errors, False

    def parse(self, column: str, parse: Callable[[str], T], default: T) -> T:
        try:
            return parse(self.row[column])
        except ValueError as exc:
            self.bad = True
            self.errors.append(RowError(self.line, column, f"{column} {exc}", self.row["Order ID"]))
            return default

    def sku(self) -> str:
        sku = self.row["Seller SKU"] or self.row["SKU ID"]
        if not sku:
            self.bad = True
            reason = "Seller SKU and SKU ID are both empty"
            self.errors.append(RowError(self.line, "Seller SKU", reason, self.row["Order ID"]))
        return sku


class _OrderBuilder:
    """Groups good rows into orders (first-seen order) and remembers which orders had a bad row."""

    def __init__(self, shop_tz: ZoneInfo) -> None:
        self.parse_time = _time_parser(shop_tz)
        self.drafts: dict[str, ImportedOrder] = {}
        self.bad: set[str] = set()

    def add(self, line: int, row: dict[str, str], errors: list[RowError]) -> str:
        """Add one row; return a skip reason if this row starts an order that is not imported."""
        order_id = row["Order ID"]
        new = order_id not in self.drafts and order_id not in self.bad
        status, reason = _status(row) if new else ("", "")
        if reason:
            return reason
        cells = _Cells(line, row, errors)
        sku = cells.sku()
        item = OrderLine(
            sku=sku,
            quantity=cells.parse("Quantity", _quantity, 1),
            unit_price=cells.parse("SKU Unit Original Price", _money, Decimal("0")),
            name=" – ".join(part for part in (row["Product Name"], row["Variation"]) if part),
            unit_weight_oz=cells.parse("Weight(kg)", _weight_oz, None),
        )
        created = cells.parse("Created Time", self._required_time, None)
        paid = cells.parse("Paid Time", self.parse_time, None)
        amount = cells.parse("Order Amount", _money, Decimal("0"))
        state = cells.parse("State", _state, "")
        if cells.bad or created is None:
            self.bad.add(order_id)
            self.drafts.pop(order_id, None)
        elif new:
            self.drafts[order_id] = _new_order(row, status, created, paid, amount, state, line)
        if order_id in self.drafts:
            _merge_line(self.drafts[order_id], item)
        return ""

    def _required_time(self, cell: str) -> datetime:
        parsed = self.parse_time(cell)
        if parsed is None:
            raise ValueError("is empty")
        return parsed

    def orders(self) -> list[ImportedOrder]:
        return list(self.drafts.values())


def _new_order(
    row: dict[str, str],
    status: str,
    created: datetime,
    paid: datetime | None,
    amount: Decimal,
    state: str,
    line: int,
) -> ImportedOrder:
    """The order as its first row describes it (lines are added by `_merge_line`)."""
    ship_to = Address(
        name=row["Recipient"],
        street1=_street1(row["Address Line 1"], row["House Name or Number"]),
        street2=row["Address Line 2"],
        city=row["City"],
        state=state,
        zip=row["Zipcode"],
        country=_country(row["Country"]),
        phone=row["Phone #"],
    )
    return ImportedOrder(
        id=row["Order ID"],
        channel=CHANNEL,
        status=status,
        buyer=row["Buyer Username"],
        ship_to=ship_to,
        lines=[],
        created_at=created,
        paid_at=paid,
        amount=amount,
        buyer_message=row["Buyer Message"],
        source_line=line,
        extra={key: row[column] for key, column in EXTRA_COLUMNS.items() if row[column]},
    )


def _merge_line(order: ImportedOrder, item: OrderLine) -> None:
    """Append a line, or add its quantity to an earlier line of the same SKU."""
    for number, line in enumerate(order.lines):
        if line.sku == item.sku:
            order.lines[number] = OrderLine(
                line.sku, line.quantity + item.quantity, line.unit_price, line.name, line.unit_weight_oz
            )
            return
    order.lines.append(item)

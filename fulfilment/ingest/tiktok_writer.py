"""Write orders as a TikTok Shop Seller Center export (the twin of `tiktok_export`), for demos and tests.

The CSV has the exact byte format of a real 2025 US export: UTF-8 BOM, the 58-column header, LF line ends,
quoting only where needed, a trailing tab on long number-like cells and on times (an empty time cell is a
quoted tab), full state names and the five-line ``Shipping Information`` cell.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from fulfilment.domain.orders import ImportedOrder, OrderLine
from fulfilment.domain.states import STATE_NAMES
from fulfilment.ingest.tiktok_export import DESCRIPTION_PREFIX, EXTRA_COLUMNS, HEADER, OZ_PER_KG

TAB_COLUMNS = frozenset({"Order ID", "SKU ID", "Package ID", "Zipcode", "Created Time", "Paid Time"})
TIME_COLUMNS = frozenset({"Created Time", "Paid Time", "RTS Time", "Shipped Time", "Delivered Time", "Cancelled Time"})
COUNTRY_NAMES = {"US": "United States"}
STATUS_CELLS = {"pending": ("To ship", "Awaiting shipment"), "cancelled": ("Cancelled", "")}
DESCRIPTIONS = {
    "Order ID": f"{DESCRIPTION_PREFIX} It identifies the order.",
    "SKU ID": "Platform unique SKU ID.",
    "Seller SKU": "SKU code set by the seller.",
    "Quantity": "Quantity of this SKU in the order.",
    "Order Amount": "Total amount paid by the buyer.",
    "Created Time": "Time the order was placed.",
}
DEFAULTS = {
    "Fulfillment Type": "Fulfillment by seller",
    "Delivery Option Type": "Seller Shipping",
    "Delivery Option": "Standard Shipping",
}
ZERO_COLUMNS = (
    "Sku Quantity of return",
    "SKU Platform Discount",
    "SKU Seller Discount",
    "Shipping Fee After Discount",
    "Original Shipping Fee",
    "Shipping Fee Seller Discount",
    "Co-Funded Shipping Fee Discount",
    "Shipping Fee Platform Discount",
    "Retail Delivery Fee",
    "Taxes",
)


def write_tiktok_export(path: Path, orders: Iterable[ImportedOrder], shop_tz: ZoneInfo, fmt: str = "csv") -> int:
    """Write `orders` (pending or cancelled) as a Seller Center export, a row per line; return the row count.

    `fmt` is ``csv`` or ``xlsx`` (sheet ``OrderSKUList`` with the description row, cells as text). Times are
    written in `shop_tz`; `order.extra` values (payment method, package id, ...) fill their columns.
    """
    rows = (row for order in orders for row in _order_rows(order, shop_tz))
    if fmt == "csv":
        return _write_csv(path, rows)
    if fmt == "xlsx":
        return _write_xlsx(path, rows)
    raise ValueError(f"unknown export format {fmt!r}: use 'csv' or 'xlsx'")


def _order_rows(order: ImportedOrder, shop_tz: ZoneInfo) -> Iterator[dict[str, str]]:
    """One row per order line, by column name, without the CSV tabs."""
    if order.status not in STATUS_CELLS:
        raise ValueError(f"order {order.id}: an export holds pending or cancelled orders, not {order.status!r}")
    status, substatus = STATUS_CELLS[order.status]
    to = order.ship_to
    state = STATE_NAMES.get(to.state, to.state)
    country = COUNTRY_NAMES.get(to.country, to.country)
    common = dict.fromkeys(ZERO_COLUMNS, "0") | DEFAULTS
    common |= {column: order.extra[key] for key, column in EXTRA_COLUMNS.items() if order.extra.get(key)}
    common |= {
        "Order ID": order.id,
        "Order Status": status,
        "Order Substatus": substatus,
        "Order Amount": _money(order.amount),
        "Created Time": _time(order.created_at, shop_tz),
        "Paid Time": _time(order.paid_at, shop_tz),
        "Buyer Message": order.buyer_message,
        "Buyer Username": order.buyer,
        "Recipient": to.name,
        "Phone #": to.phone,
        "Country": country,
        "State": state,
        "City": to.city,
        "Zipcode": to.zip,
        "Address Line 1": to.street1,
        "Address Line 2": to.street2,
        "Shipping Information": "\n".join((to.name, to.phone, f"{to.city}, {state}", to.zip, country)),
    }
    for line in order.lines:
        yield common | _line_cells(line)


def _line_cells(line: OrderLine) -> dict[str, str]:
    """The SKU columns of one row; the SKU ID is a stable made-up number derived from the SKU."""
    product, _, variation = line.name.partition(" – ")
    subtotal = _money(line.unit_price * line.quantity)
    weight = "" if line.unit_weight_oz is None else _kilograms(line.unit_weight_oz)
    return {
        "SKU ID": "17317" + str(int(hashlib.sha1(line.sku.encode()).hexdigest(), 16) % 10**14).zfill(14),
        "Seller SKU": line.sku,
        "Product Name": product,
        "Variation": variation,
        "Quantity": str(line.quantity),
        "SKU Unit Original Price": _money(line.unit_price),
        "SKU Subtotal Before Discount": subtotal,
        "SKU Subtotal After Discount": subtotal,
        "Weight(kg)": weight,
    }


def _kilograms(ounces: float) -> str:
    """The shortest kilogram figure (3 to 9 decimals) that reads back as the same ounces (to 0.01 oz)."""
    for places in range(3, 10):
        text = _decimal_text(Decimal(f"{ounces / OZ_PER_KG:.{places}f}"))
        if round(float(text) * OZ_PER_KG, 2) == round(ounces, 2):
            return text
    return text


def _decimal_text(value: Decimal) -> str:
    """A decimal without exponent and without trailing zeros, as the export writes money (`4.8`, `5`)."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _money(value: Decimal) -> str:
    return _decimal_text(value)


def _time(value: datetime | None, shop_tz: ZoneInfo) -> str:
    """`MM/DD/YYYY h:mm:ss AM` in the shop's zone (naive times are taken as shop time); '' for None."""
    if value is None:
        return ""
    local = value.astimezone(shop_tz) if value.tzinfo else value
    hour = local.hour % 12 or 12
    return f"{local:%m/%d/%Y} {hour}:{local:%M:%S} {'AM' if local.hour < 12 else 'PM'}"


def _csv_cell(column: str, value: str) -> str:
    """Add the export's trailing tab where it has one, then quote only where needed."""
    if column in TIME_COLUMNS or (column in TAB_COLUMNS and value):
        value += "\t"
    if value == "\t" or any(char in value for char in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _write_csv(path: Path, rows: Iterable[dict[str, str]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        handle.write(",".join(_csv_cell("", name) for name in HEADER) + "\n")
        for row in rows:
            handle.write(",".join(_csv_cell(name, row.get(name, "")) for name in HEADER) + "\n")
            count += 1
    return count


def _write_xlsx(path: Path, rows: Iterable[dict[str, str]]) -> int:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("OrderSKUList")
    sheet.append(list(HEADER))
    sheet.append([DESCRIPTIONS.get(name) for name in HEADER])
    count = 0
    for row in rows:
        sheet.append([row.get(name) or None for name in HEADER])
        count += 1
    book.save(path)
    return count

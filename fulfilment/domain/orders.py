"""Plain order data shared by importers, stages and documents (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

HANDLING_BUSINESS_DAYS = 3
"""TikTok Shop US: hand the parcel to the carrier within 3 business days of payment, by 11:59 PM shop time."""


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address; `state` is a USPS code (e.g. ``CA``, ``AE``), `zip` is text (``02139`` or ``02139-4307``)."""

    name: str
    street1: str
    city: str
    state: str
    zip: str
    street2: str = ""
    country: str = "US"
    phone: str = ""


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One SKU of an order; `unit_weight_oz` is what the source said, or None."""

    sku: str
    quantity: int
    unit_price: Decimal = Decimal("0")
    name: str = ""
    unit_weight_oz: float | None = None


@dataclass(slots=True)
class ImportedOrder:
    """An order as read from a source, before it is stored.

    `status` is one of ``pending`` (ready to ship by the seller), ``cancelled`` or ``skipped``
    (shipped, completed, platform-shipped: recorded only in the import counts).
    Times are timezone-aware.
    """

    id: str
    channel: str
    status: str
    buyer: str
    ship_to: Address
    lines: list[OrderLine]
    created_at: datetime
    paid_at: datetime | None = None
    amount: Decimal = Decimal("0")
    buyer_ip: str | None = None
    buyer_message: str = ""
    source_line: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RowError:
    """A problem with one input row: 1-based physical `line` in the file, the `column` (header name) and why."""

    line: int
    column: str
    reason: str
    order_id: str = ""

    def __str__(self) -> str:
        where = f"line {self.line}"
        if self.column:
            where += f", column {self.column!r}"
        if self.order_id:
            where += f" (order {self.order_id})"
        return f"{where}: {self.reason}"


@dataclass(slots=True)
class ParseResult:
    """What a source yielded: good orders, bad rows, and counts of rows skipped on purpose."""

    orders: list[ImportedOrder] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)


class NotAnExportError(ValueError):
    """The file is not the kind of file the importer reads; nothing was imported."""


def ship_by(paid_at: datetime, shop_tz: ZoneInfo, business_days: int = HANDLING_BUSINESS_DAYS) -> datetime:
    """The latest hand-over time of an order paid at `paid_at`: 11:59 PM shop time, `business_days` weekdays on."""
    day = paid_at.astimezone(shop_tz).date()
    left = business_days
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return datetime.combine(day, time(23, 59), tzinfo=shop_tz)

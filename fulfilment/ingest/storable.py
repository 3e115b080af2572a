"""What the database can hold, checked before an import writes anything: text no longer than its column and
without NUL characters (PostgreSQL refuses them), whole numbers and amounts within their columns' range,
times within a sane span. An importer turns each problem into a row error, so one bad value refuses its order
or row with a message instead of failing the whole transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.orm import InstrumentedAttribute

from fulfilment.domain.orders import ImportedOrder, ParseResult, RowError
from fulfilment.store.models import Order, OrderLineRow

INT_MAX = 2**31 - 1
"""The largest value of an Integer column (quantities, counts, on-hand units)."""

MONEY_MAX = Decimal("9999999999.99")
"""The largest amount a Numeric(12, 2) money column holds."""

EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)
"""Times outside this span are typing errors, and some cannot even be converted to UTC."""


def limit(column: InstrumentedAttribute[str] | InstrumentedAttribute[str | None]) -> int | None:
    """The length limit of a model's text column (None for unlimited text)."""
    return getattr(column.property.columns[0].type, "length", None)


def text_problem(value: str, most: int | None) -> str | None:
    """Why `value` cannot be stored in a text column of length `most`, or None: a NUL (which PostgreSQL cannot
    store) or U+FFFD (which the CSV reader puts where it found a NUL byte), or too many characters.

    Two `in` tests, not a loop over the characters: an import calls this for every text value (2.3 million times
    for a 200,000-row export), and `any()` over a generator cost four times as much."""
    if "\x00" in value or "\ufffd" in value:
        return "contains a NUL or invalid character"
    if most is not None and len(value) > most:
        return f"is {len(value)} characters long; at most {most} fit"
    return None


def whole_number_problem(value: int) -> str | None:
    return f"{value} is too large" if abs(value) > INT_MAX else None


def money_problem(value: Decimal) -> str | None:
    return f"{value} is too large an amount" if abs(value) > MONEY_MAX else None


def time_problem(value: datetime | None) -> str | None:
    if value is None or 1970 < value.year < 2199:  # within the span whatever its offset (less than a day)
        return None
    try:
        in_utc = value.astimezone(UTC)
    except OverflowError:
        return f"{value.isoformat()} is out of range"
    return None if EARLIEST <= in_utc < LATEST else f"{value.isoformat()} is not between 1970 and 2200"


_ORDER_TEXT = {
    "id": limit(Order.id),
    "channel": limit(Order.channel),
    "buyer": limit(Order.buyer),
    "buyer_ip": limit(Order.buyer_ip),
    "buyer_message": None,
}
_LINE_TEXT = {"sku": limit(OrderLineRow.sku), "name": limit(OrderLineRow.name)}
_ADDRESS_TEXT = {
    "name": limit(Order.ship_name),
    "street1": limit(Order.ship_street1),
    "street2": limit(Order.ship_street2),
    "city": limit(Order.ship_city),
    "state": limit(Order.ship_state),
    "zip": limit(Order.ship_zip),
    "country": limit(Order.ship_country),
    "phone": limit(Order.ship_phone),
}


def order_problems(order: ImportedOrder) -> Iterator[tuple[str, str]]:
    """(field, reason) for each value of an order the database cannot hold; fields are named as in JSON
    (``ship_to.city``, ``lines[0].quantity``, ``extra.seller_note``)."""
    for name, most in _ORDER_TEXT.items():
        problem = text_problem(getattr(order, name) or "", most)
        if problem:
            yield name, f"{name} {problem}"
    for name, most in _ADDRESS_TEXT.items():
        problem = text_problem(getattr(order.ship_to, name), most)
        if problem:
            yield f"ship_to.{name}", f"ship_to.{name} {problem}"
    for key, value in order.extra.items():
        problem = text_problem(value, None)
        if problem:
            yield f"extra.{key}", f"{key} {problem}"
    times = {"created_at": order.created_at, "paid_at": order.paid_at if order.paid_at != order.created_at else None}
    for name, value in times.items():
        problem = time_problem(value)
        if problem:
            yield name, f"{name} {problem}"
    line_problems = [
        (f"lines[{i}].{name}", f"lines[{i}].{name} {problem}")
        for i, line in enumerate(order.lines)
        for name, problem in (
            ("sku", text_problem(line.sku, _LINE_TEXT["sku"])),
            ("name", text_problem(line.name, _LINE_TEXT["name"])),
            ("quantity", whole_number_problem(line.quantity)),
            ("unit_price", money_problem(line.unit_price)),
        )
        if problem
    ]
    yield from line_problems
    problem = None if line_problems else money_problem(order.amount)  # an amount summed from bad lines says no more
    if problem:
        yield "amount", f"amount {problem}"


def refuse_unstorable(result: ParseResult, column_of: Callable[[str], str] = str) -> None:
    """Move every order with a value the database cannot hold from `result.orders` to `result.errors`, one
    error per value, named by its first line and by `column_of(field)` (the importer's name for the field)."""
    kept = []
    for order in result.orders:
        problems = list(order_problems(order))
        if not problems:
            kept.append(order)
        for field, reason in problems:
            result.errors.append(RowError(order.source_line or 0, column_of(field), reason, order.id))
    result.orders = kept


def without_nul(lines: Iterable[str]) -> Iterator[str]:
    """Lines of a text file with each NUL replaced by U+FFFD, so the CSV reader (which stops at a NUL) reads on
    and the row holding it is refused by `text_problem` instead of the whole file."""
    for line in lines:
        yield line.replace("\x00", "\ufffd") if "\x00" in line else line

"""Orders from other channels as JSON: an array of order objects, or JSON Lines (one object per line).

An order: ``{"id", "channel"?, "buyer", "buyer_ip"?, "created_at" (ISO 8601 with offset), "ship_to": {"name",
"street1", "street2"?, "city", "state" (USPS code), "zip", "country", "phone"?}, "lines": [{"sku", "quantity",
"unit_price"}]}``. Optional flags ``buyer_cancel_request`` and ``address_changed`` (true/false) feed the risk
screen. Unknown fields are ignored. A bad record is reported with its record number (array) or line (JSON
Lines) and the field, and the good records import.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from fulfilment.domain.orders import Address, ImportedOrder, NotAnExportError, OrderLine, ParseResult, RowError
from fulfilment.domain.states import state_code
from fulfilment.ingest.storable import refuse_unstorable

DEFAULT_CHANNEL = "json"
FLAGS = ("buyer_cancel_request", "address_changed")


class _Bad(ValueError):
    """One field of a record is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


def _records(path: Path) -> Iterator[tuple[int, Any | _Bad]]:
    """(record number or line, parsed value or the syntax error) for each record of the file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise NotAnExportError(f"{path}: not UTF-8 text") from None
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise NotAnExportError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
        yield from enumerate(items, 1)
        return
    if not stripped.startswith("{"):
        raise NotAnExportError(f"{path}: expected a JSON array of orders or JSON Lines of order objects")
    for number, line in enumerate(text.split("\n"), 1):  # not splitlines(): JSON text may hold U+2028 and the like
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, _Bad("", f"not valid JSON: {exc.msg} at column {exc.colno}")


def _text(record: dict[str, Any], key: str, field: str, required: bool = True) -> str:
    value = record.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _Bad(field, f"{field} is missing")
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise _Bad(field, f"{field} must be text, got {json.dumps(value)}")
    return str(value).strip()


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise _Bad("created_at", "created_at must be an ISO 8601 time with an offset")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _Bad("created_at", f"created_at {value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise _Bad("created_at", f"created_at {value!r} has no UTC offset (add e.g. +00:00 or Z)")
    return parsed


def _ship_to(value: Any) -> Address:
    if not isinstance(value, dict):
        raise _Bad("ship_to", "ship_to must be an object with name, street1, city, state, zip, country")
    fields = {k: _text(value, k, f"ship_to.{k}", required=k not in ("street2", "phone")) for k in Address.__slots__}
    state = state_code(fields["state"])
    if state is None:
        raise _Bad("ship_to.state", f"ship_to.state {fields['state']!r} is not a USPS state code")
    country = fields["country"].upper()
    if country not in ("US", "USA"):
        raise _Bad("ship_to.country", f"ship_to.country {fields['country']!r}: only US addresses ship")
    return Address(**{**fields, "state": state, "country": "US"})


def _line(value: Any, i: int) -> OrderLine:
    field = f"lines[{i}]"
    if not isinstance(value, dict):
        raise _Bad(field, f"{field} must be an object with sku, quantity, unit_price")
    sku = _text(value, "sku", f"{field}.sku")
    quantity = value.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise _Bad(f"{field}.quantity", f"{field}.quantity must be a whole number ≥ 1, got {json.dumps(quantity)}")
    raw = value.get("unit_price")
    try:
        price = Decimal(str(raw)) if raw is not None and not isinstance(raw, bool) else None
    except InvalidOperation:
        price = None
    if price is None or not price.is_finite() or price < 0:
        raise _Bad(f"{field}.unit_price", f"{field}.unit_price must be a number ≥ 0, got {json.dumps(raw)}")
    return OrderLine(sku, quantity, price, name=str(value.get("name") or ""))


def _order(record: Any, number: int) -> ImportedOrder:
    if not isinstance(record, dict):
        raise _Bad("", "a record must be a JSON object")
    lines = record.get("lines")
    if not isinstance(lines, list) or not lines:
        raise _Bad("lines", "lines must be a non-empty list")
    buyer_ip = _text(record, "buyer_ip", "buyer_ip", required=False) or None
    if buyer_ip is not None:
        try:
            buyer_ip = str(ipaddress.ip_address(buyer_ip))
        except ValueError:
            raise _Bad("buyer_ip", f"buyer_ip {buyer_ip!r} is not an IP address") from None
    items = [_line(v, i) for i, v in enumerate(lines)]
    flags = {}
    for flag in FLAGS:
        value = record.get(flag, False)
        if not isinstance(value, bool):
            raise _Bad(flag, f"{flag} must be true or false, got {json.dumps(value)}")
        if value:
            flags[flag] = "1"
    created = _time(record.get("created_at"))
    return ImportedOrder(
        id=_text(record, "id", "id"),
        channel=_text(record, "channel", "channel", required=False) or DEFAULT_CHANNEL,
        status="pending",
        buyer=_text(record, "buyer", "buyer"),
        ship_to=_ship_to(record.get("ship_to")),
        lines=items,
        created_at=created,
        paid_at=created,
        amount=sum((ln.unit_price * ln.quantity for ln in items), Decimal("0")),
        buyer_ip=buyer_ip,
        source_line=number,
        extra=flags,
    )


def parse_json_orders(path: Path) -> ParseResult:
    """Read a JSON array or JSON Lines file of orders; raises NotAnExportError if it is neither.

    A repeated order id is reported on its second record (the first one imports); so is a value the database
    cannot hold (too long, a NUL character, a number out of range).
    """
    result = ParseResult()
    seen: set[str] = set()
    for number, record in _records(path):
        order_id = str(record.get("id", "")) if isinstance(record, dict) else ""
        try:
            if isinstance(record, _Bad):
                raise record
            order = _order(record, number)
            if order.id in seen:
                raise _Bad("id", f"order {order.id} appears twice in the file")
        except _Bad as exc:
            result.errors.append(RowError(number, exc.field, str(exc), order_id))
            continue
        seen.add(order.id)
        result.orders.append(order)
    refuse_unstorable(result)
    return result

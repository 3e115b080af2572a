"""JSON order import: arrays and JSON Lines, unknown fields ignored, each bad record named with its field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from fulfilment.domain.orders import NotAnExportError
from fulfilment.ingest.json_orders import parse_json_orders
from tests.fuzzing import json_record


def record(oid: str = "A1", **changes: Any) -> dict[str, Any]:
    """A valid JSON order (the fuzz suites' base record) with a second line, an unknown field and `changes`."""
    base = json_record(oid, {"MUG-1": 2})
    base["buyer"] = "kim"
    base["lines"].append({"sku": "CAP", "quantity": 1, "unit_price": 5})
    base["loyalty_tier"] = "gold"
    base.update(changes)
    return base


def test_array_of_orders(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    path.write_text(json.dumps([record(), record("A2", channel="shopify", buyer_ip=None, address_changed=True)]))
    parsed = parse_json_orders(path)
    assert parsed.errors == []
    first, second = parsed.orders
    assert (first.id, first.channel, first.status, first.buyer, first.buyer_ip) == (
        "A1",
        "json",
        "pending",
        "kim",
        "203.0.113.5",
    )
    assert first.created_at == datetime(2026, 11, 21, 19, 5, tzinfo=timezone(timedelta(hours=-8)))
    assert first.created_at.astimezone(UTC).hour == 3
    assert first.amount == Decimal("30.00") and [ln.quantity for ln in first.lines] == [2, 1]
    assert (first.ship_to.street2, first.ship_to.zip, first.source_line) == ("Apt 3", "02139", 1)
    assert (second.channel, second.buyer_ip, second.extra, second.source_line) == (
        "shopify",
        None,
        {"address_changed": "1"},
        2,
    )


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"created_at": "2026-11-21T19:05:00"}, "created_at", "no UTC offset"),
        ({"created_at": "yesterday"}, "created_at", "not an ISO 8601"),
        ({"lines": []}, "lines", "non-empty"),
        ({"lines": [{"sku": "A", "quantity": 0, "unit_price": 1}]}, "lines[0].quantity", "≥ 1"),
        ({"lines": [{"sku": "A", "quantity": 1, "unit_price": "free"}]}, "lines[0].unit_price", "number ≥ 0"),
        ({"lines": [{"quantity": 1, "unit_price": 1}]}, "lines[0].sku", "missing"),
        ({"buyer_ip": "999.1.1.1"}, "buyer_ip", "not an IP address"),
        ({"buyer": ""}, "buyer", "missing"),
        ({"ship_to": "12 Oak St"}, "ship_to", "object"),
        ({"buyer_cancel_request": "yes"}, "buyer_cancel_request", "true or false"),
    ],
)
def test_a_bad_record_is_named_and_the_others_import(
    tmp_path: Path, change: dict[str, Any], field: str, words: str
) -> None:
    path = tmp_path / "orders.json"
    path.write_text(json.dumps([record("GOOD"), record("BAD", **change)]))
    parsed = parse_json_orders(path)
    assert [o.id for o in parsed.orders] == ["GOOD"]
    [error] = parsed.errors
    assert (error.line, error.column, error.order_id) == (2, field, "BAD")
    assert words in error.reason


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [("city", "", "ship_to.city"), ("state", "Narnia", "ship_to.state"), ("country", "CA", "ship_to.country")],
)
def test_ship_to_fields_are_checked(tmp_path: Path, key: str, value: str, field: str) -> None:
    ship_to = {**record()["ship_to"], key: value}
    path = tmp_path / "orders.json"
    path.write_text(json.dumps([record(ship_to=ship_to)]))
    [error] = parse_json_orders(path).errors
    assert error.column == field


def test_json_lines_report_the_line_and_skip_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    lines = [json.dumps(record("L1")), "", '{"id": "L2", "buyer": ', json.dumps(record("L1")), json.dumps(record("L3"))]
    path.write_text("\n".join(lines) + "\n")
    parsed = parse_json_orders(path)
    assert [o.id for o in parsed.orders] == ["L1", "L3"]
    assert [(e.line, e.column) for e in parsed.errors] == [(3, ""), (4, "id")]
    assert "not valid JSON" in parsed.errors[0].reason and "appears twice" in parsed.errors[1].reason


@pytest.mark.parametrize("text", ["order_id,buyer\n1,kim\n", "[1, 2", ""])
def test_a_file_that_is_not_json_orders_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "orders.json"
    path.write_text(text)
    with pytest.raises(NotAnExportError):
        parse_json_orders(path)

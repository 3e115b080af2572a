"""Stock reservations on both databases: reserve once, refuse a short stock row, and settle (deduct, release,
unship) the units of the orders named, stock rows and reservation rows moving together."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from fulfilment.pipeline import Context
from fulfilment.store import stock
from fulfilment.store.inventory import sync_warehouses
from fulfilment.store.models import Order, Reservation, Stock

ON_HAND = {("WH-EAST", "A"): 10, ("WH-EAST", "B"): 5, ("WH-WEST", "A"): 3}


@pytest.fixture
def shop(ctx: Context) -> Context:
    with ctx.session() as s:
        sync_warehouses(s, ctx.rules.warehouses)
        s.flush()
        s.add_all(Stock(warehouse_code=w, sku=k, on_hand=n, reserved=0) for (w, k), n in ON_HAND.items())
        s.add_all(
            Order(
                id=f"O{i}",
                channel="tiktok",
                status="screened",
                buyer=f"buyer{i}",
                ship_name="B",
                ship_street1="1 Main St",
                ship_city="New York",
                ship_state="NY",
                ship_zip="10001",
                created_at=datetime(2026, 11, 1, tzinfo=UTC),
            )
            for i in range(1, 4)
        )
    return ctx


def levels(ctx: Context) -> dict[tuple[str, str], tuple[int, int]]:
    """(on hand, reserved) per (warehouse, sku)."""
    with ctx.session() as s:
        return {(w, k): (h, r) for w, k, h, r in stock.levels(s)}


def held(ctx: Context) -> set[tuple[str, str, str, int, str]]:
    with ctx.session() as s:
        rows = s.execute(
            select(
                Reservation.order_id,
                Reservation.warehouse_code,
                Reservation.sku,
                Reservation.quantity,
                Reservation.status,
            )
        )
        return {tuple(r) for r in rows}  # type: ignore[misc]


PLANS = [("O1", [("WH-EAST", {"A": 4, "B": 2})]), ("O2", [("WH-EAST", {"A": 1}), ("WH-WEST", {"A": 3})])]


def test_reserve_many_reserves_once_and_refuses_a_short_row(shop: Context) -> None:
    for _ in range(2):  # the second time is a redelivery: nothing more is reserved
        with shop.session() as s:
            stock.reserve_many(s, PLANS)
        assert levels(shop) == {("WH-EAST", "A"): (10, 5), ("WH-EAST", "B"): (5, 2), ("WH-WEST", "A"): (3, 3)}
    short = pytest.raises(stock.StockChanged, match="A at WH-WEST: fewer than 1 units left to reserve")
    with short, shop.session() as s:
        stock.reserve_many(s, [("O3", [("WH-EAST", {"B": 3}), ("WH-WEST", {"A": 1})])])
    assert levels(shop)[("WH-EAST", "B")] == (5, 2), "the whole reservation rolled back"
    assert {r[0] for r in held(shop)} == {"O1", "O2"}


def test_settling_moves_units_and_reservations_together(shop: Context) -> None:
    with shop.session() as s:
        stock.reserve_many(s, PLANS)
    with shop.session() as s:
        stock.release(s, ["O2"])
        stock.deduct(s, ["O1", "O2"])  # O2's reservations are released already: only O1's leave the shelf
    assert levels(shop) == {("WH-EAST", "A"): (6, 0), ("WH-EAST", "B"): (3, 0), ("WH-WEST", "A"): (3, 0)}
    with shop.session() as s:
        stock.reserve_many(s, [PLANS[1]])  # released rows come back to life
        stock.unship(s, ["O1"], keep=True)
    assert levels(shop) == {("WH-EAST", "A"): (10, 5), ("WH-EAST", "B"): (5, 2), ("WH-WEST", "A"): (3, 3)}
    assert held(shop) == {
        ("O1", "WH-EAST", "A", 4, "reserved"),
        ("O1", "WH-EAST", "B", 2, "reserved"),
        ("O2", "WH-EAST", "A", 1, "reserved"),
        ("O2", "WH-WEST", "A", 3, "reserved"),
    }
    with shop.session() as s:
        stock.deduct(s, ["O1"])
        stock.unship(s, ["O1"], keep=False)
        stock.release(s, [])
    assert levels(shop) == {("WH-EAST", "A"): (10, 1), ("WH-EAST", "B"): (5, 0), ("WH-WEST", "A"): (3, 3)}
    assert {(o, k, st) for o, _w, k, _q, st in held(shop) if o == "O1"} == {
        ("O1", "A", "released"),
        ("O1", "B", "released"),
    }

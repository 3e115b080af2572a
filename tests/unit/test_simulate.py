"""The LIVE-session simulator: deterministic, realistic, planted problems caught, sample files consistent."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from fulfilment.domain.address import check_address, classify
from fulfilment.domain.allocation import candidates, demand
from fulfilment.domain.orders import ImportedOrder
from fulfilment.simulate import SAMPLE_CATALOG, catalog_csv, simulate_session

START = datetime(2025, 9, 15, 19, 0, tzinfo=UTC)
SAMPLES = Path(__file__).resolve().parents[2] / "fulfilment" / "samples"
WAREHOUSES = ["WH-EAST", "WH-CENTRAL", "WH-WEST"]


@pytest.fixture(scope="module")
def session() -> list[ImportedOrder]:
    return simulate_session(800, start=START)


def test_deterministic_per_seed(session: list[ImportedOrder]) -> None:
    assert simulate_session(800, start=START) == session
    other = simulate_session(800, seed=8, start=START)
    assert [o.id for o in other] != [o.id for o in session]


def test_ids_counts_and_statuses(session: list[ImportedOrder]) -> None:
    assert len(session) == 800
    ids = [o.id for o in session]
    assert len(set(ids)) == 800
    assert all(len(i) == 18 and i.isdigit() and i.startswith("5771") for i in ids)
    statuses = Counter(o.status for o in session)
    assert statuses == {"pending": 792, "cancelled": 8}
    assert {o.channel for o in session} == {"tiktok"}
    assert len({o.extra["room_id"] for o in session}) == 1


def test_times(session: list[ImportedOrder]) -> None:
    created = [o.created_at for o in session]
    assert created == sorted(created)
    assert created[0] >= START and created[-1] < START + timedelta(minutes=180)
    for order in session:
        assert order.paid_at is not None and timedelta(0) < order.paid_at - order.created_at <= timedelta(minutes=1)
    per_10_min = Counter(int((t - START).total_seconds() // 600) for t in created)
    assert max(per_10_min.values()) > 2.5 * (800 / 18)  # bursty, not uniform


def test_every_planted_address_caught_and_no_valid_one_flagged(session: list[ImportedOrder]) -> None:
    planted = [o for o in session if "planted_problem" in o.extra]
    assert len(planted) == 16
    assert len({o.extra["planted_problem"] for o in planted}) >= 4
    for order in session:
        codes = [p.code for p in check_address(order.ship_to)]
        expected = order.extra.get("planted_problem")
        assert codes == ([expected] if expected else []), (order.ship_to, codes)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_other_seeds_plant_and_catch(seed: int) -> None:
    orders = simulate_session(400, seed=seed, start=START, bad_address_rate=0.05)
    assert sum("planted_problem" in o.extra for o in orders) == 20
    for order in orders:
        codes = [p.code for p in check_address(order.ship_to)]
        expected = order.extra.get("planted_problem")
        assert codes == ([expected] if expected else []), (order.ship_to, codes)


def test_lines_and_amounts(session: list[ImportedOrder]) -> None:
    catalog = {c.sku: c for c in SAMPLE_CATALOG}
    multi = sum(len({line.sku for line in o.lines}) > 1 for o in session) / len(session)
    assert 0.28 <= multi <= 0.42
    quantities = Counter(line.quantity for o in session for line in o.lines)
    assert quantities[1] + quantities[2] > 0.9 * sum(quantities.values())
    assert {line.sku for o in session for line in o.lines} == set(catalog)
    for order in session:
        subtotal = sum((line.unit_price * line.quantity for line in order.lines), Decimal(0))
        assert order.amount - subtotal in (Decimal(0), Decimal("5.99"))
        for line in order.lines:
            assert line.unit_weight_oz == catalog[line.sku].weight_oz and line.name == catalog[line.sku].name


def test_buyers_and_addresses(session: list[ImportedOrder]) -> None:
    per_buyer = Counter(o.buyer for o in session)
    repeaters = [b for b, n in per_buyer.items() if n > 1]
    assert len(repeaters) >= 20 and max(per_buyer.values()) <= 3
    for buyer in repeaters:
        assert len({o.ship_to for o in session if o.buyer == buyer}) == 1
    assert all(o.ship_to.phone.startswith("(+1)") and len(o.ship_to.phone) == 14 for o in session)
    flags = [classify(o.ship_to) for o in session]
    assert any(f.is_po_box for f in flags) or any(f.is_military for f in flags)
    assert len({o.ship_to.state for o in session}) >= 40


def test_bigger_session_has_special_addresses() -> None:
    orders = simulate_session(3000, seed=4, start=START)
    flags = [classify(o.ship_to) for o in orders]
    assert sum(f.is_po_box for f in flags) >= 10
    assert sum(f.is_military for f in flags) >= 5
    assert sum(f.is_alaska_hawaii for f in flags) >= 5
    assert sum(f.is_territory for f in flags) >= 5


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError):
        simulate_session(5, start=datetime(2025, 9, 15, 19, 0))


def test_catalog_file_matches_sample_catalog() -> None:
    assert (SAMPLES / "catalog.csv").read_text(encoding="utf-8") == catalog_csv()
    rows = list(csv.DictReader((SAMPLES / "catalog.csv").open(encoding="utf-8")))
    assert [r["sku"] for r in rows] == [c.sku for c in SAMPLE_CATALOG]
    assert any(float(r["weight_oz"]) >= 180 for r in rows)  # the heavy item
    assert any(float(r["length_in"]) >= 48 for r in rows)  # the oversize item


def test_stock_file_shapes_the_default_demo(session: list[ImportedOrder]) -> None:
    """Allocating the default demo in order: most orders ship from WH-EAST, 1-2 SKUs run out there and fall
    back, one SKU runs out everywhere so a few orders backorder."""
    rows = list(csv.DictReader((SAMPLES / "stock.csv").open(encoding="utf-8")))
    available = {(r["warehouse"], r["sku"]): int(r["on_hand"]) for r in rows}
    assert {w for w, _ in available} == set(WAREHOUSES)
    assert {s for _, s in available} == {c.sku for c in SAMPLE_CATALOG}
    shipped_from: Counter[str] = Counter()
    backordered = 0
    for order in session:
        if order.status != "pending" or "planted_problem" in order.extra:
            continue
        needed = demand([(line.sku, line.quantity) for line in order.lines])
        able = candidates(needed, WAREHOUSES, available)
        if not able:
            backordered += 1
            continue
        shipped_from[able[0]] += 1
        for sku, quantity in needed.items():
            available[(able[0], sku)] -= quantity
    out_east = {s for (w, s), n in available.items() if w == "WH-EAST" and n == 0}
    out_everywhere = {s for s in out_east if all(available[(w, s)] == 0 for w in WAREHOUSES)}
    assert 1 <= backordered <= 15
    assert len(out_everywhere) == 1 and 2 <= len(out_east) <= 3
    assert shipped_from["WH-EAST"] > 0.8 * sum(shipped_from.values())
    assert shipped_from["WH-CENTRAL"] + shipped_from["WH-WEST"] > 0

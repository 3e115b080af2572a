"""Stock never oversells on PostgreSQL: 1,000 single-unit orders of one SKU against 100 units in 3 warehouses,
allocated by 8 threads at once, with every message delivered once or twice."""

from __future__ import annotations

import queue
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fulfilment import batches, steps
from fulfilment.batches import Next
from fulfilment.config import load_settings
from fulfilment.pipeline import context
from fulfilment.store import stock
from fulfilment.store.inventory import sync_warehouses
from fulfilment.store.models import LiveSession, Order, OrderLineRow, Reservation, Stock
from tests.conftest import fulfil_env

ORDERS = 1000
SESSIONS = 10
THREADS = 8
UNITS = {"WH-EAST": 40, "WH-CENTRAL": 35, "WH-WEST": 25}


@pytest.fixture
def ctx(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("FULFILMENT_REDIS_URL", raising=False)
    for key, value in fulfil_env(tmp_path, pg_url, FULFILMENT_CHUNK_SIZE="25").items():
        monkeypatch.setenv(key, value)
    ctx = context(load_settings())
    start = datetime(2026, 11, 1, tzinfo=UTC)
    with ctx.session() as s:
        sync_warehouses(s, ctx.rules.warehouses)
        s.flush()
        s.add_all(Stock(warehouse_code=w, sku="ONE", on_hand=n, reserved=0) for w, n in UNITS.items())
        sessions = [LiveSession(name=f"live-{i}") for i in range(SESSIONS)]
        s.add_all(sessions)
        s.flush()
        for i in range(ORDERS):
            order = Order(
                id=f"O{i:05d}",
                channel="tiktok",
                status="backordered",  # waiting for stock: a batch claims them straight into allocation
                buyer=f"buyer{i}",
                ship_name=f"Buyer {i}",
                ship_street1=f"{i} Main St",
                ship_city="New York",
                ship_state="NY",
                ship_zip="10001",
                created_at=start + timedelta(seconds=i),
                paid_at=start + timedelta(seconds=i),
                session_id=sessions[i % SESSIONS].id,
            )
            order.lines.append(OrderLineRow(sku="ONE", quantity=1))
            s.add(order)
    return ctx


def drain(ctx, first: list[Next], deliveries: int) -> list[BaseException]:
    """Run screen and allocate messages on THREADS threads, each message (and each follow-up) delivered
    `deliveries` times, until none is left; returns what the threads raised."""
    work: queue.Queue[Next] = queue.Queue()
    for message in first:
        for _ in range(deliveries):
            work.put(message)
    busy, guard, errors = [0], threading.Lock(), []

    def worker() -> None:
        while True:
            try:
                message = work.get(timeout=0.05)
            except queue.Empty:
                with guard:
                    if busy[0] == 0 and work.empty():
                        return
                continue
            with guard:
                busy[0] += 1
            try:
                for following in steps.run_chunk_stage(ctx, int(message.target), message.stage):
                    if following.stage in ("screen", "allocate"):
                        for _ in range(deliveries):
                            work.put(following)
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)
            finally:
                with guard:
                    busy[0] -= 1

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    return errors


def check_exactly_100(ctx) -> dict[str, int]:
    """Exactly 100 orders hold stock, one unit each, and the stock rows say the same; returns units per warehouse."""
    with ctx.session() as s:
        statuses = Counter(s.scalars(select(Order.status)))
        rows = {r.warehouse_code: (r.on_hand, r.reserved) for r in s.scalars(select(Stock))}
        held = s.execute(
            select(Reservation.order_id, Reservation.warehouse_code, Reservation.quantity).where(
                Reservation.status == "reserved"
            )
        ).all()
        allocated = set(s.scalars(select(Order.id).where(Order.status == "allocated")))
    assert statuses == {"allocated": 100, "backordered": ORDERS - 100}
    assert all(on_hand >= reserved >= 0 for on_hand, reserved in rows.values()), rows
    assert {w: r for w, (_, r) in rows.items()} == UNITS, "every unit is reserved, none twice"
    assert len(held) == 100 and all(q == 1 for _, _, q in held)
    assert {o for o, _, _ in held} == allocated, "each reserved unit belongs to exactly one allocated order"
    per_warehouse = Counter(w for _, w, _ in held)
    assert dict(per_warehouse) == UNITS
    return dict(per_warehouse)


@pytest.mark.parametrize("deliveries", [1, 2])
def test_concurrent_batches_allocate_exactly_the_stock(ctx, deliveries: int) -> None:
    first: list[Next] = []
    for i in range(SESSIONS):
        _batch_id, messages = batches.start_batch(ctx, f"live-{i}")
        first.extend(messages)
    assert len(first) == ORDERS // 25
    assert drain(ctx, first, deliveries) == []
    check_exactly_100(ctx)
    with ctx.session() as s:
        before = sorted(s.execute(select(Reservation.order_id, Reservation.warehouse_code)).all())
    assert drain(ctx, [Next("allocate", m.target) for m in first], 2) == [], "late redeliveries"
    with ctx.session() as s:
        assert sorted(s.execute(select(Reservation.order_id, Reservation.warehouse_code)).all()) == before


def test_guarded_reservations_from_threads_never_oversell(ctx) -> None:
    """The reservation itself, without the allocation stage's row locks: each order tries the warehouses in
    rank order, one transaction per try, every order twice, from 8 threads."""
    ids = [f"O{i:05d}" for i in range(ORDERS)] * 2
    work: queue.Queue[str] = queue.Queue()
    for order_id in ids:
        work.put(order_id)
    errors: list[BaseException] = []

    def worker() -> None:
        while True:
            try:
                order_id = work.get_nowait()
            except queue.Empty:
                return
            for warehouse in UNITS:
                try:
                    with ctx.session() as s:
                        stock.reserve_many(s, [(order_id, [(warehouse, {"ONE": 1})])])
                    break
                except stock.StockChanged:
                    continue  # rolled back: the next warehouse
                except BaseException as exc:  # noqa: BLE001 - reported by the test
                    errors.append(exc)
                    break

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert errors == []
    with ctx.session() as s:
        rows = {r.warehouse_code: (r.on_hand, r.reserved) for r in s.scalars(select(Stock))}
        held = s.execute(
            select(Reservation.order_id, func.sum(Reservation.quantity)).group_by(Reservation.order_id)
        ).all()
    assert {w: r for w, (_, r) in rows.items()} == UNITS
    assert len(held) == 100 and all(total == 1 for _, total in held), "no order holds more than one unit"

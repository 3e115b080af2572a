"""A batch over several warehouses: whole, fallback, split and combined orders; one merged PDF grouped by
warehouse with matching ship-from addresses, one pick list section per warehouse, tracking per order."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from fulfilment.batches import alerts
from fulfilment.config import load_settings
from fulfilment.domain.orders import Address, ImportedOrder, OrderLine
from fulfilment.pipeline import context
from fulfilment.runner import run_batch
from fulfilment.store.inventory import set_stock, sync_warehouses, upsert_catalog
from fulfilment.store.models import AuditEntry, Order, Outbox, Shipment
from fulfilment.store.orders import upsert_orders
from tests.conftest import fulfil_env

NYC = Address("Amy Li", "350 5th Ave", "New York", "NY", "10118")
NYC_OTHER = Address("Dan Roe", "20 W 34th St", "New York", "NY", "10001")
CA = Address("Bob Ray", "1600 Amphitheatre Pkwy", "Mountain View", "CA", "94043")
SHIP_FROM = {"WH-EAST": "Example Goods East", "WH-CENTRAL": "Example Goods Central", "WH-WEST": "Example Goods West"}


def ctx_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, **extra: str):
    monkeypatch.delenv("FULFILMENT_REDIS_URL", raising=False)
    for key, value in fulfil_env(tmp_path, url, **extra).items():
        monkeypatch.setenv(key, value)
    ctx = context(load_settings())
    with ctx.session() as s:
        sync_warehouses(s, ctx.rules.warehouses)
        s.flush()
        catalog = [{"sku": k, "weight_oz": 8.0, "length_in": 6.0, "width_in": 4.0, "height_in": 2.0} for k in "ABC"]
        upsert_catalog(s, enumerate(catalog))
        stock = [("WH-EAST", "A", 10), ("WH-WEST", "A", 10), ("WH-WEST", "B", 10), ("WH-CENTRAL", "C", 10)]
        applied, errors = set_stock(
            s, [(i, {"warehouse": w, "sku": k, "on_hand": n}) for i, (w, k, n) in enumerate(stock)]
        )
        assert errors == []
    return ctx


def order(n: int, buyer: str, to: Address, *skus: str) -> ImportedOrder:
    at = datetime(2026, 11, 1, 20, tzinfo=UTC) + timedelta(minutes=n)
    return ImportedOrder(
        id=f"O{n}", channel="tiktok", status="pending", buyer=buyer, ship_to=to,
        lines=[OrderLine(sku, 1) for sku in skus], created_at=at, paid_at=at,
    )  # fmt: skip


ORDERS = [
    order(1, "amy", NYC, "A"),  # WH-EAST, the closest
    order(2, "bob", CA, "A", "B"),  # WH-WEST, the closest
    order(3, "amy", NYC, "A"),  # combined with O1
    order(4, "cat", NYC_OTHER, "A", "B"),  # WH-EAST has no B: falls back to WH-WEST whole
    order(5, "dan", NYC_OTHER, "A", "C"),  # nobody has both: split WH-EAST (A) + WH-CENTRAL (C)
]


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_multi_warehouse_batch(db: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch) -> None:
    ctx = ctx_for(tmp_path, monkeypatch, request.getfixturevalue("sqlite_url" if db == "sqlite" else "pg_url"))
    with ctx.session() as s:
        upsert_orders(s, ORDERS, source="test", actor="test")
    summary = run_batch(ctx, timeout_s=120)
    assert summary["counts"]["labelled"] == 5, summary

    with ctx.session() as s:
        reasons = dict(s.execute(select(Order.id, Order.allocation_reason)).all())
        tracking = {}
        for order_id, number, warehouse in s.execute(
            select(Outbox.order_id, Shipment.tracking_number, Shipment.warehouse_code).join(
                Shipment, Shipment.id == Outbox.shipment_id
            )
        ):
            tracking.setdefault(order_id, []).append((warehouse, number))
    assert reasons["O1"].startswith("allocated from WH-EAST (closest")
    assert reasons["O4"].startswith("allocated from WH-WEST") and "WH-EAST, WH-CENTRAL short of stock" in reasons["O4"]
    assert reasons["O5"].startswith("split across 2 warehouses: WH-EAST (A×1) + WH-CENTRAL (C×1)")
    assert tracking["O1"] == tracking["O3"], "combined orders share one tracking number"
    assert sorted(w for w, _ in tracking["O5"]) == ["WH-CENTRAL", "WH-EAST"], "a split order has one per part"
    assert len({n for parts in tracking.values() for _, n in parts}) == 5

    pages = [p.extract_text() for p in PdfReader(summary["outputs"]["labels_pdf"]).pages]
    separators = [text.split()[0] for text in pages if "TEST LABEL" not in text]
    assert separators == ["WH-EAST", "WH-CENTRAL", "WH-WEST"], "a separator page before each warehouse's labels"
    pages = [text for text in pages if "TEST LABEL" in text]
    assert len(pages) == 5
    numbers = {number: warehouse for parts in tracking.values() for warehouse, number in parts}
    shipped_from = []
    for text in pages:
        [number] = [n for n in numbers if _grouped(n) in text]
        warehouse = numbers[number]
        assert [w for w, name in SHIP_FROM.items() if name in text] == [warehouse], "ship-from matches the parcel"
        assert all(o in text for o, parts in tracking.items() if (warehouse, number) in parts), "lists its orders"
        shipped_from.append(warehouse)
    assert shipped_from == ["WH-EAST", "WH-EAST", "WH-CENTRAL", "WH-WEST", "WH-WEST"], "grouped by warehouse"
    combined = next(t for t in pages if "O1" in t)
    assert "O3" in combined and "ORDERS (2)" in combined

    picks = "\n".join(p.extract_text() for p in PdfReader(summary["outputs"]["pick_list_pdf"]).pages)
    sections = [picks.index(f"{w} — ") for w in ("WH-EAST", "WH-CENTRAL", "WH-WEST")]
    assert sections == sorted(sections), "a pick list section per warehouse, in rank order"
    assert "O1+O3" in picks, "combined orders are one pick"


def _grouped(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def test_combining_can_be_switched_off(tmp_path: Path, monkeypatch, sqlite_url: str) -> None:
    ctx = ctx_for(tmp_path, monkeypatch, sqlite_url, FULFILMENT_COMBINE="0")
    with ctx.session() as s:
        upsert_orders(s, ORDERS, source="test", actor="test")
    summary = run_batch(ctx, timeout_s=120)
    pages = PdfReader(summary["outputs"]["labels_pdf"]).pages
    assert sum("TEST LABEL" in p.extract_text() for p in pages) == 6


def test_backorders_wait_for_stock_then_ship_in_ship_by_order(tmp_path: Path, monkeypatch, sqlite_url: str) -> None:
    ctx = ctx_for(tmp_path, monkeypatch, sqlite_url)
    # 16 units of C, 10 in stock; one address each (eight buyers at one address is an ADDRESS_BURST hold)
    wanted = [
        order(10 + i, f"buyer{i}", replace(CA, street1=f"{1600 + i} Amphitheatre Pkwy"), "C", "C") for i in range(8)
    ]
    with ctx.session() as s:
        upsert_orders(s, wanted, source="test", actor="test")
    first = run_batch(ctx, timeout_s=120)
    assert (first["counts"]["labelled"], first["counts"]["backordered"]) == (5, 3)
    assert [a["sku"] for a in alerts(ctx, first["batch_id"])] == ["C"], "C ran out: a low-stock alert"
    with ctx.session() as s:
        waiting = list(s.scalars(select(Order.id).where(Order.status == "backordered").order_by(Order.id)))
        assert s.scalar(select(AuditEntry.reason).where(AuditEntry.entity == "stock", AuditEntry.entity_id == "C"))
    assert waiting == ["O15", "O16", "O17"], "the latest orders wait"
    cancelled = order(16, "buyer6", CA, "C", "C")
    cancelled.status = "cancelled"
    with ctx.session() as s:
        assert upsert_orders(s, [cancelled], source="re-export", actor="test").updated == 1, "a backorder can cancel"
        set_stock(s, [(1, {"warehouse": "WH-WEST", "sku": "C", "on_hand": 2})], delta=True)

    second = run_batch(ctx, timeout_s=120)
    assert (second["counts"]["orders"], second["counts"]["labelled"], second["counts"]["backordered"]) == (2, 1, 1)
    with ctx.session() as s:
        assert s.get(Order, "O16").status == "cancelled"
        assert s.get(Order, "O17").status == "backordered", "stock goes to the earliest backorders first"
        steps = [
            (a.from_status, a.to_status)
            for a in s.scalars(select(AuditEntry).where(AuditEntry.entity_id == "O15").order_by(AuditEntry.id))
        ]
    assert steps[-4:] == [("backordered", "screened"), ("screened", "allocated"), ("allocated", "routed"),
                          ("routed", "labelled")], "re-enters at allocation, not screening"  # fmt: skip

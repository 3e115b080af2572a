"""The screen inside a real batch: an export (plus a JSON import) with planted risky orders is held exactly
where planted, with the right codes; windows count orders of earlier batches; decisions re-enter the flow."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from fulfilment.domain.orders import Address, ImportedOrder, OrderLine
from fulfilment.domain.states import MILITARY, NONCONTIGUOUS, TERRITORIES
from fulfilment.domain.zips import lookup
from fulfilment.ingest.json_orders import parse_json_orders
from fulfilment.ingest.tiktok_export import parse_tiktok_export
from fulfilment.ingest.tiktok_writer import write_tiktok_export
from fulfilment.pipeline import Context
from fulfilment.review import approve, reject
from fulfilment.runner import run_batch
from fulfilment.simulate import SAMPLE_CATALOG, simulate_session
from fulfilment.store.buyers import set_history
from fulfilment.store.inventory import set_stock, sync_warehouses, upsert_catalog
from fulfilment.store.models import AuditEntry, Hold, Order, Reservation
from fulfilment.store.orders import upsert_orders

START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=4)
REMOTE_STATES = NONCONTIGUOUS | TERRITORIES | MILITARY
SPARE = Address("Pat Lee", "77 Elm St", "Columbus", "OH", "43215")


def stock_up(ctx: Context) -> None:
    with ctx.session() as s:
        sync_warehouses(s, ctx.rules.warehouses)
        upsert_catalog(
            s,
            [
                (i, {"sku": c.sku, "weight_oz": c.weight_oz, "length_in": 10, "width_in": 8, "height_in": 4})
                for i, c in enumerate(SAMPLE_CATALOG)
            ],
        )
        rows = [
            {"warehouse": w.code, "sku": c.sku, "on_hand": 10_000} for w in ctx.rules.warehouses for c in SAMPLE_CATALOG
        ]
        set_stock(s, list(enumerate(rows)))


def import_export(ctx: Context, tmp_path: Path, orders: list[ImportedOrder], name: str) -> None:
    """Write the orders as a TikTok export and import that file, as a user would."""
    path = tmp_path / f"{name}.csv"
    write_tiktok_export(path, orders, ctx.settings.shop_timezone)
    parsed = parse_tiktok_export(path, ctx.settings.shop_timezone)
    assert not parsed.errors
    with ctx.session() as s:
        upsert_orders(s, parsed.orders, source=path.name, actor="test")


def plain(oid: str, buyer: str, minutes: float, ship_to: Address = SPARE, quantity: int = 1) -> ImportedOrder:
    sku = SAMPLE_CATALOG[0]
    created = START + timedelta(minutes=minutes)
    return ImportedOrder(
        id=oid,
        channel="tiktok",
        status="pending",
        buyer=buyer,
        ship_to=ship_to,
        lines=[OrderLine(sku.sku, quantity, sku.unit_price, sku.name, sku.weight_oz)],
        created_at=created,
        paid_at=created,
        amount=sku.unit_price * quantity,
    )


def held_codes(ctx: Context) -> dict[str, set[str]]:
    with ctx.session() as s:
        rows = s.execute(
            select(Hold.order_id, Hold.code).join(Order, Order.id == Hold.order_id).where(Order.status == "held")
        ).all()
    result: dict[str, set[str]] = {}
    for order_id, code in rows:
        result.setdefault(order_id, set()).add(code)
    return result


def _remote(a: Address) -> bool:
    info = lookup(a.zip)
    return a.state in REMOTE_STATES or (info is not None and info.state in REMOTE_STATES)


def test_planted_risky_orders_are_held_exactly_with_their_codes(ctx: Context, tmp_path: Path) -> None:
    stock_up(ctx)
    session = simulate_session(240, seed=17, start=START, bad_address_rate=0.03, cancel_rate=0)
    expected: dict[str, set[str]] = {}
    for o in session:
        codes = {o.extra["planted_problem"]} if "planted_problem" in o.extra else set()
        if _remote(o.ship_to):
            codes.add("REMOTE_DESTINATION")
        if codes:
            expected[o.id] = codes
    assert sum(1 for c in expected.values() if c - {"REMOTE_DESTINATION"}) >= 5

    planted = [
        # three buyers, one address, within the hour
        *(plain(f"AB{i}", f"dropper{i}", 10 + i * 20, replace(SPARE, street1="9 Birch Rd")) for i in range(3)),
        # one buyer, three addresses, within the hour
        *(plain(f"BB{i}", "hopper", 30 + i * 10, replace(SPARE, street1=f"{i + 1}0 Cedar Ave")) for i in range(3)),
        plain("HV1", "bigspender", 40, replace(SPARE, street1="5 Ash Ct"), quantity=1),
        plain("HQ1", "bulkbuyer", 45, replace(SPARE, street1="6 Ash Ct"), quantity=12),
        plain("HR1", "returner", 50, replace(SPARE, street1="7 Ash Ct")),
        replace(plain("CR1", "changedmind", 55, replace(SPARE, street1="8 Ash Ct")), extra={"cancel_reason": "Buyer"}),
    ]
    planted[6] = replace(planted[6], amount=Decimal("612.50"))
    expected.update({f"AB{i}": {"ADDRESS_BURST"} for i in range(3)})
    expected.update({f"BB{i}": {"BUYER_BURST"} for i in range(3)})
    expected.update(
        {"HV1": {"HIGH_VALUE"}, "HQ1": {"HIGH_QUANTITY"}, "HR1": {"HIGH_RETURN_RATE"}, "CR1": {"BUYER_CANCEL_REQUEST"}}
    )
    import_export(ctx, tmp_path, session + planted, "export")
    with ctx.session() as s:
        set_history(
            s,
            [(2, {"buyer": "returner", "orders": 9, "returns": 4}), (3, {"buyer": "loyal", "orders": 9, "returns": 1})],
        )

    # JSON orders from another channel: four orders from one IP by two buyers within 15 minutes
    records = [
        {
            "id": f"IP{i}",
            "channel": "shopify",
            "buyer": f"ipbuyer{i % 2}",
            "buyer_ip": "198.51.100.7",
            "created_at": (START + timedelta(minutes=100 + i * 4)).isoformat(),
            "ship_to": {
                "name": "X",
                "street1": f"{i + 1}1 Pine St",
                "city": "Columbus",
                "state": "OH",
                "zip": "43215",
                "country": "US",
            },
            "lines": [{"sku": SAMPLE_CATALOG[1].sku, "quantity": 1, "unit_price": "9.99"}],
            "unknown_field": "ignored",
        }
        for i in range(4)
    ]
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(records))
    parsed = parse_json_orders(path)
    assert not parsed.errors
    with ctx.session() as s:
        upsert_orders(s, parsed.orders, source=path.name, actor="test")
    expected.update({f"IP{i}": {"IP_BURST"} for i in range(4)})

    summary = run_batch(ctx, timeout_s=300)
    assert summary["counts"]["held"] == len(expected)
    assert held_codes(ctx) == expected


def test_windows_count_orders_of_earlier_batches(ctx: Context, tmp_path: Path) -> None:
    stock_up(ctx)
    shared = replace(SPARE, street1="400 Walnut St", street2="Apt 2")
    import_export(ctx, tmp_path, [plain("E1", "first", 0, shared), plain("E2", "second", 20, shared)], "early")
    first = run_batch(ctx, timeout_s=120)
    assert (first["counts"]["labelled"], first["counts"]["held"]) == (2, 0)
    late = plain("E3", "third", 50, replace(shared, street1="400 WALNUT STREET", street2="#2"))
    far = plain("E4", "fourth", 130, shared)  # 110 minutes after E2: outside the hour
    import_export(ctx, tmp_path, [late, far], "late")
    run_batch(ctx, timeout_s=120)
    assert held_codes(ctx) == {"E3": {"ADDRESS_BURST"}}
    with ctx.session() as s:
        [hold] = s.scalars(select(Hold).where(Hold.order_id == "E3"))
    assert sorted(hold.details["buyers"]) == ["first", "second", "third"]


def test_approved_orders_reenter_at_allocate_and_rejected_release_stock(ctx: Context, tmp_path: Path) -> None:
    stock_up(ctx)
    far = replace(SPARE, street1="85 Kam Hwy", city="Haleiwa", state="HI", zip="96712")
    import_export(ctx, tmp_path, [plain("R1", "islander", 0, far), plain("R2", "islander2", 1, far)], "remote")
    run_batch(ctx, timeout_s=120)
    assert held_codes(ctx) == {"R1": {"REMOTE_DESTINATION"}, "R2": {"REMOTE_DESTINATION"}}
    with ctx.session() as s:
        assert approve(s, "R1", "reviewer:ann", "fine").ok
        assert reject(s, "R2", "reviewer:ann", "fraud").ok
        lost = approve(s, "R2", "reviewer:bob")
    assert not lost.ok and "rejected by reviewer:ann" in lost.message
    second = run_batch(ctx, timeout_s=120)
    assert second["counts"] == {"orders": 1, "labelled": 1, "held": 0, "backordered": 0, "failed": 0}
    with ctx.session() as s:
        assert s.get(Order, "R1").status == "labelled"
        assert s.get(Order, "R2").status == "rejected"
        assert not list(s.scalars(select(Reservation).where(Reservation.order_id == "R2")))
        resolved = {h.order_id: (h.resolution, h.resolved_by) for h in s.scalars(select(Hold))}
    assert resolved == {"R1": ("approved", "reviewer:ann"), "R2": ("rejected", "reviewer:ann")}


def test_concurrent_decisions_on_one_order_have_one_winner(ctx: Context, tmp_path: Path) -> None:
    stock_up(ctx)
    far = replace(SPARE, street1="85 Kam Hwy", city="Haleiwa", state="HI", zip="96712")
    import_export(ctx, tmp_path, [plain(f"C{i}", f"kai{i}", i, far) for i in range(6)], "race")
    run_batch(ctx, timeout_s=120)
    barrier = threading.Barrier(2)

    def decide(order_id: str, reviewer: str, verb: str) -> bool:
        barrier.wait()
        with ctx.session() as s:
            if verb == "approve":
                return approve(s, order_id, reviewer).ok
            return reject(s, order_id, reviewer, "no").ok

    with ThreadPoolExecutor(2) as pool:
        for i in range(6):
            verbs = ("approve", "reject") if i % 2 else ("approve", "approve")
            futures = [
                pool.submit(decide, f"C{i}", f"reviewer:{n}", v) for n, v in zip(("ann", "bob"), verbs, strict=True)
            ]
            assert sorted(f.result() for f in futures) == [False, True]
    with ctx.session() as s:
        for i in range(6):
            decisions = s.scalars(
                select(AuditEntry.to_status).where(AuditEntry.entity_id == f"C{i}", AuditEntry.from_status == "held")
            ).all()
            assert len(decisions) == 1 and s.get(Order, f"C{i}").status == decisions[0]

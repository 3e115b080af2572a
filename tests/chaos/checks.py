"""The guarantees, checked after a chaos run from the database, the TikTok stand-in's ledger and the merged PDF.

Each check returns readable violations; `lost` counts orders or pushes that never reached their end, `duplicated`
counts anything done twice (a label, a push).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from sqlalchemy import Engine, func, select

from fulfilment.batches import ORDER_OUTCOMES
from fulfilment.channels.base import TIKTOK_API_CHANNEL
from fulfilment.store.models import (
    AuditEntry,
    Batch,
    Hold,
    Order,
    OrderLineRow,
    Outbox,
    Reservation,
    Shipment,
    ShipmentOrder,
    Stock,
)

StockLevels = dict[tuple[str, str], int]


@dataclass
class Findings:
    """What the checks found: orders by outcome, lost and duplicated work, and every violation in words."""

    outcomes: Counter[str] = field(default_factory=Counter)
    lost: int = 0
    duplicated: int = 0
    violations: list[str] = field(default_factory=list)

    def lose(self, count: int, message: str) -> None:
        if count:
            self.lost += count
            self.violations.append(message)

    def double(self, count: int, message: str) -> None:
        if count:
            self.duplicated += count
            self.violations.append(message)

    def fail(self, message: str) -> None:
        self.violations.append(message)


def _few(items: Any, n: int = 5) -> str:
    items = sorted(items)
    return ", ".join(map(str, items[:n])) + (f" … ({len(items)} in all)" if len(items) > n else "")


def stock_levels(engine: Engine) -> StockLevels:
    """On-hand units per (warehouse, sku)."""
    with engine.connect() as conn:
        return {(w, s): int(h) for w, s, h in conn.execute(select(Stock.warehouse_code, Stock.sku, Stock.on_hand))}


def check(engine: Engine, batch_id: str, ledger: list[dict[str, Any]], initial_stock: StockLevels) -> Findings:
    """Every guarantee of one finished batch (see the module docstring)."""
    found = Findings()
    with engine.connect() as conn:
        _orders(conn, batch_id, found)
        _labels(conn, batch_id, found)
        _pushes(conn, batch_id, ledger, found)
        _stock(conn, initial_stock, found)
        _audit(conn, batch_id, found)
    return found


def _orders(conn: Any, batch_id: str, found: Findings) -> None:
    statuses = dict(conn.execute(select(Order.id, Order.status).where(Order.batch_id == batch_id)).all())
    found.outcomes.update(statuses.values())
    unclaimed = list(conn.scalars(select(Order.id).where(Order.status == "pending")))
    found.lose(len(unclaimed), f"{len(unclaimed)} pending orders never claimed: {_few(unclaimed)}")
    stuck = [o for o, s in statuses.items() if s not in ORDER_OUTCOMES]
    found.lose(len(stuck), f"{len(stuck)} claimed orders not in a terminal state: {_few(stuck)}")
    held = set(conn.scalars(select(Hold.order_id).where(Hold.resolved_at.is_(None))))
    unexplained = [o for o, s in statuses.items() if s == "held" and o not in held]
    if unexplained:
        found.fail(f"held orders without an open hold: {_few(unexplained)}")
    failed = conn.execute(select(Order.id).where(Order.batch_id == batch_id, Order.status == "failed")).scalars()
    no_reason = [o for o in failed if not conn.scalar(select(Order.reason).where(Order.id == o))]
    if no_reason:
        found.fail(f"failed orders without a reason: {_few(no_reason)}")
    status = conn.scalar(select(Batch.status).where(Batch.id == batch_id))
    if status not in ("completed", "completed_with_errors"):
        found.fail(f"batch {batch_id} ended {status}")


def _labels(conn: Any, batch_id: str, found: Findings) -> None:
    """One label per order and warehouse (a split order has one from each warehouse it ships from)."""
    per_order = Counter(
        conn.execute(
            select(ShipmentOrder.order_id, Shipment.warehouse_code).join(
                Shipment, Shipment.id == ShipmentOrder.shipment_id
            )
        ).all()
    )
    twice = [o for (o, _), n in per_order.items() if n > 1]
    found.double(len(twice), f"{len(twice)} orders on two labels from one warehouse: {_few(twice)}")
    labelled_twice = (
        conn.execute(
            select(AuditEntry.entity_id)
            .where(AuditEntry.entity == "order", AuditEntry.to_status == "labelled")
            .group_by(AuditEntry.entity_id)
            .having(func.count() > 1)
        )
        .scalars()
        .all()
    )
    found.double(len(labelled_twice), f"{len(labelled_twice)} orders labelled twice: {_few(labelled_twice)}")
    labelled = set(conn.scalars(select(Order.id).where(Order.batch_id == batch_id, Order.status == "labelled")))
    unlabelled = labelled - {o for o, _ in per_order}
    found.lose(len(unlabelled), f"{len(unlabelled)} labelled orders with no label: {_few(unlabelled)}")
    warehouses = dict(
        conn.execute(
            select(Shipment.warehouse_code, func.count())
            .where(Shipment.batch_id == batch_id, Shipment.status == "labelled")
            .group_by(Shipment.warehouse_code)
        ).all()
    )
    shipments = sum(warehouses.values())
    outputs = conn.scalar(select(Batch.outputs).where(Batch.id == batch_id)) or {}
    pdf = outputs.get("labels_pdf")
    if shipments and not pdf:
        found.fail("no merged label PDF")
    elif pdf:
        options = outputs.get("options") or {}
        separators = len(warehouses) if options.get("separators") else 0
        if options.get("packing_slips") == "interleaved":
            found.fail("the merged PDF has packing slips interleaved: run the harness with them separate")
        pages = len(PdfReader(Path(pdf)).pages)
        if pages != shipments + separators:
            found.fail(f"the merged PDF has {pages} pages for {shipments} labels and {separators} separators")


def _pushes(conn: Any, batch_id: str, ledger: list[dict[str, Any]], found: Findings) -> None:
    """Every API push sent once: one ledger entry per (order, tracking number), none the database did not ask for."""
    rows = conn.execute(
        select(Outbox.order_id, Outbox.status, Shipment.tracking_number)
        .join(Shipment, Shipment.id == Outbox.shipment_id)
        .where(Outbox.batch_id == batch_id, Outbox.channel == TIKTOK_API_CHANNEL)
    ).all()
    expected = {(order_id, tracking) for order_id, _, tracking in rows}
    by_status: dict[str, list[str]] = defaultdict(list)
    for order_id, status, _ in rows:
        by_status[status].append(order_id)
    open_ = by_status["pending"] + by_status["retry"] + by_status["sending"]
    found.lose(len(open_), f"{len(open_)} tracking pushes never finished: {_few(open_)}")
    found.lose(len(by_status["parked"]), f"{len(by_status['parked'])} pushes parked: {_few(by_status['parked'])}")
    labelled = set(conn.scalars(select(Order.id).where(Order.batch_id == batch_id, Order.status == "labelled")))
    unqueued = labelled - {o for o, _ in expected}
    found.lose(len(unqueued), f"{len(unqueued)} labelled orders with no push: {_few(unqueued)}")
    pushed = Counter((entry["order_id"], entry["tracking_number"]) for entry in ledger)
    twice = [o for (o, _), n in pushed.items() if n > 1]
    found.double(sum(n - 1 for n in pushed.values()), f"tracking pushed twice for {len(twice)} orders: {_few(twice)}")
    unknown = [o for o, t in pushed if (o, t) not in expected]
    if unknown:
        found.fail(f"pushes of a tracking number the database did not send for the order: {_few(unknown)}")
    sent = {(o, t) for o, status, t in rows if status == "sent"}
    missing = [o for o, t in sent if (o, t) not in pushed]
    found.lose(len(missing), f"{len(missing)} pushes marked sent that TikTok never got: {_few(missing)}")


def _stock(conn: Any, initial: StockLevels, found: Findings) -> None:
    now = {
        (w, s): (int(h), int(r))
        for w, s, h, r in conn.execute(select(Stock.warehouse_code, Stock.sku, Stock.on_hand, Stock.reserved))
    }
    moved: dict[tuple[str, str, str], int] = defaultdict(int)
    for w, s, status, q in conn.execute(
        select(
            Reservation.warehouse_code, Reservation.sku, Reservation.status, func.sum(Reservation.quantity)
        ).group_by(Reservation.warehouse_code, Reservation.sku, Reservation.status)
    ):
        moved[(w, s, status)] = int(q)
    for (w, s), (on_hand, reserved) in sorted(now.items()):
        start = initial.get((w, s), 0)
        if on_hand != start - moved[(w, s, "deducted")]:
            found.fail(f"stock {s} at {w}: {start} on hand - {moved[(w, s, 'deducted')]} shipped ≠ {on_hand} on hand")
        if reserved != moved[(w, s, "reserved")] or not 0 <= reserved <= on_hand:
            found.fail(f"stock {s} at {w}: {reserved} reserved, reservations hold {moved[(w, s, 'reserved')]}")
    shipped = dict(
        conn.execute(
            select(Reservation.order_id, func.sum(Reservation.quantity))
            .where(Reservation.status == "deducted")
            .group_by(Reservation.order_id)
        ).all()
    )
    ordered = dict(
        conn.execute(
            select(OrderLineRow.order_id, func.sum(OrderLineRow.quantity))
            .join(Order, Order.id == OrderLineRow.order_id)
            .where(Order.status == "labelled")
            .group_by(OrderLineRow.order_id)
        ).all()
    )
    wrong = [o for o in set(shipped) | set(ordered) if int(shipped.get(o, 0)) != int(ordered.get(o, 0))]
    if wrong:
        found.fail(f"orders whose shipped units differ from their lines: {_few(wrong)}")


def _audit(conn: Any, batch_id: str, found: Findings) -> None:
    """Each order, push and the batch: its audit rows chain (each starts where the last ended) to its status."""
    current: dict[tuple[str, str], str] = {}
    current.update(
        {("order", o): s for o, s in conn.execute(select(Order.id, Order.status).where(Order.batch_id == batch_id))}
    )
    current.update(
        {
            ("outbox", str(i)): s
            for i, s in conn.execute(
                select(Outbox.id, Outbox.status).where(
                    Outbox.batch_id == batch_id, Outbox.channel == TIKTOK_API_CHANNEL
                )
            )
        }
    )
    current[("batch", batch_id)] = conn.scalar(select(Batch.status).where(Batch.id == batch_id))
    chains: dict[tuple[str, str], list[tuple[str | None, str]]] = defaultdict(list)
    rows = conn.execute(
        select(AuditEntry.entity, AuditEntry.entity_id, AuditEntry.from_status, AuditEntry.to_status)
        .where(AuditEntry.entity.in_(("order", "outbox", "batch")))
        .order_by(AuditEntry.id)
    )
    for entity, entity_id, from_status, to_status in rows:
        if (entity, entity_id) in current:
            chains[(entity, entity_id)].append((from_status, to_status))
    broken = []
    for key, status in current.items():
        chain = chains.get(key, [])
        linked = all(prev[1] == nxt[0] for prev, nxt in zip(chain, chain[1:], strict=False))
        if not chain or not linked or chain[-1][1] != status:
            broken.append(f"{key[0]} {key[1]}")
    if broken:
        found.fail(f"{len(broken)} audit trails that do not explain the state: {_few(broken)}")

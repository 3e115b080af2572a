"""Storing imported orders: insert new ones, update changed ones not yet in a batch, leave the rest."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fulfilment.domain.orders import ImportedOrder
from fulfilment.domain.risk import burst_address_key
from fulfilment.store import audit
from fulfilment.store.claims import locked
from fulfilment.store.models import LiveSession, Order, OrderLineRow, utcnow

LOOKUP_BATCH = 1000
OPEN = frozenset({"pending", "cancelled", "backordered"})
"""Statuses a re-import may change (locked rows, so a batch claiming at the same time skips them)."""


@dataclass(slots=True)
class UpsertCounts:
    """What an import did to the stored orders."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    locked: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "locked": len(self.locked),
        }


def digest(order: ImportedOrder) -> str:
    """A fingerprint of everything an import can change, to tell a re-export with changes from a repeat."""
    a = order.ship_to
    payload = [
        order.status,
        order.buyer,
        order.buyer_ip,
        a.name,
        a.street1,
        a.street2,
        a.city,
        a.state,
        a.zip,
        a.country,
        a.phone,
        str(order.amount),
        order.created_at.isoformat(),
        order.paid_at.isoformat() if order.paid_at else "",
        order.buyer_message,
        [(ln.sku, ln.quantity, str(ln.unit_price), ln.name, ln.unit_weight_oz) for ln in order.lines],
    ]
    return hashlib.sha256(json.dumps(payload, default=str).encode()).hexdigest()


def session_id(session: Session, name: str) -> int:
    """The id of the live session called `name`, created if new."""
    found = session.scalar(select(LiveSession.id).where(LiveSession.name == name))
    if found is not None:
        return found
    live = LiveSession(name=name)
    session.add(live)
    session.flush()
    return live.id


def _order_values(order: ImportedOrder, source: str, live_session: int | None, fingerprint: str) -> dict[str, object]:
    a = order.ship_to
    values: dict[str, object] = {
        "id": order.id,
        "channel": order.channel,
        "status": order.status,
        "buyer": order.buyer,
        "buyer_ip": order.buyer_ip,
        "ship_name": a.name,
        "ship_street1": a.street1,
        "ship_street2": a.street2,
        "ship_city": a.city,
        "ship_state": a.state,
        "ship_zip": a.zip,
        "ship_country": a.country,
        "ship_phone": a.phone,
        "address_key": burst_address_key(a),
        "amount": order.amount,
        "buyer_message": order.buyer_message,
        "created_at": order.created_at,
        "paid_at": order.paid_at,
        "source": source,
        "source_line": order.source_line,
        "digest": fingerprint,
        "extra": dict(order.extra),
        "updated_at": utcnow(),
    }
    if live_session is not None:
        values["session_id"] = live_session
    return values


def _line_rows(order: ImportedOrder) -> list[dict[str, object]]:
    return [
        {
            "order_id": order.id,
            "sku": ln.sku,
            "name": ln.name,
            "quantity": ln.quantity,
            "unit_price": ln.unit_price,
            "unit_weight_oz": ln.unit_weight_oz,
        }
        for ln in order.lines
    ]


def upsert_orders(
    session: Session,
    orders: Sequence[ImportedOrder],
    source: str,
    actor: str,
    live_session: str | None = None,
) -> UpsertCounts:
    """Store orders in the caller's transaction; an order already claimed by a batch is never changed, except a
    backordered one (it holds no stock): a re-export may cancel it or change it, and it is screened again."""
    counts = UpsertCounts()
    sid = session_id(session, live_session) if live_session else None
    for start in range(0, len(orders), LOOKUP_BATCH):
        part = orders[start : start + LOOKUP_BATCH]
        stored = {
            row.id: row
            for row in session.execute(
                locked(
                    session,
                    select(Order.id, Order.status, Order.digest, Order.batch_id).where(
                        Order.id.in_([o.id for o in part])
                    ),
                )
            )
        }
        new_orders, new_lines, changed, changes = [], [], [], []
        for order in part:
            fingerprint = digest(order)
            existing = stored.get(order.id)
            if existing is None:
                new_orders.append(_order_values(order, source, sid, fingerprint))
                new_lines.extend(_line_rows(order))
                changes.append((order.id, None, order.status, f"imported from {source}"))
                counts.created += 1
            elif existing.digest == fingerprint:
                counts.unchanged += 1
            elif existing.status not in OPEN or (existing.batch_id is not None and existing.status != "backordered"):
                counts.locked.append(order.id)
            else:
                changed.append((order, fingerprint))
                changes.append((order.id, existing.status, order.status, f"updated from {source}"))
                counts.updated += 1
        if new_orders:
            session.execute(Order.__table__.insert(), new_orders)
        if changed:
            session.execute(delete(OrderLineRow).where(OrderLineRow.order_id.in_([o.id for o, _ in changed])))
            for order, fingerprint in changed:
                session.execute(
                    Order.__table__.update()
                    .where(Order.id == order.id)
                    .values(**_order_values(order, source, sid, fingerprint))
                )
                new_lines.extend(_line_rows(order))
        if new_lines:
            session.execute(OrderLineRow.__table__.insert(), new_lines)
        audit.record(session, "order", changes, actor)
    return counts

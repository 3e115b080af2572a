"""Storing imported orders: insert new ones, update changed ones not yet in a batch, leave the rest."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from fulfilment.domain.orders import ImportedOrder
from fulfilment.domain.risk import burst_address_key
from fulfilment.store import audit
from fulfilment.store.bulk import analyze, insert_rows
from fulfilment.store.claims import locked
from fulfilment.store.db import one_of
from fulfilment.store.models import LiveSession, Order, OrderLineRow, utcnow

LOOKUP_BATCH = 5000
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


_DIGEST_JSON = json.JSONEncoder(default=str)
"""The encoder `json.dumps(payload, default=str)` would build, built once (it otherwise builds one per call)."""


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
    return hashlib.sha256(_DIGEST_JSON.encode(payload).encode()).hexdigest()


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
        "address_flags": None,  # read again by the next screen
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


def _update_orders(session: Session, rows: list[dict[str, object]]) -> None:
    """Replace the stored values of existing orders, one executemany for all of them."""
    shape = [k for k in rows[0] if k != "id"]
    stmt = (
        update(Order.__table__)
        .where(Order.__table__.c.id == bindparam("b_id"))
        .values({k: bindparam(f"v_{k}") for k in shape})
    )
    session.connection().execute(stmt, [{"b_id": r["id"], **{f"v_{k}": r[k] for k in shape}} for r in rows])


ANALYZE_AFTER = 1000
"""Orders stored in one import after which PostgreSQL's planner statistics of the orders tables are refreshed."""


def upsert_orders(
    session: Session,
    orders: Sequence[ImportedOrder],
    source: str,
    actor: str,
    live_session: str | None = None,
) -> UpsertCounts:
    """Store orders in the caller's transaction; an order already claimed by a batch is never changed, except a
    backordered one (it holds no stock): a re-export may cancel it or change it, and it is screened again.

    Per `LOOKUP_BATCH` orders: one query for the stored ones, then one bulk write each for new orders, their
    lines, changed orders and the audit rows (never a round trip per order). After ``ANALYZE_AFTER`` or more
    new or changed orders, PostgreSQL's statistics of the tables are refreshed: the batch that usually follows a
    live session's import would otherwise be planned on the tables as they were before (the risk screen's
    nearby-orders query then scans the whole session's window per chunk: quadratic in the session's size).
    """
    counts = UpsertCounts()
    sid = session_id(session, live_session) if live_session else None
    for start in range(0, len(orders), LOOKUP_BATCH):
        part = orders[start : start + LOOKUP_BATCH]
        query = select(Order.id, Order.status, Order.digest, Order.batch_id).where(
            one_of(session, Order.id, [o.id for o in part])
        )
        stored = {row.id: row for row in session.execute(locked(session, query))}
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
                changed.append(_order_values(order, source, sid, fingerprint))
                new_lines.extend(_line_rows(order))
                changes.append((order.id, existing.status, order.status, f"updated from {source}"))
                counts.updated += 1
        insert_rows(session, Order.__table__, new_orders)
        if changed:
            ids = [values["id"] for values in changed]
            session.execute(delete(OrderLineRow).where(OrderLineRow.order_id.in_(ids)))
            _update_orders(session, changed)
        insert_rows(session, OrderLineRow.__table__, new_lines)
        audit.record(session, "order", changes, actor)
    if counts.created + counts.updated >= ANALYZE_AFTER:
        analyze(session, Order.__table__, OrderLineRow.__table__)
    return counts

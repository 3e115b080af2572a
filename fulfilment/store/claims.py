"""Claiming work: guarded state changes that make every stage safe to run twice or concurrently."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, bindparam, select, update
from sqlalchemy.orm import Session

from fulfilment.domain.orders import OrderLine
from fulfilment.store import audit
from fulfilment.store.db import is_sqlite
from fulfilment.store.models import Chunk, Order, OrderLineRow, utcnow


def locked(session: Session, stmt: Any, skip_locked: bool = False) -> Any:
    """Add FOR NO KEY UPDATE (optionally SKIP LOCKED) on PostgreSQL; SQLite has one writer and needs none.

    NO KEY: rows inserted elsewhere that reference the locked row (shipments → batches) take a key-share lock
    on it, which a plain FOR UPDATE would wait on; we never change keys, so the weaker lock is enough.
    """
    if is_sqlite(session.get_bind()):  # type: ignore[arg-type]
        return stmt
    return stmt.with_for_update(skip_locked=skip_locked, key_share=True)


def claim_chunk(session: Session, chunk_id: int, stage: str) -> Chunk | None:
    """Lock the chunk if it is at `stage` and no other worker holds it; None means there is nothing to do."""
    stmt = select(Chunk).where(Chunk.id == chunk_id, Chunk.stage == stage)
    return session.scalar(locked(session, stmt, skip_locked=True))


@dataclass(slots=True)
class StageOrder:
    """What the stages read of a stored order and its lines (columns of the same names): a snapshot, which
    stages only read (they change orders through guarded UPDATEs, :class:`Transitions`).

    Plain values rather than ORM objects: building ORM objects (identity map, instrumented state, lines
    collections) cost more than the queries themselves, and the orders are read five times per chunk. Not frozen:
    a frozen dataclass is five times slower to build."""

    id: str
    channel: str
    status: str
    buyer: str
    buyer_ip: str | None
    ship_name: str
    ship_street1: str
    ship_street2: str
    ship_city: str
    ship_state: str
    ship_zip: str
    ship_country: str
    ship_phone: str
    address_key: str
    address_flags: int | None
    amount: Decimal
    created_at: datetime
    paid_at: datetime | None
    session_id: int | None
    batch_id: str | None
    warehouse_code: str | None
    carrier: str | None
    service: str | None
    rule_id: str | None
    billable_weight_oz: float | None
    extra: dict[str, str]
    tags: list[str]
    lines: tuple[OrderLine, ...]


_STAGE_COLUMNS = [Order.__table__.c[f.name] for f in fields(StageOrder) if f.name != "lines"]
_LINE_COLUMNS = [OrderLineRow.__table__.c[f.name] for f in fields(OrderLine)]


def stage_orders(session: Session, *where: ColumnElement[bool], lock: bool = False) -> list[StageOrder]:
    """The orders matching `where`, with their lines, in ship-by order; locked until the transaction ends with
    `lock`.

    The lines come from a second query over the same condition (constant SQL, where an IN list would send every
    order id); with `lock` the orders are locked, so both queries see the same orders."""
    stmt = select(*_STAGE_COLUMNS).where(*where).order_by(Order.paid_at, Order.created_at, Order.id)
    rows = session.execute(locked(session, stmt) if lock else stmt).all()
    if not rows:
        return []
    lines: dict[str, list[OrderLine]] = {}
    query = select(OrderLineRow.order_id, *_LINE_COLUMNS).join(Order).where(*where).order_by(OrderLineRow.id)
    for order_id, *values in session.execute(query):
        lines.setdefault(order_id, []).append(OrderLine(*values))
    return [StageOrder(*row, lines=tuple(lines.get(row.id, ()))) for row in rows]


def chunk_orders(session: Session, chunk_id: int, status: str) -> list[StageOrder]:
    """The chunk's orders in `status`, with their lines, locked, in ship-by order."""
    return stage_orders(session, Order.chunk_id == chunk_id, Order.status == status, lock=True)


@dataclass(slots=True)
class Transitions:
    """Order state changes collected by a stage and applied together: (order, to status, reason, values)."""

    from_status: str
    actor: str
    changes: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)

    def add(self, order_id: str, to_status: str, reason: str, **values: Any) -> None:
        self.changes.append((order_id, to_status, reason, values))

    def apply(self, session: Session) -> None:
        """Update every order still in `from_status`, then write one audit row per change."""
        by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        now = utcnow()
        for order_id, to_status, reason, values in self.changes:
            fields = {"status": to_status, "reason": reason, "updated_at": now, **values}
            row = {"b_id": order_id, **{f"v_{k}": v for k, v in fields.items()}}
            by_shape.setdefault(tuple(sorted(fields)), []).append(row)
        for shape, rows in by_shape.items():
            columns = {k: bindparam(f"v_{k}") for k in shape}
            stmt = (
                update(Order.__table__)
                .where(Order.__table__.c.id == bindparam("b_id"), Order.__table__.c.status == self.from_status)
                .values(columns)
            )
            session.connection().execute(stmt, rows)
        audit.record(session, "order", [(o, self.from_status, s, r) for o, s, r, _ in self.changes], self.actor)


def move(
    session: Session, order_id: str, from_status: str, to_status: str, actor: str, reason: str, **values: Any
) -> bool:
    """One guarded state change and its audit row; False, writing nothing, when the order is not in
    `from_status` (someone else moved it first)."""
    result = session.execute(
        update(Order)
        .where(Order.id == order_id, Order.status == from_status)
        .values(status=to_status, reason=reason, updated_at=utcnow(), **values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    audit.record(session, "order", [(order_id, from_status, to_status, reason)], actor)
    return True


def set_chunk_stage(session: Session, chunk: Chunk, stage: str) -> None:
    """Move a claimed chunk on to `stage`."""
    chunk.stage = stage
    chunk.updated_at = utcnow()
    session.flush()

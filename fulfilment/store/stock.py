"""Reserving stock with guarded updates: concurrent workers and redelivered messages cannot oversell."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fulfilment.store.claims import locked
from fulfilment.store.db import is_sqlite
from fulfilment.store.models import Reservation, Stock, Warehouse, utcnow

INSERT_SLICE = 1000
"""Reservation rows per INSERT statement."""


def available(session: Session, skus: Iterable[str], lock: bool = False) -> dict[tuple[str, str], int]:
    """Units available (on hand - reserved) per (warehouse, sku): a hint, the reservation itself decides.

    With `lock`, the stock rows are locked in (warehouse, sku) order until the transaction ends, so two
    allocations that share SKUs queue instead of deadlocking (PostgreSQL; SQLite has one writer anyway).
    """
    stmt = (
        select(Stock.warehouse_code, Stock.sku, Stock.on_hand - Stock.reserved)
        .where(Stock.sku.in_(set(skus)))
        .order_by(Stock.warehouse_code, Stock.sku)
    )
    rows = session.execute(locked(session, stmt) if lock else stmt)
    return {(w, s): int(a) for w, s, a in rows}


class StockChanged(RuntimeError):
    """Stock the allocation counted on was gone when reserved; the transaction must roll back and retry."""


def _insert_reservations(session: Session, rows: list[tuple[str, str, str, int]]) -> list[tuple[str, str, str, int]]:
    """Insert (order, warehouse, sku, units) reservation rows, reviving released ones; returns the rows that
    were new (a row already reserved is left alone: a redelivery cannot reserve twice)."""
    dialect = sqlite if is_sqlite(session.get_bind()) else postgresql  # type: ignore[arg-type]
    table = Reservation.__table__
    created = []
    for start in range(0, len(rows), INSERT_SLICE):
        values = [
            {"order_id": o, "warehouse_code": w, "sku": k, "quantity": q, "status": "reserved", "created_at": utcnow()}
            for o, w, k, q in rows[start : start + INSERT_SLICE]
        ]
        insert = dialect.insert(Reservation).values(values)
        stmt = insert.on_conflict_do_update(
            index_elements=["order_id", "warehouse_code", "sku"],
            set_={"quantity": insert.excluded.quantity, "status": "reserved"},
            where=table.c.status == "released",
        ).returning(table.c.order_id, table.c.warehouse_code, table.c.sku, table.c.quantity)
        created.extend(tuple(r) for r in session.execute(stmt))
    return created


def reserve_many(session: Session, plans: Sequence[tuple[str, Sequence[tuple[str, Mapping[str, int]]]]]) -> None:
    """Reserve the parts of many orders at once: one insert of reservation rows, then one guarded UPDATE per
    (warehouse, sku) for the units newly reserved. Raises StockChanged if any UPDATE finds too little (call
    it with the stock rows locked, see `available(lock=True)`, and it will not)."""
    rows = [(o, w, sku, q) for o, parts in plans for w, part in parts for sku, q in part.items()]
    totals: dict[tuple[str, str], int] = {}
    for _order, warehouse, sku, quantity in _insert_reservations(session, rows):
        totals[(warehouse, sku)] = totals.get((warehouse, sku), 0) + quantity
    for (warehouse, sku), quantity in sorted(totals.items()):
        if not _take(session, warehouse, sku, quantity):
            raise StockChanged(f"{sku} at {warehouse}: fewer than {quantity} units left to reserve")


def _take(session: Session, warehouse: str, sku: str, quantity: int) -> bool:
    stmt = (
        update(Stock)
        .where(Stock.warehouse_code == warehouse, Stock.sku == sku, Stock.on_hand - Stock.reserved >= quantity)
        .values(reserved=Stock.reserved + quantity)
    )
    return session.execute(stmt).rowcount == 1  # type: ignore[attr-defined]


def _settle(session: Session, order_ids: list[str], moves: tuple[str, str], reserved: int, on_hand: int) -> None:
    """Move the orders' reservations from `moves[0]` to `moves[1]`, changing the reserved and on-hand units by
    `reserved` and `on_hand` times each quantity (-1, 0 or 1): one UPDATE per (warehouse, sku), with the stock
    rows locked in the global (warehouse, sku) order first so that no two transactions changing several stock
    rows can deadlock."""
    rows = session.execute(
        select(Reservation.id, Reservation.warehouse_code, Reservation.sku, Reservation.quantity).where(
            Reservation.order_id.in_(order_ids), Reservation.status == moves[0]
        )
    ).all()
    if not rows:
        return
    totals: dict[tuple[str, str], int] = {}
    for _id, warehouse, sku, quantity in rows:
        totals[(warehouse, sku)] = totals.get((warehouse, sku), 0) + quantity
    available(session, {sku for _, sku in totals}, lock=True)
    for (warehouse, sku), quantity in sorted(totals.items()):
        values = {}
        if reserved:
            values["reserved"] = Stock.reserved + reserved * quantity
        if on_hand:
            values["on_hand"] = Stock.on_hand + on_hand * quantity
        session.execute(update(Stock).where(Stock.warehouse_code == warehouse, Stock.sku == sku).values(**values))
    session.execute(update(Reservation).where(Reservation.id.in_([r[0] for r in rows])).values(status=moves[1]))


def deduct(session: Session, order_ids: list[str]) -> None:
    """Labels were made: the orders' reservations leave the shelf (on hand and reserved both drop)."""
    _settle(session, order_ids, ("reserved", "deducted"), reserved=-1, on_hand=-1)


def release(session: Session, order_ids: list[str]) -> None:
    """The orders will not ship: put their reserved units back on offer."""
    _settle(session, order_ids, ("reserved", "released"), reserved=-1, on_hand=0)


def unship(session: Session, order_ids: list[str], keep: bool) -> None:
    """The orders' labels were voided before the parcels left: their deducted units go back on hand, held for
    the orders again (`keep`: the reservations are ``reserved`` once more) or back on offer (``released``)."""
    if keep:
        _settle(session, order_ids, ("deducted", "reserved"), reserved=1, on_hand=1)
    else:
        _settle(session, order_ids, ("deducted", "released"), reserved=0, on_hand=1)


def levels(session: Session, sku: str | None = None) -> list[tuple[str, str, int, int]]:
    """(warehouse, sku, on hand, reserved) rows, by SKU then warehouse rank; one SKU's when given."""
    stmt = (
        select(Stock.warehouse_code, Stock.sku, Stock.on_hand, Stock.reserved)
        .join(Warehouse, Warehouse.code == Stock.warehouse_code)
        .order_by(Stock.sku, Warehouse.rank)
    )
    if sku:
        stmt = stmt.where(Stock.sku == sku)
    return [(w, s, int(h), int(r)) for w, s, h, r in session.execute(stmt)]

"""Reserving stock with guarded updates: concurrent workers and redelivered messages cannot oversell.

On PostgreSQL reserving and settling are one statement each, of constant text, the rows passed as arrays
(nothing compiled per call, one round trip); SQLite (in-process, one writer) runs cached statements row by row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, Update, bindparam, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from fulfilment.store.claims import locked
from fulfilment.store.db import is_sqlite
from fulfilment.store.models import Reservation, Stock, Warehouse, utcnow


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


Row = tuple[str, str, int]
"""(warehouse, sku, units)."""

_ADJUST = """
, locked AS (
    SELECT stock.warehouse_code, stock.sku, delta.quantity FROM stock LEFT JOIN delta USING (warehouse_code, sku)
    WHERE stock.sku IN (SELECT sku FROM delta)
    ORDER BY stock.warehouse_code, stock.sku
    FOR NO KEY UPDATE OF stock
), changed AS (
    UPDATE stock SET reserved = stock.reserved + :reserved * locked.quantity,
        on_hand = stock.on_hand + :on_hand * locked.quantity, updated_at = :now
    FROM locked
    WHERE stock.warehouse_code = locked.warehouse_code AND stock.sku = locked.sku AND locked.quantity IS NOT NULL
        {guard}
    RETURNING stock.warehouse_code, stock.sku
)
SELECT delta.warehouse_code, delta.sku, delta.quantity FROM delta LEFT JOIN changed USING (warehouse_code, sku)
WHERE changed.sku IS NULL ORDER BY delta.warehouse_code, delta.sku
"""
"""PostgreSQL: add `delta` (warehouse_code, sku, quantity) times :reserved / :on_hand to the stock rows; first
the rows of those SKUs in every warehouse are locked in (warehouse, sku) order, as `available(lock=True)`
does, so a later change in the same transaction to another warehouse's row of these SKUs takes no new lock.
Returns the delta rows left unchanged (no stock row, or the guard failed)."""

_GUARD = "AND stock.on_hand - stock.reserved >= locked.quantity"

_RESERVE_PG = text(
    """
WITH new AS (
    INSERT INTO reservations (order_id, warehouse_code, sku, quantity, status, created_at)
    SELECT order_id, warehouse_code, sku, quantity, 'reserved', :now
    FROM unnest(CAST(:orders AS VARCHAR[]), CAST(:warehouses AS VARCHAR[]), CAST(:skus AS VARCHAR[]),
                CAST(:quantities AS INTEGER[])) AS wanted(order_id, warehouse_code, sku, quantity)
    ON CONFLICT (order_id, warehouse_code, sku) DO UPDATE SET quantity = excluded.quantity, status = 'reserved'
    WHERE reservations.status = 'released'
    RETURNING warehouse_code, sku, quantity
), delta AS (
    SELECT warehouse_code, sku, sum(quantity) AS quantity FROM new GROUP BY warehouse_code, sku
)"""
    + _ADJUST.format(guard=_GUARD)
)
"""Insert the reservation rows (reviving released ones, leaving reserved ones alone) and take their units from
stock where enough are left; returns the (warehouse, sku, units) that were short."""

_SETTLE_PG = text(
    """
WITH moved AS (
    UPDATE reservations SET status = :to_status
    WHERE order_id = ANY(CAST(:orders AS VARCHAR[])) AND status = :from_status
    RETURNING warehouse_code, sku, quantity
), delta AS (
    SELECT warehouse_code, sku, sum(quantity) AS quantity FROM moved GROUP BY warehouse_code, sku
)"""
    + _ADJUST.format(guard="")
)
"""Move the orders' reservations between statuses and their units in stock, in one statement."""

_reservations = Reservation.__table__
_stock = Stock.__table__
_insert_sqlite = sqlite.insert(_reservations)
_UPSERT_SQLITE = _insert_sqlite.on_conflict_do_update(
    index_elements=["order_id", "warehouse_code", "sku"],
    set_={"quantity": _insert_sqlite.excluded.quantity, "status": "reserved"},
    where=_reservations.c.status == "released",
).returning(_reservations.c.warehouse_code, _reservations.c.sku, _reservations.c.quantity)
_ADJUST_SQLITE = (
    update(_stock)
    .where(_stock.c.warehouse_code == bindparam("w"), _stock.c.sku == bindparam("s"))
    .values(
        reserved=_stock.c.reserved + bindparam("reserved") * bindparam("q"),
        on_hand=_stock.c.on_hand + bindparam("on_hand") * bindparam("q"),
        updated_at=bindparam("now"),
    )
)
_TAKE_SQLITE = _ADJUST_SQLITE.where(_stock.c.on_hand - _stock.c.reserved >= bindparam("q"))


def reserve_many(session: Session, plans: Sequence[tuple[str, Sequence[tuple[str, Mapping[str, int]]]]]) -> None:
    """Reserve the parts of many orders at once: insert the (order, warehouse, sku) reservation rows (a row
    already reserved is left alone: a redelivery cannot reserve twice), then take the units newly reserved
    from each stock row with a guarded update, the rows locked in (warehouse, sku) order. Raises
    StockChanged if any stock row has too few units left (call it with the stock rows locked, see
    `available(lock=True)`, and it will not). On PostgreSQL all of it is one statement."""
    rows = [(o, w, sku, q) for o, parts in plans for w, part in parts for sku, q in part.items()]
    if not rows:
        return
    connection, now = session.connection(), utcnow()
    if is_sqlite(connection.engine):
        values = [
            {"order_id": o, "warehouse_code": w, "sku": k, "quantity": q, "status": "reserved", "created_at": now}
            for o, w, k, q in rows
        ]
        created = connection.execute(_UPSERT_SQLITE, values).all()
        short = _adjust_sqlite(connection, _TAKE_SQLITE, created, 1, 0, now)
    else:
        orders, warehouses, skus, quantities = (list(c) for c in zip(*rows, strict=True))
        params = {"orders": orders, "warehouses": warehouses, "skus": skus, "quantities": quantities}
        short = connection.execute(_RESERVE_PG, {**params, "reserved": 1, "on_hand": 0, "now": now}).all()
    if short:
        warehouse, sku, quantity = short[0]
        raise StockChanged(f"{sku} at {warehouse}: fewer than {quantity} units left to reserve")


def _adjust_sqlite(
    connection: Connection, stmt: Update, rows: Iterable[Row], reserved: int, on_hand: int, now: datetime
) -> list[Row]:
    """SQLite: add the rows' units, summed per (warehouse, sku), times `reserved` / `on_hand` to the stock rows,
    in (warehouse, sku) order; returns those `stmt` left unchanged."""
    totals: dict[tuple[str, str], int] = {}
    for warehouse, sku, quantity in rows:
        totals[(warehouse, sku)] = totals.get((warehouse, sku), 0) + quantity
    short = []
    for (warehouse, sku), quantity in sorted(totals.items()):
        params = {"w": warehouse, "s": sku, "q": quantity, "reserved": reserved, "on_hand": on_hand, "now": now}
        if connection.execute(stmt, params).rowcount != 1:
            short.append((warehouse, sku, quantity))
    return short


def _settle(session: Session, order_ids: list[str], moves: tuple[str, str], reserved: int, on_hand: int) -> None:
    """Move the orders' reservations from `moves[0]` to `moves[1]`, changing the reserved and on-hand units by
    `reserved` and `on_hand` times each quantity (-1, 0 or 1), with the stock rows locked in the global
    (warehouse, sku) order so that no two transactions changing several stock rows can deadlock. On
    PostgreSQL it is one statement."""
    if not order_ids:
        return
    connection, now = session.connection(), utcnow()
    if is_sqlite(connection.engine):
        moved = connection.execute(
            update(_reservations)
            .where(_reservations.c.order_id.in_(order_ids), _reservations.c.status == moves[0])
            .values(status=moves[1])
            .returning(_reservations.c.warehouse_code, _reservations.c.sku, _reservations.c.quantity)
        )
        _adjust_sqlite(connection, _ADJUST_SQLITE, moved.all(), reserved, on_hand, now)
        return
    params = {"orders": list(order_ids), "from_status": moves[0], "to_status": moves[1]}
    connection.execute(_SETTLE_PG, {**params, "reserved": reserved, "on_hand": on_hand, "now": now})


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

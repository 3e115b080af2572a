"""Reserving stock with guarded updates: concurrent workers and redelivered messages cannot oversell."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import and_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fulfilment.store.db import is_sqlite
from fulfilment.store.models import Reservation, Stock


def available(session: Session, skus: Iterable[str]) -> dict[tuple[str, str], int]:
    """Units available (on hand - reserved) per (warehouse, sku), with the rows locked for this transaction.

    Rows are locked in one global order (warehouse, sku), as every transaction that changes several stock rows
    does, so two of them can never deadlock; the guarded UPDATE in `reserve` still decides.
    """
    query = (
        select(Stock.warehouse_code, Stock.sku, Stock.on_hand - Stock.reserved)
        .where(Stock.sku.in_(sorted(set(skus))))
        .order_by(Stock.warehouse_code, Stock.sku)
    )
    if not is_sqlite(session.get_bind()):  # type: ignore[arg-type]
        query = query.with_for_update()
    return {(w, s): int(a) for w, s, a in session.execute(query)}


def _insert_reservation(session: Session, order_id: str, warehouse: str, sku: str, quantity: int) -> bool:
    dialect = sqlite if is_sqlite(session.get_bind()) else postgresql  # type: ignore[arg-type]
    stmt = (
        dialect.insert(Reservation)
        .values(order_id=order_id, warehouse_code=warehouse, sku=sku, quantity=quantity, status="reserved")
        .on_conflict_do_nothing(index_elements=["order_id", "warehouse_code", "sku"])
        .returning(Reservation.id)
    )
    return session.execute(stmt).first() is not None


def _take(session: Session, warehouse: str, sku: str, quantity: int) -> bool:
    stmt = (
        update(Stock)
        .where(Stock.warehouse_code == warehouse, Stock.sku == sku, Stock.on_hand - Stock.reserved >= quantity)
        .values(reserved=Stock.reserved + quantity)
    )
    return session.execute(stmt).rowcount == 1  # type: ignore[attr-defined]


def reserve(session: Session, order_id: str, warehouse: str, needed: Mapping[str, int]) -> bool:
    """Reserve every SKU of an order in one warehouse, or nothing: True when all of it is held.

    The reservation row is inserted first (ON CONFLICT DO NOTHING) so a second delivery cannot reserve
    again; the stock row is then changed only if enough is available, in one guarded UPDATE.
    """
    taken: list[tuple[str, int]] = []
    for sku, quantity in needed.items():
        if not _insert_reservation(session, order_id, warehouse, sku, quantity):
            continue
        if not _take(session, warehouse, sku, quantity):
            _undo(session, order_id, warehouse, taken + [(sku, 0)])
            return False
        taken.append((sku, quantity))
    return True


def _undo(session: Session, order_id: str, warehouse: str, taken: list[tuple[str, int]]) -> None:
    for sku, quantity in taken:
        if quantity:
            session.execute(
                update(Stock)
                .where(Stock.warehouse_code == warehouse, Stock.sku == sku)
                .values(reserved=Stock.reserved - quantity)
            )
        session.execute(
            Reservation.__table__.delete().where(
                and_(
                    Reservation.order_id == order_id,
                    Reservation.warehouse_code == warehouse,
                    Reservation.sku == sku,
                )
            )
        )


def _settle(session: Session, order_ids: list[str], status: str, on_hand: bool) -> None:
    """Close the orders' open reservations with `status`: reserved units drop (and on-hand too when shipped),
    one UPDATE per (warehouse, sku), rows locked in the global order."""
    rows = session.execute(
        select(Reservation.id, Reservation.warehouse_code, Reservation.sku, Reservation.quantity).where(
            Reservation.order_id.in_(order_ids), Reservation.status == "reserved"
        )
    ).all()
    if not rows:
        return
    totals: dict[tuple[str, str], int] = {}
    for _id, warehouse, sku, quantity in rows:
        totals[(warehouse, sku)] = totals.get((warehouse, sku), 0) + quantity
    available(session, {sku for _, sku in totals})
    for (warehouse, sku), quantity in sorted(totals.items()):
        values = {"reserved": Stock.reserved - quantity}
        if on_hand:
            values["on_hand"] = Stock.on_hand - quantity
        session.execute(update(Stock).where(Stock.warehouse_code == warehouse, Stock.sku == sku).values(**values))
    session.execute(update(Reservation).where(Reservation.id.in_([r[0] for r in rows])).values(status=status))


def deduct(session: Session, order_ids: list[str]) -> None:
    """Labels were made: the orders' reservations leave the shelf (on hand and reserved both drop)."""
    _settle(session, order_ids, "deducted", on_hand=True)


def release(session: Session, order_ids: list[str]) -> None:
    """The orders will not ship: put their reserved units back on offer."""
    _settle(session, order_ids, "released", on_hand=False)

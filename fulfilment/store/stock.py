"""Reserving stock with guarded updates: concurrent workers and redelivered messages cannot oversell."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import and_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fulfilment.store.db import is_sqlite
from fulfilment.store.models import Reservation, Stock


def available(session: Session, skus: Iterable[str]) -> dict[tuple[str, str], int]:
    """Units available (on hand - reserved) per (warehouse, sku): a hint, the reservation itself decides."""
    rows = session.execute(
        select(Stock.warehouse_code, Stock.sku, Stock.on_hand - Stock.reserved).where(Stock.sku.in_(set(skus)))
    )
    return {(w, s): int(a) for w, s, a in rows}


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


def deduct(session: Session, order_ids: list[str]) -> None:
    """Labels were made: the orders' reservations leave the shelf (on hand and reserved both drop)."""
    rows = session.execute(
        select(Reservation.id, Reservation.warehouse_code, Reservation.sku, Reservation.quantity).where(
            Reservation.order_id.in_(order_ids), Reservation.status == "reserved"
        )
    ).all()
    totals: dict[tuple[str, str], int] = {}
    for _id, warehouse, sku, quantity in rows:
        totals[(warehouse, sku)] = totals.get((warehouse, sku), 0) + quantity
    for (warehouse, sku), quantity in totals.items():
        session.execute(
            update(Stock)
            .where(Stock.warehouse_code == warehouse, Stock.sku == sku)
            .values(on_hand=Stock.on_hand - quantity, reserved=Stock.reserved - quantity)
        )
    if rows:
        session.execute(update(Reservation).where(Reservation.id.in_([r[0] for r in rows])).values(status="deducted"))


def release(session: Session, order_ids: list[str]) -> None:
    """The orders will not ship: put their reserved units back on offer."""
    rows = session.execute(
        select(Reservation.id, Reservation.warehouse_code, Reservation.sku, Reservation.quantity).where(
            Reservation.order_id.in_(order_ids), Reservation.status == "reserved"
        )
    ).all()
    for _id, warehouse, sku, quantity in rows:
        session.execute(
            update(Stock)
            .where(Stock.warehouse_code == warehouse, Stock.sku == sku)
            .values(reserved=Stock.reserved - quantity)
        )
    if rows:
        session.execute(update(Reservation).where(Reservation.id.in_([r[0] for r in rows])).values(status="released"))


def forget_released(session: Session, order_ids: list[str]) -> None:
    """Drop the orders' released reservation rows, so a retried order can reserve again."""
    session.execute(
        Reservation.__table__.delete().where(
            and_(Reservation.order_id.in_(order_ids), Reservation.status == "released")
        )
    )

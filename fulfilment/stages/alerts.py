"""Low-stock alerts once a batch's chunks are done: what is left of the SKUs it sold, and how fast they sell."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fulfilment.domain.alerts import low_stock
from fulfilment.pipeline import Context
from fulfilment.store import audit
from fulfilment.store.models import Order, OrderLineRow, Stock, Warehouse

MIN_SPAN_HOURS = 1.0
"""Sell-through is measured over at least an hour, so a burst of a few minutes does not look endless."""


def stock_alerts(ctx: Context, session: Session, batch_id: str) -> list[dict[str, Any]]:
    """The batch's SKUs to restock (available over active warehouses under threshold, or out of stock within
    the horizon at the batch's sell-through: units ordered over the span of their order times); each is
    also written to the audit trail."""
    sold = dict(
        session.execute(
            select(OrderLineRow.sku, func.sum(OrderLineRow.quantity))
            .join(Order, Order.id == OrderLineRow.order_id)
            .where(Order.batch_id == batch_id)
            .group_by(OrderLineRow.sku)
        ).all()
    )
    if not sold:
        return []
    first, last = session.execute(
        select(func.min(Order.created_at), func.max(Order.created_at)).where(Order.batch_id == batch_id)
    ).one()
    hours = max(((last - first).total_seconds() / 3600) if first and last else 0.0, MIN_SPAN_HOURS)
    available = dict.fromkeys(sold, 0)
    for sku, units in session.execute(
        select(Stock.sku, func.sum(Stock.on_hand - Stock.reserved))
        .join(Warehouse, Warehouse.code == Stock.warehouse_code)
        .where(Stock.sku.in_(list(sold)), Warehouse.active.is_(True))
        .group_by(Stock.sku)
    ):
        available[sku] = int(units or 0)
    alerts = low_stock(available, {sku: int(n) / hours for sku, n in sold.items()}, ctx.rules.alerts)
    audit.record(
        session,
        "stock",
        [(a.sku, None, "low_stock", f"batch {batch_id}: {a.reason}") for a in alerts],
        "stage:documenting",
    )
    return [asdict(a) for a in alerts]

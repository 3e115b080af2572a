"""Cancelling an order the channel cancelled, at whatever stage it is: guarded, audited, stock given back."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fulfilment.store import audit, stock
from fulfilment.store.models import Order, Outbox, Shipment, ShipmentOrder

FINAL = ("cancelled", "skipped")
GUARD_TRIES = 3


def cancel_order(session: Session, order_id: str, why: str, actor: str) -> str:
    """Mark the order ``cancelled`` from its current status and say what was done.

    Reserved stock is released. A labelled order also has its shipment voided, its unsent tracking pushes
    cancelled, and a reason that tells the packers to take the parcel out. Unknown or already final: no change.
    """
    for _ in range(GUARD_TRIES):
        status = session.scalar(select(Order.status).where(Order.id == order_id))
        if status is None:
            return "unknown order"
        if status in FINAL:
            return f"already {status}"
        reason = why
        if status == "labelled":
            reason = f"{why}: label voided, take the parcel out before it ships"
        moved = session.execute(
            update(Order).where(Order.id == order_id, Order.status == status).values(status="cancelled", reason=reason)
        )
        if moved.rowcount == 1:
            break
    else:
        return "status kept changing; not cancelled"
    stock.release(session, [order_id])
    done = f"cancelled from {status}"
    if status == "labelled":
        shipments = select(ShipmentOrder.shipment_id).where(ShipmentOrder.order_id == order_id)
        session.execute(update(Shipment).where(Shipment.id.in_(shipments)).values(status="voided"))
        session.execute(
            update(Outbox)
            .where(Outbox.order_id == order_id, Outbox.status.in_(("pending", "retry")))
            .values(status="cancelled", last_error=why)
        )
        done += "; label voided, flagged for the packers"
    audit.record(session, "order", [(order_id, status, "cancelled", reason)], actor)
    return done

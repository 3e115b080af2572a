"""Cancelling an order the channel cancelled, at whatever stage it is: guarded, audited, stock given back."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fulfilment.store import audit, stock
from fulfilment.store.models import Order
from fulfilment.store.voids import reallocate, void_labels

FINAL = ("cancelled", "skipped")
GUARD_TRIES = 3


def cancel_order(session: Session, order_id: str, why: str, actor: str) -> str:
    """Mark the order ``cancelled`` from its current status and say what was done.

    Reserved stock is released. A labelled order also has its labels voided (:func:`void_labels`: refunded
    through the provider later, unsent tracking pushes cancelled, its units back on offer), and a reason that
    tells the packers to take the parcel out; an order combined into the same parcel goes back to ``allocated``
    for the next batch. Unknown or already final: no change.
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
        voided = void_labels(session, order_id, why, actor)
        stock.unship(session, [order_id], keep=False)
        others = [o for o in voided.orders if o != order_id]
        reallocate(session, others, f"label voided: combined with {order_id}, which was {why}", actor)
        done += "; label voided, flagged for the packers"
        if others:
            done += f"; {', '.join(others)} back to allocated"
        if voided.pushed:
            done += "; tracking already sent: tell the channel"
    audit.record(session, "order", [(order_id, status, "cancelled", reason)], actor)
    return done

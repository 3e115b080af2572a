"""Voiding labels in the database: the intent to refund first, the refund itself later and outside any transaction.

A voided label's shipment becomes ``refund_due`` when a provider was paid for it (Shippo), or ``voided`` at once
when nothing was bought (local labels); its unsent tracking pushes are cancelled; every order it carried has
its units put back on the shelf. An order whose tracking number was already sent to its channel is flagged
for a person: TikTok has no call that takes a shipment back (``formats/tiktok.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fulfilment.store import audit, stock
from fulfilment.store.models import Order, Outbox, Shipment, ShipmentOrder

PAID_PROVIDERS = ("shippo",)
"""Label providers whose labels cost money and are refunded through the provider."""


@dataclass(slots=True)
class Voided:
    """What voiding an order's labels did: the shipments, every order they carried, and the pushes already sent
    (order id, tracking number, channel) that a person must take back with the channel."""

    shipments: list[int] = field(default_factory=list)
    orders: list[str] = field(default_factory=list)
    refunds_due: int = 0
    pushed: list[tuple[str, str, str]] = field(default_factory=list)


def void_labels(session: Session, order_id: str, why: str, actor: str) -> Voided:
    """Void the labelled shipments of `order_id` (and so of every order they carry), in the caller's
    transaction. Orders are not moved: the caller decides where they go (allocated again, or cancelled)."""
    shipments = list(
        session.scalars(
            select(Shipment)
            .join(ShipmentOrder, ShipmentOrder.shipment_id == Shipment.id)
            .where(ShipmentOrder.order_id == order_id, Shipment.status == "labelled")
            .order_by(Shipment.id)
        )
    )
    done = Voided(shipments=[s.id for s in shipments])
    if not shipments:
        return done
    done.orders = list(
        session.scalars(
            select(ShipmentOrder.order_id)
            .where(ShipmentOrder.shipment_id.in_(done.shipments))
            .distinct()
            .order_by(ShipmentOrder.order_id)
        )
    )
    changes = []
    for shipment in shipments:
        paid = shipment.label_provider in PAID_PROVIDERS
        shipment.status = "refund_due" if paid else "voided"
        done.refunds_due += paid
        changes.append((str(shipment.id), "labelled", shipment.status, f"label {shipment.tracking_number}: {why}"))
    audit.record(session, "shipment", changes, actor)
    session.execute(
        update(Outbox)
        .where(Outbox.shipment_id.in_(done.shipments), Outbox.status.in_(("pending", "retry", "parked")))
        .values(status="cancelled", last_error=why)
    )
    done.pushed = [
        (o, t or "", c)
        for o, t, c in session.execute(
            select(Outbox.order_id, Shipment.tracking_number, Outbox.channel)
            .join(Shipment, Shipment.id == Outbox.shipment_id)
            .where(Outbox.shipment_id.in_(done.shipments), Outbox.status.in_(("sent", "sending")))
            .order_by(Outbox.order_id)
        )
    ]
    if done.pushed:
        audit.record(
            session,
            "order",
            [
                (o, "labelled", "channel_to_tell", f"tracking {t} was already sent to {c}: tell the channel by hand")
                for o, t, c in done.pushed
            ],
            actor,
        )
    return done


def reallocate(session: Session, order_ids: list[str], reason: str, actor: str) -> list[str]:
    """Labelled orders whose labels were voided go back to ``allocated``, holding their stock again, and out of
    their batch so that the next batch run claims them and labels them again. Returns the orders moved."""
    moved = list(
        session.scalars(
            update(Order)
            .where(Order.id.in_(order_ids), Order.status == "labelled")
            .values(status="allocated", reason=reason, batch_id=None, chunk_id=None)
            .returning(Order.id)
        )
    )
    stock.unship(session, moved, keep=True)
    audit.record(session, "order", [(o, "labelled", "allocated", reason) for o in moved], actor)
    return moved

"""Voiding an order's label: `fulfil label void ORDER`.

The parcel has not left: its label is refunded with the provider, its units go back on hand and are held for the
order again, unsent tracking pushes are cancelled, and the order goes back to ``allocated`` outside any batch,
so the next batch run routes and labels it again. Every order combined into the same parcel goes with it. If
the tracking number was already sent to the channel, the order is flagged (audit ``channel_to_tell``): a
person tells the channel, since TikTok has no call that takes a shipment back.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from fulfilment.pipeline import Context
from fulfilment.stages.label import refund_labels
from fulfilment.store.models import Order
from fulfilment.store.voids import Voided, reallocate, void_labels


class VoidRefused(ValueError):
    """The order cannot be voided (unknown, or not labelled); the message says why."""


@dataclass(frozen=True, slots=True)
class VoidOutcome:
    """What a void did: the labels voided, the orders back to allocated, refunds still due, pushes to take back."""

    voided: Voided
    reallocated: list[str]
    refunds_pending: int


def void_order(ctx: Context, order_id: str, actor: str = "cli") -> VoidOutcome:
    """Void the labels of a labelled order (intent committed first), then refund them outside the transaction."""
    with ctx.session() as session:
        status = session.scalar(select(Order.status).where(Order.id == order_id))
        if status is None:
            raise VoidRefused(f"no order {order_id!r}")
        if status != "labelled":
            raise VoidRefused(f"order {order_id} is {status}: only a labelled order's label can be voided")
        voided = void_labels(session, order_id, f"label voided by {actor}", actor)
        moved = reallocate(session, voided.orders, f"label voided by {actor}: to be labelled again", actor)
    return VoidOutcome(voided, moved, refund_labels(ctx))

"""Turning stored rows into the plain domain values the pure decisions take."""

from __future__ import annotations

from fulfilment.domain.orders import Address
from fulfilment.domain.risk import ScreenOrder
from fulfilment.store.claims import StageOrder
from fulfilment.store.models import Order

CANCEL_REQUEST_KEYS = ("buyer_cancel_request", "cancel_reason")
"""`extra` keys that say the buyer asked to cancel (JSON import flag; an export's Cancel Reason on a to-ship order)."""


def ship_to(order: Order | StageOrder) -> Address:
    """The order's destination as a domain Address."""
    return Address(
        name=order.ship_name,
        street1=order.ship_street1,
        street2=order.ship_street2,
        city=order.ship_city,
        state=order.ship_state,
        zip=order.ship_zip,
        country=order.ship_country,
        phone=order.ship_phone,
    )


def screen_input(order: StageOrder) -> ScreenOrder:
    """What the risk screen reads of a stored order."""
    extra = order.extra or {}
    return ScreenOrder(
        id=order.id,
        buyer=order.buyer,
        created_at=order.created_at,
        ship_to=ship_to(order),
        address_key=order.address_key,
        amount=order.amount,
        lines=tuple((line.sku, line.quantity) for line in order.lines),
        buyer_ip=order.buyer_ip,
        buyer_cancel_request=any(extra.get(k) for k in CANCEL_REQUEST_KEYS),
        address_changed=bool(extra.get("address_changed")),
    )

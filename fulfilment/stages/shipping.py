"""Turning stored rows into the plain domain values the pure decisions take."""

from __future__ import annotations

from fulfilment.domain.orders import Address
from fulfilment.store.models import Order


def ship_to(order: Order) -> Address:
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

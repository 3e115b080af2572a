"""Simulated live-session orders as the TikTok Shop API returns them, to be pulled through the stand-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fulfilment.domain.orders import ImportedOrder
from fulfilment.simulate import simulate_session

DELIVERY_OPTION_ID = "7091146663229654785"


def api_order(order: ImportedOrder) -> dict[str, Any]:
    """One simulated order in the API's shape (``tiktok.md`` section 3): one line item per unit, seller-shipped."""
    address = order.ship_to
    created = int(order.created_at.timestamp())
    paid = int((order.paid_at or order.created_at).timestamp())
    units = [line for line in order.lines for _ in range(line.quantity)]
    items = [
        {
            "id": f"{order.id[-12:]}{n:04d}",
            "sku_id": f"sku-{line.sku}",
            "seller_sku": line.sku,
            "product_name": line.name,
            "sale_price": str(line.unit_price),
            "room_id": "",
        }
        for n, line in enumerate(units)
    ]
    return {
        "id": order.id,
        "status": "CANCELLED" if order.status == "cancelled" else "AWAITING_SHIPMENT",
        "user_id": order.buyer,
        "create_time": created,
        "paid_time": paid,
        "update_time": paid,
        "rts_sla_time": paid + 86400,
        "shipping_due_time": paid + 3 * 86400,
        "shipping_type": "SELLER",
        "delivery_option_id": DELIVERY_OPTION_ID,
        "is_buyer_request_cancel": False,
        "has_updated_recipient_address": False,
        "is_sample_order": False,
        "auto_combine_group_id": "",
        "buyer_message": order.buyer_message,
        "recipient_address": {
            "name": address.name,
            "phone_number": address.phone,
            "address_line1": address.street1,
            "address_line2": address.street2,
            "address_line3": "",
            "address_line4": "",
            "postal_code": address.zip,
            "region_code": address.country,
            "district_info": [
                {"address_level": "L0", "address_name": "United States", "iso_code": "US"},
                {"address_level": "L1", "address_name": address.state, "iso_code": f"US-{address.state}"},
                {"address_level": "L3", "address_name": address.city, "iso_code": ""},
            ],
        },
        "payment": {
            "currency": "USD",
            "sub_total": str(order.amount),
            "shipping_fee": "0",
            "total_amount": str(order.amount),
        },
        "line_items": items,
    }


def session_orders(n: int, seed: int) -> list[dict[str, Any]]:
    """`n` orders of a simulated three-hour live session that ended an hour ago, as API orders (so a pull up to
    now finds every one)."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=4)
    return [api_order(order) for order in simulate_session(n, seed=seed, start=start)]

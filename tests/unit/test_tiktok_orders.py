"""Mapping Partner API orders to imported orders (tiktok.md section 3)."""

from decimal import Decimal

from fulfilment.domain import line_items
from fulfilment.ingest.tiktok_api import map_order
from tests.standins.tiktok import make_order

NOW = 1_763_800_000


def item(n: int, sku: str) -> dict:
    return {"id": f"li{n}", "sku_id": "9", "seller_sku": sku, "product_name": sku, "sale_price": "5.50"}


def test_quantity_is_the_count_of_line_items_per_sku() -> None:
    order = make_order(3, NOW, line_items=[item(1, "A"), item(2, "B"), item(3, "A"), item(4, "A")])
    imported, reason = map_order(order)
    assert reason == "" and imported is not None
    assert [(ln.sku, ln.quantity, ln.unit_price) for ln in imported.lines] == [
        ("A", 3, Decimal("5.50")),
        ("B", 1, Decimal("5.50")),
    ]
    assert line_items.decode(imported.extra["line_item_ids"]) == {"A": ["li1", "li3", "li4"], "B": ["li2"]}
    assert imported.extra["delivery_option_id"] == order["delivery_option_id"]


def test_address_state_comes_from_the_district_iso_code_or_name() -> None:
    order = make_order(2, NOW)  # Massachusetts, US-MA
    imported, _ = map_order(order)
    assert imported is not None
    a = imported.ship_to
    assert (a.state, a.city, a.zip, a.country) == ("MA", "Cambridge", "02139", "US")
    order["recipient_address"]["district_info"][1]["iso_code"] = ""
    imported, _ = map_order(order)
    assert imported is not None and imported.ship_to.state == "MA"


def test_only_awaiting_shipment_seller_orders_without_cancel_request_are_pending() -> None:
    assert map_order(make_order(1, NOW))[0].status == "pending"  # type: ignore[union-attr]
    assert map_order(make_order(1, NOW, status="CANCELLED"))[0].status == "cancelled"  # type: ignore[union-attr]
    assert map_order(make_order(1, NOW, status="ON_HOLD")) == (None, "status ON_HOLD")
    assert map_order(make_order(1, NOW, shipping_type="TIKTOK")) == (None, "shipped by TikTok")
    assert map_order(make_order(1, NOW, is_buyer_request_cancel=True)) == (None, "buyer asked to cancel")

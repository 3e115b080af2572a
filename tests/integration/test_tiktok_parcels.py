"""Split and combined parcels pushed through the TikTok API: each package names exactly its parcel's units."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from sqlalchemy import select

from fulfilment.channels.tiktok_api import TikTokClient
from fulfilment.ingest.tiktok_api import pull_orders
from fulfilment.runner import run_batch
from fulfilment.store.inventory import set_stock
from fulfilment.store.models import Outbox, Shipment
from tests.integration.test_warehouses import ctx_for
from tests.standins.fixtures import tiktok_env, tiktok_settings
from tests.standins.tiktok import make_order

NYC = {
    "name": "Dan Roe",
    "phone_number": "(+1)5555550101",
    "address_line1": "20 W 34th St",
    "postal_code": "10001",
    "region_code": "US",
    "district_info": [
        {"address_level": "L1", "address_name": "New York", "iso_code": "US-NY"},
        {"address_level": "L3", "address_name": "New York", "iso_code": ""},
    ],
}


def item(order_n: int, unit: int, sku: str, room: str = "") -> dict[str, Any]:
    return {
        "id": f"{order_n}-{unit}",
        "sku_id": sku,
        "seller_sku": sku,
        "product_name": sku,
        "sale_price": "5",
        "room_id": room,
    }


def test_split_and_live_combined_orders_push_one_package_per_parcel_with_its_own_line_items(
    tiktok_shop, sqlite_url, tmp_path, monkeypatch
) -> None:
    shop, url = tiktok_shop
    ctx = ctx_for(tmp_path, monkeypatch, sqlite_url, **tiktok_env(shop, url))
    with ctx.session() as s:
        assert set_stock(s, [(1, {"warehouse": "WH-EAST", "sku": "A", "on_hand": 50})])[1] == []
    now = int(time.time())
    # A is at WH-EAST and WH-WEST, C only at WH-CENTRAL; nobody has both, so A+C splits in two parcels.
    split = make_order(1, now, user_id="dan", recipient_address=NYC, line_items=[
        item(1, 1, "A"), item(1, 2, "C"), item(1, 3, "A"),
    ])  # fmt: skip
    # 22 orders of one buyer to one address in one LIVE room: 20 share a parcel (TikTok's limit), 2 the next.
    live = [
        make_order(100 + n, now, user_id="amy", recipient_address={**NYC, "name": "Amy Li"},
                   auto_combine_group_id="G1", line_items=[item(100 + n, 1, "A", room="R1")])
        for n in range(22)
    ]  # fmt: skip
    shop.add_orders([split, *live])
    assert pull_orders(ctx, TikTokClient(tiktok_settings(shop, url))).counts.created == 23

    summary = run_batch(ctx, timeout_s=120)
    assert summary["counts"]["labelled"] == 23, summary
    assert summary["pushes"] == {"sent": 24}  # one push per (order, parcel): 2 for the split order, 22 for the rest

    with ctx.session() as s:
        parcels = s.execute(
            select(Outbox.order_id, Shipment.tracking_number, Shipment.warehouse_code).join(Shipment)
        ).all()
    by_order: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for order_id, tracking, warehouse in parcels:
        by_order[order_id].append((tracking, warehouse))

    packages = shop.packages[split["id"]]
    assert len(packages) == 2
    shipped = {p["tracking_number"]: sorted(p["order_line_item_ids"]) for p in packages}
    warehouse_of = dict(by_order[split["id"]])
    assert {warehouse_of[t]: ids for t, ids in shipped.items()} == {"WH-EAST": ["1-1", "1-3"], "WH-CENTRAL": ["1-2"]}
    assert shop.orders[split["id"]]["status"] == "AWAITING_COLLECTION"  # every unit is in a package

    live_tracking = defaultdict(list)
    for order in live:
        [package] = shop.packages[order["id"]]
        assert package["order_line_item_ids"] == [order["line_items"][0]["id"]]
        assert [package["tracking_number"]] == [t for t, _ in by_order[order["id"]]]
        live_tracking[package["tracking_number"]].append(order["id"])
    assert sorted(len(orders) for orders in live_tracking.values()) == [2, 20]
    assert len(shop.ledger) == 24

"""An order split across two warehouses is two TikTok packages, each naming only its own units' line items."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from fulfilment.channels.tiktok_api import TikTokClient
from fulfilment.config import load_settings
from fulfilment.demo import load_samples
from fulfilment.ingest.tiktok_api import pull_orders
from fulfilment.pipeline import context
from fulfilment.runner import run_batch
from fulfilment.store.inventory import set_stock
from fulfilment.store.models import Outbox, Shipment
from tests.conftest import fulfil_env
from tests.standins.fixtures import tiktok_env, tiktok_settings
from tests.standins.tiktok import make_order


def test_a_split_order_is_pushed_as_one_package_per_warehouse(
    tmp_path, sqlite_url: str, tiktok_shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop, url = tiktok_shop
    monkeypatch.delenv("FULFILMENT_REDIS_URL", raising=False)
    for key, value in {**fulfil_env(tmp_path, sqlite_url), **tiktok_env(shop, url)}.items():
        monkeypatch.setenv(key, value)
    ctx = context(load_settings())
    load_samples(ctx)
    with ctx.session() as session:  # one mug in each of two warehouses, none elsewhere: two mugs must split
        rows = [{"warehouse": w, "sku": "MUG-CRM-11", "on_hand": 0} for w in ("WH-EAST", "WH-CENTRAL", "WH-WEST")]
        rows[0]["on_hand"] = rows[1]["on_hand"] = 1
        assert set_stock(session, enumerate(rows, 2))[1] == []
    order = make_order(1, int(time.time()))
    mug = {**order["line_items"][0], "seller_sku": "MUG-CRM-11", "product_name": "Mug"}
    order["line_items"] = [{**mug, "id": f"{mug['id']}{n}"} for n in range(2)] + [
        {**item, "seller_sku": "TEE-BLK-M"} for item in order["line_items"]
    ]
    shop.add_orders([order])
    pull_orders(ctx, TikTokClient(tiktok_settings(shop, url)))

    summary = run_batch(ctx, timeout_s=120)
    assert summary["counts"]["labelled"] == 1 and summary["pushes"] == {"sent": 2}
    with ctx.session() as session:
        trackings = set(session.scalars(select(Shipment.tracking_number).join(Outbox)))
    assert len(trackings) == 2
    packages = shop.packages[order["id"]]
    assert {p["tracking_number"] for p in packages} == trackings
    items = [set(p["order_line_item_ids"]) for p in packages]
    assert not items[0] & items[1], "no line item is in two packages"
    assert items[0] | items[1] == {item["id"] for item in order["line_items"]}
    mugs = {item["id"] for item in order["line_items"][:2]}
    assert all(len(package & mugs) == 1 for package in items), "each package holds the mug it ships"

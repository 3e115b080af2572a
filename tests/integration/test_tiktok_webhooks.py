"""TikTok webhooks: forged ones are refused, replays change nothing, cancellations reach the order at any stage."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests
from sqlalchemy import func, select

from fulfilment.channels.tiktok_api import TikTokClient
from fulfilment.channels.tiktok_sign import webhook_signature
from fulfilment.commands.webhooks import make_server
from fulfilment.config import load_settings
from fulfilment.demo import load_samples
from fulfilment.ingest.tiktok_api import pull_orders
from fulfilment.ingest.tiktok_webhooks import handle_notification
from fulfilment.pipeline import context
from fulfilment.runner import run_batch
from fulfilment.store import stock
from fulfilment.store.models import AuditEntry, Order, Outbox, Reservation, Shipment, ShipmentOrder, Stock, WebhookEvent
from tests.conftest import lose_push_messages
from tests.standins.fixtures import tiktok_env, tiktok_settings
from tests.standins.tiktok import make_order

ORDERS = 40


@pytest.fixture
def hooked(embedded_env, tiktok_shop, monkeypatch: pytest.MonkeyPatch):
    """(shop, ctx, client) with ORDERS orders pulled from the stand-in."""
    shop, url = tiktok_shop
    for key, value in tiktok_env(shop, url).items():
        monkeypatch.setenv(key, value)
    ctx = context(load_settings())
    load_samples(ctx)
    shop.add_orders([make_order(n, int(time.time())) for n in range(ORDERS)])
    client = TikTokClient(tiktok_settings(shop, url))
    pull_orders(ctx, client)
    return shop, ctx, client


def note(shop, kind: int, note_id: str, **data: object) -> tuple[bytes, str]:
    body = json.dumps(
        {"type": kind, "tts_notification_id": note_id, "shop_id": "1", "timestamp": int(time.time()), "data": data}
    ).encode()
    return body, webhook_signature(shop.app_key, shop.app_secret, body)


def order_id(n: int) -> str:
    return make_order(n, 0)["id"]


def test_a_forged_notification_changes_nothing(hooked) -> None:
    shop, ctx, client = hooked
    body, signature = note(shop, 1, "n1", order_id=order_id(1), order_status="CANCEL")
    assert handle_notification(ctx, client, body, "0" * 64).status == 401
    tampered = body.replace(b'"n1"', b'"n2"')
    assert handle_notification(ctx, client, tampered, signature).status == 401
    with ctx.session() as s:
        assert s.get(Order, order_id(1)).status == "pending"
        assert s.scalar(select(func.count()).select_from(WebhookEvent)) == 0


def test_a_replayed_cancellation_is_applied_once(hooked) -> None:
    shop, ctx, client = hooked
    body, signature = note(shop, 1, "n7", order_id=order_id(2), order_status="CANCEL")
    first = handle_notification(ctx, client, body, signature)
    again = handle_notification(ctx, client, body, signature)
    assert (first.status, first.text) == (200, "cancelled from pending")
    assert (again.status, again.text) == (200, "already handled")
    with ctx.session() as s:
        assert s.get(Order, order_id(2)).status == "cancelled"
        cancels = select(func.count()).where(AuditEntry.entity_id == order_id(2), AuditEntry.to_status == "cancelled")
        assert s.scalar(cancels) == 1


def test_cancelling_an_allocated_order_releases_its_reservation(hooked) -> None:
    shop, ctx, client = hooked
    oid = order_id(3)
    with ctx.session() as s:
        order = s.get(Order, oid)
        needed = {line.sku: line.quantity for line in order.lines}
        stock.available(s, needed, lock=True)
        stock.reserve_many(s, [(oid, [("WH-EAST", needed)])])
        order.status = "allocated"
    with ctx.session() as s:
        reserved_before = {r.sku: r.reserved for r in s.scalars(select(Stock).where(Stock.warehouse_code == "WH-EAST"))}
    shop.orders[oid]["status"] = "CANCELLED"
    body, signature = note(shop, 11, "n9", order_id=oid)
    assert handle_notification(ctx, client, body, signature).text == "cancelled from allocated"
    with ctx.session() as s:
        after = {r.sku: r.reserved for r in s.scalars(select(Stock).where(Stock.warehouse_code == "WH-EAST"))}
        assert {sku: reserved_before[sku] - after[sku] for sku in needed} == needed
        assert set(s.scalars(select(Reservation.status).where(Reservation.order_id == oid))) == {"released"}


def test_cancelling_a_labelled_order_voids_its_label_and_stops_its_push(hooked, monkeypatch) -> None:
    shop, ctx, client = hooked
    from fulfilment import runner

    lose_push_messages(monkeypatch)  # keep the pushes open
    monkeypatch.setattr(runner, "wait_for_pushes", lambda *_: 0)
    run_batch(ctx, timeout_s=300)
    with ctx.session() as s:
        oid = s.scalar(select(Order.id).where(Order.status == "labelled").order_by(Order.id))
    body, signature = note(shop, 1, "n11", order_id=oid, order_status="CANCEL")
    answer = handle_notification(ctx, client, body, signature)
    assert answer.text == "cancelled from labelled; label voided, flagged for the packers"
    with ctx.session() as s:
        order = s.get(Order, oid)
        assert order.status == "cancelled" and "take the parcel out" in order.reason
        shipment = s.scalar(select(Shipment).join(ShipmentOrder).where(ShipmentOrder.order_id == oid))
        assert shipment.status == "voided"
        assert s.scalar(select(Outbox.status).where(Outbox.order_id == oid)) == "cancelled"


def test_an_address_update_is_read_back_from_the_api(hooked) -> None:
    shop, ctx, client = hooked
    oid = order_id(4)
    shop.orders[oid]["recipient_address"]["address_line1"] = "1 New Road"
    body, signature = note(shop, 3, "n12", order_id=oid, update_time=int(time.time()))
    assert handle_notification(ctx, client, body, signature).text == "updated"
    with ctx.session() as s:
        assert s.get(Order, oid).ship_street1 == "1 New Road"


def test_the_http_receiver_answers_401_to_forgeries_and_200_to_real_ones(hooked) -> None:
    shop, ctx, client = hooked
    server = make_server(ctx, client, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        body, signature = note(shop, 1, "n20", order_id=order_id(5), order_status="CANCEL")
        assert requests.post(url, data=body, headers={"Authorization": "f" * 64}, timeout=10).status_code == 401
        answer = requests.post(url, data=body, headers={"Authorization": signature}, timeout=10)
        assert (answer.status_code, answer.text) == (200, "cancelled from pending")
    finally:
        server.shutdown()
        server.server_close()

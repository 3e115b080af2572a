"""Tracking pushed to another shop as signed webhooks, through the same outbox as the TikTok API."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from fulfilment.config import load_settings
from fulfilment.demo import load_samples
from fulfilment.ingest.json_orders import parse_json_orders
from fulfilment.pipeline import context
from fulfilment.runner import run_batch
from fulfilment.store.models import Outbox, Shipment
from fulfilment.store.orders import upsert_orders
from tests.conftest import fulfil_env
from tests.e2e.test_cli import fulfil
from tests.standins.http import Faults
from tests.standins.shop_webhook import FAULT_KINDS, WebhookShop
from tests.standins.tiktok import SKUS, STATES

ORDERS = 120


@pytest.fixture
def shop() -> Iterator[WebhookShop]:
    shop = WebhookShop(secret="acme-secret")
    shop.url = shop.start() + "/hooks/tracking"  # type: ignore[attr-defined]
    try:
        yield shop
    finally:
        shop.stop()


def json_orders(path: Path, n: int) -> Path:
    """`n` orders of the shop "acme" (and one of another channel) as the JSON importer reads them."""
    rng = random.Random(5)
    records = []
    for i in range(n + 1):
        code, _, city, zip_ = STATES[i % len(STATES)]
        records.append(
            {
                "id": f"ACME-{i:04d}" if i < n else "OTHER-1",
                "channel": "acme" if i < n else "json",
                "buyer": f"buyer-{i}",
                "created_at": "2026-11-01T20:00:00+00:00",
                "ship_to": {"name": f"Buyer {i}", "street1": f"{100 + i} Main St", "city": city, "state": code,
                            "zip": zip_, "country": "US"},
                "lines": [{"sku": rng.choice(SKUS), "quantity": rng.randint(1, 2), "unit_price": "9.99"}],
            }
        )  # fmt: skip
    path.write_text(json.dumps(records))
    return path


def acme_ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, secret: str, database: str):
    monkeypatch.delenv("FULFILMENT_REDIS_URL", raising=False)
    env = fulfil_env(
        tmp_path,
        database,
        FULFILMENT_WEBHOOK_CHANNELS="acme",
        FULFILMENT_WEBHOOK_ACME_URL=url,
        FULFILMENT_WEBHOOK_ACME_SECRET=secret,
        FULFILMENT_WEBHOOK_TIMEOUT_S="0.5",
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    ctx = context(load_settings())
    load_samples(ctx)
    parsed = parse_json_orders(json_orders(tmp_path / "orders.json", ORDERS))
    assert parsed.errors == []
    with ctx.session() as s:
        upsert_orders(s, parsed.orders, source="orders.json", actor="test")
    return ctx


def outbox_rows(ctx) -> list:
    with ctx.session() as s:
        return s.execute(
            select(Outbox, Shipment.tracking_number, Shipment.carrier, Shipment.service).join(Shipment)
        ).all()


@pytest.mark.parametrize("database", ["sqlite_url", "pg_url"])
def test_every_shipment_is_delivered_exactly_once_through_20_percent_faults(
    database, request, shop, tmp_path, monkeypatch
) -> None:
    shop.faults = Faults(rate=0.2, kinds=FAULT_KINDS, slow_s=1.0)
    ctx = acme_ctx(tmp_path, monkeypatch, shop.url, shop.secret, request.getfixturevalue(database))
    summary = run_batch(ctx, timeout_s=300)
    rows = outbox_rows(ctx)
    hooked = [r for r in rows if r.Outbox.channel == "webhook:acme"]
    assert len(hooked) > 100 and [r.Outbox.channel for r in rows if r not in hooked] == ["tiktok_file"]
    assert summary["pushes"] == {"sent": len(rows)}

    expected = {f"{r.Outbox.order_id}:{r.tracking_number}": r for r in hooked}
    assert set(shop.deliveries) == set(expected)
    assert shop.requests["new"] == len(expected)  # recorded once each, though some were sent twice
    assert shop.faults.injected["lost"] > 0 and shop.faults.injected["slow"] > 0 and shop.requests["repeat"] > 0
    for key, row in expected.items():
        assert shop.deliveries[key] == {
            "order_id": row.Outbox.order_id,
            "tracking_number": row.tracking_number,
            "carrier": row.carrier,
            "carrier_name": {"usps": "USPS", "ups": "UPS", "fedex": "FedEx"}[row.carrier],
            "service": row.service,
            "items": [{"sku": i["sku"], "quantity": i["quantity"]} for i in row.Outbox.items],
        }
        assert row.Outbox.external_id == key
    csv = Path(summary["outputs"]["tracking_csv"]).read_text()
    assert "ACME-" not in csv  # webhook orders are not in the TikTok file


def test_a_wrong_secret_is_refused_and_parked_with_the_shops_message(shop, sqlite_url, tmp_path, monkeypatch) -> None:
    ctx = acme_ctx(tmp_path, monkeypatch, shop.url, "not-the-secret", sqlite_url)
    summary = run_batch(ctx, timeout_s=120)
    hooked = [r.Outbox for r in outbox_rows(ctx) if r.Outbox.channel == "webhook:acme"]
    assert summary["pushes"]["parked"] == len(hooked) > 100
    assert shop.deliveries == {}
    for row in hooked:
        assert row.status == "parked" and row.attempts == 1
        assert row.last_error == "acme webhook: HTTP 401: signature does not match: check the shared secret"

    env = {k: v for k, v in os.environ.items() if k.startswith("FULFILMENT_")}
    parked = json.loads(fulfil(env, "push", "parked", "--json").stdout)["parked"]
    assert {(p["channel"], p["message"]) for p in parked} == {("webhook:acme", hooked[0].last_error)}
    env["FULFILMENT_WEBHOOK_ACME_SECRET"] = shop.secret  # the person fixes the secret and retries
    retried = fulfil(env, "push", "retry", *(str(p["outbox_id"]) for p in parked))
    assert retried.returncode == 0, retried.stderr
    assert len(shop.deliveries) == len(hooked) == shop.requests["new"]

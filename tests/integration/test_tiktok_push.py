"""Pushing tracking numbers to the TikTok stand-in through the outbox: exactly once, through faults and crashes."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from fulfilment.channels.base import TIKTOK_API_CHANNEL, Push
from fulfilment.channels.tiktok_api import TikTokClient
from fulfilment.config import load_settings
from fulfilment.demo import load_samples
from fulfilment.ingest.tiktok_api import pull_orders
from fulfilment.pipeline import context
from fulfilment.runner import run_batch
from fulfilment.stages import push
from fulfilment.store.models import Outbox, Shipment, utcnow
from tests.conftest import fulfil_env, lose_push_messages
from tests.e2e.test_cli import fulfil
from tests.standins.fixtures import tiktok_env, tiktok_settings
from tests.standins.tiktok import Faults, make_order

ORDERS = 150


@pytest.fixture
def shop_ctx(request: pytest.FixtureRequest, tmp_path, tiktok_shop, monkeypatch: pytest.MonkeyPatch):
    """In-process settings pointed at the stand-in (SQLite unless the test asks for ``pg_url``), samples loaded
    and ORDERS orders pulled from the shop."""
    shop, url = tiktok_shop
    database = request.getfixturevalue(getattr(request, "param", "sqlite_url"))
    monkeypatch.delenv("FULFILMENT_REDIS_URL", raising=False)
    for key, value in {**fulfil_env(tmp_path, database), **tiktok_env(shop, url, timeout_s=0.5)}.items():
        monkeypatch.setenv(key, value)
    ctx = context(load_settings())
    load_samples(ctx)
    shop.add_orders([make_order(n, int(time.time())) for n in range(ORDERS)])
    assert pull_orders(ctx, TikTokClient(tiktok_settings(shop, url))).counts.created == ORDERS
    return shop, ctx


def tracking_by_order(ctx) -> dict[str, str]:
    with ctx.session() as s:
        rows = s.execute(select(Outbox.order_id, Shipment.tracking_number).join(Shipment)).all()
    return dict(rows)  # type: ignore[arg-type]


def assert_each_pushed_once(shop, ctx) -> None:
    expected = tracking_by_order(ctx)
    pushed = Counter(entry["tracking_number"] for entry in shop.ledger)
    assert set(pushed) == set(expected.values())
    assert max(pushed.values()) == 1
    assert {e["order_id"]: e["tracking_number"] for e in shop.ledger} == expected
    with ctx.session() as s:
        stored = dict(s.execute(select(Outbox.order_id, Outbox.external_id)).all())
    assert stored == {e["order_id"]: e["id"] for e in shop.ledger}


@pytest.mark.parametrize("shop_ctx", ["sqlite_url", "pg_url"], indirect=True)
def test_a_batch_pushes_every_tracking_number_exactly_once_through_20_percent_faults(shop_ctx) -> None:
    shop, ctx = shop_ctx
    shop.faults = Faults(rate=0.2, kinds=("429", "5xx", "code", "slow", "lost"), paths=("/fulfillment",), slow_s=1.0)
    summary = run_batch(ctx, timeout_s=300)
    labelled = summary["counts"]["labelled"]
    assert labelled > 100
    assert summary["pushes"] == {"sent": labelled}
    assert_each_pushed_once(shop, ctx)
    assert shop.faults.injected["lost"] > 0 and shop.faults.injected["slow"] > 0
    assert shop.requests["providers"] == 1  # looked up once, then cached


def test_an_order_cancelled_on_tiktok_is_parked_with_the_channels_message(shop_ctx) -> None:
    shop, ctx = shop_ctx
    cancelled = make_order(0, 0)["id"]
    shop.orders[cancelled]["status"] = "CANCELLED"
    summary = run_batch(ctx, timeout_s=300)
    assert summary["pushes"] == {"sent": summary["counts"]["labelled"] - 1, "parked": 1}
    with ctx.session() as s:
        parked = s.scalar(select(Outbox).where(Outbox.order_id == cancelled))
    assert parked.status == "parked" and "cancelled" in parked.last_error and parked.attempts == 1

    shop.orders[cancelled]["status"] = "AWAITING_SHIPMENT"  # the cancellation was reversed on TikTok
    env = {k: v for k, v in os.environ.items() if k.startswith(("FULFILMENT_", "TIKTOK_"))}
    [row] = json.loads(fulfil(env, "push", "parked", "--json").stdout)["parked"]
    assert row["order_id"] == cancelled and "cancelled" in row["message"]
    assert fulfil(env, "push", "retry", "999999").returncode == 1
    retried = fulfil(env, "push", "retry", str(row["outbox_id"]))
    assert retried.returncode == 0, retried.stderr
    assert_each_pushed_once(shop, ctx)


class CrashAfterSend:
    """The real channel, but the worker dies (BaseException) right after the first `crashes` sends took."""

    def __init__(self, channel, crashes: int) -> None:
        self.channel, self.crashes, self.name = channel, crashes, TIKTOK_API_CHANNEL

    def already_sent(self, p: Push) -> str | None:
        return self.channel.already_sent(p)

    def send(self, p: Push) -> str:
        package = self.channel.send(p)
        if self.crashes:
            self.crashes -= 1
            raise SystemExit("killed between send and commit")
        return package


def test_a_worker_dying_between_send_and_commit_does_not_push_twice(shop_ctx, monkeypatch) -> None:
    shop, ctx = shop_ctx
    from fulfilment import runner

    lose_push_messages(monkeypatch)  # label only: the pushes are made below
    monkeypatch.setattr(runner, "wait_for_pushes", lambda *_: 0)
    summary = run_batch(ctx, timeout_s=300)
    with ctx.session() as s:
        ids = push.open_pushes(s, summary["batch_id"])
    assert len(ids) == summary["counts"]["labelled"] > 100

    dying = CrashAfterSend(push.api_channel(ctx), crashes=5)
    for outbox_id in ids[:5]:
        with pytest.raises(SystemExit):
            push.push_one(ctx, outbox_id, dying)
    assert len(shop.ledger) == 5
    with ctx.session() as s:
        assert push.open_pushes(s) == ids[5:]  # a claim is respected while its lease runs
        s.execute(update(Outbox).where(Outbox.status == "sending").values(claimed_at=utcnow() - timedelta(hours=1)))
    with ctx.session() as s:
        reopened = push.open_pushes(s)
    assert reopened == ids
    assert [push.push_one(ctx, i, push.api_channel(ctx)) for i in reopened] == ["sent"] * len(ids)
    assert shop.requests["packages_of"] == 5  # only the uncertain ones were checked
    assert_each_pushed_once(shop, ctx)

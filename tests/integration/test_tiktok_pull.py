"""Pulling orders from the TikTok Shop stand-in: paging, details, upsert, the cursor, faults and bad credentials."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fulfilment.channels.tiktok_api import TikTokClient, TikTokError
from fulfilment.config import load_settings
from fulfilment.ingest.tiktok_api import last_pull, pull_orders
from fulfilment.pipeline import context
from fulfilment.store.models import Order, OrderLineRow
from tests.conftest import fulfil_env
from tests.e2e.test_cli import fulfil
from tests.standins.fixtures import tiktok_env, tiktok_settings
from tests.standins.tiktok import CODE_BAD_SIGN, Faults, make_order


@pytest.fixture
def ctx(embedded_env):
    return context(load_settings())


def no_sleep(_: float) -> None:
    pass


def test_pull_of_5000_orders_over_50_pages_imports_them_all(ctx, tiktok_shop) -> None:
    shop, url = tiktok_shop
    now = int(time.time())
    shop.add_orders([make_order(n, now) for n in range(5000)])
    result = pull_orders(ctx, TikTokClient(tiktok_settings(shop, url)))
    assert (result.pages, result.orders, result.counts.created) == (50, 5000, 5000)
    assert shop.requests["search"] == 50 and shop.requests["detail"] == 100
    with ctx.session() as s:
        assert s.scalar(select(func.count()).select_from(Order).where(Order.status == "pending")) == 5000
        units = s.scalar(select(func.sum(OrderLineRow.quantity)))
    assert units == sum(len(o["line_items"]) for o in shop.orders.values())

    cursor = last_pull(ctx)
    again = pull_orders(ctx, TikTokClient(tiktok_settings(shop, url)))
    assert cursor is not None and again.since == cursor
    assert (again.orders, again.counts.created) == (0, 0)


def test_pull_starts_from_the_last_successful_pull(ctx, tiktok_shop) -> None:
    shop, url = tiktok_shop
    now = int(time.time())
    shop.add_orders([make_order(n, now) for n in range(30)])
    first = pull_orders(ctx, TikTokClient(tiktok_settings(shop, url)))
    assert first.counts.created == 30 and last_pull(ctx) == first.until - 120
    shop.orders[make_order(5, now)["id"]].update(status="CANCELLED", update_time=now + 1)
    shop.add_orders([make_order(100, now, update_time=now + 1)])
    second = pull_orders(ctx, TikTokClient(tiktok_settings(shop, url)), clock=lambda: now + 5)
    assert second.orders == 2 and (second.counts.created, second.counts.updated) == (1, 1)
    with ctx.session() as s:
        assert s.get(Order, make_order(5, now)["id"]).status == "cancelled"


def test_pull_rides_out_transient_faults(ctx, tiktok_shop) -> None:
    shop, url = tiktok_shop
    shop.faults = Faults(rate=0.3, kinds=("429", "5xx", "code"))
    now = int(time.time())
    shop.add_orders([make_order(n, now) for n in range(300)])
    result = pull_orders(ctx, TikTokClient(tiktok_settings(shop, url), sleep=no_sleep))
    assert result.counts.created == 300 and sum(shop.faults.injected.values()) > 0


def test_a_wrong_secret_is_refused_with_code_106001_and_moves_no_cursor(ctx, tiktok_shop) -> None:
    shop, url = tiktok_shop
    shop.add_orders([make_order(1, int(time.time()))])
    client = TikTokClient(tiktok_settings(shop, url, app_secret="wrong"), sleep=no_sleep)
    with pytest.raises(TikTokError) as caught:
        pull_orders(ctx, client)
    assert (caught.value.http, caught.value.code, caught.value.transient) == (401, CODE_BAD_SIGN, False)
    assert last_pull(ctx) is None


def test_a_stale_timestamp_is_refused(tiktok_shop) -> None:
    shop, url = tiktok_shop
    client = TikTokClient(tiktok_settings(shop, url), clock=lambda: time.time() - 600)
    with pytest.raises(TikTokError) as caught:
        client.call("GET", "/order/202309/orders", {"ids": "1"})
    assert caught.value.code == CODE_BAD_SIGN and "timestamp" in caught.value.message


def test_fulfil_pull_tiktok_cli(tmp_path: Path, sqlite_url: str, tiktok_shop) -> None:
    shop, url = tiktok_shop
    shop.add_orders([make_order(n, int(time.time())) for n in range(120)])
    env = fulfil_env(tmp_path, sqlite_url, **tiktok_env(shop, url))
    run = fulfil(env, "pull", "tiktok", "--json")
    assert run.returncode == 0, run.stderr
    assert '"created": 120' in run.stdout
    missing = fulfil(fulfil_env(tmp_path, sqlite_url), "pull", "tiktok")
    assert missing.returncode == 1 and "TIKTOK_APP_KEY" in missing.stderr

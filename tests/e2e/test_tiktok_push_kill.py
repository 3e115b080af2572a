"""A pusher SIGKILLed mid-push (an embedded `fulfil push resume`, or a Redis `fulfil worker`), then a resume:
every tracking number reaches TikTok once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from fulfilment.channels.tiktok_api import TikTokClient
from fulfilment.config import load_settings
from fulfilment.demo import load_samples
from fulfilment.ingest.tiktok_api import pull_orders
from fulfilment.pipeline import context
from fulfilment.runner import run_batch
from fulfilment.store.models import Outbox, Shipment, utcnow
from tests.conftest import REDIS_URL, ROOT, fulfil_env, lose_push_messages
from tests.e2e.test_cli import FULFIL, fulfil
from tests.e2e.test_distributed import start_worker
from tests.standins.fixtures import tiktok_env, tiktok_settings
from tests.standins.tiktok import Faults, make_order


def test_killed_pusher_then_resume_pushes_each_tracking_number_once(
    tmp_path: Path, sqlite_url: str, tiktok_shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop, url = tiktok_shop
    env = fulfil_env(tmp_path, sqlite_url, **tiktok_env(shop, url, timeout_s=5))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    ctx = context(load_settings())
    load_samples(ctx)
    shop.add_orders([make_order(n, int(time.time())) for n in range(60)])
    pull_orders(ctx, TikTokClient(tiktok_settings(shop, url)))

    from fulfilment import runner

    lose_push_messages(monkeypatch)  # label here; push in the child processes
    monkeypatch.setattr(runner, "wait_for_pushes", lambda *_: 0)
    labelled = run_batch(ctx, timeout_s=300)["counts"]["labelled"]
    assert labelled > 40

    shop.faults = Faults(rate=1.0, kinds=("slow",), paths=("/fulfillment",), slow_s=0.3)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("FULFILMENT_", "TIKTOK_"))}
    child = subprocess.Popen([*FULFIL, "push", "resume"], env={**base, **env}, cwd=ROOT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while len(shop.ledger) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)  # the 5th push has landed; its answer is 0.3 s away: kill the child while it waits
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    before = len(shop.ledger)
    assert 5 <= before < labelled

    with ctx.session() as s:
        assert s.scalar(select(Outbox.id).where(Outbox.status == "sending")) is not None
        # the lease of the dead worker's claim runs out
        s.execute(update(Outbox).where(Outbox.status == "sending").values(claimed_at=utcnow() - timedelta(hours=1)))
    shop.faults = Faults()
    resumed = fulfil(env, "push", "resume", "--json", "--timeout", "120")
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert result["resumed"] > labelled - before and result["pushes"] == {"sent": result["resumed"]}
    assert shop.requests["packages_of"] >= 1  # the dead child's push was found at TikTok, not sent again

    with ctx.session() as s:
        expected = dict(s.execute(select(Outbox.order_id, Shipment.tracking_number).join(Shipment)).all())
        statuses = set(s.scalars(select(Outbox.status)))
    assert statuses == {"sent"}
    assert len(shop.ledger) == labelled
    assert {e["order_id"]: e["tracking_number"] for e in shop.ledger} == expected


def test_a_redis_worker_killed_mid_push_then_resume_pushes_each_tracking_number_once(
    tmp_path: Path, pg_url: str, redis_namespace: str, tiktok_shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop, url = tiktok_shop
    env = fulfil_env(
        tmp_path,
        pg_url,
        FULFILMENT_REDIS_URL=REDIS_URL,
        FULFILMENT_REDIS_NAMESPACE=redis_namespace,
        **tiktok_env(shop, url, timeout_s=5),
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    ctx = context(load_settings())
    load_samples(ctx)
    shop.add_orders([make_order(n, int(time.time())) for n in range(60)])
    pull_orders(ctx, TikTokClient(tiktok_settings(shop, url)))
    shop.faults = Faults(rate=1.0, kinds=("slow",), paths=("/fulfillment",), slow_s=0.3)

    doomed = start_worker(env, tmp_path / "worker-a.log")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("FULFILMENT_", "TIKTOK_"))}
    batch = subprocess.Popen(
        [*FULFIL, "batch", "run", "--json", "--timeout", "300"],
        env={**base, **env},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while len(shop.ledger) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=30)
    assert len(shop.ledger) >= 5
    survivor = start_worker(env, tmp_path / "worker-b.log")
    try:
        with ctx.session() as s:  # the dead worker's claims outlive their lease
            stale = utcnow() - timedelta(hours=1)
            stuck = s.execute(update(Outbox).where(Outbox.status == "sending").values(claimed_at=stale)).rowcount
        assert stuck >= 1
        shop.faults = Faults()
        resumed = fulfil(env, "push", "resume", "--json", "--timeout", "180")
        assert resumed.returncode == 0, resumed.stderr
        out, _ = batch.communicate(timeout=300)
    finally:
        os.killpg(survivor.pid, signal.SIGTERM)
        survivor.wait(timeout=60)
    labelled = json.loads(out)["counts"]["labelled"]
    with ctx.session() as s:
        expected = dict(s.execute(select(Outbox.order_id, Shipment.tracking_number).join(Shipment)).all())
        assert set(s.scalars(select(Outbox.status))) == {"sent"}
    assert len(expected) == labelled > 40
    assert len(shop.ledger) == labelled
    assert {e["order_id"]: e["tracking_number"] for e in shop.ledger} == expected
    assert shop.requests["packages_of"] >= stuck  # each push the dead worker left was checked before resending

"""A `fulfil push resume` process SIGKILLed mid-push, then run again: every tracking number reaches TikTok once."""

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
from tests.conftest import ROOT, fulfil_env
from tests.e2e.test_cli import FULFIL, fulfil
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

    from fulfilment import runner, worker

    monkeypatch.setattr(worker.push_outbox, "send", lambda *_: None)  # label here; push in the child processes
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

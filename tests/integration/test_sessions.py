"""Live sessions and the scheduler: ending a session schedules its post-stream batch; one leader runs schedules."""

from __future__ import annotations

import os
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from fulfilment.channels.tiktok_api import TikTokClient
from fulfilment.config import load_settings
from fulfilment.demo import load_samples
from fulfilment.ingest.tiktok_api import pull_orders
from fulfilment.pipeline import context
from fulfilment.scheduling import claim_due, end_session, run_scheduled, start_session
from fulfilment.store.db import make_engine
from fulfilment.store.leader import Leadership
from fulfilment.store.models import Batch, LiveSession, ScheduledRun, utcnow
from tests.conftest import ROOT, fulfil_env
from tests.e2e.test_cli import FULFIL, fulfil
from tests.standins.fixtures import tiktok_env, tiktok_settings
from tests.standins.tiktok import make_order


def test_ending_a_session_schedules_a_batch_of_its_orders_after_the_delay(
    embedded_env, tiktok_shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop, url = tiktok_shop
    for key, value in tiktok_env(shop, url).items():
        monkeypatch.setenv(key, value)
    ctx = context(load_settings())
    load_samples(ctx)
    now = int(time.time())
    during = [make_order(n, now) for n in range(30)]  # paid about two hours ago
    before = [make_order(n, now, paid_time=now - 5 * 3600) for n in range(30, 40)]
    shop.add_orders(during + before)
    pull_orders(ctx, TikTokClient(tiktok_settings(shop, url)))
    start_session(ctx, "Sunday live")
    with ctx.session() as s:  # the session went live three hours ago
        s.execute(update(LiveSession).values(started_at=utcnow() - timedelta(hours=3)))

    run = end_session(ctx, "Sunday live", delay_s=3600)
    assert timedelta(minutes=59) < run.run_at - utcnow() <= timedelta(hours=1)
    assert claim_due(ctx) == []
    [due] = claim_due(ctx, utcnow() + timedelta(hours=2))
    assert claim_due(ctx, utcnow() + timedelta(hours=2)) == []  # claimed once
    batch_id = run_scheduled(ctx, due)
    with ctx.session() as s:
        batch = s.get(Batch, batch_id)
        assert (batch.session_name, batch.order_count, batch.trigger) == ("Sunday live", 30, "schedule:post_stream")
        assert s.get(ScheduledRun, due.id).status == "done"


@pytest.mark.parametrize("database", ["sqlite_url", "pg_url"])
def test_only_one_scheduler_leads(request: pytest.FixtureRequest, database: str) -> None:
    url = request.getfixturevalue(database)
    first, second = Leadership(make_engine(url)), Leadership(make_engine(url))
    try:
        assert first.try_acquire() and first.try_acquire()
        assert not second.try_acquire()
        first.release()
        assert second.try_acquire()
    finally:
        first.release()
        second.release()
        first.engine.dispose()
        second.engine.dispose()


def test_session_end_then_scheduler_runs_the_batch_and_a_second_scheduler_waits(
    tmp_path: Path, sqlite_url: str
) -> None:
    env = fulfil_env(tmp_path, sqlite_url, FULFILMENT_POST_STREAM_DELAY_S="0")
    assert fulfil(env, "session", "start", "Friday live").returncode == 0
    ended = fulfil(env, "session", "end", "Friday live")
    assert ended.returncode == 0 and "post-stream batch scheduled" in ended.stdout

    base = {k: v for k, v in os.environ.items() if not k.startswith(("FULFILMENT_", "TIKTOK_"))}
    leader = subprocess.Popen(
        [*FULFIL, "scheduler", "--tick", "0.2"], env={**base, **env}, cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert "leading" in (leader.stdout.readline() if leader.stdout else "")
        assert "→ batch" in (leader.stdout.readline() if leader.stdout else "")
        other = fulfil(env, "scheduler", "--once")
        assert other.returncode == 0 and "another scheduler is leading" in other.stdout
    finally:
        leader.terminate()
        leader.wait(timeout=30)
    after = fulfil(env, "scheduler", "--once")
    assert "leading" in after.stdout and "→ batch" not in after.stdout  # the run happened once

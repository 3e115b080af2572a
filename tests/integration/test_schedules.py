"""Cron schedules: each fire recorded once, a missed fire run once after downtime, two schedulers run it once."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from fulfilment.config import load_settings
from fulfilment.demo import load_samples
from fulfilment.domain.cron import last_fire, parse_cron
from fulfilment.ingest.json_orders import parse_json_orders
from fulfilment.pipeline import context
from fulfilment.scheduling import claim_due, record_fires
from fulfilment.store.models import Batch, ScheduledRun, utcnow
from fulfilment.store.orders import upsert_orders
from tests.conftest import ROOT, fulfil_env
from tests.e2e.test_cli import FULFIL
from tests.integration.test_webhook_push import json_orders

NIGHTLY = """schedules:
  - name: nightly
    run: batch
    cron: "30 2 * * *"
    timezone: UTC
"""


def schedule_ctx(tmp_path: Path, database: str, monkeypatch):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    (rules / "schedules.yaml").write_text(NIGHTLY)
    env = fulfil_env(tmp_path, database, FULFILMENT_RULES_DIR=str(rules))
    monkeypatch.delenv("FULFILMENT_REDIS_URL", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env, context(load_settings())


def runs(ctx) -> list[tuple[str, str]]:
    with ctx.session() as s:
        rows = s.execute(
            select(ScheduledRun.run_at, ScheduledRun.status)
            .where(ScheduledRun.schedule == "nightly")
            .order_by("run_at")
        ).all()
    return [(at.isoformat(), status) for at, status in rows]


def test_a_new_schedule_waits_for_its_next_fire_and_each_fire_is_recorded_once(tmp_path, sqlite_url, monkeypatch):
    _, ctx = schedule_ctx(tmp_path, sqlite_url, monkeypatch)
    latest = last_fire(parse_cron("30 2 * * *"), utcnow(), ctx.rules.schedules[0].timezone)
    assert record_fires(ctx, ctx.rules.schedules) == 1
    assert runs(ctx) == [(latest.isoformat(), "skipped")]  # first sight: the past fire is not run
    assert record_fires(ctx, ctx.rules.schedules) == 0
    tomorrow = utcnow() + timedelta(days=1)
    assert record_fires(ctx, ctx.rules.schedules, tomorrow) == 1
    assert record_fires(ctx, ctx.rules.schedules, tomorrow) == 0
    [due] = claim_due(ctx, tomorrow)
    assert claim_due(ctx, tomorrow) == [] and due.kind == "batch" and due.schedule == "nightly"


def test_two_schedulers_after_downtime_run_the_missed_cron_batch_once(tmp_path, pg_url, monkeypatch) -> None:
    env, ctx = schedule_ctx(tmp_path, pg_url, monkeypatch)
    load_samples(ctx)
    parsed = parse_json_orders(json_orders(tmp_path / "orders.json", 12))
    latest = last_fire(parse_cron("30 2 * * *"), utcnow(), ctx.rules.schedules[0].timezone)
    with ctx.session() as s:
        upsert_orders(s, parsed.orders, source="orders.json", actor="test")
        # The scheduler last ran this schedule four nights ago, then was down: three fires were missed.
        s.add(ScheduledRun(kind="batch", schedule="nightly", run_at=latest - timedelta(days=3), status="done"))

    base = {k: v for k, v in os.environ.items() if not k.startswith(("FULFILMENT_", "TIKTOK_"))}
    both = [
        subprocess.Popen([*FULFIL, "scheduler", "--once"], env={**base, **env}, cwd=ROOT, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]  # fmt: skip
    outputs = [p.communicate(timeout=300) for p in both]
    assert all(p.returncode == 0 for p in both), outputs
    assert sum("nightly → batch" in out for out, _ in outputs) == 1, outputs

    assert runs(ctx) == [((latest - timedelta(days=3)).isoformat(), "done"), (latest.isoformat(), "done")]
    with ctx.session() as s:
        batches = s.execute(select(Batch.trigger, Batch.order_count)).all()
    assert [trigger for trigger, _ in batches] == ["schedule:nightly"] and batches[0][1] > 0

    again = subprocess.run([*FULFIL, "scheduler", "--once"], env={**base, **env}, cwd=ROOT, text=True,
                           capture_output=True, timeout=300)  # fmt: skip
    assert again.returncode == 0 and "→ batch" not in again.stdout
    with ctx.session() as s:
        assert len(s.scalars(select(Batch.id)).all()) == 1

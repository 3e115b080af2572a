"""Two `fulfil worker` processes buying through the Shippo stand-in with faults: one label per order, and the
rate limit shared through Redis."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import redis
from sqlalchemy import create_engine, text

from tests.conftest import REDIS_URL
from tests.e2e.test_cli import fulfil
from tests.e2e.test_distributed import start_worker
from tests.integration.shippo_support import shippo_env
from tests.standins.shippo import Faults, ShippoStandIn


def test_two_workers_buy_one_label_per_order_under_faults(tmp_path: Path, pg_url: str, redis_namespace: str) -> None:
    with ShippoStandIn(faults=Faults(rate=0.2, seed=5), slow_s=1.5) as standin:
        env = shippo_env(
            tmp_path,
            pg_url,
            standin.url,
            FULFILMENT_REDIS_URL=REDIS_URL,
            FULFILMENT_REDIS_NAMESPACE=redis_namespace,
            FULFILMENT_SHIPPO_RATE_WINDOW_S="60",  # the window's counters outlive the run, to be seen in Redis
        )
        assert fulfil(env, "db", "upgrade").returncode == 0
        workers = [start_worker(env, tmp_path / f"worker-{i}.log") for i in range(2)]
        try:
            run = fulfil(env, "demo", "--orders", "150", "--seed", "9", "--json", timeout=600)
        finally:
            for worker in workers:
                os.killpg(worker.pid, signal.SIGTERM)
            for worker in workers:
                worker.wait(timeout=60)
        assert run.returncode == 0, run.stderr
        summary = json.loads(run.stdout)
        live = standin.live_labels()

    engine = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as db:
        recorded = dict(
            db.execute(
                text(
                    "SELECT p.order_ref, s.shippo_transaction_id FROM shipments s"
                    " JOIN label_purchases p ON p.shipment_id = s.id WHERE s.status = 'labelled'"
                )
            ).all()
        )
    engine.dispose()
    assert len(standin.state.injected) > 20
    assert summary["counts"]["labelled"] > 100
    assert all(len(labels) == 1 for labels in live.values()), "one live label per parcel"
    assert {ref: labels[0] for ref, labels in live.items()} == recorded, "every live label recorded, none orphaned"
    keys = {k.decode() for k in redis.Redis.from_url(REDIS_URL).scan_iter(f"{redis_namespace}:shippo:*")}
    assert any(":shippo:transactions@" in k for k in keys), "the rate limit is kept in Redis"

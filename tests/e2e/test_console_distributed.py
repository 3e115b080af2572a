"""The console on PostgreSQL + Redis: a batch started from it runs on `fulfil worker` processes, and health
and metrics report the broker."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx

from fulfilment.config import load_settings
from fulfilment.demo import prepare_demo
from fulfilment.pipeline import context
from fulfilment.store.users import add_user
from tests.conftest import REDIS_URL, fulfil_env
from tests.console import csrf_of, served, sign_in
from tests.e2e.test_distributed import start_worker


def test_a_batch_started_in_the_console_runs_on_workers(tmp_path: Path, pg_url: str, redis_namespace: str) -> None:
    env = fulfil_env(tmp_path, pg_url, FULFILMENT_REDIS_URL=REDIS_URL, FULFILMENT_REDIS_NAMESPACE=redis_namespace)
    ctx = context(load_settings(env))
    session_name, _, _ = prepare_demo(ctx, 100, seed=4)
    with ctx.session() as session:
        add_user(session, "pat", "packer", "packer-password")
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        with served(env, tmp_path / "serve.log") as base, httpx.Client(base_url=base, timeout=30) as client:
            health = client.get("/health").json()
            assert health == {"status": "ok", "database": "ok", "broker": "ok"}
            sign_in(client, "pat", "packer-password")
            home = client.get("/")
            started = client.post("/batches", data={"csrf_token": csrf_of(home.text), "session": session_name})
            assert started.status_code == 303
            batch_id = started.headers["location"].rsplit("/", 1)[-1]
            deadline = time.monotonic() + 300
            while not (view := client.get(f"/batches/{batch_id}/progress.json").json())["finished"]:
                assert time.monotonic() < deadline, view
                time.sleep(0.5)
            assert view["status"] == "completed" and view["counts"]["labelled"] > 0
            metrics = client.get("/metrics").text
            assert 'fulfilment_queue_depth{queue="default"} 0' in metrics
            assert client.get(f"/batches/{batch_id}/files/labels_pdf").content.startswith(b"%PDF")
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)

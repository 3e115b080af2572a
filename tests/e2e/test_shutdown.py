"""Stopping: SIGTERM to a `fulfil worker` finishes its current step and hands the rest back to Redis (nothing
stays claimed by the dead process, every worker process exits); Ctrl-C on `fulfil batch run` leaves a batch
that `fulfil batch resume ID` completes with the same outcome as an uninterrupted run."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text

from fulfilment.config import load_settings
from fulfilment.demo import prepare_demo
from fulfilment.pipeline import context
from fulfilment.store.db import dispose_engine
from tests.conftest import REDIS_URL, ROOT, fulfil_env
from tests.e2e.test_cli import FULFIL, fulfil
from tests.e2e.test_distributed import OUTCOME, start_worker

PAST_SCREEN = text("SELECT count(*) FROM batch_chunks WHERE stage <> 'screen'")


def _engine(url: str):  # noqa: ANN202
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://"))


def _prepare(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], orders: int) -> str:
    """Catalog, stock and a simulated session of `orders` orders in the database of `env`; its name."""
    monkeypatch.delenv("FULFILMENT_REDIS_URL", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    name, _export, _ = prepare_demo(context(load_settings()), orders, seed=31)
    dispose_engine(env["FULFILMENT_DATABASE_URL"])
    return name


def _wait_until_under_way(url: str, runner: subprocess.Popen[str], timeout: float = 300) -> None:
    """Poll until a chunk of the batch is past screening (the batch must still be running)."""
    engine = _engine(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            assert runner.poll() is None, "the batch ended before it could be interrupted"
            with engine.connect() as conn:
                if conn.scalar(PAST_SCREEN):
                    return
            time.sleep(0.05)
        raise AssertionError("the batch never got under way")
    finally:
        engine.dispose()


def _outcomes(url: str) -> list[tuple]:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(OUTCOME)]
    finally:
        engine.dispose()


def _interruptible() -> None:
    """Give the child the default SIGINT action: tests started in the background by a shell without job control
    inherit SIGINT ignored, and a Python started so installs no KeyboardInterrupt handler (Ctrl-C never reaches it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _batch_run(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("FULFILMENT_")}
    return subprocess.Popen(
        [*FULFIL, "batch", "run", "--json", *args],
        env={**base, **env},
        cwd=ROOT,
        preexec_fn=_interruptible,  # noqa: PLW1509 — one async-signal-safe call before exec
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_ctrl_c_then_resume_gives_the_uninterrupted_outcome(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = fulfil_env(tmp_path / "interrupted", sqlite_url, FULFILMENT_CHUNK_SIZE="25")
    session = _prepare(monkeypatch, env, 600)
    database = Path(sqlite_url.removeprefix("sqlite:///"))
    copy = tmp_path / "uninterrupted.db"
    shutil.copy(database, copy)
    reference_env = fulfil_env(tmp_path / "reference", f"sqlite:///{copy}", FULFILMENT_CHUNK_SIZE="25")

    runner = _batch_run(env, "--session", session)
    _wait_until_under_way(sqlite_url, runner)
    runner.send_signal(signal.SIGINT)
    _out, err = runner.communicate(timeout=300)
    assert runner.returncode == 130, err
    match = re.search(r"`fulfil batch resume (\S+)` finishes it", err)
    assert match, err
    batch_id = match[1]
    shown = json.loads(fulfil(env, "batch", "show", batch_id, "--json").stdout)
    assert shown["status"] not in ("completed", "completed_with_errors"), "Ctrl-C came after the end"

    resumed = fulfil(env, "batch", "resume", batch_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    reference = fulfil(reference_env, "batch", "run", "--session", session, "--json")
    assert reference.returncode == 0, reference.stderr
    got, want = json.loads(resumed.stdout), json.loads(reference.stdout)
    assert got["status"] == want["status"] and got["counts"] == want["counts"]
    counts = got["counts"]
    assert counts["labelled"] + counts["held"] + counts["backordered"] + counts["failed"] == counts["orders"] > 500
    assert _outcomes(sqlite_url) == _outcomes(f"sqlite:///{copy}")


def test_sigterm_to_a_worker_finishes_or_hands_back_its_work(
    tmp_path: Path, pg_url: str, redis_namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = fulfil_env(
        tmp_path,
        pg_url,
        FULFILMENT_REDIS_URL=REDIS_URL,
        FULFILMENT_REDIS_NAMESPACE=redis_namespace,
        FULFILMENT_CHUNK_SIZE="25",
    )
    _prepare(monkeypatch, {k: v for k, v in env.items() if k != "FULFILMENT_REDIS_URL"}, 600)
    worker = start_worker(env, tmp_path / "worker-1.log")
    replacement = None
    runner = _batch_run(env)
    try:
        _wait_until_under_way(pg_url, runner)
        os.kill(worker.pid, signal.SIGTERM)  # the `fulfil worker` process only, as a service manager does
        assert worker.wait(timeout=120) == 0, (tmp_path / "worker-1.log").read_text()
        with pytest.raises(ProcessLookupError):
            os.killpg(worker.pid, 0)  # no worker process of its group is left running

        client = redis.Redis.from_url(REDIS_URL)
        held = [key for key in client.scan_iter(f"{redis_namespace}:__acks__*") if client.scard(key)]
        assert not held, f"messages still held by the stopped worker: {held}"
        engine = _engine(pg_url)
        try:
            with engine.begin() as conn:  # no chunk row is locked: nothing is claimed by a dead process
                conn.execute(text("SELECT id FROM batch_chunks FOR UPDATE NOWAIT")).all()
                status = conn.scalar(text("SELECT status FROM batches"))
        finally:
            engine.dispose()
        if status not in ("completed", "completed_with_errors"):
            waiting = sum(
                client.llen(f"{redis_namespace}:{queue}") + client.zcard(f"{redis_namespace}:{queue}.DQ")
                for queue in ("default", "allocate")
            )
            assert waiting, "the batch is unfinished but no step is queued: the stopped worker lost its work"

        replacement = start_worker(env, tmp_path / "worker-2.log")
        out, err = runner.communicate(timeout=600)
    finally:
        for process in (worker, replacement):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=120)
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode == 0, err
    summary = json.loads(out)
    counts = summary["counts"]
    assert summary["status"] in ("completed", "completed_with_errors")
    assert counts["labelled"] + counts["held"] + counts["backordered"] + counts["failed"] == counts["orders"] > 500
    assert "Killing worker process" not in (tmp_path / "worker-1.log").read_text()

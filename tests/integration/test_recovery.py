"""Lost messages and interrupted runs: the sweeper finds stalled steps, `batch resume` finishes the batch."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from fulfilment import batches, steps
from fulfilment.config import load_settings
from fulfilment.demo import prepare_demo
from fulfilment.messages import dispatch
from fulfilment.pipeline import context
from fulfilment.store.models import AuditEntry, Batch, Chunk, Outbox, utcnow
from fulfilment.sweeper import sweep
from tests.conftest import fulfil_env, lose_push_messages
from tests.e2e.test_cli import fulfil
from tests.integration.test_tiktok_push import shop_ctx  # noqa: F401 - a fixture used below


def test_resume_finishes_a_batch_whose_messages_were_lost(embedded_env: dict[str, str]) -> None:
    ctx = context(load_settings())
    session_name, _export, _ = prepare_demo(ctx, 120, seed=4)
    batch_id, first = batches.start_batch(ctx, session_name)  # the messages are never sent
    assert steps.run_chunk_stage(ctx, first[0].target, "screen")  # one chunk got a little further

    result = fulfil(embedded_env, "batch", "resume", batch_id, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["batch_id"] == batch_id and summary["status"] in ("completed", "completed_with_errors")
    counts = summary["counts"]
    assert counts["labelled"] + counts["held"] + counts["backordered"] + counts["failed"] == counts["orders"] > 100

    again = fulfil(embedded_env, "batch", "resume", batch_id, "--json")
    assert json.loads(again.stdout)["counts"] == counts, "resuming a finished batch changes nothing"


def test_sweeper_resends_only_stalled_steps(embedded_env: dict[str, str]) -> None:
    ctx = context(load_settings())
    session_name, _export, _ = prepare_demo(ctx, 120, seed=8)
    batch_id, first = batches.start_batch(ctx, session_name)
    assert sweep(ctx, timedelta(minutes=2)) == [], "fresh work is not stalled"
    stalled = first[0].target
    with ctx.session() as s:
        s.execute(update(Chunk).where(Chunk.id == stalled).values(updated_at=utcnow() - timedelta(minutes=5)))
    assert sweep(ctx, timedelta(minutes=2)) == [batches.Next("screen", stalled)]
    assert {step.target for step in sweep(ctx, timedelta(0), batch_id)} == {step.target for step in first}


def test_sweeper_makes_a_fan_in_that_never_fired(embedded_env: dict[str, str]) -> None:
    ctx = context(load_settings())
    session_name, _export, _ = prepare_demo(ctx, 60, seed=9)
    batch_id, _first = batches.start_batch(ctx, session_name)
    with ctx.session() as s:  # every chunk finished, but the step after the last one was lost
        s.execute(update(Chunk).where(Chunk.batch_id == batch_id).values(stage="done", updated_at=utcnow()))
    assert sweep(ctx, timedelta(minutes=2)) == [], "a fan-in that may still be on its way is left alone"
    with ctx.session() as s:
        s.execute(update(Chunk).where(Chunk.batch_id == batch_id).values(updated_at=utcnow() - timedelta(minutes=5)))
    assert sweep(ctx, timedelta(minutes=2)) == [batches.Next("documenting", batch_id)]
    with ctx.session() as s:
        assert s.get(Batch, batch_id).status == "documenting"
        assert s.scalar(select(func.count()).where(AuditEntry.entity_id == batch_id)) == 2
    assert sweep(ctx, timedelta(minutes=2)) == [], "the fan-in is made once"


def push_steps(steps: list[batches.Next]) -> list[batches.Next]:
    return [step for step in steps if step.stage == batches.PUSH_STEP]


def test_sweeper_resends_pushes_whose_messages_were_lost_or_whose_worker_died(
    shop_ctx,  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shop, ctx = shop_ctx
    from fulfilment import messages, runner

    send, wait_for_pushes = messages.send, runner.wait_for_pushes
    lose_push_messages(monkeypatch)  # every push message is lost (Redis restarted)
    monkeypatch.setattr(runner, "wait_for_pushes", lambda *_: 0)
    labelled = runner.run_batch(ctx, timeout_s=300)["counts"]["labelled"]
    monkeypatch.setattr(messages, "send", send)
    monkeypatch.setattr(runner, "wait_for_pushes", wait_for_pushes)
    with ctx.session() as s:
        ids = list(s.scalars(select(Outbox.id).order_by(Outbox.id)))
    assert len(ids) == labelled > 100
    assert push_steps(sweep(ctx)) == [], "fresh pushes are not stalled"

    long_ago = utcnow() - timedelta(minutes=10)
    dead, live, backing_off = ids[0], ids[1], ids[2]
    with ctx.session() as s:
        s.execute(update(Outbox).values(created_at=long_ago))
        batch = s.scalar(select(Batch).where(Batch.id == s.scalar(select(Outbox.batch_id))))
        batch.status = "documenting"
    assert push_steps(sweep(ctx)) == [], "a batch not yet at its push step sends its own pushes"
    with ctx.session() as s:
        s.get(Batch, batch.id).status = "completed"
        s.execute(update(Outbox).where(Outbox.id == dead).values(status="sending", attempts=1, claimed_at=long_ago))
        s.execute(update(Outbox).where(Outbox.id == live).values(status="sending", attempts=1, claimed_at=utcnow()))
        recently = utcnow() - timedelta(seconds=30)  # its retry message is still within its backoff
        s.execute(
            update(Outbox).where(Outbox.id == backing_off).values(status="retry", attempts=1, claimed_at=recently)
        )
    steps = sweep(ctx, timedelta(seconds=20))
    left = (live, backing_off)
    assert steps == [batches.Next(batches.PUSH_STEP, i) for i in ids if i not in left], "live work is left alone"

    runner.embedded_worker()
    dispatch(steps)
    runner.wait_for_pushes(ctx, 120, Outbox.id.notin_(left))
    with ctx.session() as s:
        assert dict(s.execute(select(Outbox.status, func.count()).group_by(Outbox.status)).all()) == {
            "sent": labelled - 2,
            "sending": 1,
            "retry": 1,
        }
    assert len(shop.ledger) == labelled - 2
    assert shop.requests["packages_of"] >= 1, "the dead worker's push was checked with TikTok before sending"


def test_a_batch_run_whose_connection_is_dropped_while_claiming_tries_again(
    tmp_path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading
    import time

    import psycopg

    from fulfilment.runner import run_batch

    monkeypatch.delenv("FULFILMENT_REDIS_URL", raising=False)
    for key, value in fulfil_env(tmp_path, pg_url).items():
        monkeypatch.setenv(key, value)
    ctx = context(load_settings())
    prepare_demo(ctx, 40, seed=3)
    with psycopg.connect(pg_url) as blocker:  # holds the batches table: the claim's INSERT waits on it
        blocker.execute("LOCK TABLE batches IN EXCLUSIVE MODE")
        result: dict[str, dict] = {}
        runner = threading.Thread(target=lambda: result.update(summary=run_batch(ctx, timeout_s=120)))
        runner.start()
        waiting = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        with psycopg.connect(pg_url, autocommit=True) as admin:
            deadline = time.monotonic() + 30
            while not (pids := [row[0] for row in admin.execute(waiting)]) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert pids, "the claim never reached the lock"
            admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (pids,))
        blocker.rollback()
    runner.join(timeout=120)
    counts = result["summary"]["counts"]
    assert result["summary"]["status"] in ("completed", "completed_with_errors")
    assert counts["orders"] == 40 - counts.get("cancelled", 0) >= 35
    with ctx.session() as s:
        assert s.scalar(select(func.count()).select_from(Batch)) == 1, "the dropped claim left no half batch"

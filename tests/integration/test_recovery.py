"""Lost messages and interrupted runs: the sweeper finds stalled steps, `batch resume` finishes the batch."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import update

from fulfilment import batches
from fulfilment.config import load_settings
from fulfilment.demo import prepare_demo
from fulfilment.pipeline import context
from fulfilment.store.models import Chunk, utcnow
from fulfilment.sweeper import sweep
from tests.e2e.test_cli import fulfil


def test_resume_finishes_a_batch_whose_messages_were_lost(embedded_env: dict[str, str]) -> None:
    ctx = context(load_settings())
    session_name, _export, _ = prepare_demo(ctx, 120, seed=4)
    batch_id, first = batches.start_batch(ctx, session_name)  # the messages are never sent
    assert batches.run_chunk_stage(ctx, first[0].target, "screen")  # one chunk got a little further

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

"""Live sessions and scheduled runs: ending a session schedules its post-stream batch; the scheduler runs what is
due (and periodic TikTok pulls). Only the process holding :class:`~fulfilment.store.leader.Leadership` runs them."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from fulfilment.pipeline import Context
from fulfilment.store import audit
from fulfilment.store.models import LiveSession, Order, ScheduledRun, utcnow
from fulfilment.store.orders import session_id

POST_STREAM = "post_stream"


def start_session(ctx: Context, name: str) -> None:
    """Mark the live session `name` as started now (created if new)."""
    with ctx.session() as session:
        live = session.get(LiveSession, session_id(session, name))
        assert live is not None
        live.started_at, live.ended_at = utcnow(), None
        audit.record(session, "session", [(name, None, "live", "session started")], "cli:session")


def end_session(ctx: Context, name: str, delay_s: int | None = None) -> ScheduledRun:
    """Mark the session ended and schedule its post-stream batch after `delay_s` (default: the setting).

    The delay lets orders paid near the end leave TikTok's hold (about an hour) and be pulled first.
    """
    delay = ctx.settings.post_stream_delay_s if delay_s is None else delay_s
    with ctx.session() as session:
        live = session.get(LiveSession, session_id(session, name))
        assert live is not None
        live.ended_at = now = utcnow()
        run = ScheduledRun(kind=POST_STREAM, session_name=name, run_at=now + timedelta(seconds=delay), status="due")
        session.add(run)
        session.flush()
        audit.record(
            session, "session", [(name, "live", "ended", f"post-stream batch at {run.run_at:%H:%M} UTC")], "cli:session"
        )
        return run


def tag_session_orders(ctx: Context, name: str) -> int:
    """Give the session's name to pending orders without one that were paid while it was live; returns how many."""
    with ctx.session() as session:
        live = session.scalar(select(LiveSession).where(LiveSession.name == name))
        if live is None or live.started_at is None:
            return 0
        end = live.ended_at or utcnow()
        return session.execute(
            update(Order)
            .where(
                Order.status == "pending",
                Order.session_id.is_(None),
                Order.paid_at >= live.started_at,
                Order.paid_at <= end,
            )
            .values(session_id=live.id)
        ).rowcount


def claim_due(ctx: Context, now: datetime | None = None) -> list[ScheduledRun]:
    """Due runs moved to ``running`` (guarded, so a run starts once even if two schedulers look)."""
    now = now or utcnow()
    with ctx.session() as session:
        due = list(
            session.scalars(select(ScheduledRun).where(ScheduledRun.status == "due", ScheduledRun.run_at <= now))
        )
        taken = []
        for run in due:
            moved = session.execute(
                update(ScheduledRun)
                .where(ScheduledRun.id == run.id, ScheduledRun.status == "due")
                .values(status="running")
            )
            if moved.rowcount == 1:
                taken.append(run)
        return taken


def run_scheduled(ctx: Context, run: ScheduledRun) -> str:
    """Pull the newest orders (when the API is configured), then run the session's batch; returns the batch id."""
    from fulfilment.runner import run_batch

    try:
        if ctx.settings.tiktok is not None:
            from fulfilment.channels.tiktok_api import TikTokClient
            from fulfilment.ingest.tiktok_api import pull_orders

            pull_orders(ctx, TikTokClient(ctx.settings.tiktok))
        if run.session_name:
            tag_session_orders(ctx, run.session_name)
        summary = run_batch(ctx, run.session_name, trigger=f"schedule:{run.kind}")
    except Exception as exc:
        with ctx.session() as session:
            session.execute(
                update(ScheduledRun).where(ScheduledRun.id == run.id).values(status="failed", error=str(exc))
            )
        raise
    with ctx.session() as session:
        session.execute(
            update(ScheduledRun).where(ScheduledRun.id == run.id).values(status="done", batch_id=summary["batch_id"])
        )
    return str(summary["batch_id"])


def recover_runs(ctx: Context) -> int:
    """Put runs left ``running`` by a leader that died back to ``due``; call right after taking leadership."""
    with ctx.session() as session:
        return session.execute(
            update(ScheduledRun).where(ScheduledRun.status == "running").values(status="due")
        ).rowcount

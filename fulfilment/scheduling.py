"""Live sessions and scheduled runs: ending a session schedules its post-stream batch; each fire of a
`schedules.yaml` entry is recorded once; the scheduler runs what is due. Only the process holding
:class:`~fulfilment.store.leader.Leadership` runs them, and a recorded fire is claimed once even without it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from fulfilment.domain.cron import last_fire
from fulfilment.pipeline import Context
from fulfilment.rules.schedules import Schedule
from fulfilment.store import audit
from fulfilment.store.db import is_sqlite
from fulfilment.store.models import LiveSession, Order, ScheduledRun, utcnow
from fulfilment.store.orders import session_id

POST_STREAM = "post_stream"
PULL = "pull"


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


def record_fires(ctx: Context, schedules: Sequence[Schedule], now: datetime | None = None) -> int:
    """Record each schedule's latest fire at or before `now` as a due run, unless it is already recorded; returns
    how many were recorded.

    Fires missed while no scheduler ran collapse into that latest one: it runs once, not once per missed fire.
    The first time a schedule is seen its latest past fire is recorded ``skipped``, so only later fires run.
    A fire is unique per (schedule, time): two schedulers recording it at once store it once.
    """
    now = now or utcnow()
    with ctx.session() as session:
        dialect = sqlite if is_sqlite(session.get_bind()) else postgresql  # type: ignore[arg-type]
        recorded = 0
        for schedule in schedules:
            latest = last_fire(schedule.timing, now, schedule.timezone or ctx.settings.shop_timezone)
            previous = session.scalar(
                select(func.max(ScheduledRun.run_at)).where(ScheduledRun.schedule == schedule.name)
            )
            if latest is None or (previous is not None and previous >= latest):
                continue
            row = {
                "kind": schedule.run,
                "schedule": schedule.name,
                "session_name": schedule.session,
                "run_at": latest,
                "status": "due" if previous is not None else "skipped",
                "created_at": now,
            }
            stmt = (
                dialect.insert(ScheduledRun).values(row).on_conflict_do_nothing(index_elements=["schedule", "run_at"])
            )
            recorded += session.execute(stmt).rowcount
        return recorded


def claim_due(ctx: Context, now: datetime | None = None) -> list[ScheduledRun]:
    """Due runs moved to ``running``, oldest first (guarded, so a run starts once even if two schedulers look)."""
    now = now or utcnow()
    with ctx.session() as session:
        due = list(
            session.scalars(
                select(ScheduledRun)
                .where(ScheduledRun.status == "due", ScheduledRun.run_at <= now)
                .order_by(ScheduledRun.run_at, ScheduledRun.id)
            )
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


def _finish(
    ctx: Context, run: ScheduledRun, status: str, batch_id: str | None = None, error: str | None = None
) -> None:
    with ctx.session() as session:
        session.execute(
            update(ScheduledRun).where(ScheduledRun.id == run.id).values(status=status, batch_id=batch_id, error=error)
        )


def run_scheduled(ctx: Context, run: ScheduledRun) -> str | None:
    """Pull the newest orders (when the API is configured), then, unless the run is a pull only, run the batch
    (of the run's session, if any); returns the batch id, or None for a pull."""
    from fulfilment.runner import run_batch

    if run.kind == PULL and ctx.settings.tiktok is None:
        _finish(ctx, run, "skipped", error="the TikTok API is not configured (TIKTOK_APP_KEY etc.)")
        return None
    try:
        if ctx.settings.tiktok is not None:
            from fulfilment.channels.tiktok_api import TikTokClient
            from fulfilment.ingest.tiktok_api import pull_orders

            pull_orders(ctx, TikTokClient(ctx.settings.tiktok))
        if run.kind == PULL:
            _finish(ctx, run, "done")
            return None
        if run.session_name:
            tag_session_orders(ctx, run.session_name)
        summary = run_batch(ctx, run.session_name, trigger=f"schedule:{run.schedule or run.kind}")
    except Exception as exc:
        _finish(ctx, run, "failed", error=str(exc))
        raise
    _finish(ctx, run, "done", batch_id=str(summary["batch_id"]))
    return str(summary["batch_id"])


def recover_runs(ctx: Context) -> int:
    """Put runs left ``running`` by a leader that died back to ``due``; call right after taking leadership."""
    with ctx.session() as session:
        return session.execute(
            update(ScheduledRun).where(ScheduledRun.status == "running").values(status="due")
        ).rowcount

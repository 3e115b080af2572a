"""The sweeper: finds work stuck past a deadline (its worker died, its message was lost) and sends it again.

Messages are hints and the database is the truth: every step is guarded by the state it expects, so sending
a step twice is harmless, and a step that no worker holds is picked up again within one sweep. Three kinds of
work can stall: a chunk left in a stage, a batch whose fan-in never fired (its last chunk finished but the step
after it was lost) or whose documents or push step stalled, and an API push (an outbox row never sent, waiting to
retry, or held by a dead worker past its lease).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import redis
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from fulfilment.batches import PUSH_STEP, Next, allocation_turn, fan_in
from fulfilment.channels.base import FILE_CHANNEL
from fulfilment.pipeline import BATCH_STAGES, Context
from fulfilment.store.models import AuditEntry, Batch, Chunk, Outbox, utcnow
from fulfilment.store.outbox import LEASE_S, MAX_BACKOFF_S

TRANSIENT = (OperationalError, InterfaceError, redis.ConnectionError, redis.TimeoutError)
"""Errors of a database connection dropped or Redis restarting: the unit of work is tried again later."""

PUSHED = ("completed", "completed_with_errors")
"""Batches whose push step has run: their pushes were sent out, and one still pending lost its message."""

STALE_AFTER = timedelta(minutes=2)
"""A chunk or batch step untouched this long is sent again (a chunk stage takes seconds)."""


def _naive(at: datetime) -> datetime:
    return at.replace(tzinfo=None)


def batch_work(session: Session, batch: Batch, stale_before: datetime | None) -> list[Next]:
    """The steps of one batch to send again: its open chunks (only the one whose turn it is to allocate), the
    fan-in when every chunk is done but the batch is still ``running``, and its documents or push step; with
    `stale_before`, only work untouched since then."""
    if batch.status in BATCH_STAGES:
        last = session.scalar(
            select(func.max(AuditEntry.at)).where(AuditEntry.entity == "batch", AuditEntry.entity_id == batch.id)
        )
        stale = stale_before is None or last is None or _naive(last) < _naive(stale_before)
        return [Next(batch.status, batch.id)] if stale else []
    if batch.status != "running":
        return []
    query = select(Chunk.id, Chunk.stage).where(Chunk.batch_id == batch.id, Chunk.stage.notin_(("done", "allocate")))
    if stale_before is not None:
        query = query.where(Chunk.updated_at < stale_before)
    work = [Next(stage, chunk_id) for chunk_id, stage in session.execute(query.order_by(Chunk.seq))]
    turn = allocation_turn(session, batch.id)
    if turn is not None:
        work.append(Next("allocate", turn))
    if not work and _fan_in_missed(session, batch.id, stale_before):
        work.extend(fan_in(session, batch.id))
    return work


def _fan_in_missed(session: Session, batch_id: str, stale_before: datetime | None) -> bool:
    """Every chunk is done (the last of them before `stale_before`) and yet the batch still runs."""
    last_done = session.execute(
        select(func.count().filter(Chunk.stage != "done"), func.max(Chunk.updated_at)).where(Chunk.batch_id == batch_id)
    ).one()
    open_chunks, last = last_done
    if open_chunks:
        return False
    return stale_before is None or last is None or _naive(last) < _naive(stale_before)


def stalled_pushes(
    session: Session, stale_before: datetime | None, batch_id: str | None = None, lease_s: float = LEASE_S
) -> list[int]:
    """API pushes (outbox ids) that need a message: never sent though their batch's push step ran (a push waits
    for its batch's documents) and older than `stale_before`, waiting to retry since then (and for twice the
    longest backoff, so a sweep does not cut a push's backoff short and use up its attempts), or claimed by a worker
    whose lease (`lease_s`) ran out; with no `stale_before`, every one of those however recent."""
    lease_over = utcnow() - timedelta(seconds=lease_s)
    held_by_dead = and_(Outbox.status == "sending", Outbox.claimed_at < lease_over)
    pushed = Outbox.batch_id.in_(select(Batch.id).where(Batch.status.in_(PUSHED)))
    if stale_before is None:
        waiting = or_(and_(Outbox.status == "pending", pushed), Outbox.status == "retry")
    else:
        retry_before = min(stale_before, utcnow() - timedelta(seconds=2 * MAX_BACKOFF_S))
        waiting = or_(
            and_(Outbox.status == "pending", pushed, Outbox.created_at < stale_before),
            and_(Outbox.status == "retry", Outbox.claimed_at < retry_before),
        )
    query = select(Outbox.id).where(Outbox.channel != FILE_CHANNEL, or_(waiting, held_by_dead))
    if batch_id is not None:
        query = query.where(Outbox.batch_id == batch_id)
    return list(session.scalars(query.order_by(Outbox.id)))


def sweep(ctx: Context, stale_after: timedelta = STALE_AFTER, batch_id: str | None = None) -> list[Next]:
    """Every step of unfinished batches (or of one batch) and every API push untouched for `stale_after`; zero
    means all of them. A missed fan-in is made here (the batch moves on to its documents)."""
    stale_before = utcnow() - stale_after if stale_after else None
    with ctx.session() as session:
        query = select(Batch).where(Batch.status.in_(("running", *BATCH_STAGES)))
        if batch_id is not None:
            query = query.where(Batch.id == batch_id)
        steps = [step for batch in session.scalars(query) for step in batch_work(session, batch, stale_before)]
        pushes = stalled_pushes(session, stale_before, batch_id, ctx.settings.push_lease_s)
        return steps + [Next(PUSH_STEP, outbox_id) for outbox_id in pushes]

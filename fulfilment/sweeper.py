"""The sweeper: finds work stuck past a deadline (its worker died, its message was lost) and sends it again.

Messages are hints and the database is the truth: every step is guarded by the state it expects, so sending
a step twice is harmless, and a step that no worker holds is picked up again within one sweep.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fulfilment.batches import Next, allocation_turn
from fulfilment.pipeline import BATCH_STAGES, Context
from fulfilment.store.models import AuditEntry, Batch, Chunk, utcnow

STALE_AFTER = timedelta(minutes=2)
"""A chunk or batch step untouched this long is sent again (a chunk stage takes seconds)."""


def batch_work(session: Session, batch: Batch, stale_before: datetime | None) -> list[Next]:
    """The steps of one batch to send again: its open chunks (only the one whose turn it is to allocate) and
    its documents or push step; with `stale_before`, only work untouched since then."""
    if batch.status in BATCH_STAGES:
        last = session.scalar(
            select(func.max(AuditEntry.at)).where(AuditEntry.entity == "batch", AuditEntry.entity_id == batch.id)
        )
        stale = stale_before is None or last is None or last.replace(tzinfo=None) < stale_before.replace(tzinfo=None)
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
    return work


def sweep(ctx: Context, stale_after: timedelta = STALE_AFTER, batch_id: str | None = None) -> list[Next]:
    """Every step of unfinished batches (or of one batch) untouched for `stale_after`; zero means all of them."""
    stale_before = utcnow() - stale_after if stale_after else None
    with ctx.session() as session:
        query = select(Batch).where(Batch.status.in_(("running", *BATCH_STAGES)))
        if batch_id is not None:
            query = query.where(Batch.id == batch_id)
        return [step for batch in session.scalars(query) for step in batch_work(session, batch, stale_before)]

"""Running one step of a batch: one stage over one chunk, or the documents or push step of the whole batch, each
in one transaction guarded by the state it expects; and ending a chunk or batch whose step ran out of retries.

Each returns the messages to send next. The dramatiq actors in `fulfilment.worker` call these; a process that only
starts and watches batches (a distributed `fulfil batch run`) never imports this module or the stages under it.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fulfilment.batches import (
    IN_FLIGHT,
    PUSH_STEP,
    Next,
    allocation_hand_off,
    allocation_turn,
    fan_in,
    order_counts,
)
from fulfilment.pipeline import Context, next_chunk_stage
from fulfilment.stages.alerts import stock_alerts
from fulfilment.stages.allocate import allocate_chunk
from fulfilment.stages.documents import write_documents
from fulfilment.stages.label import label_chunk, obtain_labels, sweep_labels
from fulfilment.stages.push import open_pushes, push_tracking
from fulfilment.stages.route import route_chunk
from fulfilment.stages.screen import screen_chunk
from fulfilment.store import audit, purchases, stock
from fulfilment.store.claims import claim_chunk, locked, set_chunk_stage
from fulfilment.store.models import Batch, Chunk, Order, utcnow

ChunkStage = Callable[[Context, Session, int], None]
CHUNK_STAGE_RUNNERS: dict[str, ChunkStage] = {
    "screen": screen_chunk,
    "allocate": allocate_chunk,
    "route": route_chunk,
    "label": label_chunk,
}


def run_chunk_stage(ctx: Context, chunk_id: int, stage: str) -> list[Next]:
    """Run one stage over one chunk in one transaction; a chunk not at `stage` (done already, or held by
    another worker) is left alone. Returns the messages to send next.

    Allocation runs one chunk at a time per batch, in chunk order (see :func:`allocate_run`).
    The label stage obtains its labels before that transaction (network calls never run inside it); while
    another worker still buys some of them, it leaves the chunk to that worker.
    """
    if stage == "label" and not obtain_labels(ctx, chunk_id):
        return []
    with ctx.session() as session:
        chunk = claim_chunk(session, chunk_id, stage)
        if chunk is None:
            return []
        if stage == "allocate":
            return allocate_run(ctx, session, chunk)
        CHUNK_STAGE_RUNNERS[stage](ctx, session, chunk_id)
        following = next_chunk_stage(stage)
        set_chunk_stage(session, chunk, following)
        if following == "done":
            return fan_in(session, chunk.batch_id)
        if following != "allocate":
            return [Next(following, chunk_id)]
        return allocation_hand_off(session, chunk.batch_id)


ALLOCATE_RUN = 8
"""Chunks one allocation step takes at most (see :func:`allocate_run`)."""


def allocate_run(ctx: Context, session: Session, chunk: Chunk) -> list[Next]:
    """Allocate `chunk` if it is its turn, then each following chunk already screened, up to ``ALLOCATE_RUN``
    chunks, in chunk order, in this one transaction: stock goes to the orders nearest their ship-by time first and
    the result does not depend on how many workers run, while a batch whose chunks were screened ahead of
    allocation passes in a few steps instead of one hand-off per chunk. Returns the route steps of the chunks
    allocated and the next chunk's allocation step, if one is screened."""
    if allocation_turn(session, chunk.batch_id) != chunk.id:
        return []
    messages = []
    current: Chunk | None = chunk
    while current is not None:
        allocate_chunk(ctx, session, current.id)
        set_chunk_stage(session, current, "route")
        messages.append(Next("route", current.id))
        turn = allocation_turn(session, chunk.batch_id) if len(messages) < ALLOCATE_RUN else None
        current = claim_chunk(session, turn, "allocate") if turn is not None else None
    return messages + allocation_hand_off(session, chunk.batch_id)


def give_up_chunk(ctx: Context, chunk_id: int, stage: str, error: str) -> list[Next]:
    """A chunk's stage failed past its retries: fail its orders still in flight (nothing is left hanging),
    release their stock, mark the chunk done and let the batch finish."""
    with ctx.session() as session:
        chunk = claim_chunk(session, chunk_id, stage)
        if chunk is None:
            return []
        stuck = session.execute(
            select(Order.id, Order.status).where(Order.chunk_id == chunk_id, Order.status.in_(IN_FLIGHT))
        ).all()
        reason = f"stage {stage} failed after retries: {error}"
        for order_id, status in stuck:
            session.execute(
                update(Order).where(Order.id == order_id, Order.status == status).values(status="failed", reason=reason)
            )
        audit.record(session, "order", [(o, s, "failed", reason) for o, s in stuck], f"stage:{stage}")
        stock.release(session, [o for o, _ in stuck])
        if stage == "label":
            purchases.abandon(session, chunk_id, reason)
        set_chunk_stage(session, chunk, "done")
        return allocation_hand_off(session, chunk.batch_id) + fan_in(session, chunk.batch_id)


def run_batch_stage(ctx: Context, batch_id: str, stage: str) -> list[Next]:
    """Run the documents or push step of a batch once; returns the next message.

    Before the documents, labels due a refund or bought twice are refunded (outside the transaction).
    """
    if stage == "documenting":
        with ctx.session() as session:
            due = session.scalar(select(Batch.status).where(Batch.id == batch_id)) == stage
        if due:
            sweep_labels(ctx, batch_id)
    with ctx.session() as session:
        batch = session.scalar(
            locked(session, select(Batch).where(Batch.id == batch_id, Batch.status == stage), skip_locked=True)
        )
        if batch is None:
            return []
        pushes: list[Next] = []
        if stage == "documenting":
            batch.outputs = {**batch.outputs, **write_documents(ctx, session, batch_id)}
            batch.alerts = stock_alerts(ctx, session, batch_id)
            following = "pushing"
        else:
            batch.outputs = {**batch.outputs, **push_tracking(ctx, session, batch_id)}
            pushes = [Next(PUSH_STEP, outbox_id) for outbox_id in open_pushes(session, batch_id)]
            following = "completed_with_errors" if order_counts(session, batch_id)["failed"] else "completed"
            batch.finished_at = utcnow()
        audit.record(session, "batch", [(batch_id, stage, following, f"{stage} done")], f"stage:{stage}")
        batch.status = following
        return ([Next(following, batch_id)] if following in ("pushing",) else []) + pushes


def fail_batch(ctx: Context, batch_id: str, stage: str, error: str) -> None:
    """The documents or push step failed past its retries: the batch ends ``failed`` with the error."""
    with ctx.session() as session:
        batch = session.get(Batch, batch_id)
        if batch is None or batch.status != stage:
            return
        batch.status, batch.error, batch.finished_at = "failed", f"{stage}: {error}", utcnow()
        audit.record(session, "batch", [(batch_id, stage, "failed", error)], f"stage:{stage}")

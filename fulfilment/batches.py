"""Batches: claiming pending orders into chunks, running one stage of one chunk, fan-in and the summary."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from fulfilment.domain.combine import address_key, chunks_keeping_groups
from fulfilment.domain.documents import DocumentOptions
from fulfilment.pipeline import CHUNK_STAGES, Context, next_chunk_stage
from fulfilment.stages.alerts import stock_alerts
from fulfilment.stages.allocate import allocate_chunk
from fulfilment.stages.documents import write_documents
from fulfilment.stages.label import label_chunk, obtain_labels, sweep_labels
from fulfilment.stages.push import open_pushes, push_tracking
from fulfilment.stages.route import route_chunk
from fulfilment.stages.screen import screen_chunk
from fulfilment.store import audit, purchases, stock
from fulfilment.store.claims import Transitions, claim_chunk, locked, set_chunk_stage
from fulfilment.store.db import one_of
from fulfilment.store.document_options import with_options
from fulfilment.store.inventory import sync_warehouses
from fulfilment.store.models import Batch, Chunk, LiveSession, Order, Outbox, utcnow

ChunkStage = Callable[[Context, Session, int], None]
CHUNK_STAGE_RUNNERS: dict[str, ChunkStage] = {
    "screen": screen_chunk,
    "allocate": allocate_chunk,
    "route": route_chunk,
    "label": label_chunk,
}
TERMINAL = ("completed", "completed_with_errors", "failed")
ORDER_OUTCOMES = ("labelled", "held", "backordered", "failed")
IN_FLIGHT = ("claimed", "screened", "allocated", "routed")
CLAIMABLE = {"pending": "claimed", "approved": "screened", "backordered": "screened", "allocated": "allocated"}
"""What a batch claims and the state each re-enters at: approved (by a reviewer) and backordered orders have
passed the screen and go straight to allocate; an allocated order in no batch (its label was voided) keeps its
stock and goes straight to route."""
_ADDRESS = (Order.buyer, Order.ship_name, Order.ship_street1, Order.ship_street2, Order.ship_zip)
PUSH_STEP = "push_outbox"
"""The message that makes one API push (target: an outbox id)."""


@dataclass(frozen=True, slots=True)
class Next:
    """The message to send after a step: a chunk stage for a chunk, or a batch stage for a batch."""

    stage: str
    target: int | str


def new_batch_id() -> str:
    """A readable, unique batch id: B + UTC time + random suffix."""
    return f"B{utcnow():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def start_batch(
    ctx: Context,
    session_name: str | None = None,
    trigger: str = "staff",
    actor: str = "cli",
    order_ids: Sequence[str] | None = None,
    options: DocumentOptions | None = None,
) -> tuple[str, list[Next]]:
    """Claim every pending, approved, backordered and re-allocated order (of one live session, or only
    `order_ids`, if given) into a new batch of chunks, which keeps its document `options` (default: from the
    settings).

    Orders go in ship-by order, except that one buyer's orders to one address are kept in one chunk (moved up
    to the first of them) so the label stage can combine them.

    Returns the batch id and the first messages to send (one per chunk; the documents step when empty).
    """
    with ctx.session() as session:
        sync_warehouses(session, ctx.rules.warehouses)
        query = (
            select(Order.id, Order.status, *_ADDRESS)
            .where(Order.status.in_(CLAIMABLE), or_(Order.status != "allocated", Order.batch_id.is_(None)))
            .order_by(Order.paid_at, Order.created_at, Order.id)
        )
        if session_name:
            query = query.join(LiveSession, LiveSession.id == Order.session_id).where(LiveSession.name == session_name)
        if order_ids is not None:
            query = query.where(Order.id.in_(order_ids))
        rows = session.execute(locked(session, query, skip_locked=True)).all()
        keys = [address_key(*r[2:]) if ctx.settings.combine else r.id for r in rows]
        parts = [[rows[i] for i in part] for part in chunks_keeping_groups(keys, ctx.settings.chunk_size)]
        batch = Batch(
            id=new_batch_id(),
            status="running",
            trigger=trigger,
            session_name=session_name,
            order_count=len(rows),
            outputs=with_options({}, options or ctx.settings.documents),
        )
        session.add(batch)
        chunks = [Chunk(batch_id=batch.id, seq=i, stage=CHUNK_STAGES[0]) for i in range(len(parts))]
        batch.chunk_count = len(chunks)
        session.add_all(chunks)
        session.flush()
        for chunk, part in zip(chunks, parts, strict=True):
            for status, to_status in CLAIMABLE.items():
                ids = [r.id for r in part if r.status == status]
                if not ids:
                    continue
                session.execute(
                    update(Order.__table__)
                    .where(one_of(session, Order.id, ids), Order.status == status)
                    .values(status=to_status, batch_id=batch.id, chunk_id=chunk.id, updated_at=utcnow())
                )
                why = f"claimed by batch {batch.id}" + (" to allocate again" if status == "backordered" else "")
                audit.record(session, "order", [(i, status, to_status, why) for i in ids], actor)
        audit.record(
            session,
            "batch",
            [(batch.id, None, "running", f"{len(rows)} orders in {len(chunks)} chunks")],
            actor,
        )
        if not chunks:
            batch.status = "documenting"
            return batch.id, [Next("documenting", batch.id)]
        return batch.id, [Next(CHUNK_STAGES[0], c.id) for c in chunks]


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
        return _allocation_hand_off(session, chunk.batch_id)


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
    return messages + _allocation_hand_off(session, chunk.batch_id)


def _allocation_hand_off(session: Session, batch_id: str) -> list[Next]:
    """The allocation step of the chunk whose turn it is, if any, decided under the batch row's lock: a chunk
    finishing its screen and the chunk before it finishing its allocation cannot both miss the hand-off."""
    locked_batch(session, batch_id)
    turn = allocation_turn(session, batch_id)
    return [Next("allocate", turn)] if turn is not None else []


def allocation_turn(session: Session, batch_id: str) -> int | None:
    """The chunk whose turn it is to allocate: the first (by seq) not yet past allocation, if screened."""
    first = session.execute(
        select(Chunk.id, Chunk.stage)
        .where(Chunk.batch_id == batch_id, Chunk.stage.in_(("screen", "allocate")))
        .order_by(Chunk.seq)
        .limit(1)
    ).first()
    return first.id if first is not None and first.stage == "allocate" else None


def locked_batch(session: Session, batch_id: str) -> Batch:
    """The batch row, locked until the transaction ends: serialises fan-in and allocation hand-offs."""
    batch = session.scalar(locked(session, select(Batch).where(Batch.id == batch_id)))
    assert batch is not None, f"no batch {batch_id}"
    return batch


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
        locked_batch(session, chunk.batch_id)
        turn = allocation_turn(session, chunk.batch_id)
        return ([Next("allocate", turn)] if turn is not None else []) + fan_in(session, chunk.batch_id)


def fan_in(session: Session, batch_id: str) -> list[Next]:
    """Under a lock on the batch row, the last chunk to finish moves the batch on to its documents."""
    batch = locked_batch(session, batch_id)
    open_chunks = session.scalar(select(func.count()).where(Chunk.batch_id == batch_id, Chunk.stage != "done"))
    if open_chunks or batch.status != "running":
        return []
    batch.status = "documenting"
    audit.record(session, "batch", [(batch_id, "running", "documenting", "every chunk is done")], "fan-in")
    return [Next("documenting", batch_id)]


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


def order_counts(session: Session, batch_id: str) -> dict[str, int]:
    """Orders of the batch by outcome; `orders` is the total, in-flight ones count under none of the outcomes."""
    by_status = dict(
        session.execute(
            select(Order.status, func.count()).where(Order.batch_id == batch_id).group_by(Order.status)
        ).all()
    )
    counts = {"orders": sum(by_status.values())}
    counts.update({k: by_status.get(k, 0) for k in ORDER_OUTCOMES})
    return counts


def push_counts(session: Session, *where: Any) -> dict[str, int]:
    """Tracking pushes matching `where` by outbox status (``sent``, ``pending``, ``retry``, ``sending``, ``parked``)."""
    rows = session.execute(select(Outbox.status, func.count()).where(*where).group_by(Outbox.status)).all()
    return {status: n for status, n in sorted(rows)}


def summary(ctx: Context, batch_id: str) -> dict[str, Any] | None:
    """The batch as `batch run --json` prints it, or None for an unknown id."""
    with ctx.session() as session:
        batch = session.get(Batch, batch_id)
        if batch is None:
            return None
        end = batch.finished_at or utcnow()
        keys = ("labels_pdf", "labels_zpl", "pick_list_pdf", "packing_slips_pdf", "tracking_xlsx", "tracking_csv")
        return {
            "batch_id": batch.id,
            "status": batch.status,
            "counts": order_counts(session, batch_id),
            "outputs": {k: batch.outputs.get(k) for k in keys},
            "pushes": push_counts(session, Outbox.batch_id == batch_id),
            "elapsed_s": round((end - batch.created_at).total_seconds(), 3),
        }


def alerts(ctx: Context, batch_id: str) -> list[dict[str, Any]]:
    """The batch's low-stock alerts ({sku, available, reason}), listed once its chunks are done."""
    with ctx.session() as session:
        return list(session.scalar(select(Batch.alerts).where(Batch.id == batch_id)) or [])


def retry_failed(ctx: Context, batch_id: str, actor: str) -> int:
    """Move the batch's failed orders back to pending (with an audit row each), out of the batch, so the
    next batch takes them; returns how many moved."""
    with ctx.session() as session:
        failed = list(session.scalars(select(Order.id).where(Order.batch_id == batch_id, Order.status == "failed")))
        moves = Transitions("failed", actor)
        cleared = {"batch_id": None, "chunk_id": None, "warehouse_code": None, "carrier": None, "service": None}
        for order_id in failed:
            moves.add(order_id, "pending", f"retry of failed order from batch {batch_id}", **cleared)
        moves.apply(session)
        return len(failed)

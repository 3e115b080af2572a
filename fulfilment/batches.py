"""Batches as the database records them: claiming orders into chunks, whose turn it is to allocate, fan-in, the
status and the summary.

Everything here is what a process that starts or watches a batch needs; running a stage lives in
`fulfilment.steps`, which only the processes that run steps import (workers and the embedded runner).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from fulfilment.domain.combine import address_key, chunks_keeping_groups
from fulfilment.domain.documents import DocumentOptions
from fulfilment.pipeline import CHUNK_STAGES, Context
from fulfilment.store import audit
from fulfilment.store.claims import Transitions, locked
from fulfilment.store.db import one_of
from fulfilment.store.document_options import with_options
from fulfilment.store.inventory import sync_warehouses
from fulfilment.store.models import Batch, Chunk, LiveSession, Order, Outbox, utcnow

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
        claims: list[tuple[str, str | None, str, str]] = []
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
                claims.extend((i, status, to_status, why) for i in ids)
        audit.record(session, "order", claims, actor)  # one COPY for the whole batch, not one per chunk
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


def allocation_hand_off(session: Session, batch_id: str) -> list[Next]:
    """The allocation step of the chunk whose turn it is, if any, decided under the batch row's lock: a chunk
    finishing its screen and the chunk before it finishing its allocation cannot both miss the hand-off."""
    locked_batch(session, batch_id)
    turn = allocation_turn(session, batch_id)
    return [Next("allocate", turn)] if turn is not None else []


def fan_in(session: Session, batch_id: str) -> list[Next]:
    """Under a lock on the batch row, the last chunk to finish moves the batch on to its documents."""
    batch = locked_batch(session, batch_id)
    open_chunks = session.scalar(select(func.count()).where(Chunk.batch_id == batch_id, Chunk.stage != "done"))
    if open_chunks or batch.status != "running":
        return []
    batch.status = "documenting"
    audit.record(session, "batch", [(batch_id, "running", "documenting", "every chunk is done")], "fan-in")
    return [Next("documenting", batch_id)]


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

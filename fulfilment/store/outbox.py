"""The outbox of tracking pushes: claiming one row for a send and recording how it ended, both guarded.

A row goes ``pending`` → ``sending`` (attempts + 1) → ``sent`` | ``retry`` | ``parked``. Each change is an UPDATE
from the status and attempt count that were read, so two workers can never both own one attempt. A row left in
``sending`` past the lease belongs to a worker that died mid-push: it may be claimed again, and the push then
asks the channel whether the earlier attempt took before sending again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.orm import Session

from fulfilment.channels.base import FILE_CHANNEL
from fulfilment.store import audit
from fulfilment.store.models import Order, Outbox, Shipment, utcnow

LEASE_S = 120
"""A ``sending`` row older than this is taken to belong to a dead worker (well above the API timeout)."""
OPEN = ("pending", "retry", "sending")
MAX_ATTEMPTS = 8
"""Transient failures after which a push is parked for a person."""
MAX_BACKOFF_S = 60
"""The longest a push waits for its next attempt after a transient failure."""


@dataclass(frozen=True, slots=True)
class Claimed:
    """An outbox row claimed for one attempt: what to send, and which attempt this is (1 = first)."""

    id: int
    channel: str
    order_id: str
    tracking_number: str
    carrier: str
    extra: dict[str, str]
    attempts: int
    service: str = ""
    items: tuple[dict[str, Any], ...] = ()


def _claimable(now: datetime, lease_s: float) -> object:
    stale = now - timedelta(seconds=lease_s)
    return or_(Outbox.status.in_(("pending", "retry")), and_(Outbox.status == "sending", Outbox.claimed_at < stale))


def claim(session: Session, outbox_id: int, lease_s: float = LEASE_S) -> Claimed | None:
    """Take a one-by-one push (not a bulk-file row) for one attempt if it is open and nobody live holds it;
    None means nothing to do."""
    now = utcnow()
    row = session.execute(
        select(
            Outbox.status,
            Outbox.channel,
            Outbox.attempts,
            Outbox.order_id,
            Outbox.items,
            Shipment.tracking_number,
            Shipment.carrier,
            Shipment.service,
            Order.extra,
        )
        .join(Shipment, Shipment.id == Outbox.shipment_id)
        .join(Order, Order.id == Outbox.order_id)
        .where(Outbox.id == outbox_id, Outbox.channel != FILE_CHANNEL, _claimable(now, lease_s))
    ).one_or_none()
    if row is None:
        return None
    taken = session.execute(
        update(Outbox)
        .where(Outbox.id == outbox_id, Outbox.status == row.status, Outbox.attempts == row.attempts)
        .values(status="sending", attempts=row.attempts + 1, claimed_at=now)
    )
    if taken.rowcount != 1:
        return None
    audit.record(session, "outbox", [(str(outbox_id), row.status, "sending", f"attempt {row.attempts + 1}")], "push")
    return Claimed(
        outbox_id,
        row.channel,
        row.order_id,
        row.tracking_number or "",
        row.carrier,
        dict(row.extra),
        row.attempts + 1,
        row.service,
        tuple(row.items or ()),
    )


def finish(session: Session, claimed: Claimed, status: str, external_id: str | None, error: str | None) -> bool:
    """Record how the attempt ended (``sent``, ``retry`` or ``parked``); False if the row was taken over meanwhile."""
    values: dict[str, object] = {"status": status, "last_error": error}
    if status == "sent":
        values.update(sent_at=utcnow(), external_id=external_id)
    done = session.execute(
        update(Outbox)
        .where(Outbox.id == claimed.id, Outbox.status == "sending", Outbox.attempts == claimed.attempts)
        .values(**values)
    )
    if done.rowcount != 1:
        return False
    why = f"package {external_id}" if status == "sent" else error or ""
    audit.record(session, "outbox", [(str(claimed.id), "sending", status, why)], "push")
    return True


def open_rows(session: Session, batch_id: str | None = None, lease_s: float = LEASE_S) -> list[int]:
    """Ids of one-by-one pushes that still need sending (pending, retrying, or stuck with a dead worker)."""
    query = select(Outbox.id).where(Outbox.channel != FILE_CHANNEL, _claimable(utcnow(), lease_s)).order_by(Outbox.id)
    if batch_id is not None:
        query = query.where(Outbox.batch_id == batch_id)
    return list(session.scalars(query))


def reopen(session: Session, outbox_id: int, actor: str) -> bool:
    """Put a parked push back to ``pending`` (a person fixed the cause); False if it is not parked.

    The attempt count restarts, but at 1 if the push was ever tried, so its next send checks with the channel first.
    """
    done = session.execute(
        update(Outbox)
        .where(Outbox.id == outbox_id, Outbox.status == "parked")
        .values(status="pending", attempts=case((Outbox.attempts > 0, 1), else_=0))
    )
    if done.rowcount != 1:
        return False
    audit.record(session, "outbox", [(str(outbox_id), "parked", "pending", "retried by a person")], actor)
    return True

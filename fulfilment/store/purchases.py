"""Label purchase intents: written before a provider is called, leased to one worker, resolved once.

Each function is one short transaction of its own (the provider's network calls happen between them, never
inside one), and every change is guarded by the intent's expected status so a redelivered message or a
second worker cannot record a label twice.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from fulfilment.labels.provider import BoughtLabel, Intent, Quote, Settled
from fulfilment.pipeline import Context
from fulfilment.store import audit
from fulfilment.store.db import is_sqlite
from fulfilment.store.models import LabelFile, LabelPurchase, Shipment, utcnow


class DbJournal:
    """The :class:`~fulfilment.labels.provider.PurchaseJournal` on the database, for one chunk's purchases."""

    def __init__(self, ctx: Context, batch_id: str, provider: str) -> None:
        self.ctx = ctx
        self.batch_id = batch_id
        self.provider = provider
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        # how long a worker holds an intent it works on: one that died loses it after this
        self.lease = timedelta(seconds=ctx.settings.label_lease_s)

    def _open(self, shipment_id: int):  # type: ignore[no-untyped-def]
        table = LabelPurchase.__table__.c
        return update(LabelPurchase).where(table.shipment_id == shipment_id, table.status == "open")

    def claim(self, shipment_id: int) -> Intent | None:
        now = utcnow()
        with self.ctx.session() as s:
            row = s.execute(
                self._open(shipment_id)
                .where(or_(LabelPurchase.lease_until.is_(None), LabelPurchase.lease_until < now))
                .values(lease_until=now + self.lease, updated_at=now)
                .returning(
                    LabelPurchase.attempts,
                    LabelPurchase.provider_shipment_id,
                    LabelPurchase.rate_id,
                    LabelPurchase.order_ref,
                )
            ).first()
        return None if row is None else Intent(shipment_id, *row)

    def quoted(self, shipment_id: int, quote: Quote) -> None:
        """Record the rate to buy from; a rate quoted before it joins `earlier_rate_ids`."""
        with self.ctx.session() as s:
            before = s.execute(
                select(LabelPurchase.rate_id, LabelPurchase.earlier_rate_ids).where(
                    LabelPurchase.shipment_id == shipment_id
                )
            ).first()
            earlier = list(before.earlier_rate_ids or []) if before else []
            if before and before.rate_id and before.rate_id != quote.rate_id and before.rate_id not in earlier:
                earlier.append(before.rate_id)
            done = s.execute(
                self._open(shipment_id).values(
                    provider_shipment_id=quote.shipment_id,
                    rate_id=quote.rate_id,
                    earlier_rate_ids=earlier,
                    updated_at=utcnow(),
                )
            ).rowcount  # type: ignore[attr-defined]
            if done:
                s.execute(
                    update(Shipment)
                    .where(Shipment.id == shipment_id)
                    .values(
                        shippo_shipment_id=quote.shipment_id,
                        shippo_rate_id=quote.rate_id,
                        rate_amount=quote.amount,
                        rate_currency=quote.currency,
                    )
                )

    def attempt(self, shipment_id: int) -> int:
        now = utcnow()
        with self.ctx.session() as s:
            count = s.scalar(
                self._open(shipment_id)
                .values(attempts=LabelPurchase.attempts + 1, lease_until=now + self.lease, updated_at=now)
                .returning(LabelPurchase.attempts)
            )
        if count is None:
            raise RuntimeError(f"shipment {shipment_id}: the purchase intent is no longer open")
        return count

    def bought(self, labels: Sequence[BoughtLabel], content: bytes, content_type: str) -> bool:
        now = utcnow()
        ids = [label.shipment_id for label in labels]
        with self.ctx.session() as s:
            table = LabelPurchase.__table__
            won = set(
                s.scalars(
                    update(table)
                    .where(table.c.shipment_id.in_(ids), table.c.status == "open")
                    .values(status="bought", lease_until=None, updated_at=now)
                    .returning(table.c.shipment_id)
                )
            )
            if not won:
                return False
            file_id = s.scalar(
                insert(LabelFile)
                .values(batch_id=self.batch_id, content=content, content_type=content_type, created_at=now)
                .returning(LabelFile.id)
            )
            if any(label.transaction_id for label in labels):
                s.connection().execute(
                    update(table).where(table.c.shipment_id == bindparam("s_id")).values(transaction_id=bindparam("t")),
                    [{"s_id": lb.shipment_id, "t": lb.transaction_id} for lb in labels if lb.shipment_id in won],
                )
            _labelled(s, [lb for lb in labels if lb.shipment_id in won], file_id, self.provider)
        return True

    def recorded(self, shipment_id: int) -> str | None:
        with self.ctx.session() as s:
            return s.scalar(select(LabelPurchase.transaction_id).where(LabelPurchase.shipment_id == shipment_id))

    def failed(self, shipment_id: int, reason: str) -> None:
        with self.ctx.session() as s:
            done = s.execute(
                self._open(shipment_id).values(status="failed", error=reason, lease_until=None, updated_at=utcnow())
            ).rowcount  # type: ignore[attr-defined]
            if done:
                s.execute(update(Shipment).where(Shipment.id == shipment_id).values(status="failed"))
                audit.record(s, "shipment", [(str(shipment_id), "buying", "failed", reason)], f"label:{self.provider}")

    def release(self, shipment_id: int, reason: str) -> None:
        with self.ctx.session() as s:
            s.execute(self._open(shipment_id).values(lease_until=None, error=reason, updated_at=utcnow()))

    def duplicate(self, shipment_id: int, transaction_id: str, detail: str) -> None:
        with self.ctx.session() as s:
            audit.record(
                s,
                "shipment",
                [(str(shipment_id), "labelled", "duplicate_refunded", f"transaction {transaction_id}: {detail}")],
                f"label:{self.provider}",
            )

    def refunded(self, shipment_id: int, transaction_id: str) -> None:
        with self.ctx.session() as s:
            done = s.execute(
                update(Shipment)
                .where(Shipment.id == shipment_id, Shipment.status == "refund_due")
                .values(status="voided")
            ).rowcount  # type: ignore[attr-defined]
            if done:
                what = f"label {transaction_id} refunded" if transaction_id else "no label to refund"
                audit.record(
                    s, "shipment", [(str(shipment_id), "refund_due", "voided", what)], f"label:{self.provider}"
                )


def _labelled(session: Session, labels: Sequence[BoughtLabel], file_id: int | None, provider: str) -> None:
    """Record each label on its shipment still ``buying``: one ``UPDATE … FROM unnest(…)`` on PostgreSQL, one
    UPDATE per label on SQLite."""
    if not labels:
        return
    table = Shipment.__table__
    fixed = {"status": "labelled", "label_file_id": file_id, "label_provider": provider}
    given = {  # column: its value for each label
        "id": [lb.shipment_id for lb in labels],
        "tracking_number": [lb.tracking_number for lb in labels],
        "label_page": [lb.page for lb in labels],
        "shippo_transaction_id": [lb.transaction_id for lb in labels],
    }
    changed = [c for c in given if c != "id"]
    if is_sqlite(session.get_bind()):  # type: ignore[arg-type]
        stmt = update(table).where(table.c.id == bindparam("b_id"), table.c.status == "buying")
        keys = [f"b_{c}" for c in given]
        session.connection().execute(
            stmt.values(**fixed, **{c: bindparam(f"b_{c}") for c in changed}),
            [dict(zip(keys, row, strict=True)) for row in zip(*given.values(), strict=True)],
        )
        return
    rows = select(
        *(func.unnest(bindparam(f"b_{c}", v, ARRAY(table.c[c].type))).label(c) for c, v in given.items())
    ).subquery("given")
    session.execute(
        update(table)
        .where(table.c.id == rows.c.id, table.c.status == "buying")
        .values(**fixed, **{c: rows.c[c] for c in changed})
    )


def refunds_due(session: Session, provider: str) -> list[Settled]:
    """Shipments whose labels bought from `provider` are to be refunded (voided, or bought for orders that
    failed), with their purchases."""
    query = (
        select(
            Shipment.id,
            LabelPurchase.order_ref,
            func.coalesce(LabelPurchase.rate_id, ""),
            func.coalesce(LabelPurchase.transaction_id, ""),
            LabelPurchase.earlier_rate_ids,
        )
        .join(LabelPurchase, LabelPurchase.shipment_id == Shipment.id)
        .where(Shipment.status == "refund_due", LabelPurchase.provider == provider)
        .order_by(Shipment.id)
    )
    return [Settled(*row[:4], tuple(row[4] or ())) for row in session.execute(query)]


def open_intents(ctx: Context, chunk_id: int) -> list[int]:
    """Shipment ids of the chunk whose labels are still to be obtained."""
    with ctx.session() as s:
        return list(
            s.scalars(
                select(LabelPurchase.shipment_id)
                .where(LabelPurchase.chunk_id == chunk_id, LabelPurchase.status == "open")
                .order_by(LabelPurchase.shipment_id)
            )
        )


def leased_elsewhere(ctx: Context, chunk_id: int) -> bool:
    """True while another worker holds the lease of an open intent of the chunk (it is buying that label)."""
    with ctx.session() as s:
        return (
            s.scalar(
                select(LabelPurchase.id)
                .where(
                    LabelPurchase.chunk_id == chunk_id,
                    LabelPurchase.status == "open",
                    LabelPurchase.lease_until > utcnow(),
                )
                .limit(1)
            )
            is not None
        )


def abandon(session: Session, chunk_id: int, reason: str) -> None:
    """The chunk's label stage gave up (none of its orders ships): its open purchases fail with `reason`, and
    labels already bought are due a refund (the documents' sweep refunds them, and any label a failed
    purchase's attempt may have bought)."""
    ids = list(
        session.scalars(
            update(LabelPurchase)
            .where(LabelPurchase.chunk_id == chunk_id, LabelPurchase.status == "open")
            .values(status="failed", error=reason, lease_until=None, updated_at=utcnow())
            .returning(LabelPurchase.shipment_id)
        )
    )
    if ids:
        session.execute(update(Shipment).where(Shipment.id.in_(ids)).values(status="failed"))
    bought = select(LabelPurchase.shipment_id).where(LabelPurchase.chunk_id == chunk_id)
    session.execute(
        update(Shipment).where(Shipment.id.in_(bought), Shipment.status == "labelled").values(status="refund_due")
    )

"""The audit trail: one row per state change, written in the transaction that makes the change."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from fulfilment.store.bulk import insert_rows
from fulfilment.store.models import AuditEntry, utcnow


def record(
    session: Session,
    entity: str,
    changes: Iterable[tuple[str, str | None, str, str]],
    actor: str,
) -> None:
    """Insert audit rows for (entity id, from status, to status, reason) changes made by `actor`, in one
    statement however many there are."""
    now = utcnow()
    rows = [
        {
            "at": now,
            "entity": entity,
            "entity_id": eid,
            "from_status": old,
            "to_status": new,
            "actor": actor,
            "reason": why,
        }
        for eid, old, new, why in changes
    ]
    insert_rows(session, AuditEntry.__table__, rows)

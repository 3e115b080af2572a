"""Screen: hold orders whose address fails the offline checks; pass the rest on to allocation."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import insert
from sqlalchemy.orm import Session

from fulfilment.domain.address import check_address
from fulfilment.pipeline import Context
from fulfilment.stages.shipping import ship_to
from fulfilment.store.claims import Transitions, chunk_orders
from fulfilment.store.models import Hold, utcnow


def screen_chunk(ctx: Context, session: Session, chunk_id: int) -> None:
    """Move the chunk's claimed orders to ``screened`` or ``held`` (with one hold per problem)."""
    moves = Transitions("claimed", actor="stage:screen")
    holds: list[dict[str, object]] = []
    now = utcnow()
    for order in chunk_orders(session, chunk_id, "claimed"):
        problems = check_address(ship_to(order))
        if not problems:
            moves.add(order.id, "screened", "passed the screen")
            continue
        moves.add(order.id, "held", "; ".join(p.reason for p in problems))
        holds.extend(
            {
                "order_id": order.id,
                "code": p.code,
                "reason": p.reason,
                "details": asdict(p),
                "created_at": now,
            }
            for p in problems
        )
    moves.apply(session)
    if holds:
        session.execute(insert(Hold), holds)

"""Screen: run the risk checks of rules/risk.yaml over a chunk; hold the doubtful orders, pass the rest on."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.orm import Session

from fulfilment.domain.address import classify
from fulfilment.domain.risk import RiskHold, screen
from fulfilment.pipeline import Context
from fulfilment.stages.shipping import screen_input, ship_to
from fulfilment.store.claims import StageOrder, Transitions, chunk_orders
from fulfilment.store.models import Hold, utcnow
from fulfilment.store.risk import risk_context


def screen_orders(session: Session, orders: Sequence[StageOrder], ctx: Context) -> dict[str, list[RiskHold]]:
    """The holds per order id, with the context (buyer history, nearby orders) loaded in bulk."""
    inputs = [screen_input(o) for o in orders]
    rules = ctx.rules.risk
    return screen(inputs, risk_context(session, inputs, rules), rules)


def hold_rows(order_id: str, holds: Sequence[RiskHold]) -> list[dict[str, object]]:
    """Rows for the `holds` table."""
    now = utcnow()
    return [
        {"order_id": order_id, "code": h.code, "reason": h.reason, "details": h.details, "created_at": now}
        for h in holds
    ]


def hold_summary(holds: Sequence[RiskHold]) -> str:
    """One line naming every hold, for the order's reason and the audit trail."""
    return "; ".join(f"{h.code}: {h.reason}" for h in holds)


def screen_chunk(ctx: Context, session: Session, chunk_id: int) -> None:
    """Move the chunk's claimed orders to ``screened`` (with the routing flags of their address, read while its
    street lines are in this process's cache) or ``held`` (with one hold row per reason)."""
    orders = chunk_orders(session, chunk_id, "claimed")
    if not orders:
        return
    verdicts = screen_orders(session, orders, ctx)
    moves = Transitions("claimed", actor="stage:screen")
    rows: list[dict[str, object]] = []
    for order in orders:
        holds = verdicts[order.id]
        if not holds:
            moves.add(order.id, "screened", "passed the screen", address_flags=classify(ship_to(order)).bits)
            continue
        moves.add(order.id, "held", hold_summary(holds))
        rows.extend(hold_rows(order.id, holds))
    moves.apply(session)
    if rows:
        session.execute(insert(Hold), rows)

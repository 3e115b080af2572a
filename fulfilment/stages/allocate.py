"""Allocate: reserve each screened order's stock in the first warehouse that can ship it whole."""

from __future__ import annotations

from sqlalchemy.orm import Session

from fulfilment.domain.allocation import candidates, demand, shortfall
from fulfilment.pipeline import Context
from fulfilment.store import stock
from fulfilment.store.claims import Transitions, chunk_orders


def allocate_chunk(ctx: Context, session: Session, chunk_id: int) -> None:
    """Move the chunk's screened orders to ``allocated`` (stock reserved) or ``backordered`` (with the shortfall)."""
    orders = chunk_orders(session, chunk_id, "screened")
    ranked = [w.code for w in ctx.rules.warehouses if w.active]
    hint = stock.available(session, {line.sku for order in orders for line in order.lines})
    moves = Transitions("screened", actor="stage:allocate")
    for order in orders:
        needed = demand([(line.sku, line.quantity) for line in order.lines])
        chosen = next(
            (w for w in candidates(needed, ranked, hint) if stock.reserve(session, order.id, w, needed)), None
        )
        if chosen is None:
            moves.add(order.id, "backordered", shortfall(needed, ranked, hint))
            continue
        for sku, quantity in needed.items():
            hint[(chosen, sku)] -= quantity
        skipped = ranked[: ranked.index(chosen)]
        why = f"allocated from {chosen}" + (f" ({', '.join(skipped)} short of stock)" if skipped else "")
        moves.add(order.id, "allocated", why, warehouse_code=chosen)
    moves.apply(session)

"""Allocate: reserve each screened order's stock where the warehouse policy says, split or backorder it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from fulfilment.domain.allocation import Site, choose, demand
from fulfilment.domain.zips import distance_miles
from fulfilment.pipeline import Context
from fulfilment.store import stock
from fulfilment.store.claims import Transitions, chunk_orders


def allocate_chunk(ctx: Context, session: Session, chunk_id: int) -> None:
    """Move the chunk's screened orders to ``allocated`` (stock reserved in one or, split, several warehouses)
    or ``backordered`` (with the shortfall); the reason is kept in ``orders.allocation_reason`` too.

    The chunk's stock rows are locked first, so the available counts decided on are exact; the reservations
    are then written for the whole chunk with guarded updates (see `stock.reserve_many`).
    """
    orders = chunk_orders(session, chunk_id, "screened")
    if not orders:
        return
    active = [w for w in ctx.rules.warehouses if w.active]
    sites = [Site(w.code, w.address.zip) for w in active]
    now = datetime.now(ctx.settings.shop_timezone).time()
    late = {w.code: f"; past {w.code}'s {w.cutoff:%H:%M} cut-off" for w in active if w.cutoff and now > w.cutoff}
    hint = stock.available(session, {line.sku for order in orders for line in order.lines}, lock=True)
    moves = Transitions("screened", actor="stage:allocate")
    plans = []
    for order in orders:
        needed = demand([(line.sku, line.quantity) for line in order.lines])
        decision = choose(needed, order.ship_state, order.ship_zip, sites, ctx.rules.allocation, hint, distance_miles)
        if decision.backordered:
            moves.add(order.id, "backordered", decision.reason, allocation_reason=decision.reason)
            continue
        for warehouse, part in decision.parts:
            for sku, quantity in part.items():
                hint[(warehouse, sku)] -= quantity
        plans.append((order.id, decision.parts))
        reason = decision.reason + "".join(late.get(w, "") for w, _ in decision.parts)
        moves.add(order.id, "allocated", reason, warehouse_code=decision.parts[0][0], allocation_reason=reason)
    stock.reserve_many(session, plans)
    moves.apply(session)

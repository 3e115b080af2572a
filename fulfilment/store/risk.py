"""Loading what the risk screen needs, in bulk per set of orders: buyer histories and nearby orders."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from fulfilment.domain.risk import BuyerHistory, RiskContext, RiskRules, ScreenOrder, SeenOrder
from fulfilment.store.models import Buyer, Order

SHIPPED = ("labelled",)
"""Order statuses that count as a buyer's past orders."""


def buyer_history(session: Session, buyers: set[str], exclude: set[str]) -> dict[str, BuyerHistory]:
    """Imported history (`buyers` table) plus the orders the tool shipped, per buyer; `exclude` orders not counted."""
    history = {
        b.handle: BuyerHistory(b.prior_orders, b.prior_returns, b.last_return_at)
        for b in session.scalars(select(Buyer).where(Buyer.handle.in_(buyers)))
    }
    shipped = session.execute(
        select(Order.buyer, func.count())
        .where(Order.buyer.in_(buyers), Order.status.in_(SHIPPED), Order.id.not_in(exclude))
        .group_by(Order.buyer)
    )
    for buyer, count in shipped:
        past = history.get(buyer, BuyerHistory())
        history[buyer] = BuyerHistory(past.orders + count, past.returns, past.last_return_at)
    return history


def nearby_orders(session: Session, orders: Sequence[ScreenOrder], rules: RiskRules) -> list[SeenOrder]:
    """Every stored order sharing a buyer, address key or IP with `orders`, created within the longest burst
    window of any of them (one query)."""
    if not orders:
        return []
    window = max(rules.ip_burst.window, rules.address_burst.window, rules.buyer_burst.window)
    first = min(o.created_at for o in orders) - window
    last = max(o.created_at for o in orders) + window
    keys = {o.address_key for o in orders if o.address_key}
    ips = {o.buyer_ip for o in orders if o.buyer_ip}
    shared = [Order.buyer.in_({o.buyer for o in orders})]
    if keys:
        shared.append(Order.address_key.in_(keys))
    if ips:
        shared.append(Order.buyer_ip.in_(ips))
    rows = session.execute(
        select(Order.id, Order.buyer, Order.buyer_ip, Order.address_key, Order.created_at).where(
            Order.created_at.between(first, last), or_(*shared)
        )
    )
    return [SeenOrder(*row) for row in rows]


def risk_context(session: Session, orders: Sequence[ScreenOrder], rules: RiskRules) -> RiskContext:
    """The context for screening `orders` together."""
    ids = {o.id for o in orders}
    return RiskContext(
        history=buyer_history(session, {o.buyer for o in orders}, ids),
        seen=nearby_orders(session, orders, rules),
    )

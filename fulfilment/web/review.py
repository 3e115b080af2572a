"""The review queue: held orders oldest first with their open holds and the buyer's history (approve/reject come
with the risk issue)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from fulfilment.store.models import Buyer, Hold, Order
from fulfilment.web.auth import Reviewer, context_of
from fulfilment.web.views import render

router = APIRouter()
QUEUE_SHOWN = 500


@router.get("/review")
def queue(request: Request, staff: Reviewer) -> Response:
    with context_of(request).session() as session:
        held = list(
            session.scalars(
                select(Order)
                .where(Order.status == "held")
                .order_by(Order.paid_at, Order.created_at, Order.id)
                .limit(QUEUE_SHOWN)
            )
        )
        holds: dict[str, list[Hold]] = {o.id: [] for o in held}
        if held:
            for hold in session.scalars(
                select(Hold).where(Hold.order_id.in_(holds), Hold.resolved_at.is_(None)).order_by(Hold.id)
            ):
                holds[hold.order_id].append(hold)
        handles = {o.buyer for o in held}
        orders_here = dict(
            session.execute(
                select(Order.buyer, func.count()).where(Order.buyer.in_(handles)).group_by(Order.buyer)
            ).all()
        )
        history = {b.handle: b for b in session.scalars(select(Buyer).where(Buyer.handle.in_(handles)))}
    return render(
        request,
        "review.html",
        staff,
        held=[(o, holds[o.id], orders_here.get(o.buyer, 0), history.get(o.buyer)) for o in held],
    )

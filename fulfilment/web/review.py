"""The review queue: held orders oldest first with their open holds, the buyer's history and the address as
entered and as parsed; a reviewer approves, rejects or parks (hold-until) one order or many (ticked, or every
queued order with a hold code). Each decision is `fulfilment.review`'s guarded change in its own transaction,
so the loser of a race is told who decided first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fulfilment import review
from fulfilment.domain.address import check_address, classify, normalise
from fulfilment.stages.shipping import ship_to
from fulfilment.store.models import Buyer, Hold, Order
from fulfilment.web.auth import Reviewer, context_of
from fulfilment.web.views import render

router = APIRouter()
Ticked = Annotated[list[str] | None, Form()]
"""The orders ticked on the queue page."""
QUEUE_SHOWN = 500
REFUSALS_SHOWN = 20


def _parsed(order: Order) -> dict[str, object]:
    """The ship-to as the screen reads it: the normalised key, routing flags and offline problems."""
    address = ship_to(order)
    flags = classify(address)
    return {
        "key": normalise(address),
        "flags": [f.name.removeprefix("is_").replace("_", "/") for f in fields(flags) if getattr(flags, f.name)],
        "problems": check_address(address),
    }


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
        codes = sorted({h.code for hs in holds.values() for h in hs})
    return render(
        request,
        "review.html",
        staff,
        held=[(o, holds[o.id], orders_here.get(o.buyer, 0), history.get(o.buyer), _parsed(o)) for o in held],
        codes=codes,
        notices=request.query_params.getlist("done"),
        refusals=request.query_params.getlist("refused"),
    )


def _targets(session: Session, order_id: str, selected: list[str] | None, code: str) -> list[str]:
    """The row's order, else the ticked ones, else every queued order with an open hold of `code`."""
    if order_id:
        return [order_id]
    if selected:
        return selected
    return review.held_ids(session, code=code) if code else []


def _back(done: list[str], refused: list[str]) -> Response:
    """To the queue, with what happened as flash messages in the query string."""
    query = [("done", m) for m in done] + [("refused", m) for m in refused[:REFUSALS_SHOWN]]
    if len(refused) > REFUSALS_SHOWN:
        query.append(("refused", f"… and {len(refused) - REFUSALS_SHOWN} more refused"))
    return RedirectResponse("/review?" + urlencode(query), status_code=303)


def _decide(
    request: Request, ids: list[str], verb: str, decide: Callable[[Session, str], review.Outcome]
) -> tuple[list[review.Outcome], Response]:
    """Apply `decide` to each order in its own transaction; the queue with one message per refusal and one for
    the orders decided (the outcome's own message when it was a single order)."""
    if not ids:
        return [], _back([], ["tick some orders, or choose a hold code, first"])
    ctx = context_of(request)
    outcomes = []
    for order_id in ids:
        with ctx.session() as session:
            outcomes.append(decide(session, order_id))
    ok = [o for o in outcomes if o.ok]
    done = [ok[0].message] if len(ok) == 1 else [f"{len(ok)} orders {verb}"] if ok else []
    return outcomes, _back(done, [o.message for o in outcomes if not o.ok])


@router.post("/review/approve")
def approve(
    request: Request,
    staff: Reviewer,
    order_id: str = Form(""),
    selected: Ticked = None,
    code: str = Form(""),
    note: str = Form(""),
) -> Response:
    actor = f"web:{staff.name}"
    with context_of(request).session() as session:
        ids = _targets(session, order_id, selected, code)
    return _decide(request, ids, "approved", lambda db, o: review.approve(db, o, actor, note.strip()))[1]


@router.post("/review/reject")
def reject(
    request: Request,
    staff: Reviewer,
    order_id: str = Form(""),
    selected: Ticked = None,
    code: str = Form(""),
    reason: str = Form(""),
) -> Response:
    if not reason.strip():
        return _back([], ["a reason is required to reject: say why the order is cancelled"])
    ctx, actor = context_of(request), f"web:{staff.name}"
    with ctx.session() as session:
        ids = _targets(session, order_id, selected, code)
    outcomes, response = _decide(request, ids, "rejected", lambda db, o: review.reject(db, o, actor, reason.strip()))
    if any(o.ok for o in outcomes):
        with ctx.session() as session:
            review.write_cancellations(ctx, session)
    return response


@router.post("/review/park")
def park(
    request: Request,
    staff: Reviewer,
    order_id: str = Form(""),
    selected: Ticked = None,
    code: str = Form(""),
    until: str = Form(""),
    note: str = Form(""),
) -> Response:
    ctx, actor = context_of(request), f"web:{staff.name}"
    try:
        when = review.local_time(until, ctx.settings.shop_timezone)
    except ValueError as exc:
        return _back([], [f"hold until: {exc}"])
    with ctx.session() as session:
        ids = _targets(session, order_id, selected, code)
    return _decide(request, ids, "parked", lambda db, o: review.park(db, o, when, actor, note.strip()))[1]

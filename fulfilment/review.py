"""The review queue: held orders with their reasons, and a reviewer's decisions on them.

Every decision is a guarded change from ``held`` plus an audit row naming the reviewer and the note, so two
reviewers deciding one order at once cannot both win: the second is told who decided first.
Approved orders wait for the next batch, which claims them straight to ``screened`` (they re-enter at
allocate); rejected orders release any stock and are listed in the cancellations export.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from fulfilment.domain.orders import ship_by
from fulfilment.domain.risk import burst_address_key
from fulfilment.pipeline import Context
from fulfilment.stages.screen import hold_rows, hold_summary, screen_orders
from fulfilment.stages.shipping import ship_to
from fulfilment.store import stock
from fulfilment.store.claims import move, stage_orders
from fulfilment.store.models import AuditEntry, Hold, LiveSession, Order, utcnow

CANCELLATIONS_FILE = "cancellations.csv"
EDITABLE = ("held", "pending")
"""Statuses in which an order's address may be edited (not yet claimed, or waiting for review)."""
ADDRESS_FIELDS = ("name", "street1", "street2", "city", "state", "zip", "phone")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one order: `ok` and a message for the reviewer."""

    order_id: str
    ok: bool
    message: str


# --- the queue ----------------------------------------------------------------------------------------------


def held_ids(
    session: Session,
    code: str | None = None,
    session_name: str | None = None,
    include_parked: bool = False,
    now: datetime | None = None,
) -> list[str]:
    """Held orders, oldest first; parked ones (hold-until in the future) only with `include_parked`."""
    query = select(Order.id).where(Order.status == "held").order_by(Order.created_at, Order.id)
    if not include_parked:
        query = query.where(or_(Order.hold_until.is_(None), Order.hold_until <= (now or utcnow())))
    if code:
        open_hold = select(Hold.id).where(Hold.order_id == Order.id, Hold.code == code, Hold.resolved_at.is_(None))
        query = query.where(open_hold.exists())
    if session_name:
        query = query.join(LiveSession, LiveSession.id == Order.session_id).where(LiveSession.name == session_name)
    return list(session.scalars(query))


def describe(ctx: Context, session: Session, order_ids: list[str], resolved: bool = False) -> list[dict[str, Any]]:
    """The orders as the queue shows them: buyer, amount, ship-by, ship-to and open holds (all holds, with how
    they were resolved, when `resolved`), in the given order."""
    orders = {o.id: o for o in session.scalars(select(Order).where(Order.id.in_(order_ids)))}
    holds: dict[str, list[Hold]] = {}
    query = select(Hold).where(Hold.order_id.in_(order_ids)).order_by(Hold.id)
    for hold in session.scalars(query if resolved else query.where(Hold.resolved_at.is_(None))):
        holds.setdefault(hold.order_id, []).append(hold)
    result = []
    for order_id in order_ids:
        order = orders.get(order_id)
        if order is None:
            continue
        result.append(
            {
                "order_id": order.id,
                "status": order.status,
                "buyer": order.buyer,
                "amount": str(order.amount),
                "created_at": order.created_at.isoformat(),
                "ship_by": ship_by(order.paid_at or order.created_at, ctx.settings.shop_timezone).isoformat(),
                "hold_until": order.hold_until.isoformat() if order.hold_until else None,
                "ship_to": ", ".join(
                    p
                    for p in (order.ship_street1, order.ship_street2, order.ship_city, order.ship_state, order.ship_zip)
                    if p
                ),
                "holds": [_hold(h, resolved) for h in holds.get(order_id, [])],
            }
        )
    return result


def _hold(hold: Hold, resolved: bool) -> dict[str, Any]:
    shown = {"code": hold.code, "reason": hold.reason, "details": hold.details, "at": hold.created_at.isoformat()}
    if resolved:
        at = hold.resolved_at.isoformat() if hold.resolved_at else None
        shown.update(resolution=hold.resolution, resolved_by=hold.resolved_by, resolved_at=at, note=hold.note)
    return shown


def history(session: Session, order_id: str) -> list[dict[str, str]]:
    """The order's audit trail, oldest first."""
    rows = session.scalars(
        select(AuditEntry).where(AuditEntry.entity == "order", AuditEntry.entity_id == order_id).order_by(AuditEntry.id)
    )
    return [
        {"at": a.at.isoformat(), "from": a.from_status or "", "to": a.to_status, "by": a.actor, "why": a.reason}
        for a in rows
    ]


def local_time(text: str, zone: tzinfo) -> datetime:
    """An ISO 8601 date/time such as ``2026-11-24T09:00``; without an offset it is in `zone` (the shop's).
    Raises ValueError naming the text when it is not one."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date/time such as 2026-11-24T09:00") from None
    return value if value.tzinfo else value.replace(tzinfo=zone)


# --- decisions ----------------------------------------------------------------------------------------------


def _lost(session: Session, order_id: str) -> Outcome:
    """Why a decision found the order not held: unknown, or who decided it first and where it is now."""
    status = session.scalar(select(Order.status).where(Order.id == order_id))
    if status is None:
        return Outcome(order_id, False, f"no order {order_id!r}")
    decided = session.scalar(
        select(AuditEntry)
        .where(AuditEntry.entity == "order", AuditEntry.entity_id == order_id, AuditEntry.from_status == "held")
        .where(AuditEntry.to_status != "held")
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    first = (
        f": it was {decided.to_status} by {decided.actor} at {decided.at:%Y-%m-%d %H:%M:%S} UTC"
        if decided is not None
        else ""
    )
    return Outcome(order_id, False, f"order {order_id} is not held{first} (now {status}); nothing changed")


def _resolve_holds(session: Session, order_id: str, resolution: str, actor: str, note: str) -> None:
    session.execute(
        update(Hold)
        .where(Hold.order_id == order_id, Hold.resolved_at.is_(None))
        .values(resolved_at=utcnow(), resolution=resolution, resolved_by=actor, note=note or None)
    )


def _why(verb: str, note: str) -> str:
    return f"{verb}: {note}" if note else verb


def approve(session: Session, order_id: str, actor: str, note: str = "") -> Outcome:
    """Held → approved: the next batch claims it straight to allocation."""
    if not move(session, order_id, "held", "approved", actor, _why("approved", note), hold_until=None):
        return _lost(session, order_id)
    _resolve_holds(session, order_id, "approved", actor, note)
    return Outcome(order_id, True, f"order {order_id} approved: it ships with the next batch run")


def reject(session: Session, order_id: str, actor: str, reason: str) -> Outcome:
    """Held → rejected: the order is cancelled, any reserved stock goes back on offer."""
    if not move(session, order_id, "held", "rejected", actor, _why("rejected", reason), hold_until=None):
        return _lost(session, order_id)
    _resolve_holds(session, order_id, "rejected", actor, reason)
    stock.release(session, [order_id])
    return Outcome(order_id, True, f"order {order_id} rejected and cancelled")


def park(session: Session, order_id: str, until: datetime, actor: str, note: str = "") -> Outcome:
    """Keep a held order out of the queue until `until` (it stays held)."""
    why = _why(f"parked until {until.isoformat()}", note)
    if not move(session, order_id, "held", "held", actor, why, hold_until=until):
        return _lost(session, order_id)
    return Outcome(order_id, True, f"order {order_id} parked until {until.isoformat()}")


def rescreen(ctx: Context, session: Session, order_id: str, actor: str) -> Outcome:
    """Run the screen again on a held order (e.g. after its address was corrected): its open holds are
    replaced by the new ones; with none left it is approved."""
    found = stage_orders(session, Order.id == order_id)
    if not found or found[0].status != "held":
        return _lost(session, order_id)
    holds = screen_orders(session, found, ctx)[order_id]
    if holds:
        why = "rescreened, still held: " + hold_summary(holds)
        if not move(session, order_id, "held", "held", actor, why):
            return _lost(session, order_id)
        _resolve_holds(session, order_id, "rescreened", actor, "")
        session.execute(insert(Hold), hold_rows(order_id, holds))
        return Outcome(order_id, True, f"order {order_id} is still held: " + hold_summary(holds))
    if not move(session, order_id, "held", "approved", actor, "rescreened: passed the screen", hold_until=None):
        return _lost(session, order_id)
    _resolve_holds(session, order_id, "rescreened", actor, "passed the screen")
    return Outcome(order_id, True, f"order {order_id} passed the screen: it ships with the next batch run")


def edit_address(session: Session, order_id: str, changes: dict[str, str], actor: str) -> Outcome:
    """Correct the ship-to of a held or pending order (audited with the old and new values)."""
    order = session.get(Order, order_id)
    if order is None:
        return Outcome(order_id, False, f"no order {order_id!r}")
    if order.status not in EDITABLE:
        return Outcome(order_id, False, f"order {order_id} is {order.status}: only held or pending orders can change")
    edits = {f: v.strip() for f, v in changes.items() if v.strip() != getattr(order, f"ship_{f}")}
    if not edits:
        return Outcome(order_id, False, f"order {order_id}: the address is already so; nothing changed")
    why = "address edited: " + "; ".join(f"{f} {getattr(order, f'ship_{f}')!r} → {v!r}" for f, v in edits.items())
    values: dict[str, str | None] = {f"ship_{f}": v for f, v in edits.items()}
    values["address_key"] = burst_address_key(replace(ship_to(order), **edits))
    values["address_flags"] = None  # the screen's reading was of the old address
    if not move(session, order_id, order.status, order.status, actor, why, **values):
        return _lost(session, order_id)
    return Outcome(order_id, True, f"order {order_id}: {why}")


# --- cancellations export -----------------------------------------------------------------------------------


def write_cancellations(ctx: Context, session: Session) -> Path:
    """Write every rejected order, with who rejected it, when and why, to ``<output dir>/cancellations.csv``."""
    rows = session.execute(
        select(Order.id, Order.channel, Order.buyer, Order.amount, AuditEntry.at, AuditEntry.actor, AuditEntry.reason)
        .join(AuditEntry, (AuditEntry.entity_id == Order.id) & (AuditEntry.entity == "order"))
        .where(Order.status == "rejected", AuditEntry.to_status == "rejected")
        .order_by(AuditEntry.at, Order.id)
    ).all()
    path = ctx.settings.output_dir / CANCELLATIONS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["order_id", "channel", "buyer", "amount", "rejected_at", "rejected_by", "reason"])
        for order_id, channel, buyer, amount, at, actor, reason in rows:
            writer.writerow([order_id, channel, buyer, amount, at.isoformat(), actor, reason])
    tmp.replace(path)
    return path

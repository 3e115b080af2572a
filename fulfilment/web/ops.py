"""Operations: Prometheus metrics (signed-in staff or an API token) and a health check (open, for probes)."""

from __future__ import annotations

import itertools

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from fulfilment.batches import TERMINAL
from fulfilment.pipeline import Context
from fulfilment.store.models import AuditEntry, Batch, Order
from fulfilment.web.auth import Packer, context_of

router = APIRouter()


def queue_depths(ctx: Context) -> dict[str, int]:
    """Messages waiting per broker queue (Redis only; the in-process broker has none to report)."""
    if not ctx.settings.distributed:
        return {}
    from fulfilment.messages import broker

    return {queue: int(broker.do_qsize(queue)) for queue in sorted(broker.get_declared_queues())}


def last_batch_steps(session: Session) -> dict[str, float]:
    """Seconds the last finished batch spent in each step (running = the chunk stages, documenting, pushing),
    from its audit trail."""
    last = session.scalar(
        select(Batch.id).where(Batch.status.in_(TERMINAL)).order_by(Batch.finished_at.desc()).limit(1)
    )
    if last is None:
        return {}
    changes = session.execute(
        select(AuditEntry.at, AuditEntry.from_status)
        .where(AuditEntry.entity == "batch", AuditEntry.entity_id == last)
        .order_by(AuditEntry.at, AuditEntry.id)
    ).all()
    return {
        change.from_status: round((change.at - before.at).total_seconds(), 3)
        for before, change in itertools.pairwise(changes)
        if change.from_status
    }


def _family(name: str, help_text: str, label: str, values: dict[str, float]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    lines += [f'{name}{{{label}="{key}"}} {value}' for key, value in sorted(values.items())]
    return lines


def exposition(ctx: Context) -> str:
    """The metrics in Prometheus text format."""
    with ctx.session() as session:
        orders = dict(session.execute(select(Order.status, func.count()).group_by(Order.status)).all())
        batches = dict(session.execute(select(Batch.status, func.count()).group_by(Batch.status)).all())
        steps = last_batch_steps(session)
    lines = _family("fulfilment_orders", "Orders per state.", "status", orders)
    lines += _family("fulfilment_batches", "Batches per state.", "status", batches)
    lines += [
        "# HELP fulfilment_failed_orders Orders that ended failed (label purchase and routing errors).",
        "# TYPE fulfilment_failed_orders gauge",
        f"fulfilment_failed_orders {orders.get('failed', 0)}",
    ]
    lines += _family(
        "fulfilment_last_batch_step_seconds", "Seconds the last finished batch spent per step.", "step", steps
    )
    lines += _family("fulfilment_queue_depth", "Messages waiting in the broker.", "queue", queue_depths(ctx))
    return "\n".join(lines) + "\n"


@router.get("/metrics")
def metrics(request: Request, staff: Packer) -> Response:
    return PlainTextResponse(exposition(context_of(request)), media_type="text/plain; version=0.0.4")


@router.get("/health")
def health(request: Request) -> Response:
    """{"status": "ok"|"failing", "database": ..., "broker": ...}: 200 when every configured part answers."""
    ctx = context_of(request)
    checks: dict[str, str] = {}
    try:
        with ctx.session() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 — any failure is the answer
        checks["database"] = f"error: {type(exc).__name__}"
    if ctx.settings.distributed:
        try:
            import redis

            redis.Redis.from_url(ctx.settings.redis_url or "", socket_timeout=2).ping()
            checks["broker"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["broker"] = f"error: {type(exc).__name__}"
    else:
        checks["broker"] = "in-process"
    ok = all(v in ("ok", "in-process") for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "failing", **checks}, status_code=200 if ok else 503)

"""Running a batch to the end: in-process on the embedded default, or by waiting on `fulfil worker`s."""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable
from typing import Any

import dramatiq
from sqlalchemy import func, select

from fulfilment import batches
from fulfilment.pipeline import Context
from fulfilment.store import outbox
from fulfilment.store.models import Batch, Order, Outbox

Progress = Callable[[int, int, str], None]
"""Called with (orders finished, orders in the batch, batch status) while a batch runs."""


_embedded: dramatiq.Worker | None = None
_embedded_guard = threading.Lock()


def embedded_worker() -> dramatiq.Worker:
    """The process's one worker on the in-process broker, started on first use with one thread (SQLite has
    one writer) and stopped when the process exits."""
    global _embedded
    with _embedded_guard:
        if _embedded is None:
            from fulfilment.worker import broker

            broker.emit_after("process_boot")
            _embedded = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
            _embedded.start()
            atexit.register(_embedded.stop)
        return _embedded


def progress_of(ctx: Context, batch_id: str) -> tuple[int, int, str]:
    """(orders past the last stage they will reach, orders in the batch, batch status)."""
    with ctx.session() as session:
        status = session.scalar(select(Batch.status).where(Batch.id == batch_id)) or "unknown"
        total = session.scalar(select(func.count()).where(Order.batch_id == batch_id)) or 0
        in_flight = session.scalar(
            select(func.count()).where(Order.batch_id == batch_id, Order.status.in_(batches.IN_FLIGHT))
        )
        return total - (in_flight or 0), total, status


def wait_for(
    ctx: Context, batch_id: str, progress: Progress | None, timeout_s: float | None, poll_s: float = 0.2
) -> str:
    """Poll the database until the batch ends (or the timeout passes); returns its last status."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        done, total, status = progress_of(ctx, batch_id)
        if progress:
            progress(done, total, status)
        if status in batches.TERMINAL or (deadline is not None and time.monotonic() > deadline):
            return status
        time.sleep(poll_s)


def open_push_count(ctx: Context, *where: Any) -> int:
    """How many tracking pushes matching `where` are not yet sent or parked."""
    with ctx.session() as session:
        return session.scalar(select(func.count()).where(Outbox.status.in_(outbox.OPEN), *where)) or 0


def wait_for_pushes(ctx: Context, timeout_s: float | None, *where: Any, poll_s: float = 0.2) -> int:
    """Poll until every push matching `where` is sent or parked (or the timeout passes); returns how many are open."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while (left := open_push_count(ctx, *where)) and (deadline is None or time.monotonic() < deadline):
        time.sleep(poll_s)
    return left


def run_batch(
    ctx: Context,
    session_name: str | None = None,
    progress: Progress | None = None,
    timeout_s: float | None = None,
    trigger: str = "staff",
) -> dict[str, Any]:
    """Claim pending orders into a batch, run every stage, wait for its API pushes and return the summary."""
    from fulfilment.worker import dispatch

    batch_id, first = batches.start_batch(ctx, session_name, trigger=trigger)
    if not ctx.settings.distributed:
        embedded_worker()
    dispatch(first)
    started = time.monotonic()
    wait_for(ctx, batch_id, progress, timeout_s)
    left = None if timeout_s is None else max(0.0, timeout_s - (time.monotonic() - started))
    wait_for_pushes(ctx, left, Outbox.batch_id == batch_id)
    summary = batches.summary(ctx, batch_id)
    assert summary is not None
    return summary

"""Running a batch to the end: in-process on the embedded default, or by waiting on `fulfil worker`s."""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import timedelta
from typing import Any, TypeVar

import dramatiq
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fulfilment import batches
from fulfilment.domain.documents import DocumentOptions
from fulfilment.pipeline import BATCH_STAGES, Context
from fulfilment.store import outbox
from fulfilment.store.document_options import batch_options, with_options
from fulfilment.store.models import Batch, Order, Outbox
from fulfilment.sweeper import TRANSIENT, sweep

T = TypeVar("T")
Progress = Callable[[int, int, str], None]
"""Called with (orders finished, orders in the batch, batch status) while a batch runs."""


UNIT_ATTEMPTS = 3
"""Tries at one unit of work whose database connection dropped (it rolled back, so trying again is safe)."""


def retried(unit: Callable[[], T], attempts: int = UNIT_ATTEMPTS, pause_s: float = 1.0) -> T:
    """Run a unit of work (one transaction), again after a dropped connection or a Redis restart."""
    for attempt in range(1, attempts + 1):
        try:
            return unit()
        except TRANSIENT:
            if attempt == attempts:
                raise
            time.sleep(pause_s)
    raise AssertionError("unreachable")


_embedded: dramatiq.Worker | None = None
_embedded_guard = threading.Lock()


def embedded_worker() -> dramatiq.Worker:
    """The process's one worker on the in-process broker, started on first use with one thread (SQLite has
    one writer) and stopped when the process exits."""
    global _embedded
    with _embedded_guard:
        if _embedded is None:
            # The embedded default runs every step in this process, so it imports the actors (and the stages under
            # them) here, at first use; a distributed runner only sends messages and never loads the stages' code.
            from fulfilment.worker import broker

            broker.emit_after("process_boot")
            _embedded = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
            _embedded.start()
            atexit.register(_embedded.stop)
        return _embedded


def progress_of(ctx: Context, batch_id: str) -> tuple[int, int, str]:
    """(orders past the last stage they will reach, orders in the batch, batch status)."""
    with ctx.session() as session:
        status = _status(session, batch_id)
        total = session.scalar(select(func.count()).where(Order.batch_id == batch_id)) or 0
        in_flight = session.scalar(
            select(func.count()).where(Order.batch_id == batch_id, Order.status.in_(batches.IN_FLIGHT))
        )
        return total - (in_flight or 0), total, status


SWEEP_EVERY_S = 30.0
"""How often a waiting `batch run` re-sends the batch's steps that have stalled (see fulfilment.sweeper)."""

COUNT_EVERY_S = 1.0
"""How often a waiting `batch run` counts the batch's orders for its progress (the status, one row, is read at
every poll): counting 10,000 orders five times a second took a tenth of a core from the database the workers use."""


def batch_status(ctx: Context, batch_id: str) -> str:
    """The batch's status (``unknown`` for no such batch)."""
    with ctx.session() as session:
        return _status(session, batch_id)


def _status(session: Session, batch_id: str) -> str:
    return session.scalar(select(Batch.status).where(Batch.id == batch_id)) or "unknown"


POLL_S = 0.2
"""How often a waiting `batch run` reads the batch's status while its chunks run."""

FINAL_POLL_S = 0.05
"""How often it reads the status once the batch is at its documents or push step, the last second or so of a run:
the end is noticed within 50 ms instead of 200 (the read is one row by its key)."""


def wait_for(ctx: Context, batch_id: str, progress: Progress | None, timeout_s: float | None) -> str:
    """Poll the database until the batch ends (or the timeout passes), reporting progress about every
    ``COUNT_EVERY_S`` and once at the end, re-sending stalled steps now and then; returns the batch's last status."""
    from fulfilment.messages import dispatch

    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    next_sweep = time.monotonic() + SWEEP_EVERY_S
    next_count = time.monotonic()
    status = "unknown"
    while True:
        try:
            status = batch_status(ctx, batch_id)
            ended = status in batches.TERMINAL or (deadline is not None and time.monotonic() > deadline)
            if progress and (ended or time.monotonic() >= next_count):
                next_count = time.monotonic() + COUNT_EVERY_S
                progress(*progress_of(ctx, batch_id))
            if time.monotonic() > next_sweep and status not in batches.TERMINAL:
                next_sweep = time.monotonic() + SWEEP_EVERY_S
                dispatch(sweep(ctx, batch_id=batch_id))
        except TRANSIENT:
            pass  # a dropped database connection or a Redis restart: poll again (a new connection is made)
        if status in batches.TERMINAL or (deadline is not None and time.monotonic() > deadline):
            return status
        time.sleep(FINAL_POLL_S if status in BATCH_STAGES else POLL_S)


def open_push_count(ctx: Context, *where: Any) -> int:
    """How many tracking pushes matching `where` are not yet sent or parked."""
    with ctx.session() as session:
        return session.scalar(select(func.count()).where(Outbox.status.in_(outbox.OPEN), *where)) or 0


def wait_for_pushes(ctx: Context, timeout_s: float | None, *where: Any, poll_s: float = 0.2) -> int:
    """Poll until every push matching `where` is sent or parked (or the timeout passes); returns how many are open."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    left: int | None = None
    while True:
        with suppress(TRANSIENT):  # the database connection dropped: ask again
            left = open_push_count(ctx, *where)
        if left == 0 or (deadline is not None and time.monotonic() >= deadline):
            return left if left is not None else open_push_count(ctx, *where)
        time.sleep(poll_s)


def _drive(
    ctx: Context, batch_id: str, steps: list[batches.Next], progress: Progress | None, timeout_s: float | None
) -> dict[str, Any]:
    """Send the steps (to the in-process worker on the embedded default), wait for the end and for the
    batch's API pushes, summarise."""
    from fulfilment.messages import dispatch

    _last_batch.append(batch_id)
    if not ctx.settings.distributed:
        embedded_worker()
    dispatch(steps)
    started = time.monotonic()
    wait_for(ctx, batch_id, progress, timeout_s)
    left = None if timeout_s is None else max(0.0, timeout_s - (time.monotonic() - started))
    wait_for_pushes(ctx, left, Outbox.batch_id == batch_id)
    summary = retried(lambda: batches.summary(ctx, batch_id))
    assert summary is not None
    return summary


_last_batch: list[str] = []


def last_batch() -> str | None:
    """The id of the batch this process started or resumed last (to tell a user how to resume it)."""
    return _last_batch[-1] if _last_batch else None


def run_batch(
    ctx: Context,
    session_name: str | None = None,
    progress: Progress | None = None,
    timeout_s: float | None = None,
    trigger: str = "staff",
    order_ids: Sequence[str] | None = None,
    options: DocumentOptions | None = None,
) -> dict[str, Any]:
    """Claim pending and approved orders (only `order_ids`, if given) into a batch, run every stage and return
    the batch summary; the batch prints with `options` (default: from the settings)."""
    batch_id, first = retried(
        lambda: batches.start_batch(ctx, session_name, trigger=trigger, order_ids=order_ids, options=options)
    )
    return _drive(ctx, batch_id, first, progress, timeout_s)


def resume_batch(
    ctx: Context,
    batch_id: str,
    progress: Progress | None = None,
    timeout_s: float | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Send every unfinished step of an interrupted batch again and run it to the end; `overrides` change
    the batch's stored document options (``reverse``, ``separators``, ``packing_slips``) for documents not yet
    written."""
    if overrides:
        with ctx.session() as session:
            batch = session.get(Batch, batch_id)
            if batch is not None:
                options = batch_options(session, batch_id, ctx.settings.documents).with_overrides(**overrides)
                batch.outputs = with_options(batch.outputs, options)
    return _drive(ctx, batch_id, sweep(ctx, timedelta(0), batch_id), progress, timeout_s)

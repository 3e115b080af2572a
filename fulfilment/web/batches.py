"""Live sessions and batches: the list with counts per state, starting a batch, its live page, retry, downloads."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fulfilment import batches as batch_runs
from fulfilment.pipeline import Context
from fulfilment.store.document_options import file_outputs
from fulfilment.store.models import Batch, Chunk, LiveSession, Order, ScheduledRun
from fulfilment.sweeper import sweep
from fulfilment.web.auth import Packer, context_of
from fulfilment.web.views import render

router = APIRouter()
BATCHES_SHOWN = 50
SCHEDULED_SHOWN = 20
FAILED_SHOWN = 200


def _counts_by(session: Session, key: Any, keys: list[Any]) -> dict[Any, dict[str, int]]:
    """Orders per state for each value of `key` (a column of orders) among `keys`."""
    counts: dict[Any, dict[str, int]] = {k: {} for k in keys}
    if keys:
        rows = session.execute(
            select(key, Order.status, func.count()).where(key.in_(keys)).group_by(key, Order.status)
        ).all()
        for k, status, n in rows:
            counts[k][status] = n
    return counts


@router.get("/")
def home(request: Request, staff: Packer) -> Response:
    with context_of(request).session() as session:
        live = list(session.scalars(select(LiveSession).order_by(LiveSession.created_at.desc())))
        recent = list(session.scalars(select(Batch).order_by(Batch.created_at.desc()).limit(BATCHES_SHOWN)))
        by_session = _counts_by(session, Order.session_id, [s.id for s in live])
        by_batch = _counts_by(session, Order.batch_id, [b.id for b in recent])
        pending = session.scalar(select(func.count()).where(Order.status == "pending")) or 0
        scheduled = list(
            session.scalars(select(ScheduledRun).order_by(ScheduledRun.run_at.desc()).limit(SCHEDULED_SHOWN))
        )
    return render(
        request,
        "home.html",
        staff,
        live=[(s, by_session[s.id]) for s in live],
        batches=[(b, by_batch[b.id]) for b in recent],
        pending=pending,
        scheduled=scheduled,
        retried=request.query_params.get("retried"),
    )


def send(ctx: Context, steps: list[batch_runs.Next]) -> None:
    """Send batch steps without waiting for them: to the in-process worker on the embedded default (started
    on first use), to `fulfil worker`s through Redis otherwise."""
    from fulfilment.messages import dispatch
    from fulfilment.runner import embedded_worker

    if not ctx.settings.distributed:
        embedded_worker()
    dispatch(steps)


def start_in_background(ctx: Context, session_name: str | None, actor: str) -> str:
    """Claim the pending orders into a batch, send its first steps and return at once with the batch id."""
    batch_id, steps = batch_runs.start_batch(ctx, session_name, trigger="console", actor=actor)
    send(ctx, steps)
    return batch_id


@router.post("/batches")
def start(request: Request, staff: Packer, session: str = Form("")) -> Response:
    batch_id = start_in_background(context_of(request), session.strip() or None, f"web:{staff.name}")
    return RedirectResponse(f"/batches/{batch_id}", status_code=303)


def live_view(ctx: Context, batch_id: str) -> dict[str, Any]:
    """What the batch page shows and polls: progress, order counts, chunks per stage."""
    from fulfilment.runner import progress_of

    summary = batch_runs.summary(ctx, batch_id)
    if summary is None:
        raise HTTPException(404, f"no batch {batch_id!r}")
    done, total, status = progress_of(ctx, batch_id)
    with ctx.session() as session:
        stages = dict(
            session.execute(
                select(Chunk.stage, func.count()).where(Chunk.batch_id == batch_id).group_by(Chunk.stage)
            ).all()
        )
    return {
        **summary,
        "done": done,
        "total": total,
        "status": status,
        "finished": status in batch_runs.TERMINAL,
        "chunk_stages": stages,
    }


@router.get("/batches/{batch_id}")
def batch_page(request: Request, staff: Packer, batch_id: str) -> Response:
    ctx = context_of(request)
    view = live_view(ctx, batch_id)
    with ctx.session() as session:
        batch = session.get(Batch, batch_id)
        failed = session.execute(
            select(Order.id, Order.reason)
            .where(Order.batch_id == batch_id, Order.status == "failed")
            .order_by(Order.id)
            .limit(FAILED_SHOWN)
        ).all()
    assert batch is not None
    files = sorted(file_outputs(batch.outputs))
    return render(request, "batch.html", staff, view=view, batch=batch, failed=failed, files=files)


@router.get("/batches/{batch_id}/progress.json")
def progress(request: Request, staff: Packer, batch_id: str) -> dict[str, Any]:
    return live_view(context_of(request), batch_id)


@router.post("/batches/{batch_id}/resume")
def resume(request: Request, staff: Packer, batch_id: str) -> Response:
    """Send every unfinished step of the batch again (after a restart of the console or dead workers)."""
    ctx = context_of(request)
    send(ctx, sweep(ctx, timedelta(0), batch_id))
    return RedirectResponse(f"/batches/{batch_id}", status_code=303)


@router.post("/batches/{batch_id}/retry")
def retry(request: Request, staff: Packer, batch_id: str) -> Response:
    moved = batch_runs.retry_failed(context_of(request), batch_id, f"web:{staff.name}")
    return RedirectResponse(f"/?retried={moved}", status_code=303)


def recorded_file(ctx: Context, batch_id: str, key: str) -> Path:
    """The file the batch recorded under `key` in its outputs, if it lies inside the output folder and exists."""
    with ctx.session() as session:
        outputs = file_outputs(session.scalar(select(Batch.outputs).where(Batch.id == batch_id)))
    if key not in outputs:
        raise HTTPException(404, f"batch {batch_id!r} recorded no file {key!r}")
    path = Path(outputs[key]).resolve()
    if not path.is_relative_to(ctx.settings.output_dir.resolve()) or not path.is_file():
        raise HTTPException(404, f"the file of {key!r} is not in the output folder")
    return path


@router.get("/batches/{batch_id}/files/{key}")
def download(request: Request, staff: Packer, batch_id: str, key: str) -> Response:
    path = recorded_file(context_of(request), batch_id, key)
    return FileResponse(path, filename=f"{batch_id}-{path.name}")

"""`fulfil push resume`: send again every tracking push still open (the sweeper for lost messages and dead workers)."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def push_resume(
    wait: Annotated[bool, typer.Option(help="Wait until the pushes are sent or parked.")] = True,
    timeout: Annotated[float | None, typer.Option(help="Stop waiting after this many seconds.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Queue a push for every outbox row not yet sent or parked, including rows whose worker died mid-push
    (their lease ran out); a push checks with TikTok first, so nothing is pushed twice. Safe to run any time."""
    from fulfilment.batches import PUSH_STEP, Next, push_counts
    from fulfilment.cli import _context, out
    from fulfilment.runner import embedded_worker, wait_for_pushes
    from fulfilment.stages.push import open_pushes
    from fulfilment.store.models import Outbox
    from fulfilment.worker import dispatch

    ctx = _context()
    with ctx.session() as session:
        ids = open_pushes(session)
    if ids and not ctx.settings.distributed:
        embedded_worker()
    dispatch([Next(PUSH_STEP, outbox_id) for outbox_id in ids])
    if wait and ids:
        wait_for_pushes(ctx, timeout, Outbox.id.in_(ids))
    with ctx.session() as session:
        result = {"resumed": len(ids), "pushes": push_counts(session, Outbox.id.in_(ids))}
    if as_json:
        print(json.dumps(result))
    else:
        shown = ", ".join(f"{n} {status}" for status, n in result["pushes"].items()) or "none"
        out.print(f"{len(ids)} open pushes queued again: {shown}", highlight=False)


def register(app: typer.Typer) -> None:
    push_app = typer.Typer(help="Tracking pushes to the sales channels.", no_args_is_help=True)
    push_app.command("resume")(push_resume)
    app.add_typer(push_app, name="push")

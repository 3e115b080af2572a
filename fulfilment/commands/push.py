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
    (their lease ran out); a TikTok push checks with TikTok first and a webhook push repeats its Idempotency-Key,
    so nothing is applied twice. Safe to run any time."""
    from fulfilment.batches import PUSH_STEP, Next, push_counts
    from fulfilment.cli import _context, out
    from fulfilment.messages import dispatch
    from fulfilment.runner import embedded_worker, wait_for_pushes
    from fulfilment.stages.push import open_pushes
    from fulfilment.store.models import Outbox

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


def push_parked(as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False) -> None:
    """List the pushes parked for a person, with their channel and the channel's message."""
    from rich.table import Table
    from sqlalchemy import select

    from fulfilment.cli import _context, out
    from fulfilment.store.models import Outbox, Shipment

    with _context().session() as session:
        rows = session.execute(
            select(
                Outbox.id, Outbox.order_id, Shipment.tracking_number, Outbox.channel, Outbox.attempts, Outbox.last_error
            )
            .join(Shipment, Shipment.id == Outbox.shipment_id)
            .where(Outbox.status == "parked")
            .order_by(Outbox.id)
        ).all()
    if as_json:
        keys = ("outbox_id", "order_id", "tracking_number", "channel", "attempts", "message")
        print(json.dumps({"parked": [dict(zip(keys, row, strict=True)) for row in rows]}))
        return
    table = Table("outbox id", "order", "tracking", "channel", "attempts", "message")
    for row in rows:
        table.add_row(*(str(v) for v in row))
    out.print(table)


def push_retry(outbox_ids: Annotated[list[int], typer.Argument(help="Outbox ids from `push parked`.")]) -> None:
    """Send parked pushes again once the cause is fixed (TikTok pushes are checked with TikTok first, webhook
    pushes carry the same Idempotency-Key, like any retry)."""
    from fulfilment.cli import _context, fail, out
    from fulfilment.store.outbox import reopen

    with _context().session() as session:
        refused = [i for i in outbox_ids if not reopen(session, i, "cli:push")]
        if refused:  # raised inside the transaction: nothing is reopened
            raise fail(f"not parked: {', '.join(map(str, refused))}; nothing changed")
    out.print(f"{len(outbox_ids)} pushes reopened; sending them now", highlight=False)
    push_resume(wait=True, timeout=None, as_json=False)


def register(app: typer.Typer) -> None:
    push_app = typer.Typer(help="Tracking pushes to the sales channels.", no_args_is_help=True)
    push_app.command("resume")(push_resume)
    push_app.command("parked")(push_parked)
    push_app.command("retry")(push_retry)
    app.add_typer(push_app, name="push")

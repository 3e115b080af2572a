"""`fulfil label void ORDER`: take back a label bought or drawn for a parcel that has not left."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def void(
    order: Annotated[str, typer.Argument(help="the labelled order whose label to void")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Refund the order's label (Shippo) or drop it (local), put its units back and the order back to
    allocated for the next batch run; orders combined into the same parcel go with it."""
    from fulfilment.cli import _context, fail, out
    from fulfilment.stages.void import VoidRefused, void_order

    try:
        outcome = void_order(_context(), order, actor="cli")
    except VoidRefused as exc:
        raise fail(str(exc)) from None
    result = {
        "shipments": outcome.voided.shipments,
        "allocated": outcome.reallocated,
        "refunds_pending": outcome.refunds_pending,
        "tell_channel": [{"order": o, "tracking": t, "channel": c} for o, t, c in outcome.voided.pushed],
    }
    if as_json:
        print(json.dumps(result))
        return
    n = len(outcome.voided.shipments)
    out.print(
        f"{n} label{'s' if n != 1 else ''} voided; back to allocated: {', '.join(outcome.reallocated)}", highlight=False
    )
    if outcome.refunds_pending:
        out.print(f"{outcome.refunds_pending} refund(s) still due: tried again before the next batch's documents")
    for o, t, c in outcome.voided.pushed:
        out.print(f"tracking {t} of {o} was already sent to {c}: tell the channel by hand", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the `label` command group."""
    group = typer.Typer(help="Labels already obtained.", no_args_is_help=True)
    group.command("void")(void)
    app.add_typer(group, name="label")

"""`fulfil review`: the queue of held orders and a reviewer's decisions (approve, reject, park, rescreen)."""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

actor_option = Annotated[
    str | None, typer.Option("--by", help="Who decides (default: the login name).", show_default=False)
]
code_option = Annotated[str | None, typer.Option("--code", help="Only orders with an open hold of this code.")]
session_option = Annotated[str | None, typer.Option("--session", help="Only orders of this live session.")]
orders_argument = Annotated[list[str] | None, typer.Argument(help="Order ids (or use --code / --session).")]


def by_reviewer(name: str | None) -> str:
    """The audit actor of a reviewer's decision."""
    return f"reviewer:{name or getpass.getuser()}"


def _parse_time(text: str, ctx: Any) -> datetime:
    """An ISO 8601 time; without an offset it is in the shop's time zone."""
    from fulfilment.cli import fail
    from fulfilment.review import local_time

    try:
        return local_time(text, ctx.settings.shop_timezone)
    except ValueError as exc:
        raise fail(f"--hold-until {exc}") from None


def _targets(ctx: Any, ids: list[str] | None, code: str | None, session: str | None) -> list[str]:
    """The orders a decision applies to: the ids given, else every held order in the queue (parked ones are
    decided by id) matching the filter."""
    from fulfilment.cli import fail
    from fulfilment.review import held_ids

    if ids:
        if code or session:
            raise fail("give order ids or a filter (--code / --session), not both")
        return ids
    if not (code or session):
        raise fail("name the orders, or choose them with --code and/or --session")
    with ctx.session() as db:
        found = held_ids(db, code=code, session_name=session)
    if not found:
        raise fail("no held order matches the filter")
    return found


def _decide(ctx: Any, ids: list[str], decide: Callable[[Any, str], Any]) -> list[Any]:
    """Apply a decision to each order in its own transaction; print each outcome; exit 1 if any was refused."""
    from fulfilment.cli import err, out

    outcomes = []
    for order_id in ids:
        with ctx.session() as db:
            outcome = decide(db, order_id)
        outcomes.append(outcome)
        (out if outcome.ok else err).print(outcome.message, highlight=False)
    return outcomes


def register(app: typer.Typer) -> None:
    review_app = typer.Typer(help="The review queue of held orders.", no_args_is_help=True)
    app.add_typer(review_app, name="review")

    @review_app.command("list")
    def review_list(
        code: code_option = None,
        session: session_option = None,
        include_parked: Annotated[bool, typer.Option("--all", help="Include parked orders.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
    ) -> None:
        """Held orders, oldest first, with their reasons, amounts and ship-by times."""
        from fulfilment.cli import _context, out
        from fulfilment.review import describe, held_ids

        ctx = _context()
        with ctx.session() as db:
            items = describe(ctx, db, held_ids(db, code, session, include_parked))
        if as_json:
            print(json.dumps(items))
            return
        table = Table("order", "buyer", "amount", "ship by", "holds", title=f"{len(items)} held orders")
        for item in items:
            reasons = "\n".join(f"{h['code']}: {h['reason']}" for h in item["holds"])
            parked = f"\n(parked until {item['hold_until']})" if item["hold_until"] else ""
            table.add_row(item["order_id"], item["buyer"], f"${item['amount']}", item["ship_by"], reasons + parked)
        out.print(table)

    @review_app.command("show")
    def review_show(
        order_id: Annotated[str, typer.Argument(help="The order id.")],
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    ) -> None:
        """One order: ship-to, every hold with the values that triggered it and how it was resolved, and its
        audit trail."""
        from fulfilment.cli import _context, fail, out
        from fulfilment.review import describe, history

        ctx = _context()
        with ctx.session() as db:
            items = describe(ctx, db, [order_id], resolved=True)
            trail = history(db, order_id)
        if not items:
            raise fail(f"no order {order_id!r}")
        item = {**items[0], "audit": trail}
        if as_json:
            print(json.dumps(item))
            return
        out.print(
            f"order {item['order_id']} — {item['status']}\n  buyer {item['buyer']}, ${item['amount']}, "
            f"created {item['created_at']}, ship by {item['ship_by']}\n  ship to {item['ship_to']}",
            highlight=False,
        )
        for hold in item["holds"]:
            done = f" — {hold['resolution']} by {hold['resolved_by']}" if hold["resolution"] else ""
            out.print(
                f"  HOLD {hold['code']}: {hold['reason']}{done}\n       {json.dumps(hold['details'])}", highlight=False
            )
        for entry in trail:
            out.print(
                f"  {entry['at']}  {entry['from'] or '—'} → {entry['to']}  {entry['by']}  {entry['why']}",
                highlight=False,
            )

    @review_app.command("approve")
    def review_approve(
        order_ids: orders_argument = None,
        code: code_option = None,
        session: session_option = None,
        note: Annotated[str, typer.Option(help="Why, for the audit trail.")] = "",
        now: Annotated[bool, typer.Option("--now", help="Run the approved orders through a batch at once.")] = False,
        by: actor_option = None,
    ) -> None:
        """Approve held orders: they ship with the next batch run (or at once with --now)."""
        from fulfilment.cli import _context, print_summary
        from fulfilment.review import approve

        ctx = _context()
        actor = by_reviewer(by)
        outcomes = _decide(ctx, _targets(ctx, order_ids, code, session), lambda db, o: approve(db, o, actor, note))
        approved = [o.order_id for o in outcomes if o.ok]
        if now and approved:
            from fulfilment.runner import run_batch

            print_summary(ctx, run_batch(ctx, order_ids=approved, trigger="review"))
        if len(approved) < len(outcomes):
            raise typer.Exit(1)

    @review_app.command("reject")
    def review_reject(
        order_ids: orders_argument = None,
        code: code_option = None,
        session: session_option = None,
        reason: Annotated[str, typer.Option(help="Why the order is cancelled (required).")] = "",
        by: actor_option = None,
    ) -> None:
        """Reject held orders: cancelled, stock released, listed in <output dir>/cancellations.csv."""
        from fulfilment.cli import _context, fail, out
        from fulfilment.review import reject, write_cancellations

        if not reason.strip():
            raise fail("--reason is required: say why the order is cancelled")
        ctx = _context()
        actor = by_reviewer(by)
        outcomes = _decide(ctx, _targets(ctx, order_ids, code, session), lambda db, o: reject(db, o, actor, reason))
        if any(o.ok for o in outcomes):
            with ctx.session() as db:
                out.print(f"cancellations export: {write_cancellations(ctx, db)}", highlight=False)
        if not all(o.ok for o in outcomes):
            raise typer.Exit(1)

    @review_app.command("park")
    def review_park(
        order_ids: orders_argument = None,
        hold_until: Annotated[str, typer.Option("--hold-until", help="ISO date/time (shop time if no offset).")] = "",
        code: code_option = None,
        session: session_option = None,
        note: Annotated[str, typer.Option(help="Why, for the audit trail.")] = "",
        by: actor_option = None,
    ) -> None:
        """Park held orders out of the queue until a time (they stay held; `review list --all` shows them)."""
        from fulfilment.cli import _context, fail
        from fulfilment.review import park

        if not hold_until:
            raise fail("--hold-until is required")
        ctx = _context()
        until, actor = _parse_time(hold_until, ctx), by_reviewer(by)
        outcomes = _decide(ctx, _targets(ctx, order_ids, code, session), lambda db, o: park(db, o, until, actor, note))
        if not all(o.ok for o in outcomes):
            raise typer.Exit(1)

    @review_app.command("rescreen")
    def review_rescreen(order_ids: orders_argument = None, by: actor_option = None) -> None:
        """Run the screen again on held orders (after `fulfil order edit-address`): passing orders are approved."""
        from fulfilment.cli import _context, fail
        from fulfilment.review import rescreen

        if not order_ids:
            raise fail("name the orders to rescreen")
        ctx = _context()
        actor = by_reviewer(by)
        outcomes = _decide(ctx, order_ids, lambda db, o: rescreen(ctx, db, o, actor))
        if not all(o.ok for o in outcomes):
            raise typer.Exit(1)

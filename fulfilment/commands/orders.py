"""`fulfil order`: look at and correct single orders."""

from __future__ import annotations

from typing import Annotated

import typer

from fulfilment.commands.review import actor_option, by_reviewer


def register(app: typer.Typer) -> None:
    order_app = typer.Typer(help="Single orders.", no_args_is_help=True)
    app.add_typer(order_app, name="order")

    @order_app.command("edit-address")
    def edit_address(
        order_id: Annotated[str, typer.Argument(help="The order id.")],
        name: Annotated[str | None, typer.Option(help="Recipient name.")] = None,
        street1: Annotated[str | None, typer.Option(help="Street line 1.")] = None,
        street2: Annotated[str | None, typer.Option(help='Street line 2 ("" to clear).')] = None,
        city: Annotated[str | None, typer.Option(help="City.")] = None,
        state: Annotated[str | None, typer.Option(help="USPS state code.")] = None,
        zip_code: Annotated[str | None, typer.Option("--zip", help="ZIP or ZIP+4.")] = None,
        phone: Annotated[str | None, typer.Option(help="Phone.")] = None,
        by: actor_option = None,
    ) -> None:
        """Correct a held or pending order's ship-to address (audited); then `fulfil review rescreen ORDER`."""
        from fulfilment.cli import _context, fail, out
        from fulfilment.review import edit_address as edit

        given = {"name": name, "street1": street1, "street2": street2, "city": city, "state": state, "zip": zip_code}
        changes = {k: v for k, v in {**given, "phone": phone}.items() if v is not None}
        if not changes:
            raise fail("give at least one of --name --street1 --street2 --city --state --zip --phone")
        ctx = _context()
        with ctx.session() as db:
            outcome = edit(db, order_id, changes, by_reviewer(by))
        if not outcome.ok:
            raise fail(outcome.message)
        out.print(outcome.message, highlight=False)

"""`fulfil label …`: labels already bought or drawn, printed again without a new purchase."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from fulfilment.store.models import Batch, Order, Shipment, ShipmentOrder


def reprint(
    target: Annotated[str, typer.Argument(help="an order id, or a batch id for all its labels in picking order")],
    out: Annotated[
        Path | None, typer.Option(help="PDF to write (default: reprint-<target>.pdf in the batch folder)")
    ] = None,
) -> None:
    """Write the stored labels of an order or a batch to a PDF again; nothing is bought."""
    from fulfilment.cli import _context, fail
    from fulfilment.stages.documents import picking_order, write_label_pages

    ctx = _context()
    with ctx.session() as session:
        if session.get(Batch, target) is not None:
            ranks = {w.code: i for i, w in enumerate(ctx.rules.warehouses)}
            batch_id, shipments = target, [s for s, _ in picking_order(session, target, ranks)]
        else:
            order = session.get(Order, target)
            if order is None:
                raise fail(f"no order or batch {target!r}")
            batch_id = order.batch_id or "orders"
            shipments = list(
                session.scalars(
                    select(Shipment)
                    .join(ShipmentOrder, ShipmentOrder.shipment_id == Shipment.id)
                    .where(ShipmentOrder.order_id == target, Shipment.status == "labelled")
                    .order_by(Shipment.id)
                )
            )
        if not shipments:
            raise fail(f"{target} has no labels to reprint (order status or batch not labelled yet)")
        path = out or ctx.batch_dir(batch_id) / f"reprint-{target}.pdf"
        pages = write_label_pages(session, shipments, path)
    typer.echo(f"{pages} label page{'s' if pages != 1 else ''} written to {path} (nothing was bought)")


def register(app: typer.Typer) -> None:
    """Add the `label` command group."""
    group = typer.Typer(help="Labels already obtained.", no_args_is_help=True)
    group.command("reprint")(reprint)
    app.add_typer(group, name="label")

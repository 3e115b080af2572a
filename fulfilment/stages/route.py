"""Route: pick carrier and service for each allocated order from rules/carriers.yaml."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfilment.domain.address import classify
from fulfilment.domain.parcel import Item, Parcel, pack
from fulfilment.domain.routing import Destination, choose_service
from fulfilment.pipeline import Context
from fulfilment.stages.shipping import ship_to
from fulfilment.store import stock
from fulfilment.store.claims import Transitions, chunk_orders
from fulfilment.store.models import CatalogItem, Order


class MissingWeight(ValueError):
    """A SKU has no weight in the catalog nor in the order source."""


def parcel_for(order: Order, catalog: dict[str, CatalogItem]) -> Parcel:
    """Pack the order's lines, taking weights and boxes from the catalog, else the source's unit weight."""
    items = []
    for line in order.lines:
        known = catalog.get(line.sku)
        if known is not None:
            items.append(
                Item(line.sku, line.quantity, known.weight_oz, known.length_in, known.width_in, known.height_in)
            )
        elif line.unit_weight_oz:
            items.append(Item(line.sku, line.quantity, line.unit_weight_oz, 0.0, 0.0, 0.0))
        else:
            raise MissingWeight(f"SKU {line.sku} has no weight: add it to the catalog (fulfil catalog import)")
    return pack(items)


def route_chunk(ctx: Context, session: Session, chunk_id: int) -> None:
    """Move the chunk's allocated orders to ``routed`` (service and rule stored) or ``failed`` with the reason."""
    orders = chunk_orders(session, chunk_id, "allocated")
    skus = {line.sku for order in orders for line in order.lines}
    catalog = {c.sku: c for c in session.scalars(select(CatalogItem).where(CatalogItem.sku.in_(skus)))}
    ships_with = {w.code: frozenset(w.carriers) for w in ctx.rules.warehouses}
    today = datetime.now(ctx.settings.shop_timezone).date()
    moves = Transitions("allocated", actor="stage:route")
    failed: list[str] = []
    for order in orders:
        try:
            parcel = parcel_for(order, catalog)
        except MissingWeight as exc:
            moves.add(order.id, "failed", str(exc))
            failed.append(order.id)
            continue
        flags = classify(ship_to(order))
        dest = Destination(order.ship_state, is_po_box=flags.is_po_box, is_military=flags.is_military)
        decision = choose_service(
            ctx.rules.routes,
            ctx.rules.carriers,
            parcel,
            dest,
            today,
            ships_with.get(order.warehouse_code or ""),
        )
        if decision.rule_id is None:
            moves.add(order.id, "failed", "no carrier service can take this parcel: " + decision.reason)
            failed.append(order.id)
            continue
        moves.add(
            order.id,
            "routed",
            decision.reason,
            carrier=decision.carrier,
            service=decision.service,
            rule_id=decision.rule_id,
            billable_weight_oz=decision.billable_weight_oz,
        )
    moves.apply(session)
    if failed:
        stock.release(session, failed)

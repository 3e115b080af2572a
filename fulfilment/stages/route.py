"""Route: pick carrier and service for each allocated order from rules/carriers.yaml."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfilment.domain.address import classify
from fulfilment.domain.parcel import Item, Parcel, pack
from fulfilment.domain.routing import Destination, RouteDecision, choose_service
from fulfilment.pipeline import Context
from fulfilment.stages.shipping import ship_to
from fulfilment.store import stock
from fulfilment.store.claims import Transitions, chunk_orders
from fulfilment.store.models import CatalogItem, Order


class MissingWeight(ValueError):
    """A SKU has no weight in the catalog nor in the order source."""


def parcel_for(order: Order, catalog: dict[str, CatalogItem]) -> Parcel:
    """Pack the order's lines, taking weights and boxes from the catalog, else the source's unit weight."""
    return pack_lines([(line.sku, line.quantity, line.unit_weight_oz) for line in order.lines], catalog)


def pack_lines(lines: Iterable[tuple[str, int, float | None]], catalog: dict[str, CatalogItem]) -> Parcel:
    """Pack (sku, units, the source's unit weight or None) lines; catalog weights and boxes come first."""
    items = []
    for sku, quantity, unit_weight_oz in lines:
        known = catalog.get(sku)
        if known is not None:
            items.append(Item(sku, quantity, known.weight_oz, known.length_in, known.width_in, known.height_in))
        elif unit_weight_oz:
            items.append(Item(sku, quantity, unit_weight_oz, 0.0, 0.0, 0.0))
        else:
            raise MissingWeight(f"SKU {sku} has no weight: add it to the catalog (fulfil catalog import)")
    return pack(items)


def route_parcel(ctx: Context, parcel: Parcel, order: Order, warehouse_code: str, today: date) -> RouteDecision:
    """The service for a parcel to the order's address from a warehouse (its carriers and services only)."""
    warehouse = next((w for w in ctx.rules.warehouses if w.code == warehouse_code), None)
    flags = classify(ship_to(order))
    dest = Destination(order.ship_state, is_po_box=flags.is_po_box, is_military=flags.is_military)
    return choose_service(
        ctx.rules.routes,
        ctx.rules.carriers,
        parcel,
        dest,
        today,
        frozenset(warehouse.carriers) if warehouse else None,
        frozenset(warehouse.services) if warehouse else frozenset(),
    )


def route_chunk(ctx: Context, session: Session, chunk_id: int) -> None:
    """Move the chunk's allocated orders to ``routed`` (service and rule stored) or ``failed`` with the reason."""
    orders = chunk_orders(session, chunk_id, "allocated")
    skus = {line.sku for order in orders for line in order.lines}
    catalog = {c.sku: c for c in session.scalars(select(CatalogItem).where(CatalogItem.sku.in_(skus)))}
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
        decision = route_parcel(ctx, parcel, order, order.warehouse_code or "", today)
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

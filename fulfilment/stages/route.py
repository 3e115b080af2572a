"""Route: pick carrier and service for each allocated order from the rules (or hold it for review)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from fulfilment.domain.address import AddressFlags, classify, is_residential
from fulfilment.domain.orders import Address
from fulfilment.domain.parcel import Item, Parcel, pack
from fulfilment.domain.routing import Facts, RouteDecision, choose_service
from fulfilment.domain.zones import zone
from fulfilment.pipeline import Context
from fulfilment.rules import Rules, WarehouseConfig
from fulfilment.stages.shipping import ship_to
from fulfilment.store import stock
from fulfilment.store.claims import StageOrder, Transitions, chunk_orders
from fulfilment.store.db import one_of
from fulfilment.store.models import CatalogItem, Hold, LiveSession, utcnow

ROUTE_HOLD = "ROUTE_HOLD"
"""Hold code of an order a routing rule sent to review."""


class MissingWeight(ValueError):
    """A SKU has no weight in the catalog nor in the order source."""


def parcel_for(order: StageOrder, catalog: Mapping[str, CatalogItem]) -> Parcel:
    """Pack the order's lines, taking weights and boxes from the catalog, else the source's unit weight."""
    return pack_lines([(line.sku, line.quantity, line.unit_weight_oz) for line in order.lines], catalog)


def pack_lines(lines: Iterable[tuple[str, int, float | None]], catalog: Mapping[str, CatalogItem]) -> Parcel:
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


def region_of(is_military: bool, is_territory: bool, is_alaska_hawaii: bool) -> str:
    """The `region` a rule tests: military, territory, alaska_hawaii or contiguous."""
    if is_military:
        return "military"
    if is_territory:
        return "territory"
    return "alaska_hawaii" if is_alaska_hawaii else "contiguous"


def destination_facts(
    address: Address, warehouse: WarehouseConfig | None, rules: Rules, flags: AddressFlags | None = None
) -> dict[str, Any]:
    """The facts about where a parcel goes from which warehouse: zone, region, PO Box, military, residential.
    The address's routing `flags` are read from it unless given (as the screen stored them)."""
    if flags is None:
        flags = classify(address)
    origin = warehouse.address.zip if warehouse else ""
    z, how = zone(origin, address.zip, address.state, rules.zone_charts.get(origin[:3]))
    return {
        "state": address.state,
        "zip": address.zip,
        "zone": z,
        "zone_how": how,
        "region": region_of(flags.is_military, flags.is_territory, flags.is_alaska_hawaii),
        "po_box": flags.is_po_box,
        "military": flags.is_military,
        "residential": is_residential(address),
        "warehouse": warehouse.code if warehouse else "",
        "ships_with": frozenset(warehouse.carriers) if warehouse else None,
        "ships_services": frozenset(warehouse.services) if warehouse else frozenset(),
    }


def order_facts(
    order: StageOrder,
    catalog: Mapping[str, CatalogItem],
    rules: Rules,
    session_name: str,
    now: datetime,
    handling_days: int,
    warehouse: WarehouseConfig | None = None,
    parcel: Parcel | None = None,
) -> Facts:
    """Everything the rules may test about a stored order, shipped from its warehouse (or `warehouse`) in its own
    parcel (or `parcel`: a split part, several orders combined).

    The ship-by deadline is paid_at (else created_at) + handling days; `ship_by_hours` is the time left from `now`.
    """
    paid = order.paid_at or order.created_at
    ship_by = paid + timedelta(days=handling_days) if paid else None
    return Facts(
        parcel=parcel if parcel is not None else parcel_for(order, catalog),
        order_value=float(order.amount or 0),
        skus=frozenset(line.sku for line in order.lines),
        categories=frozenset(c.category for line in order.lines if (c := catalog.get(line.sku)) and c.category),
        session=session_name,
        ship_by_hours=round((ship_by - now).total_seconds() / 3600, 1) if ship_by else None,
        tags=frozenset(order.tags or ()),
        **destination_facts(
            ship_to(order),
            warehouse or rules.warehouse(order.warehouse_code),
            rules,
            None if order.address_flags is None else AddressFlags.from_bits(order.address_flags),
        ),
    )


def route_details(decision: RouteDecision, facts: Facts) -> dict[str, Any]:
    """What is stored with the order for `rules explain`: options, billable weight, zone and quotes."""
    return {
        "package": decision.package,
        "signature": decision.signature,
        "insurance": decision.insurance,
        "billable": decision.billable_how,
        "zone": facts.zone_how,
        "quotes": [q.as_dict() for q in decision.quotes],
    }


@dataclass(frozen=True, slots=True)
class RoutingInputs:
    """What routing reads besides the orders: catalog rows, live-session names, hold rules already approved."""

    catalog: dict[str, CatalogItem]
    session_names: dict[int, str]
    approved: dict[str, frozenset[str]]

    def session_of(self, order: StageOrder) -> str:
        return self.session_names.get(order.session_id or 0, "")


def routing_inputs(session: Session, orders: list[StageOrder]) -> RoutingInputs:
    """Load the catalog rows, session names and approved ROUTE_HOLD rule ids (resolution `approved`) of the orders."""
    skus = {line.sku for order in orders for line in order.lines}
    catalog = {c.sku: c for c in session.scalars(select(CatalogItem).where(CatalogItem.sku.in_(skus)))}
    ids = {o.session_id for o in orders if o.session_id is not None}
    names = dict(session.execute(select(LiveSession.id, LiveSession.name).where(LiveSession.id.in_(ids))).all())
    approved: dict[str, set[str]] = {}
    rows = session.execute(
        select(Hold.order_id, Hold.details).where(
            one_of(session, Hold.order_id, [o.id for o in orders]),
            Hold.code == ROUTE_HOLD,
            Hold.resolution == "approved",
        )
    )
    for order_id, details in rows:
        approved.setdefault(order_id, set()).add(str((details or {}).get("rule_id", "")))
    return RoutingInputs(catalog, names, {k: frozenset(v) for k, v in approved.items()})


def route_chunk(ctx: Context, session: Session, chunk_id: int) -> None:
    """Move the chunk's allocated orders to ``routed`` (service, rule and details stored), ``held`` by a rule
    (hold row ``ROUTE_HOLD``, stock released) or ``failed`` with the reason."""
    orders = chunk_orders(session, chunk_id, "allocated")
    inputs = routing_inputs(session, orders)
    now = utcnow()
    today = now.astimezone(ctx.settings.shop_timezone).date()
    moves = Transitions("allocated", actor="stage:route")
    released: list[str] = []
    holds: list[dict[str, Any]] = []
    for order in orders:
        try:
            facts = order_facts(
                order, inputs.catalog, ctx.rules, inputs.session_of(order), now, ctx.settings.handling_days
            )
        except MissingWeight as exc:
            moves.add(order.id, "failed", str(exc))
            released.append(order.id)
            continue
        approved = inputs.approved.get(order.id, frozenset())
        decision = choose_service(ctx.rules.routes, ctx.rules.carriers, ctx.rules.rates, facts, today, approved)
        tags = sorted({*(order.tags or ()), *decision.tags})
        if decision.rule_id is None:
            moves.add(order.id, "failed", "no carrier service can take this parcel: " + decision.reason)
            released.append(order.id)
        elif decision.hold is not None:
            moves.add(order.id, "held", decision.reason, rule_id=decision.rule_id, tags=tags)
            holds.append(
                {
                    "order_id": order.id,
                    "code": ROUTE_HOLD,
                    "reason": decision.hold,
                    "details": {"rule_id": decision.rule_id},
                    "created_at": now,
                }
            )
            released.append(order.id)
        else:
            moves.add(
                order.id,
                "routed",
                decision.reason,
                carrier=decision.carrier,
                service=decision.service,
                rule_id=decision.rule_id,
                billable_weight_oz=decision.billable_weight_oz,
                tags=tags,
                route=route_details(decision, facts),
            )
    moves.apply(session)
    if holds:
        session.execute(insert(Hold), holds)
    if released:
        stock.release(session, released)


def route_parcel(
    ctx: Context, inputs: RoutingInputs, parcel: Parcel, order: StageOrder, warehouse_code: str, now: datetime
) -> RouteDecision:
    """The service for a parcel other than the order's own (a split part, several orders combined) to the order's
    address from a warehouse, decided by the same rules over the same facts (`inputs` loaded for the chunk)."""
    facts = order_facts(
        order,
        inputs.catalog,
        ctx.rules,
        inputs.session_of(order),
        now,
        ctx.settings.handling_days,
        ctx.rules.warehouse(warehouse_code),
        parcel,
    )
    today = now.astimezone(ctx.settings.shop_timezone).date()
    approved = inputs.approved.get(order.id, frozenset())
    return choose_service(ctx.rules.routes, ctx.rules.carriers, ctx.rules.rates, facts, today, approved)

"""Label: the chunk's routed orders become parcels (a split order one per warehouse, one buyer's orders to one
address from one warehouse combined), each with a tracking number, drawn into one PDF per chunk."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from fulfilment.channels.base import outbox_channel
from fulfilment.domain import line_items
from fulfilment.domain.combine import address_key, groups
from fulfilment.domain.routing import RouteDecision
from fulfilment.domain.shipments import LabelSpec
from fulfilment.domain.tracking import local_tracking_number
from fulfilment.labels.local import labels_pdf_bytes
from fulfilment.pipeline import Context
from fulfilment.stages.route import pack_lines, route_parcel
from fulfilment.stages.shipping import ship_to
from fulfilment.store import stock
from fulfilment.store.claims import Transitions, chunk_orders
from fulfilment.store.models import (
    CatalogItem,
    Chunk,
    LabelFile,
    Order,
    Outbox,
    Reservation,
    Shipment,
    ShipmentOrder,
    utcnow,
)


@dataclass(slots=True)
class Part:
    """What one order ships from one warehouse: (sku, units) lines."""

    order: Order
    warehouse: str
    items: list[tuple[str, int]]


@dataclass(slots=True)
class Parcel:
    """One shipment to make: its parts (several orders when combined), the service and the weight."""

    parts: list[Part]
    decision: RouteDecision
    weight_oz: float


def _parts(session: Session, orders: list[Order]) -> list[Part]:
    """Each order's reserved units per warehouse, orders in chunk order, warehouses in allocation order."""
    rows = session.execute(
        select(Reservation.order_id, Reservation.warehouse_code, Reservation.sku, Reservation.quantity)
        .where(Reservation.order_id.in_([o.id for o in orders]), Reservation.status == "reserved")
        .order_by(Reservation.id)
    ).all()
    held: dict[str, dict[str, list[tuple[str, int]]]] = {}
    for order_id, warehouse, sku, quantity in rows:
        held.setdefault(order_id, {}).setdefault(warehouse, []).append((sku, quantity))
    parts = []
    for order in orders:
        by_warehouse = held.get(order.id) or {
            order.warehouse_code or "": [(line.sku, line.quantity) for line in order.lines]
        }
        parts.extend(Part(order, w, items) for w, items in by_warehouse.items())
    return parts


def _buyer_address(order: Order) -> tuple[str, ...]:
    return address_key(order.buyer, order.ship_name, order.ship_street1, order.ship_street2, order.ship_zip)


def _parcels(ctx: Context, session: Session, parts: list[Part], catalog: dict[str, CatalogItem]) -> list[Parcel]:
    """Group parts into parcels (same buyer, address and warehouse; up to the combine limit) and route each.

    An order shipping whole and alone keeps the route stage's service; a split part or a combined parcel is
    routed again on its own weight (a split part no service takes keeps its order's service; a combined
    parcel no service takes ships as separate parcels).
    """
    unit_weights = {(p.order.id, line.sku): line.unit_weight_oz for p in parts for line in p.order.lines}
    shares = Counter(p.order.id for p in parts)

    def route(members: list[Part]) -> Parcel:
        first = members[0].order
        packed = pack_lines([(s, q, unit_weights.get((p.order.id, s))) for p in members for s, q in p.items], catalog)
        stored = RouteDecision(first.rule_id, first.carrier, first.service, first.billable_weight_oz)
        if len(members) == 1 and shares[first.id] == 1:
            return Parcel(members, stored, packed.weight_oz)
        decision = route_parcel(ctx, session, packed, first, members[0].warehouse)
        return Parcel(members, decision if decision.carrier or len(members) > 1 else stored, packed.weight_oz)

    limit = ctx.settings.combine_max if ctx.settings.combine else 1
    keys = [(_buyer_address(p.order), p.warehouse) for p in parts]
    parcels = []
    for group in groups(keys, limit):
        parcel = route([parts[i] for i in group])
        if parcel.decision.carrier is None:
            parcels.extend(route([parts[i]]) for i in group)
        else:
            parcels.append(parcel)
    return parcels


def _items(parcel: Parcel) -> tuple[tuple[str, int], ...]:
    """The parcel's units per SKU, in the order first listed."""
    totals: dict[str, int] = {}
    for part in parcel.parts:
        for sku, quantity in part.items:
            totals[sku] = totals.get(sku, 0) + quantity
    return tuple(totals.items())


def _outbox_items(shipped: list[tuple[int, Part]]) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """What each (order, shipment) push carries: the part's units, with the order's line item ids for them
    handed out parcel by parcel (left out when the order has no ids, or they do not cover its units)."""
    by_order: dict[str, list[tuple[int, Part]]] = {}
    for shipment_id, part in shipped:
        by_order.setdefault(part.order.id, []).append((shipment_id, part))
    out: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for order_id, parts in by_order.items():
        known = line_items.decode((parts[0][1].order.extra or {}).get(line_items.LINE_ITEM_IDS, ""))
        try:
            ids = line_items.hand_out(known, [part.items for _, part in parts]) if known else None
        except ValueError:
            ids = None
        for n, (shipment_id, part) in enumerate(parts):
            rows: list[dict[str, Any]] = [{"sku": sku, "quantity": quantity} for sku, quantity in part.items]
            for row, line_ids in zip(rows, ids[n] if ids else [], strict=False):
                row["line_item_ids"] = line_ids
            out[(order_id, shipment_id)] = rows
    return out


def label_chunk(ctx: Context, session: Session, chunk_id: int) -> None:
    """Move the chunk's routed orders to ``labelled``: shipments, tracking numbers, label PDF, outbox rows.

    Every order of a combined parcel gets the parcel's tracking number; a split order one per warehouse.
    """
    orders = chunk_orders(session, chunk_id, "routed")
    if not orders:
        return
    batch_id = session.scalar(select(Chunk.batch_id).where(Chunk.id == chunk_id))
    skus = {line.sku for order in orders for line in order.lines}
    catalog = {c.sku: c for c in session.scalars(select(CatalogItem).where(CatalogItem.sku.in_(skus)))}
    warehouses = {w.code: w for w in ctx.rules.warehouses}
    now = utcnow()
    parcels = _parcels(ctx, session, _parts(session, orders), catalog)
    shipment_ids = session.scalars(
        insert(Shipment).returning(Shipment.id, sort_by_parameter_order=True),
        [
            {
                "batch_id": batch_id,
                "warehouse_code": p.parts[0].warehouse,
                "carrier": p.decision.carrier,
                "service": p.decision.service,
                "rule_id": p.decision.rule_id,
                "weight_oz": p.weight_oz,
                "status": "labelled",
                "created_at": now,
            }
            for p in parcels
        ],
    ).all()
    specs = []
    for parcel, shipment_id in zip(parcels, shipment_ids, strict=True):
        warehouse = warehouses[parcel.parts[0].warehouse]
        carrier = ctx.rules.carriers[parcel.decision.carrier or ""]
        service = parcel.decision.service or ""
        specs.append(
            LabelSpec(
                shipment_id=shipment_id,
                order_ids=tuple(p.order.id for p in parcel.parts),
                warehouse=warehouse.code,
                ship_from=warehouse.address,
                ship_to=ship_to(parcel.parts[0].order),
                carrier=carrier.code,
                service=service,
                service_name=carrier.services[service].name,
                tracking_number=local_tracking_number(carrier.code, shipment_id),
                weight_oz=parcel.weight_oz,
                items=_items(parcel),
            )
        )
    label_file_id = session.scalar(
        insert(LabelFile).returning(LabelFile.id),
        [{"batch_id": batch_id, "content": labels_pdf_bytes(specs), "created_at": now}],
    )
    session.connection().execute(
        update(Shipment.__table__).where(Shipment.__table__.c.id == bindparam("s_id")),
        [
            {
                "s_id": s.shipment_id,
                "tracking_number": s.tracking_number,
                "label_file_id": label_file_id,
                "label_page": i,
            }
            for i, s in enumerate(specs)
        ],
    )
    links = [(s, order_id) for s in specs for order_id in s.order_ids]
    by_id = {order.id: order for order in orders}
    webhooks = {w.name for w in ctx.settings.webhooks}
    items = _outbox_items(
        [(s.shipment_id, part) for parcel, s in zip(parcels, specs, strict=True) for part in parcel.parts]
    )
    session.execute(insert(ShipmentOrder), [{"shipment_id": s.shipment_id, "order_id": o} for s, o in links])
    session.execute(
        insert(Outbox),
        [
            {
                "order_id": order_id,
                "shipment_id": s.shipment_id,
                "batch_id": batch_id,
                "channel": outbox_channel(by_id[order_id].channel, by_id[order_id].extra, webhooks),
                "status": "pending",
                "created_at": now,
                "items": items[(order_id, s.shipment_id)],
            }
            for s, order_id in links
        ],
    )
    stock.deduct(session, [o.id for o in orders])
    notes: dict[str, list[str]] = {}
    for spec, order_id in links:
        others = [o for o in spec.order_ids if o != order_id]
        combined = f" (combined with {', '.join(others)})" if others else ""
        notes.setdefault(order_id, []).append(
            f"{spec.service_name} label {spec.tracking_number} from {spec.warehouse}{combined}"
        )
    moves = Transitions("routed", actor="stage:label")
    for order_id, note in notes.items():
        moves.add(order_id, "labelled", "; ".join(note))
    moves.apply(session)

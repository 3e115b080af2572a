"""Label: the chunk's routed orders become parcels (a split order one per warehouse, one buyer's orders to one
address from one warehouse combined), each with a label obtained exactly once from the configured provider.

Three steps, so no network call ever runs inside a transaction that holds locks:

1. :func:`plan_shipments` (one transaction): the chunk's parcels as shipments, and one purchase intent per
   shipment, committed before any provider is called;
2. :func:`obtain_labels` (no transaction): the provider (local renderer or Shippo) obtains the open intents'
   labels and reports each to the journal (:mod:`fulfilment.store.purchases`), which commits every report;
3. :func:`label_chunk` (the stage's transaction): orders whose labels are all bought become ``labelled`` (outbox
   rows, stock deducted); orders with a label that failed for good become ``failed`` with the reason (stock
   released; a label bought for a parcel none of whose orders ship is refunded before the documents); while a
   label is still open (a retryable failure) the stage raises :class:`LabelsPending` and is run again.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from fulfilment.channels.base import outbox_channel
from fulfilment.domain import line_items
from fulfilment.domain.combine import address_key, groups
from fulfilment.domain.parcel import Parcel as Box
from fulfilment.domain.routing import RouteDecision
from fulfilment.domain.shipments import LabelSpec
from fulfilment.labels.provider import LabelRequest, Settled, provider_for, purchase_ref
from fulfilment.pipeline import Context
from fulfilment.stages.route import RoutingInputs, pack_lines, route_parcel, routing_inputs
from fulfilment.stages.shipping import ship_to
from fulfilment.store import purchases, stock
from fulfilment.store.bulk import insert_returning_ids, insert_rows
from fulfilment.store.claims import StageOrder, Transitions, chunk_orders, claim_chunk, stage_orders
from fulfilment.store.db import one_of
from fulfilment.store.document_options import batch_options
from fulfilment.store.models import (
    CatalogItem,
    Chunk,
    LabelPurchase,
    Order,
    Outbox,
    Reservation,
    Shipment,
    ShipmentOrder,
    utcnow,
)


class LabelsPending(RuntimeError):
    """Some labels of the chunk could not be obtained yet (a retryable failure): run the stage again later."""


@dataclass(slots=True)
class Part:
    """What one order ships from one warehouse: (sku, units) lines."""

    order: StageOrder
    warehouse: str
    items: list[tuple[str, int]]


@dataclass(slots=True)
class Parcel:
    """One shipment to make: its parts (several orders when combined), the service and the packed box."""

    parts: list[Part]
    decision: RouteDecision
    box: Box

    @property
    def weight_oz(self) -> float:
        return self.box.weight_oz


def _parts(session: Session, orders: list[StageOrder]) -> list[Part]:
    """Each order's reserved units per warehouse, orders in chunk order, warehouses in allocation order."""
    rows = session.execute(
        select(Reservation.order_id, Reservation.warehouse_code, Reservation.sku, Reservation.quantity)
        .where(one_of(session, Reservation.order_id, [o.id for o in orders]), Reservation.status == "reserved")
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


def _buyer_address(order: StageOrder) -> tuple[str, ...]:
    return address_key(order.buyer, order.ship_name, order.ship_street1, order.ship_street2, order.ship_zip)


def _parcels(ctx: Context, parts: list[Part], inputs: RoutingInputs, now: datetime) -> list[Parcel]:
    """Group parts into parcels (same buyer, address and warehouse; up to the combine limit) and route each.

    An order shipping whole and alone keeps the route stage's service; a split part or a combined parcel is
    routed again on its own weight (a split part no service takes keeps its order's service; a combined
    parcel no service takes ships as separate parcels).
    """
    shares = Counter(p.order.id for p in parts)

    def route(members: list[Part]) -> Parcel:
        first = members[0].order
        packed = _packed(members, inputs.catalog)
        stored = RouteDecision(first.rule_id, first.carrier, first.service, first.billable_weight_oz)
        if len(members) == 1 and shares[first.id] == 1:
            return Parcel(members, stored, packed)
        decision = route_parcel(ctx, inputs, packed, first, members[0].warehouse, now)
        return Parcel(members, decision if decision.carrier or len(members) > 1 else stored, packed)

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


def _packed(members: list[Part], catalog: dict[str, CatalogItem]) -> Box:
    """The box the parts pack into (catalog weights and sizes first, else the order's unit weights)."""
    return pack_lines(
        [(s, q, None if s in catalog else _unit_weight(p.order, s)) for p in members for s, q in p.items], catalog
    )


def _unit_weight(order: StageOrder, sku: str) -> float | None:
    """The unit weight the order's source gave for `sku` (its last line of that SKU), if any."""
    return next((line.unit_weight_oz for line in reversed(order.lines) if line.sku == sku), None)


def _catalog(session: Session, orders: list[StageOrder]) -> dict[str, CatalogItem]:
    skus = {line.sku for order in orders for line in order.lines}
    return {c.sku: c for c in session.scalars(select(CatalogItem).where(CatalogItem.sku.in_(skus)))}


def _items(parts: list[Part]) -> tuple[tuple[str, int], ...]:
    """The parts' units per SKU, in the order first listed."""
    totals: dict[str, int] = {}
    for part in parts:
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


def plan_shipments(ctx: Context, chunk_id: int, label_format: str) -> dict[int, LabelRequest]:
    """Write a shipment and a purchase intent for each parcel of the chunk's routed orders not planned yet.

    Returns the label request (in `label_format`) of each shipment it wrote, as :func:`label_requests` would read
    it back, so what this call planned need not be read again; empty when it planned nothing.
    """
    with ctx.session() as session:
        chunk = claim_chunk(session, chunk_id, "label")
        if chunk is None:
            return {}
        planned = set(
            session.scalars(
                select(ShipmentOrder.order_id)
                .join(LabelPurchase, LabelPurchase.shipment_id == ShipmentOrder.shipment_id)
                .where(LabelPurchase.chunk_id == chunk_id)
            )
        )
        orders = [o for o in chunk_orders(session, chunk_id, "routed") if o.id not in planned]
        if not orders:
            return {}
        now = utcnow()
        provider = ctx.settings.label_provider
        inputs = routing_inputs(session, orders)
        parcels = _parcels(ctx, _parts(session, orders), inputs, now)
        shipment_ids = insert_returning_ids(
            session,
            Shipment.__table__,
            [
                {
                    "batch_id": chunk.batch_id,
                    "warehouse_code": p.parts[0].warehouse,
                    "carrier": p.decision.carrier,
                    "service": p.decision.service,
                    "rule_id": p.decision.rule_id,
                    "weight_oz": p.weight_oz,
                    "status": "buying",
                    "label_provider": provider,
                    "created_at": now,
                }
                for p in parcels
            ],
        )
        pairs = list(zip(shipment_ids, parcels, strict=True))
        insert_rows(
            session,
            ShipmentOrder.__table__,
            [{"shipment_id": s, "order_id": o} for s, p in pairs for o in dict.fromkeys(x.order.id for x in p.parts)],
        )
        insert_rows(
            session,
            LabelPurchase.__table__,
            [
                {
                    "shipment_id": s,
                    "chunk_id": chunk_id,
                    "order_ref": purchase_ref(s, p.parts[0].order.id),
                    "provider": provider,
                    "status": "open",
                    "attempts": 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for s, p in pairs
            ],
        )
    return {
        s: _request(
            ctx,
            s,
            p.parts,
            p.decision.carrier or "",
            p.decision.service or "",
            p.weight_oz,
            inputs.catalog,
            label_format,
            box=p.box,
        )
        for s, p in pairs
    }


def _request(
    ctx: Context,
    shipment_id: int,
    parts: list[Part],
    carrier_code: str,
    service: str,
    weight_oz: float,
    catalog: dict[str, CatalogItem],
    label_format: str,
    box: Box | None = None,
) -> LabelRequest:
    """What to put on a shipment's label: its parts (listed in order id order) and its service; `box` is the
    parts' box when already packed (used for a single part, whose box does not depend on the order listed)."""
    members = sorted(parts, key=lambda part: part.order.id)
    warehouse = ctx.rules.warehouse(members[0].warehouse)
    assert warehouse is not None, f"shipment {shipment_id}: no warehouse {members[0].warehouse} in the rules"
    carrier = ctx.rules.carriers[carrier_code]
    spec = LabelSpec(
        shipment_id=shipment_id,
        order_ids=tuple(part.order.id for part in members),
        warehouse=warehouse.code,
        ship_from=warehouse.address,
        ship_to=ship_to(members[0].order),
        carrier=carrier.code,
        service=service,
        service_name=carrier.services[service].name,
        tracking_number="",
        weight_oz=weight_oz,
        items=_items(members),
    )
    packed = box if box is not None and len(members) == 1 else _packed(members, catalog)
    return LabelRequest(spec, packed, label_format)


def label_requests(ctx: Context, shipment_ids: list[int], label_format: str) -> list[LabelRequest]:
    """What to put on each shipment's label, read back from the stored shipments, orders and reservations."""
    if not shipment_ids:
        return []
    with ctx.session() as session:
        shipments = {s.id: s for s in session.scalars(select(Shipment).where(Shipment.id.in_(shipment_ids)))}
        carried: dict[int, list[str]] = defaultdict(list)
        for shipment_id, order_id in session.execute(
            select(ShipmentOrder.shipment_id, ShipmentOrder.order_id).where(ShipmentOrder.shipment_id.in_(shipment_ids))
        ):
            carried[shipment_id].append(order_id)
        ids = {o for os in carried.values() for o in os}
        orders = stage_orders(session, Order.id.in_(ids))
        catalog = _catalog(session, orders)
        parts: dict[tuple[str, str], Part] = {(p.order.id, p.warehouse): p for p in _parts(session, orders)}
    requests = []
    for shipment_id in shipment_ids:
        shipment = shipments[shipment_id]
        members = [parts[o, shipment.warehouse_code] for o in carried[shipment_id]]
        requests.append(
            _request(
                ctx, shipment_id, members, shipment.carrier, shipment.service, shipment.weight_oz, catalog, label_format
            )
        )
    return requests


def obtain_labels(ctx: Context, chunk_id: int) -> bool:
    """Plan the chunk's shipments, then have the provider obtain every open label, outside any transaction.

    The labels planned by this call are taken as planned; those planned earlier (a redelivery, another worker)
    are read back from the database.
    Returns False while another worker still holds a label of the chunk (a step sent again by the sweeper
    while the first worker buys): that worker settles the chunk when it is done, so this one must not.
    """
    with ctx.session() as session:
        batch_id = str(session.scalar(select(Chunk.batch_id).where(Chunk.id == chunk_id)))
        label_format = batch_options(session, batch_id, ctx.settings.documents).label_format
    requests = plan_shipments(ctx, chunk_id, label_format)
    open_ids = purchases.open_intents(ctx, chunk_id)
    if not open_ids:
        return True
    earlier = [i for i in open_ids if i not in requests]
    requests.update(zip(earlier, label_requests(ctx, earlier, label_format), strict=True))
    provider = provider_for(ctx.settings)
    provider.obtain([requests[i] for i in open_ids], purchases.DbJournal(ctx, batch_id, provider.name))
    return not purchases.leased_elsewhere(ctx, chunk_id)


def sweep_labels(ctx: Context, batch_id: str) -> None:
    """Before a batch's documents, outside any transaction: refund the labels due a refund (:func:`refund_labels`),
    labels of the batch that landed late for purchases that took several attempts, and any label bought for a
    purchase that failed after an attempt (no transaction recorded: all refunded). A purchase attempted less than
    the provider's `late_s` ago is waited for first: an attempt whose answer was lost may still land."""
    refund_labels(ctx)
    provider = provider_for(ctx.settings)
    with ctx.session() as session:
        rows = session.execute(
            select(
                LabelPurchase.shipment_id,
                LabelPurchase.order_ref,
                LabelPurchase.rate_id,
                func.coalesce(LabelPurchase.transaction_id, ""),
                LabelPurchase.updated_at,
                LabelPurchase.earlier_rate_ids,
            )
            .join(Shipment, Shipment.id == LabelPurchase.shipment_id)
            .where(
                Shipment.batch_id == batch_id,
                LabelPurchase.provider == provider.name,
                LabelPurchase.rate_id.is_not(None),
                or_(
                    and_(LabelPurchase.status == "bought", LabelPurchase.attempts > 1),
                    and_(LabelPurchase.status == "failed", LabelPurchase.attempts > 0),
                ),
            )
        ).all()
    if rows:
        since = (utcnow() - max(row.updated_at for row in rows)).total_seconds()
        time.sleep(min(provider.late_s, max(0.0, provider.late_s - since)))
        settled = [Settled(*row[:4], tuple(row[5] or ())) for row in rows]
        provider.sweep(settled, purchases.DbJournal(ctx, batch_id, provider.name))


def refund_labels(ctx: Context) -> int:
    """Refund every label due a refund (voided, or bought for parcels none of whose orders ship), outside any
    transaction; returns how many are still due (a refund that failed is tried again next time)."""
    provider = provider_for(ctx.settings)
    with ctx.session() as session:
        due = purchases.refunds_due(session, provider.name)
    if due:
        provider.refund(due, purchases.DbJournal(ctx, "", provider.name))
        with ctx.session() as session:
            return len(purchases.refunds_due(session, provider.name))
    return 0


def label_chunk(ctx: Context, session: Session, chunk_id: int) -> None:
    """Move the chunk's routed orders on from what their labels came to: ``labelled`` (outbox rows, stock
    deducted) or ``failed`` with the reason (stock released). Every order of a combined parcel gets the
    parcel's tracking number; a split order one per warehouse.

    A label bought for a parcel none of whose orders ships (they failed, or were cancelled meanwhile) is due
    a refund. Raises LabelsPending while a label of the chunk is still open, so the stage runs again.
    """
    orders = chunk_orders(session, chunk_id, "routed")
    rows = session.execute(
        select(
            ShipmentOrder.order_id,
            Shipment.id,
            Shipment.status,
            Shipment.carrier,
            Shipment.service,
            Shipment.tracking_number,
            Shipment.warehouse_code,
            LabelPurchase.error,
        )
        .join(Shipment, Shipment.id == ShipmentOrder.shipment_id)
        .join(LabelPurchase, LabelPurchase.shipment_id == Shipment.id)
        .where(LabelPurchase.chunk_id == chunk_id)
        .order_by(Shipment.id, ShipmentOrder.order_id)
    ).all()
    pending = {r.id: r.error for r in rows if r.status == "buying"}
    unplanned = len({o.id for o in orders} - {r.order_id for r in rows})
    if pending or unplanned:
        last = next((e for e in pending.values() if e), "")
        raise LabelsPending(f"chunk {chunk_id}: {len(pending) + unplanned} labels not obtained yet {last}".strip())
    by_order: dict[str, list] = defaultdict(list)
    carried: dict[int, list[str]] = defaultdict(list)
    for row in rows:
        by_order[row.order_id].append(row)
        carried[row.id].append(row.order_id)
    moves = Transitions("routed", actor="stage:label")
    labelled, failed = [], []
    for order in orders:
        bad = [r for r in by_order[order.id] if r.status != "labelled"]
        if bad:
            moves.add(order.id, "failed", f"label not bought: {bad[0].error}")
            failed.append(order.id)
            continue
        labelled.append(order.id)
        notes = []
        for r in by_order[order.id]:
            others = [o for o in carried[r.id] if o != order.id]
            combined = f" (combined with {', '.join(others)})" if others else ""
            name = ctx.rules.carriers[r.carrier].services[r.service].name
            notes.append(f"{name} label {r.tracking_number} from {r.warehouse_code}{combined}")
        moves.add(order.id, "labelled", "; ".join(notes))
    shipping = set(labelled)
    unshipped = [sid for sid, ids in carried.items() if not shipping.intersection(ids)]
    if unshipped:
        session.execute(
            update(Shipment)
            .where(Shipment.id.in_(unshipped), Shipment.status == "labelled")
            .values(status="refund_due")
        )
    by_id = {order.id: order for order in orders}
    parts = {(p.order.id, p.warehouse): p for p in _parts(session, [by_id[oid] for oid in labelled])}
    items = _outbox_items([(r.id, parts[oid, r.warehouse_code]) for oid in labelled for r in by_order[oid]])
    webhooks = {w.name for w in ctx.settings.webhooks}
    now = utcnow()
    outbox = [
        {
            "order_id": oid,
            "shipment_id": r.id,
            "batch_id": by_id[oid].batch_id,
            "channel": outbox_channel(by_id[oid].channel, by_id[oid].extra, webhooks),
            "status": "pending",
            "created_at": now,
            "items": items[oid, r.id],
        }
        for oid in labelled
        for r in by_order[oid]
    ]
    insert_rows(session, Outbox.__table__, outbox)
    moves.apply(session)
    # The stock rows last, so the transaction holds their locks (every chunk of the batch shares them) only
    # from here to its commit: labelling chunks on other threads queued behind each other's order updates.
    if labelled and failed:  # lock every stock row both touch in the global order first: no lock out of order
        stock.available(session, {line.sku for order in orders for line in order.lines}, lock=True)
    stock.deduct(session, labelled)
    stock.release(session, failed)

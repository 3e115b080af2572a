"""Label: one shipment per routed order, its label obtained exactly once from the configured provider.

Three steps, so no network call ever runs inside a transaction that holds locks:

1. :func:`plan_shipments` (one transaction): shipments for the chunk's routed orders, and one purchase intent
   per shipment, committed before any provider is called;
2. :func:`obtain_labels` (no transaction): the provider obtains the open intents' labels and reports each to
   the journal (:mod:`fulfilment.store.purchases`), which commits every report on its own;
3. :func:`label_chunk` (the stage's transaction): orders whose labels are all bought become ``labelled`` (outbox
   rows, stock deducted); orders whose label failed for good become ``failed`` with the reason (stock released);
   if a label is still open (a retryable failure) the stage raises :class:`LabelsPending` and is retried.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import and_, func, insert, or_, select
from sqlalchemy.orm import Session, selectinload

from fulfilment.domain.shipments import LabelSpec
from fulfilment.labels.provider import LabelRequest, Settled, provider_for
from fulfilment.pipeline import Context
from fulfilment.stages.route import parcel_for
from fulfilment.stages.shipping import ship_to
from fulfilment.store import purchases, stock
from fulfilment.store.claims import Transitions, chunk_orders, claim_chunk
from fulfilment.store.models import (
    CatalogItem,
    Chunk,
    LabelPurchase,
    Order,
    Outbox,
    Shipment,
    ShipmentOrder,
    utcnow,
)

OUTBOX_CHANNEL = "tiktok_file"


class LabelsPending(RuntimeError):
    """Some labels of the chunk could not be obtained yet (a retryable failure): run the stage again later."""


def _catalog(session: Session, orders: list[Order]) -> dict[str, CatalogItem]:
    skus = {line.sku for order in orders for line in order.lines}
    return {c.sku: c for c in session.scalars(select(CatalogItem).where(CatalogItem.sku.in_(skus)))}


def plan_shipments(ctx: Context, chunk_id: int) -> None:
    """Write a shipment and a purchase intent for each routed order of the chunk that has none yet."""
    with ctx.session() as session:
        chunk = claim_chunk(session, chunk_id, "label")
        if chunk is None:
            return
        planned = set(
            session.scalars(
                select(ShipmentOrder.order_id)
                .join(Order, Order.id == ShipmentOrder.order_id)
                .where(Order.chunk_id == chunk_id)
            )
        )
        orders = [o for o in chunk_orders(session, chunk_id, "routed") if o.id not in planned]
        if not orders:
            return
        catalog = _catalog(session, orders)
        now = utcnow()
        parcels = [parcel_for(order, catalog) for order in orders]
        shipment_ids = session.scalars(
            insert(Shipment).returning(Shipment.id, sort_by_parameter_order=True),
            [
                {
                    "batch_id": chunk.batch_id,
                    "warehouse_code": o.warehouse_code,
                    "carrier": o.carrier,
                    "service": o.service,
                    "rule_id": o.rule_id,
                    "weight_oz": p.weight_oz,
                    "status": "buying",
                    "label_provider": ctx.settings.label_provider,
                    "created_at": now,
                }
                for o, p in zip(orders, parcels, strict=True)
            ],
        ).all()
        pairs = list(zip(shipment_ids, orders, strict=True))
        session.execute(insert(ShipmentOrder), [{"shipment_id": s, "order_id": o.id} for s, o in pairs])
        session.execute(
            insert(LabelPurchase),
            [
                {
                    "shipment_id": s,
                    "chunk_id": chunk_id,
                    "order_ref": o.id,
                    "provider": ctx.settings.label_provider,
                    "status": "open",
                    "attempts": 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for s, o in pairs
            ],
        )


def label_requests(ctx: Context, shipment_ids: list[int]) -> list[LabelRequest]:
    """What to put on each shipment's label, read back from the stored shipments and their orders."""
    if not shipment_ids:
        return []
    warehouses = {w.code: w for w in ctx.rules.warehouses}
    with ctx.session() as session:
        shipments = {s.id: s for s in session.scalars(select(Shipment).where(Shipment.id.in_(shipment_ids)))}
        orders_of: dict[int, list[Order]] = defaultdict(list)
        for shipment_id, order in session.execute(
            select(ShipmentOrder.shipment_id, Order)
            .join(Order, Order.id == ShipmentOrder.order_id)
            .where(ShipmentOrder.shipment_id.in_(shipment_ids))
            .options(selectinload(Order.lines))
            .order_by(ShipmentOrder.shipment_id, Order.id)
        ):
            orders_of[shipment_id].append(order)
        catalog = _catalog(session, [o for os in orders_of.values() for o in os])
        requests = []
        for shipment_id in shipment_ids:
            shipment, orders = shipments[shipment_id], orders_of[shipment_id]
            warehouse = warehouses[shipment.warehouse_code]
            carrier = ctx.rules.carriers[shipment.carrier]
            spec = LabelSpec(
                shipment_id=shipment_id,
                order_ids=tuple(o.id for o in orders),
                warehouse=warehouse.code,
                ship_from=warehouse.address,
                ship_to=ship_to(orders[0]),
                carrier=carrier.code,
                service=shipment.service,
                service_name=carrier.services[shipment.service].name,
                tracking_number="",
                weight_oz=shipment.weight_oz,
                items=tuple((line.sku, line.quantity) for o in orders for line in o.lines),
            )
            requests.append(LabelRequest(spec, parcel_for(orders[0], catalog)))
        return requests


def obtain_labels(ctx: Context, chunk_id: int) -> None:
    """Plan the chunk's shipments, then have the provider obtain every open label, outside any transaction."""
    plan_shipments(ctx, chunk_id)
    open_ids = purchases.open_intents(ctx, chunk_id)
    if not open_ids:
        return
    with ctx.session() as session:
        batch_id = session.scalar(select(Chunk.batch_id).where(Chunk.id == chunk_id))
    provider = provider_for(ctx.settings)
    journal = purchases.DbJournal(ctx, str(batch_id), provider.name)
    provider.obtain(label_requests(ctx, open_ids), journal)


def sweep_duplicates(ctx: Context, batch_id: str) -> None:
    """Before a batch's documents: refund labels that landed late for purchases that took several attempts,
    and any label bought for a purchase that failed after an attempt (no transaction recorded: all refunded)."""
    provider = provider_for(ctx.settings)
    with ctx.session() as session:
        settled = [
            Settled(*row)
            for row in session.execute(
                select(
                    LabelPurchase.shipment_id,
                    LabelPurchase.order_ref,
                    LabelPurchase.rate_id,
                    func.coalesce(LabelPurchase.transaction_id, ""),
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
            )
        ]
    if settled:
        provider.sweep(settled, purchases.DbJournal(ctx, batch_id, provider.name))


def label_chunk(ctx: Context, session: Session, chunk_id: int) -> None:
    """Move the chunk's routed orders on from what their purchases came to: ``labelled`` or ``failed``.

    Raises LabelsPending while a purchase of the chunk is still open, so the stage runs again.
    """
    orders = chunk_orders(session, chunk_id, "routed")
    if not orders:
        return
    rows = session.execute(
        select(ShipmentOrder.order_id, Shipment.id, Shipment.status, Shipment.tracking_number, LabelPurchase.error)
        .join(Shipment, Shipment.id == ShipmentOrder.shipment_id)
        .join(LabelPurchase, LabelPurchase.shipment_id == Shipment.id)
        .where(ShipmentOrder.order_id.in_([o.id for o in orders]))
    ).all()
    pending = [r for r in rows if r.status == "buying"]
    unplanned = len(orders) - len({r.order_id for r in rows})
    if pending or unplanned:
        last = next((r.error for r in pending if r.error), "")
        raise LabelsPending(f"chunk {chunk_id}: {len(pending) + unplanned} labels not obtained yet {last}".strip())
    batch_id = orders[0].batch_id
    by_order: dict[str, list] = defaultdict(list)
    for row in rows:
        by_order[row.order_id].append(row)
    services = {o.id: ctx.rules.carriers[o.carrier or ""].services[o.service or ""].name for o in orders}
    moves = Transitions("routed", actor="stage:label")
    labelled, failed = [], []
    for order in orders:
        shipments = by_order[order.id]
        bad = [r for r in shipments if r.status != "labelled"]
        if bad:
            moves.add(order.id, "failed", f"label not bought: {bad[0].error}")
            failed.append(order.id)
            continue
        labelled.append(order.id)
        numbers = ", ".join(r.tracking_number for r in shipments)
        moves.add(order.id, "labelled", f"{services[order.id]} label {numbers}")
    now = utcnow()
    outbox = [
        {
            "order_id": r.order_id,
            "shipment_id": r.id,
            "batch_id": batch_id,
            "channel": OUTBOX_CHANNEL,
            "status": "pending",
            "created_at": now,
        }
        for oid in labelled
        for r in by_order[oid]
    ]
    if outbox:
        session.execute(insert(Outbox), outbox)
    stock.deduct(session, labelled)
    stock.release(session, failed)
    moves.apply(session)

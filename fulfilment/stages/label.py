"""Label: one shipment per routed order, a tracking number, and the chunk's labels drawn into one PDF."""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from fulfilment.channels.base import outbox_channel
from fulfilment.domain.shipments import LabelSpec
from fulfilment.domain.tracking import local_tracking_number
from fulfilment.labels.local import labels_pdf_bytes
from fulfilment.pipeline import Context
from fulfilment.stages.route import parcel_for
from fulfilment.stages.shipping import ship_to
from fulfilment.store import stock
from fulfilment.store.claims import Transitions, chunk_orders
from fulfilment.store.models import CatalogItem, Chunk, LabelFile, Outbox, Shipment, ShipmentOrder, utcnow


def label_chunk(ctx: Context, session: Session, chunk_id: int) -> None:
    """Move the chunk's routed orders to ``labelled``: shipments, tracking numbers, label PDF, outbox rows."""
    orders = chunk_orders(session, chunk_id, "routed")
    if not orders:
        return
    batch_id = session.scalar(select(Chunk.batch_id).where(Chunk.id == chunk_id))
    skus = {line.sku for order in orders for line in order.lines}
    catalog = {c.sku: c for c in session.scalars(select(CatalogItem).where(CatalogItem.sku.in_(skus)))}
    warehouses = {w.code: w for w in ctx.rules.warehouses}
    now = utcnow()
    parcels = [parcel_for(order, catalog) for order in orders]
    shipment_ids = session.scalars(
        insert(Shipment).returning(Shipment.id, sort_by_parameter_order=True),
        [
            {
                "batch_id": batch_id,
                "warehouse_code": o.warehouse_code,
                "carrier": o.carrier,
                "service": o.service,
                "rule_id": o.rule_id,
                "weight_oz": p.weight_oz,
                "status": "labelled",
                "created_at": now,
            }
            for o, p in zip(orders, parcels, strict=True)
        ],
    ).all()
    specs = []
    for order, parcel, shipment_id in zip(orders, parcels, shipment_ids, strict=True):
        warehouse = warehouses[order.warehouse_code or ""]
        carrier = ctx.rules.carriers[order.carrier or ""]
        specs.append(
            LabelSpec(
                shipment_id=shipment_id,
                order_ids=(order.id,),
                warehouse=warehouse.code,
                ship_from=warehouse.address,
                ship_to=ship_to(order),
                carrier=carrier.code,
                service=order.service or "",
                service_name=carrier.services[order.service or ""].name,
                tracking_number=local_tracking_number(carrier.code, shipment_id),
                weight_oz=parcel.weight_oz,
                items=tuple((line.sku, line.quantity) for line in order.lines),
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
    session.execute(insert(ShipmentOrder), [{"shipment_id": s.shipment_id, "order_id": s.order_ids[0]} for s in specs])
    session.execute(
        insert(Outbox),
        [
            {
                "order_id": s.order_ids[0],
                "shipment_id": s.shipment_id,
                "batch_id": batch_id,
                "channel": outbox_channel(order.channel, order.extra),
                "status": "pending",
                "created_at": now,
            }
            for s, order in zip(specs, orders, strict=True)
        ],
    )
    stock.deduct(session, [o.id for o in orders])
    moves = Transitions("routed", actor="stage:label")
    for spec in specs:
        moves.add(spec.order_ids[0], "labelled", f"{spec.service_name} label {spec.tracking_number}")
    moves.apply(session)

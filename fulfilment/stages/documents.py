"""Documents: every label of a batch merged into one PDF in picking order, and a pick list per warehouse."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfilment.domain.shipments import PickLine
from fulfilment.labels.merge import merge_pages
from fulfilment.labels.picklist import render_pick_list
from fulfilment.pipeline import Context
from fulfilment.store.models import CatalogItem, LabelFile, Order, OrderLineRow, Shipment, ShipmentOrder


def picking_order(session: Session, batch_id: str, ranks: dict[str, int]) -> list[tuple[Shipment, list[str]]]:
    """The batch's labelled shipments sorted for picking: warehouse, then the SKUs packed, then order id."""
    rows = session.execute(
        select(Shipment, ShipmentOrder.order_id)
        .join(ShipmentOrder, ShipmentOrder.shipment_id == Shipment.id)
        .where(Shipment.batch_id == batch_id, Shipment.status == "labelled")
    ).all()
    orders: dict[int, list[str]] = defaultdict(list)
    shipments: dict[int, Shipment] = {}
    for shipment, order_id in rows:
        shipments[shipment.id] = shipment
        orders[shipment.id].append(order_id)
    skus: dict[str, list[str]] = defaultdict(list)
    all_ids = [oid for ids in orders.values() for oid in ids]
    for start in range(0, len(all_ids), 1000):
        for order_id, sku in session.execute(
            select(OrderLineRow.order_id, OrderLineRow.sku).where(
                OrderLineRow.order_id.in_(all_ids[start : start + 1000])
            )
        ):
            skus[order_id].append(sku)

    def key(shipment_id: int) -> tuple[int, str, tuple[str, ...], str]:
        ids = sorted(orders[shipment_id])
        shipment = shipments[shipment_id]
        packed = tuple(sorted({sku for oid in ids for sku in skus[oid]}))
        return (ranks.get(shipment.warehouse_code, 1 << 30), shipment.warehouse_code, packed, ids[0])

    return [(shipments[sid], sorted(orders[sid])) for sid in sorted(shipments, key=key)]


def write_label_pages(session: Session, shipments: Sequence[Shipment], out: Path) -> int:
    """Merge the stored label pages of `shipments`, in the given order, into `out`; returns the page count.
    Only stored labels are used: nothing is bought or drawn again."""
    file_ids = {s.label_file_id for s in shipments}
    with tempfile.TemporaryDirectory(prefix="labels-") as tmp:
        paths = {}
        for start in range(0, len(file_ids), 500):
            part = sorted(i for i in file_ids if i is not None)[start : start + 500]
            for file_id, content in session.execute(
                select(LabelFile.id, LabelFile.content).where(LabelFile.id.in_(part))
            ):
                paths[file_id] = Path(tmp) / f"labels-{file_id}.pdf"
                paths[file_id].write_bytes(content)
        return merge_pages([(paths[s.label_file_id], s.label_page or 0) for s in shipments], out)  # type: ignore[index]


def pick_sections(session: Session, ctx: Context, batch_id: str) -> dict[str, list[PickLine]]:
    """Per warehouse (in rules order): each SKU to pick with its total quantity and the orders needing it."""
    rows = session.execute(
        select(Order.warehouse_code, OrderLineRow.sku, OrderLineRow.name, OrderLineRow.quantity, Order.id)
        .join(OrderLineRow, OrderLineRow.order_id == Order.id)
        .where(Order.batch_id == batch_id, Order.status == "labelled")
    ).all()
    catalog = {c.sku: c for c in session.scalars(select(CatalogItem).where(CatalogItem.sku.in_({r[1] for r in rows})))}
    totals: dict[str, dict[str, tuple[str, int, list[str]]]] = defaultdict(dict)
    for warehouse, sku, name, quantity, order_id in rows:
        known = catalog.get(sku)
        _, total, ids = totals[warehouse].get(sku, ("", 0, []))
        ids.append(order_id)
        totals[warehouse][sku] = ((known.name if known and known.name else name), total + quantity, ids)
    sections = {}
    for warehouse in ctx.rules.warehouses:
        if warehouse.code in totals:
            sections[f"{warehouse.code} — {warehouse.name}"] = [
                PickLine(sku, name, total, tuple(sorted(ids)), bin=(catalog[sku].bin if sku in catalog else ""))
                for sku, (name, total, ids) in sorted(totals[warehouse.code].items())
            ]
    return sections


def write_documents(ctx: Context, session: Session, batch_id: str) -> dict[str, str]:
    """Write labels.pdf and pick-list.pdf for a batch; returns their paths by output name."""
    folder = ctx.batch_dir(batch_id)
    ranks = {w.code: i for i, w in enumerate(ctx.rules.warehouses)}
    ordered = picking_order(session, batch_id, ranks)
    labels_pdf = folder / "labels.pdf"
    write_label_pages(session, [s for s, _ in ordered], labels_pdf)
    pick_list = folder / "pick-list.pdf"
    render_pick_list(pick_sections(session, ctx, batch_id), pick_list, title=f"Pick list — batch {batch_id}")
    return {"labels_pdf": str(labels_pdf), "pick_list_pdf": str(pick_list)}

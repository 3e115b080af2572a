"""Documents: every label of a batch merged into one PDF in picking order, and a pick list per warehouse."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfilment.domain.shipments import PickLine
from fulfilment.labels.merge import merge_pages
from fulfilment.labels.picklist import render_pick_list
from fulfilment.pipeline import Context
from fulfilment.store.models import CatalogItem, LabelFile, Order, OrderLineRow, Reservation, Shipment, ShipmentOrder


def _contents(session: Session, batch_id: str) -> tuple[dict[int, Shipment], dict[int, list[tuple[str, str, int]]]]:
    """The batch's labelled shipments and what each carries: (order id, sku, units) from the orders' deducted
    reservations in the shipment's warehouse (a split order's part, every order of a combined parcel)."""
    rows = session.execute(
        select(Shipment, ShipmentOrder.order_id, Reservation.sku, Reservation.quantity)
        .join(ShipmentOrder, ShipmentOrder.shipment_id == Shipment.id)
        .join(
            Reservation,
            (Reservation.order_id == ShipmentOrder.order_id)
            & (Reservation.warehouse_code == Shipment.warehouse_code)
            & (Reservation.status == "deducted"),
        )
        .where(Shipment.batch_id == batch_id, Shipment.status == "labelled")
        .order_by(Shipment.id, ShipmentOrder.order_id, Reservation.sku)
    ).all()
    shipments: dict[int, Shipment] = {}
    contents: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
    for shipment, order_id, sku, quantity in rows:
        shipments[shipment.id] = shipment
        contents[shipment.id].append((order_id, sku, quantity))
    return shipments, contents


def picking_order(session: Session, batch_id: str, ranks: dict[str, int]) -> list[tuple[Shipment, list[str]]]:
    """The batch's labelled shipments sorted for picking: warehouse, then the SKUs packed, then order id."""
    shipments, contents = _contents(session, batch_id)

    def key(shipment_id: int) -> tuple[int, str, tuple[str, ...], str]:
        packed = tuple(sorted({sku for _, sku, _ in contents[shipment_id]}))
        code = shipments[shipment_id].warehouse_code
        return (ranks.get(code, 1 << 30), code, packed, min(o for o, _, _ in contents[shipment_id]))

    return [(shipments[s], sorted({o for o, _, _ in contents[s]})) for s in sorted(shipments, key=key)]


def _label_sources(session: Session, batch_id: str, folder: Path) -> dict[int, Path]:
    """Write the batch's stored label files to `folder`, one PDF per stored file."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for file_id, content in session.execute(
        select(LabelFile.id, LabelFile.content).where(LabelFile.batch_id == batch_id)
    ):
        path = folder / f"labels-{file_id}.pdf"
        path.write_bytes(content)
        paths[file_id] = path
    return paths


def pick_sections(session: Session, ctx: Context, batch_id: str) -> dict[str, list[PickLine]]:
    """Per warehouse (in rules order): each SKU to pick with its total units and the parcels needing it, a
    combined parcel as one pick (its order ids joined by ``+``)."""
    shipments, contents = _contents(session, batch_id)
    names = dict(
        session.execute(
            select(OrderLineRow.sku, OrderLineRow.name)
            .join(Order, Order.id == OrderLineRow.order_id)
            .where(Order.batch_id == batch_id, Order.status == "labelled")
        ).all()
    )
    catalog = {c.sku: c for c in session.scalars(select(CatalogItem).where(CatalogItem.sku.in_(set(names))))}
    totals: dict[str, dict[str, tuple[int, list[str]]]] = defaultdict(dict)
    for shipment_id, lines in contents.items():
        pick = "+".join(sorted({o for o, _, _ in lines}))
        per_sku: dict[str, int] = defaultdict(int)
        for _, sku, quantity in lines:
            per_sku[sku] += quantity
        for sku, quantity in per_sku.items():
            total, picks = totals[shipments[shipment_id].warehouse_code].get(sku, (0, []))
            totals[shipments[shipment_id].warehouse_code][sku] = (total + quantity, [*picks, pick])
    sections = {}
    for warehouse in ctx.rules.warehouses:
        if warehouse.code in totals:
            sections[f"{warehouse.code} — {warehouse.name}"] = [
                PickLine(
                    sku,
                    catalog[sku].name if sku in catalog and catalog[sku].name else names.get(sku, ""),
                    total,
                    tuple(sorted(picks)),
                    bin=(catalog[sku].bin if sku in catalog else ""),
                )
                for sku, (total, picks) in sorted(totals[warehouse.code].items())
            ]
    return sections


def write_documents(ctx: Context, session: Session, batch_id: str) -> dict[str, str]:
    """Write labels.pdf and pick-list.pdf for a batch; returns their paths by output name."""
    folder = ctx.batch_dir(batch_id)
    ranks = {w.code: i for i, w in enumerate(ctx.rules.warehouses)}
    ordered = picking_order(session, batch_id, ranks)
    sources = _label_sources(session, batch_id, folder / "chunks")
    labels_pdf = folder / "labels.pdf"
    merge_pages([(sources[s.label_file_id], s.label_page) for s, _ in ordered], labels_pdf)  # type: ignore[index]
    pick_list = folder / "pick-list.pdf"
    render_pick_list(pick_sections(session, ctx, batch_id), pick_list, title=f"Pick list — batch {batch_id}")
    for path in sources.values():
        path.unlink()
    return {"labels_pdf": str(labels_pdf), "pick_list_pdf": str(pick_list)}

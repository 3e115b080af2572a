"""Documents: every label of a batch merged into one PDF in picking order, and a pick list per warehouse."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfilment.domain.shipments import PackingSlip, PickLine
from fulfilment.labels.merge import merge_pages
from fulfilment.labels.packing_slips import render_packing_slips
from fulfilment.labels.picklist import render_pick_list
from fulfilment.pipeline import Context
from fulfilment.stages.shipping import ship_to
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


Contents = dict[int, list[tuple[str, str, int]]]
"""Shipment id → what it carries: (order id, sku, units)."""


def picking_order(
    shipments: dict[int, Shipment], contents: Contents, ranks: dict[str, int]
) -> list[tuple[Shipment, list[str]]]:
    """The shipments sorted for picking: warehouse, then the SKUs packed, then order id."""

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


def _names(session: Session, batch_id: str) -> tuple[dict[str, str], dict[str, CatalogItem]]:
    """SKU names as the orders gave them, and the catalog rows of those SKUs."""
    names = dict(
        session.execute(
            select(OrderLineRow.sku, OrderLineRow.name)
            .join(Order, Order.id == OrderLineRow.order_id)
            .where(Order.batch_id == batch_id, Order.status == "labelled")
        ).all()
    )
    return names, {c.sku: c for c in session.scalars(select(CatalogItem).where(CatalogItem.sku.in_(set(names))))}


def pick_sections(
    ctx: Context,
    shipments: dict[int, Shipment],
    contents: Contents,
    names: dict[str, str],
    catalog: dict[str, CatalogItem],
) -> dict[str, list[PickLine]]:
    """Per warehouse (in rules order): each SKU to pick with its total units and the parcels needing it, a
    combined parcel as one pick (its order ids joined by ``+``)."""
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
                    _name(sku, names, catalog),
                    total,
                    tuple(sorted(picks)),
                    bin=(catalog[sku].bin if sku in catalog else ""),
                )
                for sku, (total, picks) in sorted(totals[warehouse.code].items())
            ]
    return sections


def _name(sku: str, names: dict[str, str], catalog: dict[str, CatalogItem]) -> str:
    known = catalog.get(sku)
    return known.name if known and known.name else names.get(sku, "")


def packing_slips(
    ctx: Context,
    session: Session,
    ordered: list[tuple[Shipment, list[str]]],
    contents: Contents,
    names: dict[str, str],
    catalog: dict[str, CatalogItem],
) -> list[PackingSlip]:
    """One slip per parcel, in picking order: its orders, what it carries and where it goes."""
    first_ids = [ids[0] for _, ids in ordered]
    orders = {o.id: o for o in session.scalars(select(Order).where(Order.id.in_(first_ids)))}
    slips = []
    for shipment, ids in ordered:
        lines: dict[str, int] = defaultdict(int)
        for _, sku, units in contents[shipment.id]:
            lines[sku] += units
        warehouse = ctx.rules.warehouse(shipment.warehouse_code)
        slips.append(
            PackingSlip(
                order_ids=tuple(ids),
                warehouse=shipment.warehouse_code,
                ship_from=warehouse.address if warehouse else ship_to(orders[ids[0]]),
                ship_to=ship_to(orders[ids[0]]),
                tracking_number=shipment.tracking_number or "",
                lines=tuple((sku, _name(sku, names, catalog), units) for sku, units in sorted(lines.items())),
            )
        )
    return slips


def write_documents(ctx: Context, session: Session, batch_id: str) -> dict[str, str]:
    """Write labels.pdf, pick-list.pdf and packing-slips.pdf for a batch; returns their paths by output name."""
    folder = ctx.batch_dir(batch_id)
    ranks = {w.code: i for i, w in enumerate(ctx.rules.warehouses)}
    shipments, contents = _contents(session, batch_id)
    names, catalog = _names(session, batch_id)
    ordered = picking_order(shipments, contents, ranks)
    sources = _label_sources(session, batch_id, folder / "chunks")
    labels_pdf = folder / "labels.pdf"
    merge_pages([(sources[s.label_file_id], s.label_page) for s, _ in ordered], labels_pdf)  # type: ignore[index]
    pick_list = folder / "pick-list.pdf"
    sections = pick_sections(ctx, shipments, contents, names, catalog)
    render_pick_list(sections, pick_list, title=f"Pick list — batch {batch_id}")
    slips = folder / "packing-slips.pdf"
    render_packing_slips(packing_slips(ctx, session, ordered, contents, names, catalog), slips)
    for path in sources.values():
        path.unlink()
    return {"labels_pdf": str(labels_pdf), "pick_list_pdf": str(pick_list), "packing_slips_pdf": str(slips)}

"""Documents: every label of a batch merged into one print file (PDF or ZPL) in picking order, with a separator
before each warehouse and optionally the packing slips; a pick list per warehouse; one order's labels again."""

from __future__ import annotations

from collections import defaultdict
from contextlib import nullcontext
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfilment.domain.documents import DocumentOptions
from fulfilment.domain.shipments import PackingSlip, PickLine
from fulfilment.forked import forked
from fulfilment.labels.atomic import write_atomically
from fulfilment.labels.merge import merge_pages
from fulfilment.labels.packing_slips import render_packing_slips
from fulfilment.labels.picklist import render_pick_list
from fulfilment.labels.provider import CONTENT_TYPES, FORMATS
from fulfilment.labels.scratch import work_folder
from fulfilment.labels.separators import Separator, render_separators_pdf, separators_zpl
from fulfilment.labels.zpl import merge_zpl
from fulfilment.pipeline import Context
from fulfilment.stages.shipping import ship_to
from fulfilment.store.document_options import batch_options
from fulfilment.store.models import CatalogItem, LabelFile, Order, OrderLineRow, Reservation, Shipment, ShipmentOrder


class Parcel(NamedTuple):
    """What the documents need of a labelled shipment (read as columns: whole ORM rows cost several times more)."""

    id: int
    warehouse_code: str
    tracking_number: str | None
    label_file_id: int | None
    label_page: int | None


_PARCEL_COLUMNS = [getattr(Shipment, name) for name in Parcel._fields]


def _contents(session: Session, batch_id: str) -> tuple[dict[int, Parcel], dict[int, list[tuple[str, str, int]]]]:
    """The batch's labelled shipments and what each carries: (order id, sku, units) from the orders' deducted
    reservations in the shipment's warehouse (a split order's part, every order of a combined parcel)."""
    rows = session.execute(
        select(*_PARCEL_COLUMNS, ShipmentOrder.order_id, Reservation.sku, Reservation.quantity)
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
    shipments: dict[int, Parcel] = {}
    contents: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
    width = len(Parcel._fields)
    for row in rows:
        shipment_id = row[0]
        if shipment_id not in shipments:
            shipments[shipment_id] = Parcel(*row[:width])
        contents[shipment_id].append(tuple(row[width:]))  # type: ignore[arg-type]  # (order id, sku, units)
    return shipments, contents


Contents = dict[int, list[tuple[str, str, int]]]
"""Shipment id → what it carries: (order id, sku, units)."""


def picking_order(
    shipments: dict[int, Parcel], contents: Contents, ranks: dict[str, int]
) -> list[tuple[Parcel, list[str]]]:
    """The shipments sorted for picking: warehouse (rules order), then the SKUs packed, sorted (so the parcels
    of a single SKU come together, just before those that add other SKUs to it), then order id."""

    def key(shipment_id: int) -> tuple[int, str, tuple[str, ...], str]:
        packed = tuple(sorted({sku for _, sku, _ in contents[shipment_id]}))
        code = shipments[shipment_id].warehouse_code
        return (ranks.get(code, 1 << 30), code, packed, min(o for o, _, _ in contents[shipment_id]))

    return [(shipments[s], sorted({o for o, _, _ in contents[s]})) for s in sorted(shipments, key=key)]


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
    ordered: list[tuple[Parcel, list[str]]],
    contents: Contents,
    names: dict[str, str],
    catalog: dict[str, CatalogItem],
) -> dict[str, list[PickLine]]:
    """Per warehouse (in rules order): each SKU to pick with its total units and the parcels needing it, in
    the labels' picking order, a combined parcel as one pick (its order ids joined by ``+``)."""
    totals: dict[str, dict[str, tuple[int, list[str]]]] = defaultdict(dict)
    for shipment, ids in ordered:
        pick = "+".join(ids)
        per_sku: dict[str, int] = defaultdict(int)
        for _, sku, quantity in contents[shipment.id]:
            per_sku[sku] += quantity
        for sku, quantity in per_sku.items():
            total, picks = totals[shipment.warehouse_code].get(sku, (0, []))
            totals[shipment.warehouse_code][sku] = (total + quantity, [*picks, pick])
    sections = {}
    for warehouse in ctx.rules.warehouses:
        if warehouse.code in totals:
            sections[f"{warehouse.code} — {warehouse.name}"] = [
                PickLine(
                    sku,
                    _name(sku, names, catalog),
                    total,
                    tuple(picks),
                    bin=(catalog[sku].bin if sku in catalog else ""),
                )
                for sku, (total, picks) in sorted(totals[warehouse.code].items())
            ]
    return sections


def _name(sku: str, names: dict[str, str], catalog: dict[str, CatalogItem]) -> str:
    known = catalog.get(sku)
    return known.name if known and known.name else names.get(sku, "")


_SHIP_COLUMNS = [column for name, column in Order.__table__.columns.items() if name.startswith("ship_")]
"""The order columns a destination address is made of (the only ones a slip needs; whole ORM rows cost ~10x)."""


def packing_slips(
    ctx: Context,
    session: Session,
    batch_id: str,
    ordered: list[tuple[Parcel, list[str]]],
    contents: Contents,
    names: dict[str, str],
    catalog: dict[str, CatalogItem],
) -> list[PackingSlip]:
    """One slip per parcel, in picking order: its orders, what it carries and where it goes (the address of its
    first order; the addresses are read by the batch, not by a list of ids)."""
    shipped = (
        select(ShipmentOrder.order_id)
        .join(Shipment, Shipment.id == ShipmentOrder.shipment_id)
        .where(Shipment.batch_id == batch_id, Shipment.status == "labelled")
    )
    rows = session.execute(select(Order.id, *_SHIP_COLUMNS).where(Order.id.in_(shipped)))
    ship_tos = {row.id: ship_to(row) for row in rows}  # type: ignore[arg-type]  # a row has the columns it reads
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
                ship_from=warehouse.address if warehouse else ship_tos[ids[0]],
                ship_to=ship_tos[ids[0]],
                tracking_number=shipment.tracking_number or "",
                lines=tuple((sku, _name(sku, names, catalog), units) for sku, units in sorted(lines.items())),
            )
        )
    return slips


Page = tuple[Path, int]
"""One page (or ZPL label) of a file: (path, 0-based index)."""


def _label_sources(session: Session, where: Any, folder: Path, label_format: str) -> dict[int, Path]:
    """Write the stored label files matching `where` to `folder`, one file each, streamed from the database;
    ValueError when one is not in `label_format`."""
    folder.mkdir(parents=True, exist_ok=True)
    expected = CONTENT_TYPES[label_format]
    paths = {}
    rows = session.execute(
        select(LabelFile.id, LabelFile.content_type, LabelFile.content).where(where).execution_options(yield_per=50)
    )
    for file_id, content_type, content in rows:
        if content_type != expected:
            raise ValueError(f"label file {file_id} is {content_type}, not {expected}: print it as it was bought")
        path = folder / f"labels-{file_id}.{label_format}"
        path.write_bytes(content)
        paths[file_id] = path
    return paths


def _separators(
    ctx: Context, batch_id: str, ordered: list[tuple[Parcel, list[str]]], contents: Contents
) -> list[Separator]:
    """One separator per warehouse in the picking order, with its parcel and unit counts."""
    found: dict[str, list[int]] = {}
    for shipment, _ in ordered:
        counts = found.setdefault(shipment.warehouse_code, [0, 0])
        counts[0] += 1
        counts[1] += sum(units for _, _, units in contents[shipment.id])
    separators = []
    for code, (parcels, units) in found.items():
        warehouse = ctx.rules.warehouse(code)
        separators.append(Separator(code, warehouse.name if warehouse else code, parcels, units, batch_id))
    return separators


def print_sequence(
    labels: list[tuple[str, Page]], separators: dict[str, Page] | None, slips: list[list[Page]] | None, reverse: bool
) -> list[Page]:
    """The pages of the merged print file: each (warehouse, label page) in order, a separator before each
    warehouse's first label, the parcel's packing slip pages after its label; all reversed for a printer that
    stacks face up (the stack then reads in picking order from the top)."""
    pages: list[Page] = []
    current = None
    for i, (warehouse, page) in enumerate(labels):
        if separators is not None and warehouse != current:
            pages.append(separators[warehouse])
        current = warehouse
        pages.append(page)
        if slips is not None:
            pages.extend(slips[i])
    return pages[::-1] if reverse else pages


def _slip_pages(path: Path, counts: list[int]) -> list[list[Page]]:
    """Each slip's pages in the slips PDF, from the page counts."""
    pages, start = [], 0
    for count in counts:
        pages.append([(path, start + k) for k in range(count)])
        start += count
    return pages


def write_documents(
    ctx: Context, session: Session, batch_id: str, options: DocumentOptions | None = None
) -> dict[str, str | None]:
    """Write the batch's merged labels (labels.pdf or labels.zpl, in picking order, with the options stored
    with the batch unless `options` are given), pick-list.pdf and packing slips; returns the paths by output
    name (None for a file this run does not write). Each file is replaced whole (see :func:`write_atomically`)."""
    options = options or batch_options(session, batch_id, ctx.settings.documents)
    folder = ctx.batch_dir(batch_id)
    with work_folder(folder) as work:
        return _write_documents(ctx, session, batch_id, options, folder, work)


def _write_documents(
    ctx: Context, session: Session, batch_id: str, options: DocumentOptions, folder: Path, work: Path
) -> dict[str, str | None]:
    shipments, contents = _contents(session, batch_id)
    names, catalog = _names(session, batch_id)
    ordered = picking_order(shipments, contents, {w.code: i for i, w in enumerate(ctx.rules.warehouses)})
    pick_list = folder / "pick-list.pdf"
    outputs: dict[str, str | None] = {"pick_list_pdf": str(pick_list), "packing_slips_pdf": None}
    slips = (
        []
        if options.packing_slips == "off"
        else packing_slips(ctx, session, batch_id, ordered, contents, names, catalog)
    )
    separate, slips_pdf = options.packing_slips == "separate", folder / "packing-slips.pdf"
    if separate:
        outputs["packing_slips_pdf"] = str(slips_pdf)
    draw_slips = partial(write_atomically, slips_pdf, partial(render_packing_slips, slips))
    with forked(draw_slips) if separate else nullcontext():  # on another core while this process merges the labels
        sections = pick_sections(ctx, ordered, contents, names, catalog)
        write_atomically(pick_list, partial(render_pick_list, sections, title=f"Pick list — batch {batch_id}"))
        slip_pages = None
        if options.packing_slips == "interleaved":
            slip_pages = _slip_pages(work / "slips.pdf", render_packing_slips(slips, work / "slips.pdf"))
        merged = _merge_labels(ctx, session, batch_id, options, ordered, contents, slip_pages, work)
    outputs.update({"labels_pdf": None, "labels_zpl": None, f"labels_{options.label_format}": str(merged)})
    return outputs


def _merge_labels(
    ctx: Context,
    session: Session,
    batch_id: str,
    options: DocumentOptions,
    ordered: list[tuple[Parcel, list[str]]],
    contents: Contents,
    slip_pages: list[list[Page]] | None,
    work: Path,
) -> Path:
    """Write the batch's labels in picking order (with separators and interleaved slips, as `options` say) to
    labels.pdf or labels.zpl beside `work`, the folder for the pages merged from; returns its path."""
    sources = _label_sources(session, LabelFile.batch_id == batch_id, work, options.label_format)
    separator_pages = None
    if options.separators:
        separators = _separators(ctx, batch_id, ordered, contents)
        sep_path = work / f"separators.{options.label_format}"
        if options.label_format == "zpl":
            sep_path.write_bytes(separators_zpl(separators))
        else:
            render_separators_pdf(separators, sep_path)
        separator_pages = {s.warehouse: (sep_path, i) for i, s in enumerate(separators)}
    labels = [(s.warehouse_code, (sources[s.label_file_id], s.label_page)) for s, _ in ordered]  # type: ignore[index]
    sequence = print_sequence(labels, separator_pages, slip_pages, options.reverse)
    merged = work.parent / f"labels.{options.label_format}"
    write_atomically(merged, partial(merge_zpl if options.label_format == "zpl" else merge_pages, sequence))
    return merged


def write_order_labels(ctx: Context, session: Session, order_id: str) -> tuple[Path, int] | None:
    """Write the label(s) of one order (a split order has several) in shipment order, in the format they were
    made in, to ``reprint-<order>.pdf|zpl`` in its batch folder; returns the path and the label count, or None
    when the order has no label."""
    rows = session.execute(
        select(Shipment, LabelFile.content_type)
        .join(ShipmentOrder, ShipmentOrder.shipment_id == Shipment.id)
        .join(LabelFile, LabelFile.id == Shipment.label_file_id)
        .where(ShipmentOrder.order_id == order_id, Shipment.status == "labelled")
        .order_by(Shipment.id)
    ).all()
    if not rows:
        return None
    formats = {FORMATS[content_type] for _, content_type in rows if content_type in FORMATS}
    if len(formats) != 1:
        raise ValueError(f"order {order_id}: its labels are in {sorted({t for _, t in rows})}, not one known format")
    label_format = formats.pop()
    shipments = [s for s, _ in rows]
    folder = ctx.batch_dir(shipments[0].batch_id)
    out = folder / f"reprint-{order_id}.{label_format}"
    with work_folder(folder) as work:
        sources = _label_sources(session, LabelFile.id.in_({s.label_file_id for s in shipments}), work, label_format)
        pages = [(sources[s.label_file_id], s.label_page) for s in shipments]  # type: ignore[index]
        count = write_atomically(out, partial(merge_zpl if label_format == "zpl" else merge_pages, pages))
    return out, count

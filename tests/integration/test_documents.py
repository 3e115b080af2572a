"""The documents of a batch, on SQLite and PostgreSQL: the merged labels follow the pick list and every barcode
decodes to its orders' tracking number; separators per warehouse; reverse; interleaved slips; ZPL; reprints
that buy nothing; the end-of-day manifest."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select, update

from fulfilment import batches
from fulfilment.demo import prepare_demo
from fulfilment.domain.documents import DocumentOptions
from fulfilment.labels.zpl import zpl_formats
from fulfilment.manifests import ManifestError, create_manifests
from fulfilment.pipeline import Context
from fulfilment.reprint import reprint
from fulfilment.runner import resume_batch, run_batch
from fulfilment.stages.documents import _contents, _names, pick_sections, picking_order
from fulfilment.store.models import Batch, LabelFile, Shipment, ShipmentOrder, utcnow
from tests.barcodes import code128_texts
from tests.unit.test_zpl import unhex


def _batch(ctx: Context, orders: int, seed: int, **options: object) -> dict:
    session_name, _export, _ = prepare_demo(ctx, orders, seed=seed)
    summary = run_batch(ctx, session_name, timeout_s=300, options=DocumentOptions(**options))  # type: ignore[arg-type]
    assert summary["status"] in ("completed", "completed_with_errors")
    return summary


def _parcels(ctx: Context, batch_id: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Tracking number → (warehouse, order ids) of every labelled shipment of the batch."""
    with ctx.session() as s:
        rows = s.execute(
            select(Shipment.tracking_number, Shipment.warehouse_code, ShipmentOrder.order_id)
            .join(ShipmentOrder, ShipmentOrder.shipment_id == Shipment.id)
            .where(Shipment.batch_id == batch_id, Shipment.status == "labelled")
        ).all()
    parcels: dict[str, tuple[str, tuple[str, ...]]] = {}
    for tracking, warehouse, order_id in rows:
        _, ids = parcels.get(tracking, (warehouse, ()))
        parcels[tracking] = (warehouse, tuple(sorted({*ids, order_id})))
    return parcels


def _pages(path: Path) -> list[tuple[str | None, str]]:
    """(Code128 text or None, page text) for each page of a PDF."""
    barcodes = code128_texts(path)
    texts = [page.extract_text() for page in PdfReader(path).pages]
    assert len(barcodes) == len(texts)
    return [(codes[0] if codes else None, text) for codes, text in zip(barcodes, texts, strict=True)]


def test_merged_labels_follow_the_pick_list_with_a_separator_per_warehouse(ctx: Context) -> None:
    summary = _batch(ctx, 140, seed=21)
    batch_id = summary["batch_id"]
    parcels = _parcels(ctx, batch_id)
    pages = _pages(Path(summary["outputs"]["labels_pdf"]))

    labels = [(code, text) for code, text in pages if code]
    assert sorted(code for code, _ in labels) == sorted(parcels), "every parcel once, every barcode decodes"
    for code, text in labels:
        warehouse, order_ids = parcels[code]
        flat = text.replace(" ", "").replace("\n", "")
        assert all(o in flat for o in order_ids), f"label {code} does not show its orders"

    # a separator before each warehouse's labels, warehouses in the pick list's order
    sequence: list[str] = []
    current = None
    for code, text in pages:
        if code is None:
            assert "parcel" in text and batch_id in text
            current = text.split()[0]
            sequence.append(current)
        else:
            assert parcels[code][0] == current, "a label outside its warehouse's separator"
    pick_text = " ".join(p.extract_text() for p in PdfReader(summary["outputs"]["pick_list_pdf"]).pages)
    headings = [w.code for w in ctx.rules.warehouses if re.search(rf"\b{re.escape(w.code)} \u2014", pick_text)]
    assert sequence == headings and len(sequence) == len(set(sequence)) >= 2
    for warehouse in sequence:
        count = sum(1 for w, _ in parcels.values() if w == warehouse)
        assert f"{count} parcel" in next(t for c, t in pages if c is None and t.split()[0] == warehouse)

    # within a warehouse, each SKU's picks come in the order the pick list lists them
    with ctx.session() as s:
        shipments, contents = _contents(s, batch_id)
        ranks = {w.code: i for i, w in enumerate(ctx.rules.warehouses)}
        ordered = picking_order(shipments, contents, ranks)
        sections = pick_sections(ctx, ordered, contents, *_names(s, batch_id))
    position = {"+".join(parcels[code][1]): i for i, (code, _) in enumerate(labels)}
    for lines in sections.values():
        for line in lines:
            where = [position[pick] for pick in line.order_ids]
            assert where == sorted(where), f"{line.sku}: labels not in the pick list's order"
    first_skus = [min(sku for _, sku, _ in contents[s.id]) for s, _ in ordered]
    by_warehouse: dict[str, list[str]] = {}
    for (shipment, _), sku in zip(ordered, first_skus, strict=True):
        by_warehouse.setdefault(shipment.warehouse_code, []).append(sku)
    assert all(skus == sorted(skus) for skus in by_warehouse.values()), "SKU order within a warehouse"
    assert [s.tracking_number for s, _ in ordered] == [code for code, _ in labels]


def test_reverse_without_separators_and_interleaved_slips(ctx: Context) -> None:
    summary = _batch(ctx, 60, seed=22, reverse=True, separators=False, packing_slips="interleaved")
    batch_id = summary["batch_id"]
    parcels = _parcels(ctx, batch_id)
    assert summary["outputs"]["packing_slips_pdf"] is None, "interleaved slips are in the labels file"
    pages = _pages(Path(summary["outputs"]["labels_pdf"]))
    assert all("parcel \u00b7" not in text for _, text in pages), "no separators"
    # reversed: the last page printed first; read back to front it is label, then its slip(s)
    forward = pages[::-1]
    labels_seen = []
    i = 0
    while i < len(forward):
        code, _ = forward[i]
        assert code is not None, f"page {i} should be a label"
        labels_seen.append(code)
        i += 1
        assert "Packing slip" in forward[i][1], "each label is followed by its packing slip"
        while i < len(forward) and forward[i][0] is None:
            assert "Packing slip" in forward[i][1] and code in forward[i][1]
            assert all(o in forward[i][1] for o in parcels[code][1])
            i += 1
    assert sorted(labels_seen) == sorted(parcels)

    result = reprint(ctx, batch_id, {"reverse": False})
    again = _pages(Path(result["outputs"]["labels_pdf"]))
    assert [c for c, _ in again] == [c for c, _ in forward], "--no-reverse on reprint gives the forward order"


def test_zpl_batch_and_reprints_that_buy_nothing(ctx: Context) -> None:
    summary = _batch(ctx, 60, seed=23, label_format="zpl")
    batch_id = summary["batch_id"]
    parcels = _parcels(ctx, batch_id)
    assert summary["outputs"]["labels_pdf"] is None
    zpl = Path(summary["outputs"]["labels_zpl"]).read_bytes()
    formats = [zpl[a:b].decode("ascii") for a, b in zpl_formats(zpl)]
    barcodes = [re.search(r"\^BC[^\^]*\^FH\^FD(.*?)\^FS", f) for f in formats]
    codes = [unhex(m.group(1)) for m in barcodes if m]
    warehouses = {w for w, _ in parcels.values()}
    assert sorted(codes) == sorted(parcels) and len(formats) == len(parcels) + len(warehouses)
    with ctx.session() as s:
        ranks = {w.code: i for i, w in enumerate(ctx.rules.warehouses)}
        shipments, contents = _contents(s, batch_id)
        assert codes == [sh.tracking_number for sh, _ in picking_order(shipments, contents, ranks)]
        assert set(s.scalars(select(LabelFile.content_type).where(LabelFile.batch_id == batch_id))) == {
            "application/zpl"
        }
        files_before = s.scalar(select(func.count()).select_from(LabelFile))
        shipments_before = s.scalar(select(func.count()).select_from(Shipment))

    original = Path(summary["outputs"]["labels_zpl"]).read_bytes()
    Path(summary["outputs"]["labels_zpl"]).unlink()
    result = reprint(ctx, batch_id)
    assert Path(result["outputs"]["labels_zpl"]).read_bytes() == original, "the same labels, byte for byte"
    some_tracking, (_, order_ids) = next(iter(parcels.items()))
    single = reprint(ctx, order_ids[0])
    assert single["labels"] == 1 and single["path"].endswith(f"reprint-{order_ids[0]}.zpl")
    assert some_tracking in unhex(Path(single["path"]).read_text())
    with ctx.session() as s:
        assert s.scalar(select(func.count()).select_from(LabelFile)) == files_before, "no new label"
        assert s.scalar(select(func.count()).select_from(Shipment)) == shipments_before


def test_reprint_gives_the_same_label_pages(ctx: Context) -> None:
    summary = _batch(ctx, 50, seed=24)
    batch_id = summary["batch_id"]
    before = [p.get_contents().get_data() for p in PdfReader(summary["outputs"]["labels_pdf"]).pages]
    with ctx.session() as s:
        files_before = s.scalar(select(func.count()).select_from(LabelFile))
        order_id = s.scalar(select(ShipmentOrder.order_id).join(Shipment).where(Shipment.batch_id == batch_id).limit(1))
    folder = Path(summary["outputs"]["labels_pdf"]).parent
    files = sorted(p.name for p in folder.iterdir())
    other_run = folder / ".work-other" / "labels-1.pdf"  # what a concurrent run merges from
    other_run.parent.mkdir()
    other_run.write_bytes(b"%PDF-")
    result = reprint(ctx, batch_id)
    after = [p.get_contents().get_data() for p in PdfReader(result["outputs"]["labels_pdf"]).pages]
    assert after == before
    single = reprint(ctx, order_id)
    assert other_run.read_bytes() == b"%PDF-", "each run merges from a folder of its own and removes only that"
    other_run.unlink()
    other_run.parent.rmdir()
    assert sorted(p.name for p in folder.iterdir()) == sorted([*files, Path(single["path"]).name])
    texts = code128_texts(Path(single["path"]))
    with ctx.session() as s:
        tracking = set(
            s.scalars(select(Shipment.tracking_number).join(ShipmentOrder).where(ShipmentOrder.order_id == order_id))
        )
        assert s.scalar(select(func.count()).select_from(LabelFile)) == files_before
    assert {t[0] for t in texts} == tracking and len(texts) == len(tracking)
    with pytest.raises(ValueError, match="no batch or order"):
        reprint(ctx, "nope")


def test_a_document_that_cannot_be_put_in_place_fails_the_step_and_a_rerun_puts_it_right(ctx: Context) -> None:
    summary = _batch(ctx, 60, seed=25)
    slips, labels = Path(summary["outputs"]["packing_slips_pdf"]), Path(summary["outputs"]["labels_pdf"])
    slips_before, labels_before = slips.read_bytes(), labels.read_bytes()
    files = sorted(p.name for p in slips.parent.iterdir())

    slips.unlink()
    slips.mkdir()  # the finished slips cannot replace what is there: the step fails (and is tried again)
    with pytest.raises(IsADirectoryError):
        reprint(ctx, summary["batch_id"])
    assert not [p for p in slips.parent.iterdir() if p.name.endswith(".tmp")], "the temporary file is removed"
    slips.rmdir()
    reprint(ctx, summary["batch_id"])
    assert slips.read_bytes() == slips_before and labels.read_bytes() == labels_before, "the same files, byte for byte"
    assert sorted(p.name for p in slips.parent.iterdir()) == files, "no temporary file or folder is left"


def test_manifest_lists_exactly_the_days_parcels_per_warehouse_and_carrier(ctx: Context) -> None:
    summary = _batch(ctx, 80, seed=25)
    batch_id = summary["batch_id"]
    today = datetime.now(ctx.settings.shop_timezone).date()
    with ctx.session() as s:
        shipments = list(s.scalars(select(Shipment).where(Shipment.batch_id == batch_id).order_by(Shipment.id)))
        warehouse = Counter(sh.warehouse_code for sh in shipments).most_common(1)[0][0]
        mine = [sh for sh in shipments if sh.warehouse_code == warehouse]
        moved = {sh.id for sh in mine[::3]}
        s.execute(update(Shipment).where(Shipment.id.in_(moved)).values(created_at=utcnow() - timedelta(days=1)))
        expected: dict[str, set[str]] = {}
        for sh in mine:
            if sh.id not in moved:
                expected.setdefault(sh.carrier, set()).add(sh.tracking_number)
        others = {sh.tracking_number for sh in shipments if sh.warehouse_code != warehouse or sh.id in moved}

    path, manifests = create_manifests(ctx, warehouse, today)
    assert {m.carrier: {p.tracking_number for p in m.parcels} for m in manifests} == expected
    text = " ".join(page.extract_text() for page in PdfReader(path).pages)
    assert all(t in text for numbers in expected.values() for t in numbers)
    assert not any(t in text for t in others), "a parcel of another day or warehouse is listed"
    for m in manifests:
        name = {"usps": "USPS", "ups": "UPS", "fedex": "FedEx"}[m.carrier]
        assert f"Total {name}" in text and f"{len(m.parcels)} parcel" in text
        assert all(p.order_ids for p in m.parcels)
    _, yesterday = create_manifests(ctx, warehouse, today - timedelta(days=1))
    assert sum(len(m.parcels) for m in yesterday) == len(moved) > 0
    with pytest.raises(ManifestError, match="no warehouse"):
        create_manifests(ctx, "NOWHERE", today)


def test_options_chosen_at_start_hold_on_resume_which_may_change_the_page_order(ctx: Context) -> None:
    session_name, _export, _ = prepare_demo(ctx, 40, seed=26)
    options = DocumentOptions(label_format="zpl", separators=False, packing_slips="off")
    batch_id, _first = batches.start_batch(ctx, session_name, options=options)  # then "interrupted"
    summary = resume_batch(ctx, batch_id, timeout_s=300, overrides={"reverse": True})
    assert summary["status"] in ("completed", "completed_with_errors")
    assert summary["outputs"]["packing_slips_pdf"] is None and summary["outputs"]["labels_pdf"] is None
    zpl = Path(summary["outputs"]["labels_zpl"]).read_bytes()
    codes = [unhex(m) for m in re.findall(r"\^BC[^\^]*\^FH\^FD(.*?)\^FS", zpl.decode("ascii"))]
    with ctx.session() as s:
        ranks = {w.code: i for i, w in enumerate(ctx.rules.warehouses)}
        shipments, contents = _contents(s, batch_id)
        forward = [sh.tracking_number for sh, _ in picking_order(shipments, contents, ranks)]
        stored = s.get(Batch, batch_id).outputs["options"]
    assert codes == forward[::-1] and len(codes) > 5, "made in ZPL as started, reversed as resumed"
    assert stored == {**options.as_dict(), "reverse": True}

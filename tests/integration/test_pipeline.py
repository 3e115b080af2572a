"""The whole batch, in-process, on SQLite and on PostgreSQL: every order ends in one outcome, labels come out
in picking order and decode to the tracking numbers of the upload file, stock is conserved."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from fulfilment import batches, steps
from fulfilment.batches import Next
from fulfilment.channels.bulk_file import read_tracking_upload
from fulfilment.demo import prepare_demo
from fulfilment.pipeline import Context
from fulfilment.runner import run_batch
from fulfilment.store.models import AuditEntry, Batch, Chunk, Order, Reservation, Shipment, Stock
from tests.barcodes import code128_texts


def stock_totals(ctx) -> dict[tuple[str, str], tuple[int, int]]:
    with ctx.session() as s:
        return {(r.warehouse_code, r.sku): (r.on_hand, r.reserved) for r in s.scalars(select(Stock))}


def test_batch_ships_every_order_once_in_picking_order(ctx) -> None:
    session_name, _export, imported = prepare_demo(ctx, 160, seed=11)
    assert imported["created"] > 150
    before = stock_totals(ctx)
    summary = run_batch(ctx, session_name, timeout_s=300)

    counts = summary["counts"]
    assert summary["status"] in ("completed", "completed_with_errors")
    assert counts["orders"] == imported["created"] - _cancelled(ctx)
    assert counts["labelled"] + counts["held"] + counts["backordered"] + counts["failed"] == counts["orders"]
    assert counts["labelled"] > 100 and counts["held"] >= 1

    pages = PdfReader(summary["outputs"]["labels_pdf"]).pages
    uploaded = read_tracking_upload(Path(summary["outputs"]["tracking_xlsx"]))
    by_tracking: dict[str, set[str]] = {}
    for row in uploaded:
        by_tracking.setdefault(row.tracking_number, set()).add(row.order_id)
    decoded = [texts[0] for texts in code128_texts(Path(summary["outputs"]["labels_pdf"])) if texts]
    with ctx.session() as s:
        warehouses = s.scalar(select(func.count(func.distinct(Shipment.warehouse_code))))
    assert len(pages) == len(by_tracking) + warehouses, "one page per parcel and a separator per warehouse"
    assert sorted(decoded) == sorted(by_tracking), "one page per parcel"
    assert len(by_tracking) < counts["labelled"], "one buyer's orders to one address were combined"

    with ctx.session() as s:
        labelled = set(s.scalars(select(Order.id).where(Order.status == "labelled")))
        assert {row.order_id for row in uploaded} == labelled, "every labelled order has its tracking number"
        shipments = {sh.tracking_number: sh for sh in s.scalars(select(Shipment))}
        ranks = {w.code: i for i, w in enumerate(ctx.rules.warehouses)}
        keys = []
        for tracking in decoded:
            shipment = shipments[tracking]
            parts = s.execute(
                select(Reservation.order_id, Reservation.sku).where(
                    Reservation.order_id.in_(by_tracking[tracking]),
                    Reservation.warehouse_code == shipment.warehouse_code,
                )
            ).all()
            assert {o for o, _ in parts} == by_tracking[tracking], "each order of the parcel ships from its warehouse"
            keys.append(
                (ranks[shipment.warehouse_code], tuple(sorted({k for _, k in parts})), min(by_tracking[tracking]))
            )
        assert keys == sorted(keys), "labels are not in picking order"
        assert s.scalar(select(func.count()).select_from(Reservation).where(Reservation.status == "reserved")) == 0
        unaudited = s.scalar(
            select(func.count())
            .select_from(Order)
            .where(Order.batch_id == summary["batch_id"])
            .where(
                ~select(AuditEntry.id)
                .where(AuditEntry.entity_id == Order.id, AuditEntry.to_status == Order.status)
                .exists()
            )
        )
        assert unaudited == 0, "every order's current state has an audit entry"
        shipped: dict[tuple[str, str], int] = {}
        for r in s.scalars(select(Reservation).where(Reservation.status == "deducted")):
            shipped[(r.warehouse_code, r.sku)] = shipped.get((r.warehouse_code, r.sku), 0) + r.quantity
        assert sum(shipped.values()) == sum(
            line.quantity for o in s.scalars(select(Order).where(Order.status == "labelled")) for line in o.lines
        )

    after = stock_totals(ctx)
    for key, (on_hand, reserved) in after.items():
        assert reserved == 0
        assert on_hand == before[key][0] - shipped.get(key, 0), key


def _cancelled(ctx) -> int:
    with ctx.session() as s:
        return s.scalar(select(func.count()).select_from(Order).where(Order.status == "cancelled")) or 0


def test_each_stage_is_safe_to_run_twice(ctx) -> None:
    session_name, _export, _ = prepare_demo(ctx, 60, seed=5)
    batch_id, first = batches.start_batch(ctx, session_name)
    chunk_id = first[0].target
    assert len(first) == 2
    for stage in ("screen", "allocate", "route"):
        assert steps.run_chunk_stage(ctx, chunk_id, stage), f"{stage} sent no next step"
        assert steps.run_chunk_stage(ctx, chunk_id, stage) == [], f"{stage} ran twice"
    assert steps.run_chunk_stage(ctx, chunk_id, "label") == [], "fan-in fired with a chunk still open"
    assert steps.run_chunk_stage(ctx, chunk_id, "label") == []
    with ctx.session() as s:
        labelled = s.scalar(select(func.count()).select_from(Shipment).where(Shipment.batch_id == batch_id))
        stages = set(s.scalars(select(Chunk.stage).where(Chunk.batch_id == batch_id)))
    assert labelled > 0 and stages == {"done", "screen"}


def test_allocation_takes_the_screened_chunks_that_follow_in_one_step(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(steps, "ALLOCATE_RUN", 3)
    small = Context(replace(ctx.settings, chunk_size=10), ctx.rules)
    session_name, _export, _ = prepare_demo(small, 60, seed=5)
    batch_id, first = batches.start_batch(small, session_name)
    chunks = [m.target for m in first]
    assert len(chunks) >= 6
    handed = [m for c in reversed(chunks) for m in steps.run_chunk_stage(small, c, "screen")]
    assert handed == [Next("allocate", chunks[0])], "only the first chunk's screen hands over to allocation"

    step = steps.run_chunk_stage(small, chunks[0], "allocate")
    assert step == [*(Next("route", c) for c in chunks[:3]), Next("allocate", chunks[3])]
    assert steps.run_chunk_stage(small, chunks[4], "allocate") == [], "not its turn: chunk 3 goes first"
    rest = steps.run_chunk_stage(small, chunks[3], "allocate")
    assert rest[:3] == [Next("route", c) for c in chunks[3:6]]
    with small.session() as s:
        stages = dict(s.execute(select(Chunk.id, Chunk.stage).where(Chunk.batch_id == batch_id)).all())
        allocated_in = s.execute(
            select(Order.chunk_id, func.min(AuditEntry.id))
            .join(AuditEntry, AuditEntry.entity_id == Order.id)
            .where(Order.batch_id == batch_id, AuditEntry.actor == "stage:allocate")
            .group_by(Order.chunk_id)
        ).all()
    assert [stages[c] for c in chunks[:6]] == ["route"] * 6
    assert [c for c, _ in sorted(allocated_in, key=lambda r: r[1])] == chunks[:6], "allocated in chunk order"


def test_nothing_pending_gives_an_empty_completed_batch(ctx) -> None:
    summary = run_batch(ctx, None, timeout_s=60)
    assert summary["status"] == "completed"
    assert summary["counts"]["orders"] == 0


def test_packing_slips_follow_the_labels_one_page_per_parcel(ctx) -> None:
    session_name, _export, _ = prepare_demo(ctx, 80, seed=12)
    summary = run_batch(ctx, session_name, timeout_s=300)
    with ctx.session() as s:
        outputs = s.get(Batch, summary["batch_id"]).outputs
    labels = [p for p in PdfReader(summary["outputs"]["labels_pdf"]).pages if "TEST LABEL" in p.extract_text()]
    slips = PdfReader(outputs["packing_slips_pdf"]).pages
    assert len(slips) == len(labels) > 0
    for label, slip in zip(labels, slips, strict=True):
        slip_text = slip.extract_text()
        assert "Packing slip" in slip_text
        first_order = slip_text.split("Orders: ")[1].split(",")[0].split()[0]
        assert first_order in label.extract_text(), "slips come in the labels' picking order"

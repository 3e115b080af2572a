"""The console over HTTP (in-process, SQLite and PostgreSQL): start a batch, watch it end, download its
files, retry failed orders, and the pages and metrics show what the database holds."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from pypdf import PdfReader
from sqlalchemy import func, select

from fulfilment import batches
from fulfilment.config import load_settings
from fulfilment.demo import prepare_demo
from fulfilment.pipeline import Context, context
from fulfilment.runner import resume_batch, run_batch
from fulfilment.store.models import AuditEntry, Batch, Buyer, Chunk, Hold, Order, Reservation
from fulfilment.store.users import add_user
from fulfilment.web import create_app
from tests.conftest import fulfil_env
from tests.console import csrf_of, sign_in

PASSWORD = "packer-password"


@pytest.fixture(params=["sqlite", "postgresql"])
def ctx(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    monkeypatch.delenv("FULFILMENT_REDIS_URL", raising=False)
    for key, value in fulfil_env(tmp_path, url).items():
        monkeypatch.setenv(key, value)
    ctx = context(load_settings())
    with ctx.session() as session:
        add_user(session, "pat", "packer", PASSWORD)
    return ctx


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as c:
        sign_in(c, "pat", PASSWORD)
        yield c


def wait_until_finished(client: TestClient, batch_id: str, timeout_s: float = 240) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        view = client.get(f"/batches/{batch_id}/progress.json").json()
        if view["finished"] or time.monotonic() > deadline:
            return view
        time.sleep(0.3)


def test_start_a_batch_watch_it_and_download_its_files(ctx: Context, client: TestClient) -> None:
    session_name, _, imported = prepare_demo(ctx, 120, seed=5)
    home = client.get("/")
    assert f'<option value="{session_name}">' in home.text
    started = client.post("/batches", data={"csrf_token": csrf_of(home.text), "session": session_name})
    batch_id = str(started.url).rsplit("/", 1)[-1]
    assert started.status_code == 200 and batch_id.startswith("B")

    view = wait_until_finished(client, batch_id)
    assert view["status"] in ("completed", "completed_with_errors")
    assert view["done"] == view["total"] == view["counts"]["orders"] == imported["created"] - _cancelled(ctx)
    assert view["chunk_stages"] == {"done": 3}

    page = client.get(f"/batches/{batch_id}").text
    for key in ("labels_pdf", "pick_list_pdf", "tracking_xlsx", "tracking_csv"):
        assert f"/batches/{batch_id}/files/{key}" in page
    labels = client.get(f"/batches/{batch_id}/files/labels_pdf")
    assert labels.headers["content-type"] == "application/pdf"
    pdf = Path(ctx.settings.output_dir) / "downloaded.pdf"
    pdf.write_bytes(labels.content)
    tracking = client.get(f"/batches/{batch_id}/files/tracking_csv").text.splitlines()[1:]
    parcels = {row.split(",")[1] for row in tracking}  # one page per parcel; a combined one carries several orders
    assert len(tracking) == view["counts"]["labelled"] and len(PdfReader(pdf).pages) == len(parcels) > 0

    listing = client.get("/").text
    assert batch_id in listing and f"labelled {view['counts']['labelled']}" in listing
    metrics = client.get("/metrics").text
    assert f'fulfilment_orders{{status="labelled"}} {view["counts"]["labelled"]}' in metrics
    assert f'fulfilment_batches{{status="{view["status"]}"}} 1' in metrics
    steps = dict(re.findall(r'fulfilment_last_batch_step_seconds\{step="(\w+)"\} ([\d.]+)', metrics))
    assert set(steps) == {"running", "documenting", "pushing"}
    assert sum(float(v) for v in steps.values()) <= view["elapsed_s"] + 0.01


def _cancelled(ctx: Context) -> int:
    with ctx.session() as session:
        return len(list(session.scalars(select(Order.id).where(Order.status == "cancelled"))))


def test_only_recorded_files_inside_the_output_folder_are_served(ctx: Context, client: TestClient) -> None:
    summary = run_batch(ctx, None, timeout_s=120)
    batch_id = summary["batch_id"]
    outside = Path(ctx.settings.output_dir).parent / "secret.txt"
    outside.write_text("not for download")
    with ctx.session() as session:
        batch = session.get(Batch, batch_id)
        assert batch is not None
        batch.outputs = {**batch.outputs, "labels_pdf": str(outside), "sneaky": "../../secret.txt"}
    assert client.get(f"/batches/{batch_id}/files/labels_pdf").status_code == 404
    assert client.get(f"/batches/{batch_id}/files/sneaky").status_code == 404
    assert client.get(f"/batches/{batch_id}/files/..%2F..%2Fsecret.txt").status_code == 404
    assert client.get("/batches/nope/files/labels_pdf").status_code == 404


def test_retry_moves_failed_orders_back_and_the_next_batch_ships_them(ctx: Context, client: TestClient) -> None:
    prepare_demo(ctx, 120, seed=9)
    batch_id, _steps = batches.start_batch(ctx, None)
    with ctx.session() as session:
        first = session.scalar(select(Chunk.id).where(Chunk.batch_id == batch_id).order_by(Chunk.seq).limit(1))
        size = session.scalar(select(func.count()).select_from(Order).where(Order.chunk_id == first))
    batches.give_up_chunk(ctx, first, "screen", "label provider timed out")
    done = resume_batch(ctx, batch_id, timeout_s=240)
    failed = done["counts"]["failed"]
    with ctx.session() as session:  # orders elsewhere that no carrier service can take fail on their own
        natural = session.scalar(
            select(func.count()).select_from(Order).where(Order.status == "failed", Order.chunk_id != first)
        )
    assert done["status"] == "completed_with_errors" and failed == size + natural and size >= 50

    with ctx.session() as session:
        # as if it had reserved stock before failing: the release leaves its reservation rows behind
        order = session.scalar(select(Order).where(Order.status == "failed").order_by(Order.id).limit(1))
        assert order is not None
        home = ctx.rules.warehouses[0].code
        for line in order.lines:
            session.add(
                Reservation(order_id=order.id, warehouse_code=home, sku=line.sku, quantity=1, status="released")
            )

    page = client.get(f"/batches/{batch_id}").text
    assert "label provider timed out" in page
    retried = client.post(f"/batches/{batch_id}/retry", data={"csrf_token": csrf_of(page)})
    assert f"{failed} failed orders are pending again" in retried.text
    with ctx.session() as session:
        moved = list(session.scalars(select(Order).where(Order.status == "pending")))
        assert len(moved) == failed and all(o.batch_id is None for o in moved)
        trail = session.scalars(
            select(AuditEntry.actor).where(AuditEntry.from_status == "failed", AuditEntry.to_status == "pending")
        )
        assert list(trail) == ["web:pat"] * failed
    again = run_batch(ctx, None, timeout_s=240)
    assert again["counts"]["orders"] == failed and again["counts"]["failed"] == natural
    assert again["counts"]["labelled"] + again["counts"]["held"] + again["counts"]["backordered"] == size
    with ctx.session() as session:
        if session.scalar(select(Order.status).where(Order.id == order.id)) == "labelled":
            kept = session.scalars(select(Reservation.status).where(Reservation.order_id == order.id))
            assert set(kept) == {"deducted"}


def test_resume_finishes_a_batch_whose_steps_were_lost(ctx: Context, client: TestClient) -> None:
    prepare_demo(ctx, 60, seed=2)
    batch_id, _lost = batches.start_batch(ctx, None)  # as if the console stopped before sending the steps
    page = client.get(f"/batches/{batch_id}").text
    assert 'id="resume"' in page
    client.post(f"/batches/{batch_id}/resume", data={"csrf_token": csrf_of(page)})
    view = wait_until_finished(client, batch_id)
    assert view["finished"] and view["done"] == view["total"] == view["counts"]["orders"] > 0


def test_rules_stock_order_and_health_pages(ctx: Context, client: TestClient) -> None:
    prepare_demo(ctx, 30, seed=3)
    rules = client.get("/rules").text
    assert "are valid" in rules
    for warehouse in ctx.rules.warehouses:
        assert warehouse.code in rules
    for rule in ctx.rules.routes:
        assert rule.id in rules
    stock = client.get("/stock", params={"sku": "A"}).text
    assert "<td>" in stock
    with ctx.session() as session:
        order_row = session.scalar(select(Order).limit(1))
        assert order_row is not None
        order_id, order_row.ship_name = order_row.id, "<script>alert(1)</script>"
    order = client.get(f"/orders/{order_id}").text
    assert "Audit trail" in order and "demo" in order
    assert "<script>alert" not in order and "&lt;script&gt;alert(1)&lt;/script&gt;" in order
    assert client.get("/orders/nope").status_code == 404
    assert client.get("/health").json() == {"status": "ok", "database": "ok", "broker": "in-process"}


def test_review_queue_lists_held_orders_oldest_first_with_reasons_and_history(ctx: Context) -> None:
    session_name, _, _ = prepare_demo(ctx, 150, seed=11)
    run_batch(ctx, session_name, timeout_s=240)
    with ctx.session() as session:
        add_user(session, "rex", "reviewer", "reviewer-password")
        held = list(session.scalars(select(Order).where(Order.status == "held").order_by(Order.paid_at, Order.id)))
        reasons = {h.order_id: h.reason for h in session.scalars(select(Hold).where(Hold.resolved_at.is_(None)))}
        session.merge(Buyer(handle=held[0].buyer, prior_orders=7, prior_returns=5))
    assert held, "the simulated session has held orders"
    with TestClient(create_app(ctx)) as client:
        sign_in(client, "rex", "reviewer-password")
        page = client.get("/review").text
    positions = [page.index(f"/orders/{o.id}") for o in held]
    assert positions == sorted(positions)
    for order in held:
        assert str(escape(reasons.get(order.id) or order.reason or "")) in page
    assert "before: 7 orders, 5 returns" in page

"""The console over HTTP (in-process, SQLite and PostgreSQL): start a batch, watch it end, download its
files, retry failed orders, and the pages and metrics show what the database holds."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from pypdf import PdfReader
from sqlalchemy import func, select

from fulfilment import batches, steps
from fulfilment.config import load_settings
from fulfilment.demo import prepare_demo
from fulfilment.domain.address import normalise
from fulfilment.domain.documents import DocumentOptions
from fulfilment.pipeline import Context, context
from fulfilment.runner import resume_batch, run_batch
from fulfilment.stages.shipping import ship_to
from fulfilment.store.models import AuditEntry, Batch, Buyer, Chunk, Hold, Order, Reservation, ScheduledRun, utcnow
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
    labels_shown = sum("TEST LABEL" in page.extract_text() for page in PdfReader(pdf).pages)
    assert len(tracking) == view["counts"]["labelled"] and labels_shown == len(parcels) > 0

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
    steps.give_up_chunk(ctx, first, "screen", "label provider timed out")
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


def test_the_home_page_shows_scheduled_runs_with_their_outcome(ctx: Context, client: TestClient) -> None:
    assert "Nothing scheduled" in client.get("/").text
    now = utcnow()
    with ctx.session() as session:
        session.add_all(
            [
                ScheduledRun(kind="post_stream", session_name="Sunday live", run_at=now + timedelta(minutes=5)),
                ScheduledRun(kind="batch", schedule="nightly", run_at=now - timedelta(hours=1), status="done",
                             batch_id="B20261207-020000-abcd"),
                ScheduledRun(kind="pull", schedule="hourly-pull", run_at=now - timedelta(hours=2), status="skipped",
                             error="the TikTok API is not configured (TIKTOK_APP_KEY etc.)"),
                ScheduledRun(kind="batch", schedule="noon", run_at=now - timedelta(hours=3), status="failed",
                             error="database <unreachable>"),
            ]
        )  # fmt: skip
    page = client.get("/").text
    assert page.count('id="scheduled"') == 1 and "<title>Batches" in page
    table = page.split('id="scheduled"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
    assert [re.findall(r'class="pill (\w+)"', row) for row in rows] == [["due"], ["done"], ["skipped"], ["failed"]]
    assert "post-stream batch of Sunday live" in rows[0]
    assert 'href="/batches/B20261207-020000-abcd"' in rows[1] and "nightly" in rows[1]
    assert "TIKTOK_APP_KEY" in rows[2] and "hourly-pull" in rows[2]
    assert "database &lt;unreachable&gt;" in rows[3], "an error is shown, escaped"


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
    for order in held:  # the address as the screen parses it, next to the address as entered
        assert f"<code>{escape(normalise(ship_to(order)))}</code>" in page


def _held_ids(ctx: Context) -> list[str]:
    with ctx.session() as session:
        return list(session.scalars(select(Order.id).where(Order.status == "held").order_by(Order.id)))


def test_reviewers_approve_reject_and_park_and_the_loser_of_a_race_is_told(ctx: Context, client: TestClient) -> None:
    session_name, _, _ = prepare_demo(ctx, 150, seed=11)
    run_batch(ctx, session_name, timeout_s=240)
    with ctx.session() as session:
        add_user(session, "rex", "reviewer", "reviewer-password")
        add_user(session, "ria", "reviewer", "reviewer-password")
    first, second, third, *_ = _held_ids(ctx)

    packer_token = csrf_of(client.get("/").text)
    refused = client.post("/review/approve", data={"csrf_token": packer_token, "order_id": first})
    assert refused.status_code == 403 and "needs the reviewer role" in refused.json()["detail"]

    with TestClient(create_app(ctx)) as rex, TestClient(create_app(ctx)) as ria:
        sign_in(rex, "rex", "reviewer-password")
        sign_in(ria, "ria", "reviewer-password")
        token = csrf_of(rex.get("/review").text)
        assert rex.post("/review/approve", data={"order_id": first}).status_code == 403, "no CSRF token"
        assert rex.post("/review/approve", data={"order_id": first, "csrf_token": "forged"}).status_code == 403

        approved = rex.post("/review/approve", data={"csrf_token": token, "order_id": first, "note": "known buyer"})
        assert f"order {first} approved" in approved.text and approved.url.path == "/review"
        no_reason = rex.post("/review/reject", data={"csrf_token": token, "order_id": second, "reason": " "})
        assert "a reason is required" in no_reason.text
        rejected = rex.post("/review/reject", data={"csrf_token": token, "order_id": second, "reason": "fraud ring"})
        assert f"order {second} rejected and cancelled" in rejected.text
        parked = rex.post("/review/park", data={"csrf_token": token, "order_id": third, "until": "2099-01-02T09:00"})
        assert f"order {third} parked until 2099-01-02T09:00" in parked.text
        bad_time = rex.post("/review/park", data={"csrf_token": token, "order_id": third, "until": "soon"})
        assert "&#39;soon&#39; is not a date/time" in bad_time.text

        late = ria.post(
            "/review/reject", data={"csrf_token": csrf_of(ria.get("/").text), "order_id": first, "reason": "x"}
        )
        assert late.status_code == 200
        assert f"order {first} is not held: it was approved by web:rex" in late.text and "nothing changed" in late.text

        trail = rex.get(f"/orders/{first}").text
        assert "web:rex" in trail and "approved: known buyer" in trail
        assert "rejected: fraud ring" in rex.get(f"/orders/{second}").text
    with ctx.session() as session:
        status = dict(session.execute(select(Order.id, Order.status).where(Order.id.in_([first, second, third]))).all())
    assert status == {first: "approved", second: "rejected", third: "held"}
    assert second in (Path(ctx.settings.output_dir) / "cancellations.csv").read_text()


def test_bulk_decisions_by_ticked_orders_and_by_hold_code(ctx: Context) -> None:
    session_name, _, _ = prepare_demo(ctx, 150, seed=11)
    run_batch(ctx, session_name, timeout_s=240)
    with ctx.session() as session:
        add_user(session, "rex", "reviewer", "reviewer-password")
        codes = {h.order_id: h.code for h in session.scalars(select(Hold).where(Hold.resolved_at.is_(None)))}
    held = _held_ids(ctx)
    code = max(set(codes.values()), key=list(codes.values()).count)
    with_code = {o for o in held if codes.get(o) == code}
    ticked = [o for o in held if o not in with_code][:2]
    assert len(with_code) >= 2 and len(ticked) == 2, "the simulated session holds orders for several reasons"
    with TestClient(create_app(ctx)) as rex:
        sign_in(rex, "rex", "reviewer-password")
        page = rex.get("/review").text
        assert f'<option value="{code}">' in page and "audit trail" in page
        done = rex.post("/review/approve", data={"csrf_token": csrf_of(page), "selected": ticked})
        assert "2 orders approved" in done.text
        by_code = rex.post("/review/reject", data={"csrf_token": csrf_of(page), "code": code, "reason": "bad batch"})
        assert f"{len(with_code)} orders rejected" in by_code.text
        nothing = rex.post("/review/approve", data={"csrf_token": csrf_of(page)})
        assert "tick some orders, or choose a hold code, first" in nothing.text
    with ctx.session() as session:
        rows = dict(session.execute(select(Order.id, Order.status).where(Order.id.in_(held))).all())
    assert {rows[o] for o in ticked} == {"approved"} and {rows[o] for o in with_code} == {"rejected"}


def test_stock_page_shows_the_last_batch_low_stock_alerts(ctx: Context, client: TestClient) -> None:
    session_name, _export, _ = prepare_demo(ctx, 120, seed=6)
    assert "Low stock after batch" not in client.get("/stock").text
    summary = run_batch(ctx, session_name, timeout_s=240)
    alerts = batches.alerts(ctx, summary["batch_id"])
    assert alerts, "the sample stock runs low in a demo session"
    page = client.get("/stock").text
    assert f'Low stock after batch <a href="/batches/{summary["batch_id"]}">' in page
    assert all(html.escape(a["reason"]) in page and a["sku"] in page for a in alerts)


def test_a_zpl_batch_offers_labels_zpl_and_no_options_link(ctx: Context, client: TestClient) -> None:
    session_name, _export, _ = prepare_demo(ctx, 30, seed=31)
    summary = run_batch(ctx, session_name, timeout_s=120, options=DocumentOptions(label_format="zpl"))
    batch_id = summary["batch_id"]
    page = client.get(f"/batches/{batch_id}").text
    assert f"/batches/{batch_id}/files/labels_zpl" in page and f"/batches/{batch_id}/files/pick_list_pdf" in page
    assert "/files/labels_pdf" not in page and "/files/options" not in page
    labels = client.get(f"/batches/{batch_id}/files/labels_zpl")
    assert labels.status_code == 200 and labels.content.startswith(b"^XA") and labels.content.count(b"^XZ") > 1
    assert client.get(f"/batches/{batch_id}/files/options").status_code == 404

"""Labels bought through Shippo (the real SDK against the local stand-in): exactly one label per order, even
when answers are lost, and every request valid under Shippo's own OpenAPI spec."""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fulfilment.config import load_settings
from fulfilment.labels.provider import Intent
from fulfilment.pipeline import context
from fulfilment.runner import run_batch
from fulfilment.store.models import AuditEntry, LabelPurchase, Order, Reservation, Shipment, ShipmentOrder
from tests.barcodes import code128_texts
from tests.integration.shippo_support import clean_orders, shippo_env
from tests.standins.shippo import Faults, Recorded, ShippoStandIn
from tests.standins.spec import spec_problems


@pytest.fixture
def standin() -> Iterator[ShippoStandIn]:
    with ShippoStandIn(slow_s=1.5) as s:
        yield s


def shippo_ctx(tmp_path: Path, url: str, standin: ShippoStandIn, monkeypatch: pytest.MonkeyPatch, **extra: str):
    monkeypatch.delenv("FULFILMENT_REDIS_URL", raising=False)
    for key, value in shippo_env(tmp_path, url, standin.url, **extra).items():
        monkeypatch.setenv(key, value)
    return context(load_settings())


@pytest.fixture
def ctx(tmp_path: Path, sqlite_url: str, standin: ShippoStandIn, monkeypatch: pytest.MonkeyPatch):
    return shippo_ctx(tmp_path, sqlite_url, standin, monkeypatch)


def shipments_by_ref(ctx) -> dict[str, Shipment]:
    """Shipments by their purchase's reference (what Shippo's `metadata` carries)."""
    with ctx.session() as s:
        rows = s.execute(
            select(LabelPurchase.order_ref, Shipment).join(Shipment, Shipment.id == LabelPurchase.shipment_id)
        )
        return {ref: shipment for ref, shipment in rows}


def labelled_orders(ctx) -> dict[str, list[int]]:
    with ctx.session() as s:
        rows = s.execute(
            select(Order.id, ShipmentOrder.shipment_id)
            .join(ShipmentOrder, ShipmentOrder.order_id == Order.id)
            .where(Order.status == "labelled")
        )
        out: dict[str, list[int]] = {}
        for order_id, shipment_id in rows:
            out.setdefault(order_id, []).append(shipment_id)
        return out


def assert_live_labels_recorded(ctx, standin: ShippoStandIn) -> None:
    """Every parcel has at most one live label at Shippo, and the live ones are exactly those recorded on the
    labelled shipments: none orphaned (bought and live but not recorded, or recorded and refunded)."""
    live = standin.live_labels()
    recorded = {ref: sh for ref, sh in shipments_by_ref(ctx).items() if sh.status == "labelled"}
    assert {r: len(t) for r, t in live.items() if len(t) != 1} == {}, "a parcel has more than one live label"
    assert set(live) == set(recorded), "a label bought is not recorded on its shipment (orphan), or vice versa"
    assert {r: sh.shippo_transaction_id for r, sh in recorded.items()} == {r: t[0] for r, t in live.items()}


def assert_exactly_once(ctx, standin: ShippoStandIn, summary: dict) -> None:
    """Every labelled order's parcels have one live label each, recorded; no label is orphaned."""
    assert_live_labels_recorded(ctx, standin)
    recorded = {ref: sh for ref, sh in shipments_by_ref(ctx).items() if sh.status == "labelled"}
    shipping = labelled_orders(ctx)
    assert len(shipping) == summary["counts"]["labelled"]
    assert {s for ids in shipping.values() for s in ids} == {sh.id for sh in recorded.values()}


def test_a_batch_buys_one_label_per_parcel_with_valid_requests(
    tmp_path: Path, sqlite_url: str, standin: ShippoStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = shippo_ctx(tmp_path, sqlite_url, standin, monkeypatch, FULFILMENT_COMBINE="1")
    name = clean_orders(ctx, 40)
    summary = run_batch(ctx, name, timeout_s=120)

    assert summary["status"] == "completed" and summary["counts"]["labelled"] == 40, summary
    assert_exactly_once(ctx, standin, summary)
    with ctx.session() as s:
        combined = s.scalar(select(func.count()).select_from(ShipmentOrder)) - s.scalar(select(func.count(Shipment.id)))
    assert combined > 0 and len(standin.live_labels()) == 40 - combined, "one label per parcel, combined or not"
    with ctx.session() as s:
        shipments = list(s.scalars(select(Shipment)))
    assert all(sh.label_provider == "shippo" and sh.rate_currency == "USD" and sh.rate_amount > 0 for sh in shipments)
    assert all(sh.shippo_shipment_id and sh.shippo_rate_id for sh in shipments)
    ledger = {row["transaction"]: row for row in standin.ledger()}
    decoded = {texts[0] for texts in code128_texts(Path(summary["outputs"]["labels_pdf"])) if texts}
    assert decoded == {sh.tracking_number for sh in shipments}, "the merged PDF holds Shippo's labels"
    assert {ledger[sh.shippo_transaction_id]["rate"] for sh in shipments} == {sh.shippo_rate_id for sh in shipments}
    accounts = [r for r in standin.state.requests if r.url.startswith("/carrier_accounts")]
    assert len(accounts) <= 3, "carrier accounts are looked up once per carrier"
    assert spec_problems(standin.state.requests) == []


def test_the_spec_check_catches_a_bad_request() -> None:
    bad = Recorded(
        "POST",
        "/transactions",
        {"Content-Type": "application/json", "Authorization": "ShippoToken x"},
        json.dumps({"rate": 5, "label_file_type": "PDF_5x9"}).encode(),
    )
    assert len(spec_problems([bad])) == 1


def test_a_lost_answer_is_reconciled_instead_of_buying_again(ctx, standin: ShippoStandIn) -> None:
    name = clean_orders(ctx, 6)
    standin.fail_next("create_transaction", "lost", "slow", "500")
    summary = run_batch(ctx, name, timeout_s=120)

    assert summary["counts"]["labelled"] == 6
    assert_exactly_once(ctx, standin, summary)
    assert len(standin.ledger()) == 6, "no label was bought twice"
    lists = [r for r in standin.state.requests if r.method == "GET" and r.url.startswith("/transactions?")]
    assert lists and all("rate=" in r.url for r in lists)


def test_a_duplicate_that_slipped_through_is_refunded_and_reported(ctx, standin: ShippoStandIn) -> None:
    name = clean_orders(ctx, 3)
    standin.fail_next("create_transaction", "lost")
    standin.fail_next("list_transactions", "stale")
    summary = run_batch(ctx, name, timeout_s=120)

    assert summary["counts"]["labelled"] == 3
    assert_exactly_once(ctx, standin, summary)
    refunded = [row for row in standin.ledger() if row["status"] == "REFUNDED"]
    assert len(refunded) == 1
    with ctx.session() as s:
        reports = list(s.scalars(select(AuditEntry).where(AuditEntry.to_status == "duplicate_refunded")))
    assert [r.reason.split(":")[0] for r in reports] == [f"transaction {refunded[0]['transaction']}"]


def test_status_error_fails_the_order_with_shippos_message_and_the_batch_goes_on(ctx, standin: ShippoStandIn) -> None:
    name = clean_orders(ctx, 5)
    standin.fail_next("create_transaction", "error")
    summary = run_batch(ctx, name, timeout_s=120)

    assert summary["status"] == "completed_with_errors"
    assert summary["counts"] == {"orders": 5, "labelled": 4, "held": 0, "backordered": 0, "failed": 1}
    assert len(standin.live_labels()) == 4
    assert_exactly_once(ctx, standin, summary)
    with ctx.session() as s:
        failed = s.scalars(select(Order).where(Order.status == "failed")).one()
        assert "Address validation failed" in failed.reason
        held = s.scalars(select(Reservation.status).where(Reservation.order_id == failed.id)).all()
    assert held and set(held) == {"released"}, "the failed order's stock goes back on offer"


def test_an_expired_rate_is_quoted_again_once(ctx, standin: ShippoStandIn) -> None:
    name = clean_orders(ctx, 2)
    standin.fail_next("create_transaction", "expired")
    summary = run_batch(ctx, name, timeout_s=120)

    assert summary["counts"]["labelled"] == 2
    assert_exactly_once(ctx, standin, summary)
    shipments_posted = [r for r in standin.state.requests if r.method == "POST" and r.url.startswith("/shipments")]
    assert len(shipments_posted) == 3


def test_a_late_label_on_a_rate_quoted_again_meanwhile_is_swept_and_refunded(ctx, standin: ShippoStandIn) -> None:
    import time

    name = clean_orders(ctx, 1)
    standin.fail_next("create_transaction", "late", "expired")
    summary = run_batch(ctx, name, timeout_s=120)
    deadline = time.monotonic() + 10
    while len(standin.ledger()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)

    assert summary["counts"]["labelled"] == 1
    rates = {row["rate"] for row in standin.ledger()}
    assert len(standin.ledger()) == 2 and len(rates) == 2, "the late label landed on the first rate"
    assert_exactly_once(ctx, standin, summary)
    with ctx.session() as s:
        assert s.scalar(select(func.count()).where(AuditEntry.to_status == "duplicate_refunded")) == 1


def test_rate_limited_calls_back_off_and_succeed(ctx, standin: ShippoStandIn) -> None:
    name = clean_orders(ctx, 2)
    standin.fail_next("create_transaction", "429", "429", "429")
    standin.fail_next("create_shipment", "429")
    summary = run_batch(ctx, name, timeout_s=120)

    assert summary["counts"]["labelled"] == 2
    assert_exactly_once(ctx, standin, summary)
    lists = [r for r in standin.state.requests if r.method == "GET" and r.url.startswith("/transactions?")]
    assert lists == [], "a 429 buys nothing, so there is nothing to reconcile"


@pytest.mark.services
def test_a_thousand_orders_with_a_fifth_of_calls_failing_get_one_label_each(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    faults = Faults(rate=0.2, kinds=("429", "500", "503", "slow", "lost"), seed=7)
    with ShippoStandIn(faults=faults, slow_s=1.2) as standin:
        ctx = shippo_ctx(
            tmp_path,
            pg_url,
            standin,
            monkeypatch,
            FULFILMENT_CHUNK_SIZE="100",
            FULFILMENT_SHIPPO_CONCURRENCY="16",
            FULFILMENT_COMBINE="0",
        )
        name = clean_orders(ctx, 1000, seed=4)
        summary = run_batch(ctx, name, timeout_s=600)

        injected = {kind for _, kind in standin.state.injected}
        assert {"429", "500", "503", "slow", "lost"} <= injected and len(standin.state.injected) > 300
        with ctx.session() as s:
            reasons = s.scalars(select(Order.reason).where(Order.status != "labelled")).all()
        assert summary["counts"]["labelled"] == 1000, reasons[:5]
        assert len(standin.live_labels()) == 1000, "one label per order (combining is off)"
        assert_exactly_once(ctx, standin, summary)
        assert spec_problems(standin.state.requests) == []


@pytest.mark.services
def test_the_rate_limit_is_shared_by_every_worker_through_redis(redis_namespace: str) -> None:
    from fulfilment.config import ShippoSettings
    from fulfilment.labels.shippo import ShippoProvider
    from tests.conftest import REDIS_URL

    settings = ShippoSettings("shippo_test_x", None, 1.0, rate_limit=3, rate_window_s=60, backoff_s=0.0, concurrency=1)
    workers = [ShippoProvider(settings, REDIS_URL, redis_namespace) for _ in range(2)]
    granted = []
    for i in range(6):
        with workers[i % 2].limits["transactions"].limiter.acquire(raise_on_failure=False) as acquired:
            granted.append(acquired)
    assert granted == [True, True, True, False, False, False]


class LateJournal:
    """A journal whose purchase another worker already resolved: recording a label is refused."""

    def __init__(self) -> None:
        self.duplicates: list[str] = []

    def claim(self, shipment_id: int) -> Intent:
        return Intent(shipment_id, 0, None, None)

    def quoted(self, shipment_id: int, quote: object) -> None:
        pass

    def attempt(self, shipment_id: int) -> int:
        return 1

    def bought(self, labels: object, content: bytes, content_type: str) -> bool:
        assert content.startswith(b"%PDF") and content_type == "application/pdf"
        return False

    def recorded(self, shipment_id: int) -> str | None:
        return "bought-by-the-other-worker"

    def failed(self, shipment_id: int, reason: str) -> None:
        raise AssertionError(reason)

    def release(self, shipment_id: int, reason: str) -> None:
        raise AssertionError(reason)

    def duplicate(self, shipment_id: int, transaction_id: str, detail: str) -> None:
        self.duplicates.append(transaction_id)

    def refunded(self, shipment_id: int, transaction_id: str) -> None:
        raise AssertionError(transaction_id)


def test_a_label_bought_after_another_worker_resolved_the_purchase_is_refunded(standin: ShippoStandIn) -> None:
    from fulfilment.config import ShippoSettings
    from fulfilment.domain.orders import Address
    from fulfilment.domain.parcel import Parcel
    from fulfilment.domain.shipments import LabelSpec
    from fulfilment.labels.provider import LabelRequest
    from fulfilment.labels.shippo import ShippoProvider

    settings = ShippoSettings("shippo_test_x", standin.url, 2.0, 1000, 1, 0.0, 1)
    here = Address("Ann", "1 Main St", "Austin", "TX", "78701")
    spec = LabelSpec(7, ("O-7",), "W", here, here, "usps", "usps_priority", "Priority", "", 12.0, (("S", 1),))
    journal = LateJournal()
    ShippoProvider(settings).obtain([LabelRequest(spec, Parcel(12.0, 6, 4, 2))], journal)

    assert [row["status"] for row in standin.ledger()] == ["REFUNDED"]
    assert journal.duplicates == [standin.ledger()[0]["transaction"]]


def test_a_purchase_that_lands_after_the_retry_is_swept_and_refunded(ctx, standin: ShippoStandIn) -> None:
    import time

    from fulfilment.stages.label import sweep_labels

    name = clean_orders(ctx, 2)
    standin.fail_next("create_transaction", "late")
    summary = run_batch(ctx, name, timeout_s=120)
    deadline = time.monotonic() + 10
    while len(standin.ledger()) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)

    sweep_labels(ctx, summary["batch_id"])  # the batch's own sweep waited for it already; again changes nothing

    assert summary["counts"]["labelled"] == 2
    assert len(standin.ledger()) == 3, "the late purchase landed as a second label"
    assert_exactly_once(ctx, standin, summary)
    with ctx.session() as s:
        assert s.scalar(select(func.count()).where(AuditEntry.to_status == "duplicate_refunded")) == 1


def test_the_sweep_asks_again_when_shippos_list_lags_behind(ctx, standin: ShippoStandIn) -> None:
    """Seen in a chaos run: the sweep's list came back stale (empty), so the late label stayed live."""
    import time

    from fulfilment.stages.label import sweep_labels

    name = clean_orders(ctx, 1)
    standin.fail_next("create_transaction", "late")
    standin.fail_next("list_transactions", "stale")
    summary = run_batch(ctx, name, timeout_s=120)
    deadline = time.monotonic() + 10
    while len(standin.ledger()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    standin.fail_next("list_transactions", "stale", "stale")

    sweep_labels(ctx, summary["batch_id"])

    assert len(standin.ledger()) == 2, "the late purchase landed as a second label"
    assert_exactly_once(ctx, standin, summary)


def test_a_label_still_failing_after_its_tries_is_bought_when_the_stage_retries(ctx, standin: ShippoStandIn) -> None:
    name = clean_orders(ctx, 1)
    standin.fail_next("create_transaction", *["503"] * 7)
    summary = run_batch(ctx, name, timeout_s=120)

    assert summary["counts"]["labelled"] == 1
    assert_exactly_once(ctx, standin, summary)
    with ctx.session() as s:
        assert s.scalar(select(LabelPurchase.attempts)) == 8, "six tries, then the stage's retry bought it"


def test_a_label_bought_for_an_order_that_then_failed_is_refunded(ctx, standin: ShippoStandIn) -> None:
    name = clean_orders(ctx, 1)
    standin.fail_next("create_transaction", "lost", "error")
    standin.fail_next("list_transactions", "stale")
    summary = run_batch(ctx, name, timeout_s=120)

    assert summary["counts"]["failed"] == 1
    assert [row["status"] for row in standin.ledger()] == ["REFUNDED"], "the lost purchase is not left live"
    assert_exactly_once(ctx, standin, summary)


class RecordingJournal(LateJournal):
    """A journal that accepts every label and keeps what it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.files: list[tuple[list, bytes, str]] = []

    def bought(self, labels: object, content: bytes, content_type: str) -> bool:
        self.files.append((list(labels), content, content_type))  # type: ignore[call-overload]
        return True


def test_zpl_labels_are_bought_as_zplii_and_stored_as_zpl(standin: ShippoStandIn) -> None:
    from fulfilment.config import ShippoSettings
    from fulfilment.domain.orders import Address
    from fulfilment.domain.parcel import Parcel
    from fulfilment.domain.shipments import LabelSpec
    from fulfilment.labels.provider import LabelRequest
    from fulfilment.labels.shippo import ShippoProvider

    settings = ShippoSettings("shippo_test_x", standin.url, 2.0, 1000, 1, 0.0, 1)
    here = Address("Ann", "1 Main St", "Austin", "TX", "78701")
    spec = LabelSpec(8, ("O-8",), "W", here, here, "ups", "ups_ground", "Ground", "", 20.0, (("S", 1),))
    journal = RecordingJournal()
    ShippoProvider(settings).obtain([LabelRequest(spec, Parcel(20.0, 8, 6, 4), "zpl")], journal)

    [(labels, content, content_type)] = journal.files
    assert content_type == "application/zpl" and content.startswith(b"^XA") and content.rstrip().endswith(b"^XZ")
    assert labels[0].tracking_number.encode() in content
    purchases = [json.loads(r.body) for r in standin.state.requests if r.url.startswith("/transactions")]
    assert [p["label_file_type"] for p in purchases if r"rate" in p] == ["ZPLII"]
    assert spec_problems(standin.state.requests) == []


def test_an_undeliverable_address_fails_only_its_order(ctx, standin: ShippoStandIn) -> None:
    name = clean_orders(ctx, 6)
    with ctx.session() as s:
        rows = s.execute(select(Order.id, Order.ship_street1).order_by(Order.id)).all()
    streets = Counter(street for _, street in rows)
    bad_id, street = next(row for row in rows if streets[row[1]] == 1)
    standin.state.undeliverable.add(street)
    summary = run_batch(ctx, name, timeout_s=120)

    assert summary["status"] == "completed_with_errors"
    assert (summary["counts"]["labelled"], summary["counts"]["failed"]) == (5, 1)
    assert_exactly_once(ctx, standin, summary)
    with ctx.session() as s:
        failed = s.get(Order, bad_id)
        assert failed.status == "failed" and "Address validation failed" in failed.reason


def test_a_scan_form_closes_out_one_carriers_labels(ctx, standin: ShippoStandIn) -> None:
    from datetime import UTC, datetime

    from pypdf import PdfReader

    from fulfilment.labels.provider import provider_for
    from fulfilment.labels.shippo import PermanentFailure

    name = clean_orders(ctx, 8)
    run_batch(ctx, name, timeout_s=120)
    with ctx.session() as s:
        shipments = list(s.scalars(select(Shipment).where(Shipment.status == "labelled")))
    carrier = Counter(sh.carrier for sh in shipments).most_common(1)[0][0]
    mine = [sh for sh in shipments if sh.carrier == carrier]
    warehouse = next(w for w in ctx.rules.warehouses if w.code == mine[0].warehouse_code)
    provider = provider_for(ctx.settings)

    documents = provider.create_manifest(
        carrier, datetime.now(UTC), warehouse.address, [sh.shippo_transaction_id for sh in mine]
    )

    text = "".join(page.extract_text() for doc in documents for page in PdfReader(io.BytesIO(doc)).pages)
    assert all(sh.tracking_number in text for sh in mine) and f"{len(mine)} parcels" in text
    others = [sh.shippo_transaction_id for sh in shipments if sh.carrier != carrier]
    if others:
        with pytest.raises(PermanentFailure, match="not a label bought from carrier account"):
            provider.create_manifest(carrier, datetime.now(UTC), warehouse.address, others[:1])
    assert spec_problems(standin.state.requests) == []


def test_manifest_create_saves_each_carriers_scan_form_beside_the_manifest(ctx, standin: ShippoStandIn) -> None:
    from datetime import datetime

    from pypdf import PdfReader

    from fulfilment.manifests import create_manifests

    run_batch(ctx, clean_orders(ctx, 8), timeout_s=120)
    with ctx.session() as s:
        shipments = list(s.scalars(select(Shipment).where(Shipment.status == "labelled")))
    warehouse = Counter(sh.warehouse_code for sh in shipments).most_common(1)[0][0]
    mine = {sh.tracking_number for sh in shipments if sh.warehouse_code == warehouse}

    path, manifests = create_manifests(ctx, warehouse, datetime.now(ctx.settings.shop_timezone).date())

    assert path.exists() and {p.tracking_number for m in manifests for p in m.parcels} == mine
    for m in manifests:
        forms = [PdfReader(doc) for doc in m.documents]
        text = "".join(page.extract_text() for form in forms for page in form.pages)
        assert forms and all(p.tracking_number in text for p in m.parcels), m.carrier
    assert len(standin.state.manifests) == len(manifests)
    assert spec_problems(standin.state.requests) == []


def planned_chunk(ctx, orders: int) -> int:
    """A one-chunk batch run up to the label stage, its shipments and purchase intents planned; its chunk id."""
    from fulfilment.batches import start_batch
    from fulfilment.stages.label import plan_shipments
    from fulfilment.steps import run_chunk_stage
    from fulfilment.store.models import Chunk

    batch_id, _ = start_batch(ctx, clean_orders(ctx, orders))
    with ctx.session() as s:
        chunk_id = s.scalars(select(Chunk.id).where(Chunk.batch_id == batch_id)).one()
    for stage in ("screen", "allocate", "route"):
        run_chunk_stage(ctx, chunk_id, stage)
    plan_shipments(ctx, chunk_id, "pdf")
    return chunk_id


def test_a_chunk_sent_again_while_another_worker_buys_is_left_to_that_worker(ctx, standin: ShippoStandIn) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from fulfilment.steps import run_chunk_stage
    from fulfilment.store.models import Chunk, utcnow

    chunk_id = planned_chunk(ctx, 3)
    with ctx.session() as s:
        held = s.scalars(select(LabelPurchase.id).order_by(LabelPurchase.id)).first()
        s.execute(
            update(LabelPurchase).where(LabelPurchase.id == held).values(lease_until=utcnow() + timedelta(minutes=1))
        )

    assert run_chunk_stage(ctx, chunk_id, "label") == [], "the other worker's label is not given up on"
    with ctx.session() as s:
        assert s.get(Chunk, chunk_id).stage == "label"
        assert set(s.scalars(select(Order.status))) == {"routed"}
        assert s.scalar(select(func.count()).where(LabelPurchase.status == "bought")) == 2
        s.execute(update(LabelPurchase).where(LabelPurchase.id == held).values(lease_until=None))

    run_chunk_stage(ctx, chunk_id, "label")

    with ctx.session() as s:
        assert s.get(Chunk, chunk_id).stage == "done"
        assert set(s.scalars(select(Order.status))) == {"labelled"}
    assert len(standin.live_labels()) == 3


def test_a_label_bought_for_an_order_cancelled_meanwhile_is_refunded(ctx, standin: ShippoStandIn) -> None:
    from fulfilment.stages.label import refund_labels
    from fulfilment.steps import run_chunk_stage
    from fulfilment.store.cancel import cancel_order

    chunk_id = planned_chunk(ctx, 3)
    with ctx.session() as s:
        gone = s.scalars(select(Order.id).order_by(Order.id)).first()
        cancel_order(s, gone, "cancelled on TikTok", "webhook:tiktok")

    run_chunk_stage(ctx, chunk_id, "label")
    assert refund_labels(ctx) == 0

    with ctx.session() as s:
        statuses = dict(s.execute(select(Order.id, Order.status)).all())
    assert sorted(statuses.values()) == ["cancelled", "labelled", "labelled"] and statuses[gone] == "cancelled"
    assert sorted(row["status"] for row in standin.ledger()) == ["REFUNDED", "SUCCESS", "SUCCESS"]
    assert_live_labels_recorded(ctx, standin)


def test_a_purchase_held_by_a_dead_worker_is_taken_over_after_the_label_lease(
    tmp_path: Path, sqlite_url: str, standin: ShippoStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FULFILMENT_LABEL_LEASE_S bounds how long a killed worker's purchase blocks its chunk (5 minutes before)."""
    from datetime import timedelta

    from sqlalchemy import update

    from fulfilment.store.models import utcnow
    from fulfilment.store.purchases import DbJournal

    ctx = shippo_ctx(tmp_path, sqlite_url, standin, monkeypatch, FULFILMENT_LABEL_LEASE_S="20")
    summary = run_batch(ctx, clean_orders(ctx, 1), timeout_s=120)
    with ctx.session() as s:
        shipment_id = s.scalar(select(LabelPurchase.shipment_id))
        s.execute(update(LabelPurchase).values(status="open", lease_until=None))
    journal = DbJournal(ctx, summary["batch_id"], "shippo")

    before = utcnow()
    assert journal.claim(shipment_id) is not None
    assert journal.claim(shipment_id) is None, "a second worker keeps off a purchase under lease"
    with ctx.session() as s:
        lease_until = s.scalar(select(LabelPurchase.lease_until))
    assert before + timedelta(seconds=19) <= lease_until <= utcnow() + timedelta(seconds=20)
    with ctx.session() as s:
        s.execute(update(LabelPurchase).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert journal.claim(shipment_id) is not None, "past the lease, the purchase is taken over"


def test_a_call_waits_out_an_outage_of_the_rate_limits_redis(standin: ShippoStandIn, tmp_path: Path) -> None:
    """Seen in a chaos run: Redis restarted during the documents' duplicate sweep, every call of the sweep
    failed at once on the rate limit, and the late duplicate labels it was to refund stayed live."""
    import shutil
    import threading

    from fulfilment.config import ShippoSettings
    from fulfilment.labels.shippo import ShippoProvider
    from tests.chaos.services import PrivateRedis, free_port

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    down = PrivateRedis(free_port(), tmp_path / "redis.log")
    settings = ShippoSettings("shippo_test_x", standin.url, 2.0, 1000, 60, backoff_s=0.1, concurrency=1)
    provider = ShippoProvider(settings, down.url, "outage")
    comes_back = threading.Timer(0.5, down.start)
    comes_back.start()
    try:
        assert provider.bought_for("no-such-rate", "1:O-1") == []
    finally:
        comes_back.join()
        down.stop()
    assert [r.url.split("?")[0] for r in standin.state.requests] == ["/transactions"], "asked once, when Redis was up"


def test_the_sweep_waits_for_a_purchase_that_may_still_land(ctx, standin: ShippoStandIn) -> None:
    """The documents' sweep ran right after the last label was bought, before the late purchase of its first
    (timed out) attempt landed, so the second label stayed live: the sweep waits the provider's `late_s`."""
    import threading

    from sqlalchemy import update

    from fulfilment.stages.label import sweep_labels
    from fulfilment.store.models import utcnow

    summary = run_batch(ctx, clean_orders(ctx, 1), timeout_s=120)
    with ctx.session() as s:
        s.execute(update(LabelPurchase).values(attempts=2, updated_at=utcnow()))  # bought at the second attempt
        ref, rate = s.execute(select(LabelPurchase.order_ref, LabelPurchase.rate_id)).one()
    late = threading.Timer(0.4, standin.create_transaction, ({}, {"rate": rate, "metadata": ref}, None))
    late.start()  # the first attempt's purchase lands 0.4 s from now, well within the 1 s timeout

    sweep_labels(ctx, summary["batch_id"])
    late.join()

    assert len(standin.ledger()) == 2
    assert_exactly_once(ctx, standin, summary)


def test_the_sweep_looks_at_the_rate_the_recorded_label_was_bought_from(ctx, standin: ShippoStandIn) -> None:
    """Seen in a chaos run: the purchase was quoted again (its rate expired) while another worker bought from the
    first rate, so the list of the purchase's rate never showed the recorded label and every sweep gave up."""
    from sqlalchemy import update

    from fulfilment.stages.label import sweep_labels

    summary = run_batch(ctx, clean_orders(ctx, 1), timeout_s=120)
    with ctx.session() as s:
        ref, first = s.execute(select(LabelPurchase.order_ref, LabelPurchase.rate_id)).one()
    stray = standin.create_transaction({}, {"rate": first, "metadata": ref}, None)[1]["object_id"]
    quoted_again = next(r for r in standin.state.rates if r != first)
    with ctx.session() as s:
        s.execute(update(LabelPurchase).values(attempts=2, rate_id=quoted_again))

    sweep_labels(ctx, summary["batch_id"])

    assert {row["transaction"]: row["status"] for row in standin.ledger()}[stray] == "REFUNDED"
    assert_exactly_once(ctx, standin, summary)


class PlannedRefJournal(LateJournal):
    """A journal whose intent was planned with its combined parcel's orders in another order than the spec's."""

    def claim(self, shipment_id: int) -> Intent:
        return Intent(shipment_id, 0, None, None, order_ref=f"{shipment_id}:O-9")

    def bought(self, labels: object, content: bytes, content_type: str) -> bool:
        return True


def test_a_purchase_carries_the_reference_its_intent_stored(standin: ShippoStandIn) -> None:
    """Seen in a chaos run: a combined parcel's purchase carried its smallest order id while the intent stored the
    first planned one, so the sweep never found the label (nor a duplicate of it) under the stored reference."""
    from fulfilment.config import ShippoSettings
    from fulfilment.domain.orders import Address
    from fulfilment.domain.parcel import Parcel
    from fulfilment.domain.shipments import LabelSpec
    from fulfilment.labels.provider import LabelRequest
    from fulfilment.labels.shippo import ShippoProvider

    settings = ShippoSettings("shippo_test_x", standin.url, 2.0, 1000, 1, 0.0, 1)
    here = Address("Ann", "1 Main St", "Austin", "TX", "78701")
    spec = LabelSpec(7, ("O-1", "O-9"), "W", here, here, "usps", "usps_priority", "Priority", "", 12.0, (("S", 1),))
    ShippoProvider(settings).obtain([LabelRequest(spec, Parcel(12.0, 6, 4, 2))], PlannedRefJournal())

    assert [(row["metadata"], row["status"]) for row in standin.ledger()] == [("7:O-9", "SUCCESS")]

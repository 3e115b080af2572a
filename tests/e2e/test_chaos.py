"""The chaos harness at a small size, buying labels from the Shippo stand-in: workers SIGKILLed (before, during
and after labelling), Redis restarted, database connections dropped and 20% of Shippo and TikTok calls failed,
and still every guarantee holds; and the checker does fail when a guarantee is broken."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, delete, select, update

from fulfilment.store.models import AuditEntry, Order, Outbox
from tests.chaos.__main__ import parse, table
from tests.chaos.checks import check
from tests.chaos.harness import PHASES, Options, Result, run
from tests.chaos.labels import shippo_report
from tests.conftest import services_up

SMALL = Options(orders=300, workers=3, kills=4, kill_every_s=1.5, seed=5, labels="shippo", keep=True)


@pytest.fixture(scope="module")
def chaos_run() -> Iterator[Result]:
    """One small chaos run for the module; its database is kept until the module's tests are done."""
    if not services_up():
        pytest.skip("PostgreSQL or Redis not reachable")
    result = run(SMALL)
    try:
        yield result
    finally:
        assert result.database is not None
        result.database.drop()


@pytest.fixture
def engine(chaos_run: Result):
    assert chaos_run.database is not None
    engine = create_engine(chaos_run.database.url.replace("postgresql://", "postgresql+psycopg://"))
    yield engine
    engine.dispose()


def test_a_small_chaos_run_loses_nothing_and_does_nothing_twice(chaos_run: Result) -> None:
    found, chaos = chaos_run.findings, chaos_run.chaos
    assert found.violations == [] and found.lost == 0 and found.duplicated == 0
    assert chaos.kills == SMALL.kills and chaos.redis_restarts == 1 and chaos.db_drops == 1
    assert chaos.dropped_connections >= 1 and chaos.worker_exits == 0
    assert sum(chaos_run.faults.values()) > 0.1 * found.outcomes["labelled"]
    assert sum(found.outcomes.values()) > 0.95 * SMALL.orders
    assert len(chaos_run.ledger) >= found.outcomes["labelled"] > 250  # a split order is one push per package
    assert all(chaos.by_phase[phase] >= 1 for phase in PHASES), chaos.by_phase
    assert {kind.split()[0] for kind in chaos_run.faults} == {"shippo", "tiktok"}
    assert chaos_run.ok
    rows = dict(zip(table(chaos_run).columns[0].cells, table(chaos_run).columns[1].cells, strict=True))
    assert rows["lost"] == "0" and rows["duplicated"] == "0" and rows["worker kills"].startswith("4 of 4")
    assert rows["Shippo labels bought"].startswith(f"{len(chaos_run.label_ledger):,} (")


def test_a_second_live_label_and_an_unrecorded_refund_at_shippo_are_caught(chaos_run: Result, engine) -> None:
    live = [row for row in chaos_run.label_ledger if row["status"] == "SUCCESS"]
    extra = {**live[3], "transaction": "f" * 32}
    refunded = {**live[5], "status": "REFUNDED"}
    ledger = [row for row in chaos_run.label_ledger if row is not live[5]] + [extra, refunded]
    report = shippo_report(engine, chaos_run.batch_id, ledger)
    parcel, lost = live[3]["metadata"].split(":")[0], live[5]["metadata"].split(":")[0]
    assert report.violations == [
        f"1 parcels with two live Shippo labels: {parcel}",
        f"1 live Shippo labels no labelled parcel records: {'f' * 32}",
        f"1 labelled parcels whose label is not live at Shippo: {lost}",
        f"1 refunded Shippo labels nothing records: {live[5]['transaction']}",
    ]
    assert shippo_report(engine, chaos_run.batch_id, chaos_run.label_ledger).violations == []


def test_a_tracking_number_pushed_twice_is_caught(chaos_run: Result, engine) -> None:
    ledger = [*chaos_run.ledger, dict(chaos_run.ledger[7])]
    found = check(engine, chaos_run.batch_id, ledger, chaos_run.initial_stock)
    assert found.duplicated == 1 and found.lost == 0
    assert found.violations == [f"tracking pushed twice for 1 orders: {ledger[7]['order_id']}"]
    assert not dataclasses.replace(chaos_run, findings=found).ok


def test_a_lost_push_a_stuck_order_and_a_gap_in_the_audit_are_caught(chaos_run: Result, engine) -> None:
    with engine.begin() as conn:
        push_id, order_id = conn.execute(select(Outbox.id, Outbox.order_id).limit(1)).one()
        conn.execute(update(Outbox).where(Outbox.id == push_id).values(status="retry"))
        stuck = conn.scalar(select(Order.id).where(Order.status == "held").limit(1))
        conn.execute(update(Order).where(Order.id == stuck).values(status="routed"))
        last = conn.scalar(select(AuditEntry.id).where(AuditEntry.entity == "batch").order_by(AuditEntry.id.desc()))
        conn.execute(delete(AuditEntry).where(AuditEntry.id == last))
    ledger = [e for e in chaos_run.ledger if e["order_id"] != order_id]
    found = check(engine, chaos_run.batch_id, ledger, chaos_run.initial_stock)
    assert found.lost == 2, found.violations  # the push never finished; the order stopped in flight
    text = "\n".join(found.violations)
    assert f"1 tracking pushes never finished: {order_id}" in text
    assert f"1 claimed orders not in a terminal state: {stuck}" in text
    assert f"batch {chaos_run.batch_id}" in text and "audit trails that do not explain the state" in text


def test_the_command_line_takes_the_documented_options() -> None:
    opts = parse(["--orders", "500", "--workers", "2", "--kills", "3", "--labels", "local", "--seed", "9"])
    assert (opts.orders, opts.workers, opts.kills, opts.labels, opts.seed) == (500, 2, 3, "local", 9)
    assert parse([]).orders == 10_000 and parse([]).kills >= 20 and parse([]).labels == "shippo"
    with pytest.raises(SystemExit):
        parse(["--labels", "nowhere"])

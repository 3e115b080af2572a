"""Label providers the harness can run against, as plug-ins: each says how the workers reach it, what faults it
injected and what its own ledger shows against the database (a parcel with two live labels, a label nobody
records). ``--labels local`` renders in-process; ``--labels shippo`` buys from the Shippo stand-in."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine, select

from fulfilment.store.models import AuditEntry, LabelPurchase, Shipment
from tests.standins.shippo import Faults, ShippoStandIn


@dataclass
class LedgerReport:
    """What a provider's ledger shows: violations in words, and rows for the run's table."""

    violations: list[str] = field(default_factory=list)
    rows: list[tuple[str, str]] = field(default_factory=list)


class LabelBackend(Protocol):
    """One label provider under test."""

    name: str

    def start(self, fault_rate: float, seed: int) -> dict[str, str]:
        """Start the provider (and its stand-in); returns the environment the workers need."""

    def faults(self) -> Counter[str]:
        """Faults injected so far, by kind."""

    def ledger(self) -> list[dict[str, Any]]:
        """Every label the provider sold (transaction, metadata, status); empty when nothing is bought."""

    def report(self, engine: Engine, batch_id: str, ledger: list[dict[str, Any]]) -> LedgerReport:
        """What the provider's ledger shows against the database."""

    def stop(self) -> None:
        """Stop the stand-in, if any."""


class LocalLabels:
    """The local renderer: labels are made in-process, so there is no provider ledger and nothing to fail."""

    name = "local"

    def start(self, fault_rate: float, seed: int) -> dict[str, str]:
        return {"FULFILMENT_LABEL_PROVIDER": "local"}

    def faults(self) -> Counter[str]:
        return Counter()

    def ledger(self) -> list[dict[str, Any]]:
        return []

    def report(self, engine: Engine, batch_id: str, ledger: list[dict[str, Any]]) -> LedgerReport:
        return LedgerReport()

    def stop(self) -> None:
        pass


SHIPPO_FAULTS = ("429", "500", "503", "slow", "lost", "late", "stale", "expired")
"""What the Shippo stand-in does to a faulted call: throttling, outages, answers past the client's timeout,
purchases that take effect but never answer (or land after the client gave up), a list that does not show a
purchase yet, and an expired rate. Never ``error``: that is a permanent failure, not a fault to survive."""
SHIPPO_TIMEOUT_S = 2.0
"""The workers' Shippo timeout; the stand-in's slow answers take longer than this."""


class ShippoLabels:
    """The Shippo stand-in on a thread of the harness, failing `fault_rate` of its API calls; its transactions
    are the ledger the checks read."""

    name = "shippo"

    def __init__(self) -> None:
        self.standin: ShippoStandIn | None = None

    def start(self, fault_rate: float, seed: int) -> dict[str, str]:
        faults = Faults(rate=fault_rate, kinds=SHIPPO_FAULTS, seed=seed)
        self.standin = ShippoStandIn(faults=faults, slow_s=SHIPPO_TIMEOUT_S * 1.5).start()
        return {
            "FULFILMENT_LABEL_PROVIDER": "shippo",
            "SHIPPO_API_TOKEN": "shippo_test_chaos",
            "SHIPPO_BASE_URL": self.standin.url,
            "FULFILMENT_SHIPPO_TIMEOUT_S": str(SHIPPO_TIMEOUT_S),
            "FULFILMENT_SHIPPO_RATE_LIMIT": "100000",
            "FULFILMENT_SHIPPO_BACKOFF_S": "0.2",
        }

    def faults(self) -> Counter[str]:
        if self.standin is None:
            return Counter()
        with self.standin.state.lock:
            return Counter(f"shippo {kind}" for _, kind in self.standin.state.injected)

    def ledger(self) -> list[dict[str, Any]]:
        return [] if self.standin is None else self.standin.ledger()

    def report(self, engine: Engine, batch_id: str, ledger: list[dict[str, Any]]) -> LedgerReport:
        return shippo_report(engine, batch_id, ledger)

    def stop(self) -> None:
        if self.standin is not None:
            self.standin.stop()


def shippo_report(engine: Engine, batch_id: str, ledger: list[dict[str, Any]]) -> LedgerReport:
    """Every labelled parcel has exactly one live label at Shippo, the one it records; no live label that no
    labelled parcel records (an orphan: paid for, never shipped); every refunded label accounted for (a
    parcel's own, voided; or a duplicate the audit trail reports); no refund still due."""
    out = LedgerReport()
    with engine.connect() as conn:
        shipments = {
            sid: (status, transaction)
            for sid, status, transaction in conn.execute(
                select(Shipment.id, Shipment.status, LabelPurchase.transaction_id)
                .join(LabelPurchase, LabelPurchase.shipment_id == Shipment.id)
                .where(Shipment.batch_id == batch_id, LabelPurchase.provider == "shippo")
            )
        }
        reported = set(
            conn.scalars(
                select(AuditEntry.reason).where(
                    AuditEntry.entity == "shipment", AuditEntry.to_status == "duplicate_refunded"
                )
            )
        )
    duplicates_reported = {d.split(":", 1)[0].removeprefix("transaction ") for d in reported if d}
    live: dict[int, list[str]] = defaultdict(list)
    refunded: list[tuple[int, str]] = []
    for row in ledger:
        shipment_id = int(str(row["metadata"]).split(":", 1)[0])
        if row["status"] == "SUCCESS":
            live[shipment_id].append(row["transaction"])
        else:
            refunded.append((shipment_id, row["transaction"]))
    labelled = {sid for sid, (status, _) in shipments.items() if status == "labelled"}
    twice = sorted(sid for sid, ts in live.items() if len(ts) > 1)
    if twice:
        out.violations.append(f"{len(twice)} parcels with two live Shippo labels: {_few(twice)}")
    orphans = sorted(t for sid, ts in live.items() for t in ts if sid not in labelled or shipments[sid][1] != t)
    if orphans:
        out.violations.append(f"{len(orphans)} live Shippo labels no labelled parcel records: {_few(orphans)}")
    unbought = sorted(sid for sid in labelled if shipments[sid][1] not in live.get(sid, []))
    if unbought:
        out.violations.append(f"{len(unbought)} labelled parcels whose label is not live at Shippo: {_few(unbought)}")
    voided = [(s, t) for s, t in refunded if shipments.get(s, ("", None)) == ("voided", t)]
    duplicates = [(s, t) for s, t in refunded if t in duplicates_reported and (s, t) not in voided]
    unexplained = sorted(t for s, t in refunded if (s, t) not in voided and t not in duplicates_reported)
    if unexplained:
        out.violations.append(f"{len(unexplained)} refunded Shippo labels nothing records: {_few(unexplained)}")
    due = sorted(sid for sid, (status, _) in shipments.items() if status == "refund_due")
    if due:
        out.violations.append(f"{len(due)} parcels still due a refund: {_few(due)}")
    out.rows.append(
        (
            "Shippo labels bought",
            f"{len(ledger):,} ({sum(map(len, live.values())):,} live, {len(duplicates)} duplicates refunded, "
            f"{len(voided)} voided and refunded)",
        )
    )
    return out


def _few(items: list[Any], n: int = 5) -> str:
    return ", ".join(map(str, items[:n])) + (f" … ({len(items)} in all)" if len(items) > n else "")


LABELS: dict[str, type[LabelBackend]] = {"local": LocalLabels, "shippo": ShippoLabels}
"""The providers `--labels` accepts."""

"""The edge where labels come from: a provider obtains labels for shipment specs and reports them to a journal.

The label stage writes one purchase intent per shipment and commits it before any provider runs; the provider
then works outside any database transaction and tells the :class:`PurchaseJournal` what happened, each report
committed on its own. The local renderer draws a whole chunk on one canvas and reports it once; Shippo buys
label by label and reports each as it lands.

Labels come as PDF (4x6) or ZPL II (FULFILMENT_LABEL_FORMAT); the journal stores the bytes with their content
type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Protocol

from fulfilment.config import Settings
from fulfilment.domain.parcel import Parcel
from fulfilment.domain.shipments import LabelSpec


@dataclass(frozen=True, slots=True)
class LabelRequest:
    """One shipment to label: what goes on it (tracking number still empty), the packed parcel, and the label
    format (``pdf`` or ``zpl``)."""

    spec: LabelSpec
    parcel: Parcel
    label_format: str = "pdf"


@dataclass(frozen=True, slots=True)
class Intent:
    """A purchase intent as stored: how many purchase calls were made, the provider's rate if quoted, and the
    reference the purchase carries (what the sweep looks for later; empty: derived from the spec)."""

    shipment_id: int
    attempts: int
    provider_shipment_id: str | None
    rate_id: str | None
    order_ref: str = ""


@dataclass(frozen=True, slots=True)
class BoughtLabel:
    """A label obtained: its page in the file reported with it, tracking number and the provider's purchase id."""

    shipment_id: int
    tracking_number: str
    page: int = 0
    transaction_id: str | None = None


CONTENT_TYPES = {"pdf": "application/pdf", "zpl": "application/zpl"}
"""Content type stored with label bytes, by label format (``zpl`` also for labels bought as Shippo ``ZPLII``)."""
FORMATS = {content_type: label_format for label_format, content_type in CONTENT_TYPES.items()}


@dataclass(frozen=True, slots=True)
class Quote:
    """The provider's shipment and the rate of the routed service, with its price."""

    shipment_id: str
    rate_id: str
    amount: Decimal
    currency: str


class PurchaseJournal(Protocol):
    """Where a provider records progress; every method commits before it returns."""

    def claim(self, shipment_id: int) -> Intent | None:
        """Lease the shipment's open intent to this worker; None when it is done or another worker holds it."""

    def quoted(self, shipment_id: int, quote: Quote) -> None:
        """The rate the purchase will be made from (and its price, kept on the shipment)."""

    def attempt(self, shipment_id: int) -> int:
        """About to call the provider to buy: count the attempt (committed first); returns the new count."""

    def bought(self, labels: Sequence[BoughtLabel], content: bytes, content_type: str) -> bool:
        """Labels obtained, with the file holding them (page = `BoughtLabel.page`); False when their purchases
        were already resolved (another worker got there first) and nothing was recorded."""

    def recorded(self, shipment_id: int) -> str | None:
        """The provider's purchase id recorded for the shipment, if any."""

    def failed(self, shipment_id: int, reason: str) -> None:
        """The label cannot be had (a permanent failure): the order fails with `reason`."""

    def release(self, shipment_id: int, reason: str) -> None:
        """Give up the lease for now (a retryable failure): a later run tries again."""

    def duplicate(self, shipment_id: int, transaction_id: str, detail: str) -> None:
        """A second label for the shipment was found and refunded: report it."""

    def refunded(self, shipment_id: int, transaction_id: str) -> None:
        """The shipment's own label was refunded (voided, or its orders failed): it will not ship."""


@dataclass(frozen=True, slots=True)
class Settled:
    """A purchase to look at again: recorded after more than one attempt (a purchase that landed late may still
    be out there), or to be refunded (`transaction_id` is then the label to refund, '' if none recorded)."""

    shipment_id: int
    order_ref: str
    rate_id: str
    transaction_id: str
    earlier_rate_ids: tuple[str, ...] = ()
    """Rates the purchase was for before it was quoted again: a label may have landed on one of them too."""


class LabelProvider(Protocol):
    """Obtains labels for a list of shipments and reports each outcome to the journal."""

    name: str
    late_s: float
    """How long after its last attempt a purchase whose answer was lost may still land (a call the client gave
    up on can be done late): the sweep waits that long for it."""

    def obtain(self, requests: Sequence[LabelRequest], journal: PurchaseJournal) -> None: ...

    def sweep(self, settled: Sequence[Settled], journal: PurchaseJournal) -> None:
        """Refund (and report) any label bought for these purchases other than the one recorded."""

    def refund(self, due: Sequence[Settled], journal: PurchaseJournal) -> None:
        """Refund these purchases' own labels (and any stray one), reporting each to the journal."""


@cache
def provider_for(settings: Settings) -> LabelProvider:
    """The provider chosen by FULFILMENT_LABEL_PROVIDER (one per process and settings: caches survive)."""
    if settings.label_provider == "shippo":
        from fulfilment.labels.shippo import ShippoProvider

        assert settings.shippo is not None
        return ShippoProvider(settings.shippo, settings.redis_url, settings.redis_namespace)
    from fulfilment.labels.local import LocalProvider

    return LocalProvider()


def purchase_ref(shipment_id: int, order_id: str) -> str:
    """What a purchase carries in the provider's `metadata` (at most 100 characters): the shipment and its
    first order, so a label found at the provider names its parcel even when an order ships in several."""
    return f"{shipment_id}:{order_id}"[:100]

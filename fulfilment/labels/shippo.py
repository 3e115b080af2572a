"""Labels bought through Shippo with the official SDK, each exactly once.

Per shipment: quote (a Shippo shipment whose rates include the routed service), count the attempt in the
journal (committed before the call), buy the rate (``PDF_4x6``, or ``ZPLII`` when FULFILMENT_LABEL_FORMAT=zpl),
download the label at once and record it. Shippo takes
no idempotency key, so after any attempt whose answer was lost (timeout, dropped connection, 5xx, an answer
that does not decode) the next attempt first lists the transactions of that rate and keeps a label already
bought for the purchase (``metadata`` = shipment id and order id, :func:`purchase_ref`); any further label found
for the rate is refunded and reported.

Shippo's limits (per minute: each kind of POST 500, list GETs 50; a tenth of that for test tokens) are kept with
dramatiq's ``WindowRateLimiter`` shared by every worker (Redis when FULFILMENT_REDIS_URL is set, else in-process):
FULFILMENT_SHIPPO_RATE_LIMIT per POST kind, a tenth of it for lists. A 429 backs off and tries again, and so
does a call whose rate limit could not be asked (Redis down or restarting).
``status: ERROR`` on a 201 is a permanent failure carrying Shippo's messages, except an expired rate, which is
quoted again once.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

import redis
import requests
import shippo
from dramatiq.rate_limits import WindowRateLimiter
from dramatiq.rate_limits.backends import RedisBackend, StubBackend
from shippo.models import components as C
from shippo.models import errors
from shippo.models import operations as O

from fulfilment.config import ShippoSettings
from fulfilment.domain.orders import Address
from fulfilment.labels.provider import (
    CONTENT_TYPES,
    BoughtLabel,
    Intent,
    LabelRequest,
    PurchaseJournal,
    Quote,
    Settled,
    purchase_ref,
)

API_VERSION = "2018-02-08"
MAX_TRIES = 6
"""Tries per call (and purchase attempts per label per run) before the label is left for a later run."""
CONNECT_TIMEOUT_S = 5.0
SETTLE_POLLS = 10
LABEL_FILE_TYPES = {"pdf": C.LabelFileTypeEnum.PDF_4X6, "zpl": C.LabelFileTypeEnum.ZPLII}
LABEL_MAGIC = {"pdf": b"%PDF", "zpl": b"^XA"}
BOUGHT = {"SUCCESS", "QUEUED", "WAITING"}
"""Transaction statuses that mean a label was (or is being) bought."""

log = logging.getLogger(__name__)
T = TypeVar("T")


class PermanentFailure(Exception):
    """The label cannot be bought as asked (bad address, no such service, Shippo's ERROR): the order fails."""


class RetryableFailure(Exception):
    """The label could not be bought now (limits, outages): a later run tries again."""


class _Uncertain(Exception):
    """A purchase call got no usable answer: it may have bought a label."""


class TimeoutSession(requests.Session):
    """A requests session that gives every request a (connect, read) timeout unless one is passed."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout = (min(CONNECT_TIMEOUT_S, timeout_s), timeout_s)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


_stub_backend = StubBackend()


class Throttle:
    """At most `limit` calls per `window` seconds across every worker sharing the backend; `wait` blocks."""

    def __init__(self, backend: Any, key: str, limit: int, window: int) -> None:
        self.limiter = WindowRateLimiter(backend, key, limit=limit, window=window)
        self.pause = min(1.0, window / max(limit, 1))

    def wait(self) -> None:
        while True:
            with self.limiter.acquire(raise_on_failure=False) as acquired:
                if acquired:
                    return
            time.sleep(self.pause * (0.5 + random.random()))


def _address(a: Address) -> C.AddressCreateRequest:
    return C.AddressCreateRequest(
        name=a.name,
        street1=a.street1,
        street2=a.street2 or None,
        city=a.city,
        state=a.state,
        zip=a.zip,
        country=a.country or "US",
        phone=a.phone or None,
    )


def _inches(value: float) -> str:
    return f"{max(value, 1.0):.1f}"


def _messages(t: Any) -> str:
    return "; ".join(f"{m.source or 'Shippo'}: {m.text}" for m in (t.messages or [])) or "no message"


def _rate_id(t: Any) -> str:
    """The id of the rate a transaction was bought from."""
    rate = t.rate
    return str(rate if isinstance(rate, str) or rate is None else rate.object_id or "")


def _status(t: Any) -> str:
    status = t.status
    return str(status.value if hasattr(status, "value") else status)


class ShippoProvider:
    """The :class:`~fulfilment.labels.provider.LabelProvider` that buys labels through Shippo."""

    name = "shippo"

    def __init__(
        self,
        settings: ShippoSettings,
        redis_url: str | None = None,
        namespace: str = "fulfilment",
    ) -> None:
        self.settings = settings
        self.late_s = settings.timeout_s
        backend = RedisBackend(url=redis_url) if redis_url else _stub_backend
        window, limit = settings.rate_window_s, settings.rate_limit
        self.limits = {
            kind: Throttle(backend, f"{namespace}:shippo:{kind}", limit, window)
            for kind in ("shipments", "transactions", "refunds", "manifests")
        }
        self.list_limit = Throttle(backend, f"{namespace}:shippo:lists", max(1, limit // 10), window)
        self._local = threading.local()
        self._accounts: dict[str, str] = {}
        self._accounts_lock = threading.Lock()

    # -- plumbing ------------------------------------------------------------------------------------------

    @property
    def sdk(self) -> shippo.Shippo:
        """One SDK client per thread (each with its own session)."""
        sdk = getattr(self._local, "sdk", None)
        if sdk is None:
            sdk = self._local.sdk = shippo.Shippo(
                api_key_header=self.settings.api_token,
                shippo_api_version=API_VERSION,
                server_url=self.settings.base_url,
                client=TimeoutSession(self.settings.timeout_s),
            )
        return sdk

    def _backoff(self, attempt: int) -> None:
        base = self.settings.backoff_s * (2 ** min(attempt, 5))
        time.sleep(base * (0.5 + random.random() / 2))

    def _call(self, what: str, fn: Callable[[], T], throttle: Throttle | None, purchase: bool = False) -> T:
        """Run one API call under the rate limit, retrying 429s, and (unless it is a purchase) 5xx and
        network errors; a purchase that got no usable answer raises _Uncertain instead."""
        problem = ""
        for attempt in range(MAX_TRIES):
            try:
                if throttle is not None:
                    throttle.wait()
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                problem = f"{what}: the rate limit's Redis did not answer ({exc})"
                self._backoff(attempt)
                continue
            try:
                return fn()
            except errors.SDKError as exc:
                problem = f"{what}: Shippo answered {exc.status_code}: {(exc.body or '')[:300]}"
                if exc.status_code == 429:
                    self._backoff(attempt)
                    continue
                if exc.status_code < 500:
                    raise PermanentFailure(problem) from None
            except (requests.Timeout, requests.ConnectionError) as exc:
                problem = f"{what}: no answer from Shippo ({type(exc).__name__})"
            except (KeyError, AttributeError, TypeError, ValueError) as exc:
                problem = f"{what}: Shippo's answer did not decode ({type(exc).__name__}: {exc})"
            if purchase:
                raise _Uncertain(problem)
            self._backoff(attempt)
        raise RetryableFailure(f"{problem} (after {MAX_TRIES} tries)")

    def _account(self, carrier: str) -> str:
        """The object id of the Shippo carrier account for `carrier`, looked up once per process."""
        with self._accounts_lock:
            if carrier not in self._accounts:
                found = self._call(
                    "carrier accounts",
                    lambda: self.sdk.carrier_accounts.list(O.ListCarrierAccountsRequest(carrier=carrier, results=25)),
                    self.list_limit,
                )
                active = [a for a in (found.results or []) if a.active is not False and a.object_id]
                if not active:
                    raise PermanentFailure(f"no active Shippo carrier account for {carrier}")
                self._accounts[carrier] = active[0].object_id
            return self._accounts[carrier]

    # -- the calls -----------------------------------------------------------------------------------------

    def quote(self, request: LabelRequest) -> Quote:
        """Create a Shippo shipment for the parcel and pick the rate of the routed service."""
        spec, parcel = request.spec, request.parcel
        ref = purchase_ref(spec.shipment_id, spec.order_ids[0])
        body = C.ShipmentCreateRequest(
            address_from=_address(spec.ship_from),
            address_to=_address(spec.ship_to),
            parcels=[
                C.ParcelCreateRequest(
                    length=_inches(parcel.length_in),
                    width=_inches(parcel.width_in),
                    height=_inches(parcel.height_in),
                    distance_unit=C.DistanceUnitEnum.IN,
                    weight=f"{max(spec.weight_oz, 0.1):.2f}",
                    mass_unit=C.WeightUnitEnum.OZ,
                )
            ],
            carrier_accounts=[self._account(spec.carrier)],
            async_=False,
            extra=C.ShipmentExtra(reference_1=spec.order_ids[0][:50]),
            metadata=ref,
        )
        shipment = self._call("shipment", lambda: self.sdk.shipments.create(body), self.limits["shipments"])
        for rate in shipment.rates or []:
            if rate.servicelevel and rate.servicelevel.token == spec.service:
                return Quote(shipment.object_id, rate.object_id, Decimal(rate.amount), rate.currency)
        offered = ", ".join(sorted({r.servicelevel.token for r in shipment.rates or [] if r.servicelevel})) or "none"
        raise PermanentFailure(f"Shippo offered no {spec.service} rate (offered: {offered}; {_messages(shipment)})")

    def _buy(self, rate_id: str, ref: str, label_format: str) -> Any:
        body = C.TransactionCreateRequest(
            rate=rate_id, async_=False, label_file_type=LABEL_FILE_TYPES[label_format], metadata=ref
        )
        transaction = self._call(
            "purchase", lambda: self.sdk.transactions.create(body), self.limits["transactions"], True
        )
        for _ in range(SETTLE_POLLS):
            if _status(transaction) not in ("QUEUED", "WAITING"):
                return transaction
            self._backoff(0)
            transaction = self._transaction(transaction.object_id)
        raise _Uncertain(f"purchase {transaction.object_id} still {_status(transaction)}")

    def _transaction(self, transaction_id: str) -> Any:
        return self._call("purchase status", lambda: self.sdk.transactions.get(transaction_id), None)

    def bought_for(self, rate_id: str, ref: str, showing: str = "") -> list[Any]:
        """Labels already bought from `rate_id` for the purchase `ref`, oldest first.

        `showing` is a label known to be bought for the purchase: Shippo's lists lag behind its purchases, so
        a list without it is not up to date (it may miss a stray too) and is asked again; RetryableFailure
        when it never shows it. A label bought from another rate (the purchase was quoted again meanwhile)
        cannot show: that rate's labels are looked at too."""
        for attempt in range(MAX_TRIES):
            found = self._call(
                "reconcile",
                lambda: self.sdk.transactions.list(O.ListTransactionsRequest(rate=rate_id, results=25)),
                self.list_limit,
            )
            rows = [t for t in found.results or [] if (t.metadata or "") == ref]
            if not showing or any(t.object_id == showing for t in rows):
                bought = [t for t in rows if _status(t) in BOUGHT]
                return sorted(bought, key=lambda t: (t.object_created is None, t.object_created))
            if attempt == 0:
                other = _rate_id(self._transaction(showing))
                if other and other != rate_id:
                    return self.bought_for(rate_id, ref) + self.bought_for(other, ref, showing)
            self._backoff(attempt)
        raise RetryableFailure(f"Shippo's list of rate {rate_id} does not show label {showing} yet")

    def refund_label(self, transaction_id: str) -> None:
        """Ask Shippo to refund (void) one label; a label already refunded counts as done."""
        try:
            self._call("refund", lambda: self.sdk.refunds.create(transaction=transaction_id), self.limits["refunds"])
        except PermanentFailure:
            if _status(self._transaction(transaction_id)) not in ("REFUNDED", "REFUNDPENDING"):
                raise

    def download(self, url: str, label_format: str) -> bytes:
        """The label file behind a (signed, short-lived) label URL, checked to be of the format bought."""
        return self._fetch(url, LABEL_MAGIC[label_format], label_format)

    def _fetch(self, url: str, magic: bytes, kind: str) -> bytes:
        """The file behind a Shippo document URL, retried like an API call, checked to start with `magic`."""
        session = self.sdk.sdk_configuration.client

        def get() -> bytes:
            response = session.get(url)
            if response.status_code != 200 or not response.content.lstrip().startswith(magic):
                raise ValueError(f"{url} answered {response.status_code} without a {kind} file")
            return response.content

        return self._call(f"{kind} download", get, None)

    def create_manifest(
        self, carrier: str, shipment_date: datetime, ship_from: Address, transaction_ids: Sequence[str]
    ) -> list[bytes]:
        """An end-of-day SCAN form for labels bought from one carrier's account: the PDF documents' bytes.

        A manifest buys nothing, so a lost answer is simply asked again (at worst Shippo holds a second form
        for the same labels); ``status: ERROR`` raises PermanentFailure with Shippo's errors."""
        body = C.ManifestCreateRequest(
            carrier_account=self._account(carrier),
            shipment_date=shipment_date.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            address_from=_address(ship_from),
            transactions=list(transaction_ids),
            async_=False,
        )
        manifest = self._call("manifest", lambda: self.sdk.manifests.create(body), self.limits["manifests"])
        for _ in range(SETTLE_POLLS):
            if _status(manifest) != "QUEUED":
                break
            self._backoff(0)
            manifest = self._call("manifest status", partial(self.sdk.manifests.get, manifest.object_id), None)
        if _status(manifest) != "SUCCESS":
            errors = "; ".join(manifest.errors or []) or _status(manifest)
            raise PermanentFailure(f"Shippo could not create the {carrier} SCAN form: {errors}")
        return [self._fetch(url, b"%PDF", "PDF") for url in manifest.documents]

    # -- exactly once --------------------------------------------------------------------------------------

    def obtain(self, requests_: Sequence[LabelRequest], journal: PurchaseJournal) -> None:
        """Buy every label, `concurrency` at a time; each outcome goes to the journal as it happens."""
        with ThreadPoolExecutor(max_workers=self.settings.concurrency, thread_name_prefix="shippo") as pool:
            for _ in pool.map(lambda r: self._obtain_one(r, journal), requests_):
                pass

    def _obtain_one(self, request: LabelRequest, journal: PurchaseJournal) -> None:
        shipment_id = request.spec.shipment_id
        intent = journal.claim(shipment_id)
        if intent is None:
            return
        try:
            self._purchase(request, intent, journal)
        except PermanentFailure as exc:
            journal.failed(shipment_id, str(exc))
        except Exception as exc:  # noqa: BLE001 - anything else leaves the intent open for a later run
            log.warning("shipment %s: label not bought yet: %s", shipment_id, exc)
            journal.release(shipment_id, f"{type(exc).__name__}: {exc}")

    def _purchase(self, request: LabelRequest, intent: Intent, journal: PurchaseJournal) -> None:
        """Buy one label; reconcile first whenever an earlier call may have bought it."""
        shipment_id = intent.shipment_id
        ref = intent.order_ref or purchase_ref(shipment_id, request.spec.order_ids[0])  # the sweep looks for it
        rate_id = intent.rate_id
        uncertain = intent.attempts > 0
        requoted = False
        problem = ""
        for attempt in range(MAX_TRIES + 1):
            if rate_id is None:
                quote = self.quote(request)
                journal.quoted(shipment_id, quote)
                rate_id = quote.rate_id
            if uncertain:
                found = self.bought_for(rate_id, ref)
                if found:
                    self._keep(request, found[0], journal)
                    self._refund_extra(shipment_id, found[1:], journal)
                    return
            if attempt == MAX_TRIES:
                break
            journal.attempt(shipment_id)
            try:
                transaction = self._buy(rate_id, ref, request.label_format)
            except _Uncertain as exc:
                uncertain, problem = True, str(exc)
                self._backoff(attempt)
                continue
            if _status(transaction) == "ERROR":
                text = _messages(transaction)
                if "expired" in text.lower() and not requoted:
                    requoted, rate_id = True, None
                    continue
                raise PermanentFailure(f"Shippo could not buy the label: {text}")
            self._keep(request, transaction, journal)
            if uncertain:
                self._refund_strays(Settled(shipment_id, ref, rate_id, transaction.object_id), journal)
            return
        raise RetryableFailure(problem or "purchase not confirmed")

    def _keep(self, request: LabelRequest, transaction: Any, journal: PurchaseJournal) -> None:
        """Download and record a bought label."""
        if _status(transaction) != "SUCCESS" or not transaction.label_url:
            transaction = self._transaction(transaction.object_id)
            if _status(transaction) != "SUCCESS" or not transaction.label_url:
                raise RetryableFailure(f"purchase {transaction.object_id} is {_status(transaction)}")
        content = self.download(transaction.label_url, request.label_format)
        shipment_id = request.spec.shipment_id
        label = BoughtLabel(shipment_id, transaction.tracking_number, page=0, transaction_id=transaction.object_id)
        bought = journal.bought([label], content, CONTENT_TYPES[request.label_format])
        if not bought and journal.recorded(shipment_id) != transaction.object_id:
            self._refund_extra(shipment_id, [transaction], journal)  # another worker resolved it meanwhile

    def sweep(self, settled: Sequence[Settled], journal: PurchaseJournal) -> None:
        """Look again at purchases that took more than one attempt: a call that timed out may have bought a
        label after the reconcile looked; refund any such label (a failure here is logged, not raised)."""
        for purchase in settled:
            try:
                self._refund_strays(purchase, journal)
            except Exception as exc:  # noqa: BLE001 - a sweep must not fail the batch's documents
                log.warning("shipment %s: duplicate sweep failed: %s", purchase.shipment_id, exc)

    def refund(self, due: Sequence[Settled], journal: PurchaseJournal) -> None:
        """Refund each purchase's own label (and any stray one); a failure is logged and left for the next run."""
        for purchase in due:
            try:
                if purchase.transaction_id:
                    self.refund_label(purchase.transaction_id)
                if purchase.rate_id:
                    self._refund_strays(purchase, journal)
                journal.refunded(purchase.shipment_id, purchase.transaction_id)
            except Exception as exc:  # noqa: BLE001 - one refund failing must not stop the others
                log.warning("shipment %s: refund failed, tried again later: %s", purchase.shipment_id, exc)

    def _refund_strays(self, purchase: Settled, journal: PurchaseJournal) -> None:
        found = self.bought_for(purchase.rate_id, purchase.order_ref, showing=purchase.transaction_id)
        for rate_id in dict.fromkeys(purchase.earlier_rate_ids):
            if rate_id != purchase.rate_id:
                found += self.bought_for(rate_id, purchase.order_ref)
        extra = [t for t in found if t.object_id != purchase.transaction_id]
        self._refund_extra(purchase.shipment_id, extra, journal)

    def _refund_extra(self, shipment_id: int, extra: Sequence[Any], journal: PurchaseJournal) -> None:
        """Refund labels bought twice for one shipment and report each."""
        for transaction in extra:
            self.refund_label(transaction.object_id)
            log.warning("shipment %s: duplicate label %s refunded", shipment_id, transaction.object_id)
            journal.duplicate(shipment_id, transaction.object_id, "a second label for the shipment was refunded")

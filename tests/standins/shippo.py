"""A local, stateful stand-in for the Shippo REST API (version 2018-02-08), for tests and demos.

It speaks enough of the protocol for the real ``shippo`` 3.9.0 SDK: carrier accounts, shipments with rates,
transactions (labels bought from a rate), refunds, SCAN forms (manifests) and label downloads (real PDF bytes
from the local renderer, or ZPL II when the purchase asked for ``ZPLII``). Every request is kept
(``requests``) so tests can check it against the vendored OpenAPI spec, and every label bought is in the
``ledger`` so tests can prove none was bought twice.

Faults are injected per operation, either queued (``fail_next("create_transaction", "lost")``) or at random
(``Faults(rate=0.2, kinds=(...))``). Kinds:

- ``429`` / ``500`` / ``503``: the answer is that status and nothing happens on the server;
- ``slow``: the server does the work, then holds the answer for ``slow_s`` (past the client's timeout);
- ``lost``: the server does the work, then drops the connection without an answer (the duplicate-label trap);
- ``late``: the server holds the request for ``slow_s`` before doing the work (it lands after the client gave up);
- ``error``: (purchases) HTTP 201 with ``status: ERROR`` and carrier messages, nothing bought;
- ``expired``: (purchases) HTTP 201 with ``status: ERROR`` saying the rate expired;
- ``stale``: (lists) an empty page, as if the purchase had not reached the read side yet.

Addresses in ``undeliverable`` (by street line) fail every purchase for them with ``status: ERROR``, as a
carrier's address check does.

Run it for a demo: ``python -m tests.standins.shippo --port 8765`` and set
``SHIPPO_BASE_URL=http://127.0.0.1:8765``.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fulfilment.domain.orders import Address
from fulfilment.domain.shipments import LabelSpec
from fulfilment.domain.tracking import local_tracking_number
from fulfilment.labels.local import labels_pdf_bytes

SERVICES: dict[str, dict[str, tuple[str, Decimal, Decimal]]] = {
    "usps": {
        "usps_ground_advantage": ("Ground Advantage", Decimal("4.75"), Decimal("0.35")),
        "usps_priority": ("Priority Mail", Decimal("8.10"), Decimal("0.55")),
        "usps_priority_express": ("Priority Mail Express", Decimal("27.90"), Decimal("0.90")),
    },
    "ups": {
        "ups_ground": ("Ground", Decimal("9.20"), Decimal("0.40")),
        "ups_3_day_select": ("3 Day Select", Decimal("18.40"), Decimal("0.70")),
        "ups_second_day_air": ("2nd Day Air", Decimal("24.10"), Decimal("0.95")),
    },
    "fedex": {
        "fedex_ground": ("Ground", Decimal("9.05"), Decimal("0.42")),
        "fedex_home_delivery": ("Home Delivery", Decimal("9.35"), Decimal("0.42")),
        "fedex_2_day": ("2Day", Decimal("23.80"), Decimal("0.98")),
    },
}
"""Per carrier: service token → (name, base price, price per pound) of the rates the stand-in quotes."""

CARRIER_NAMES = {"usps": "USPS", "ups": "UPS", "fedex": "FedEx"}
OPERATIONS = {
    ("GET", r"/carrier_accounts/?"): "list_carrier_accounts",
    ("POST", r"/shipments/?"): "create_shipment",
    ("POST", r"/transactions/?"): "create_transaction",
    ("GET", r"/transactions/?"): "list_transactions",
    ("GET", r"/transactions/(?P<id>[^/]+)"): "get_transaction",
    ("POST", r"/refunds/?"): "create_refund",
    ("GET", r"/labels/(?P<id>[^/]+)\.(pdf|zpl)"): "label",
    ("POST", r"/manifests/?"): "create_manifest",
    ("GET", r"/manifests/(?P<id>[^/.]+)"): "get_manifest",
    ("GET", r"/manifests/(?P<id>[^/]+)\.pdf"): "manifest_document",
}


@dataclass
class Faults:
    """Random faults: each call of an operation in `operations` fails with probability `rate`, as one of `kinds`
    (kinds that do not apply to an operation are skipped for it)."""

    rate: float = 0.0
    kinds: tuple[str, ...] = ("429", "500", "slow", "lost")
    operations: tuple[str, ...] = ("create_shipment", "create_transaction", "list_transactions", "get_transaction")
    seed: int = 0


PURCHASE_ONLY = {"error", "expired"}
LIST_ONLY = {"stale"}


@dataclass
class Recorded:
    """One request as received: method, path with query, headers and raw body."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass
class State:
    """Everything the stand-in holds; guarded by `lock`."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    carrier_accounts: list[dict[str, Any]] = field(default_factory=list)
    shipments: dict[str, dict[str, Any]] = field(default_factory=dict)
    rates: dict[str, dict[str, Any]] = field(default_factory=dict)
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    manifests: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    queued: dict[str, list[str]] = field(default_factory=dict)
    injected: list[tuple[str, str]] = field(default_factory=list)
    undeliverable: set[str] = field(default_factory=set)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _oid() -> str:
    return secrets.token_hex(16)


def _address(data: Any) -> dict[str, Any]:
    """An address as Shippo echoes it inside a shipment (a bare object id is kept as such)."""
    if isinstance(data, str):
        return {"object_id": data, "is_residential": None}
    return {**data, "object_id": _oid(), "is_residential": None}


class ShippoStandIn:
    """The server and its state; use as a context manager, or `start()` / `stop()`."""

    def __init__(
        self,
        port: int = 0,
        faults: Faults | None = None,
        latency_s: float = 0.0,
        slow_s: float = 2.0,
        queue_purchases: bool = False,
        tracking_base: int | None = None,
    ) -> None:
        self.state = State()
        self.faults = faults or Faults()
        self.latency_s = latency_s
        self.slow_s = slow_s
        self.queue_purchases = queue_purchases
        self._random = random.Random(self.faults.seed)
        self._serial = tracking_base if tracking_base is not None else random.randrange(10**8, 9 * 10**8)
        for carrier in SERVICES:
            self.state.carrier_accounts.append(
                {
                    "object_id": _oid(),
                    "object_owner": "standin@example.com",
                    "carrier": carrier,
                    "carrier_name": CARRIER_NAMES[carrier],
                    "account_id": f"standin-{carrier}",
                    "active": True,
                    "is_shippo_account": True,
                    "test": True,
                    "metadata": "",
                }
            )
        handler = type("Handler", (_Handler,), {"standin": self})
        self.server = _Server(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ShippoStandIn:
        self._thread = threading.Thread(target=self.server.serve_forever, name="shippo-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> ShippoStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test controls -------------------------------------------------------------------------------------

    def fail_next(self, operation: str, *kinds: str) -> None:
        """Queue faults for the next calls of `operation`, in order."""
        with self.state.lock:
            self.state.queued.setdefault(operation, []).extend(kinds)

    def ledger(self) -> list[dict[str, Any]]:
        """Every label bought (status SUCCESS or refunded): transaction id, rate, metadata, status."""
        with self.state.lock:
            return [
                {"transaction": t["object_id"], "rate": t["rate"], "metadata": t["metadata"], "status": t["status"]}
                for t in self.state.transactions.values()
                if t["status"] in ("SUCCESS", "REFUNDED", "REFUNDPENDING")
            ]

    def live_labels(self) -> dict[str, list[str]]:
        """Labels bought and not refunded, by metadata (the order id): more than one is a duplicate."""
        out: dict[str, list[str]] = {}
        for row in self.ledger():
            if row["status"] == "SUCCESS":
                out.setdefault(row["metadata"], []).append(row["transaction"])
        return out

    def fault_for(self, operation: str) -> str | None:
        """The fault to inject into this call of `operation`, if any."""
        with self.state.lock:
            queued = self.state.queued.get(operation)
            if queued:
                kind = queued.pop(0)
                self.state.injected.append((operation, kind))
                return kind
            f = self.faults
            if f.rate <= 0 or operation not in f.operations or self._random.random() >= f.rate:
                return None
            kinds = [
                k
                for k in f.kinds
                if (k not in PURCHASE_ONLY or operation == "create_transaction")
                and (k not in LIST_ONLY or operation == "list_transactions")
            ]
            if not kinds:
                return None
            kind = self._random.choice(kinds)
            self.state.injected.append((operation, kind))
            return kind

    # -- operations ----------------------------------------------------------------------------------------

    def list_carrier_accounts(self, query: dict[str, str], body: Any) -> tuple[int, Any]:
        rows = [a for a in self.state.carrier_accounts if query.get("carrier") in (None, a["carrier"])]
        return 200, self._page(rows, query)

    def create_shipment(self, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if not body.get("address_from") or not body.get("address_to") or not body.get("parcels"):
            return 400, {"detail": "address_from, address_to and parcels are required"}
        accounts = body.get("carrier_accounts") or [a["object_id"] for a in self.state.carrier_accounts]
        by_id = {a["object_id"]: a for a in self.state.carrier_accounts}
        parcel = body["parcels"][0]
        pounds = Decimal(str(parcel.get("weight", "1"))) / (16 if parcel.get("mass_unit") == "oz" else 1)
        now, shipment_id = _now(), _oid()
        rates = []
        for account_id in accounts:
            account = by_id.get(account_id)
            if account is None:
                return 400, {"carrier_accounts": [f"unknown carrier account {account_id}"]}
            for token, (name, base, per_lb) in SERVICES[account["carrier"]].items():
                amount = str((base + per_lb * pounds).quantize(Decimal("0.01")))
                rate = {
                    "object_id": _oid(),
                    "object_owner": "standin@example.com",
                    "object_created": now,
                    "shipment": shipment_id,
                    "attributes": [],
                    "amount": amount,
                    "amount_local": amount,
                    "currency": "USD",
                    "currency_local": "USD",
                    "provider": CARRIER_NAMES[account["carrier"]],
                    "servicelevel": {"name": name, "token": token},
                    "carrier_account": account_id,
                }
                rates.append(rate)
        shipment = {
            "object_id": shipment_id,
            "object_owner": "standin@example.com",
            "object_created": now,
            "object_updated": now,
            "status": "SUCCESS",
            "metadata": body.get("metadata", ""),
            "extra": body.get("extra", {}),
            "address_from": _address(body["address_from"]),
            "address_to": _address(body["address_to"]),
            "parcels": [{**p, "object_id": _oid()} for p in body["parcels"]],
            "carrier_accounts": accounts,
            "messages": [],
            "rates": rates,
            "shipment_date": body.get("shipment_date") or now,
            "test": True,
        }
        with self.state.lock:
            self.state.shipments[shipment_id] = shipment
            for rate in rates:
                self.state.rates[rate["object_id"]] = rate
        return 201, shipment

    def create_transaction(self, query: dict[str, str], body: Any, fault: str | None) -> tuple[int, Any]:
        rate = self.state.rates.get(body.get("rate", ""))
        if rate is None:
            return 400, {"rate": [f"Rate {body.get('rate')!r} does not exist."]}
        now, tid = _now(), _oid()
        transaction = {
            "object_id": tid,
            "object_owner": "standin@example.com",
            "object_created": now,
            "object_updated": now,
            "object_state": "VALID",
            "created_by": None,
            "status": "SUCCESS",
            "rate": rate["object_id"],
            "metadata": body.get("metadata", ""),
            "label_file_type": body.get("label_file_type", "PDF_4x6"),
            "test": True,
            "messages": [],
            "tracking_status": "UNKNOWN",
            "eta": None,
            "parcel": None,
        }
        street = self.state.shipments[rate["shipment"]]["address_to"].get("street1")
        if fault is None and street in self.state.undeliverable:
            fault = "error"
        if fault in ("error", "expired"):
            text = (
                "The rate has expired: create a new shipment to get current rates."
                if fault == "expired"
                else "Address validation failed: the destination address could not be found."
            )
            transaction["status"] = "ERROR"
            transaction["messages"] = [{"source": rate["provider"], "code": fault, "text": text}]
        else:
            with self.state.lock:
                self._serial += 1
                serial = self._serial
            carrier = next(
                a["carrier"] for a in self.state.carrier_accounts if a["object_id"] == rate["carrier_account"]
            )
            tracking = local_tracking_number(carrier, serial)
            transaction.update(
                tracking_number=tracking,
                tracking_url_provider=f"{self.url}/track/{tracking}",
                label_url=f"{self.url}/labels/{tid}.{'zpl' if transaction['label_file_type'] == 'ZPLII' else 'pdf'}",
                commercial_invoice_url=None,
                qr_code_url=None,
                status="QUEUED" if self.queue_purchases else "SUCCESS",
            )
        with self.state.lock:
            self.state.transactions[tid] = transaction
        return 201, transaction

    def list_transactions(self, query: dict[str, str], body: Any, fault: str | None) -> tuple[int, Any]:
        with self.state.lock:
            self._settle()
            rows = [
                t
                for t in self.state.transactions.values()
                if query.get("rate") in (None, t["rate"]) and query.get("object_status") in (None, t["status"])
            ]
        return 200, self._page([] if fault == "stale" else rows, query)

    def get_transaction(self, query: dict[str, str], body: Any, object_id: str) -> tuple[int, Any]:
        with self.state.lock:
            self._settle()
            found = self.state.transactions.get(object_id)
        return (200, found) if found else (404, {"detail": "Not found."})

    def create_refund(self, query: dict[str, str], body: Any) -> tuple[int, Any]:
        with self.state.lock:
            transaction = self.state.transactions.get(str(body.get("transaction", "")))
            if transaction is None or transaction["status"] != "SUCCESS":
                return 400, {"transaction": ["Only successful transactions can be refunded."]}
            transaction["status"] = "REFUNDED"
            now = _now()
            refund = {
                "object_id": _oid(),
                "object_owner": "standin@example.com",
                "object_created": now,
                "object_updated": now,
                "status": "SUCCESS",
                "transaction": transaction["object_id"],
                "test": True,
            }
            self.state.refunds[refund["object_id"]] = refund
        return 201, refund

    def create_manifest(self, query: dict[str, str], body: Any) -> tuple[int, Any]:
        """A SCAN form for the given labels of one carrier account (every label must be bought from it)."""
        now, mid = _now(), _oid()
        account = str(body.get("carrier_account", ""))
        with self.state.lock:
            if account not in {a["object_id"] for a in self.state.carrier_accounts}:
                return 400, {"carrier_account": [f"unknown carrier account {account}"]}
            ids = [str(t) for t in body.get("transactions") or []]
            found = [self.state.transactions.get(t) for t in ids]
            errors = [
                f"transaction {t}: not a label bought from carrier account {account}"
                for t, found_t in zip(ids, found, strict=True)
                if found_t is None
                or found_t["status"] != "SUCCESS"
                or self.state.rates[found_t["rate"]]["carrier_account"] != account
            ]
            manifest = {
                "object_id": mid,
                "object_owner": "standin@example.com",
                "object_created": now,
                "object_updated": now,
                "status": "ERROR" if errors or not ids else "SUCCESS",
                "errors": errors or ([] if ids else ["no transactions to close out"]),
                "carrier_account": account,
                "shipment_date": body.get("shipment_date", ""),
                "address_from": _oid(),
                "transactions": ids,
                "documents": [] if errors or not ids else [f"{self.url}/manifests/{mid}.pdf"],
            }
            self.state.manifests[mid] = manifest
        return 201, manifest

    def get_manifest(self, query: dict[str, str], body: Any, object_id: str) -> tuple[int, Any]:
        with self.state.lock:
            found = self.state.manifests.get(object_id)
        return (200, found) if found else (404, {"detail": "Not found."})

    def manifest_document(self, object_id: str) -> bytes | None:
        """A SCAN form PDF listing the manifest's tracking numbers, one line each."""
        from reportlab.pdfgen.canvas import Canvas

        with self.state.lock:
            manifest = self.state.manifests.get(object_id)
            if manifest is None or manifest["status"] != "SUCCESS":
                return None
            numbers = [self.state.transactions[t]["tracking_number"] for t in manifest["transactions"]]
        buf = io.BytesIO()
        canvas = Canvas(buf, pagesize=(612, 792))
        canvas.drawString(40, 750, f"SCAN form {object_id} ({manifest['shipment_date']}): {len(numbers)} parcels")
        for i, number in enumerate(numbers):
            if i and i % 60 == 0:
                canvas.showPage()
            canvas.drawString(40, 720 - (i % 60) * 11, number)
        canvas.save()
        return buf.getvalue()

    def label_file(self, object_id: str) -> tuple[bytes, str] | None:
        """The label of a bought transaction and its content type: a 4x6 PDF (or ZPL II) whose barcode is its
        tracking number."""
        with self.state.lock:
            t = self.state.transactions.get(object_id)
            if t is None or "tracking_number" not in t:
                return None
            rate = self.state.rates[t["rate"]]
            shipment = self.state.shipments[rate["shipment"]]

        def addr(a: dict[str, Any]) -> Address:
            keys = ("name", "street1", "city", "state", "zip")
            return Address(**{k: str(a.get(k, "")) for k in keys}, street2=str(a.get("street2", "")))

        carrier = next(k for k, v in CARRIER_NAMES.items() if v == rate["provider"])
        spec = LabelSpec(
            shipment_id=0,
            order_ids=(t["metadata"],),
            warehouse="",
            ship_from=addr(shipment["address_from"]),
            ship_to=addr(shipment["address_to"]),
            carrier=carrier,
            service=rate["servicelevel"]["token"],
            service_name=rate["servicelevel"]["name"],
            tracking_number=t["tracking_number"],
            weight_oz=float(shipment["parcels"][0].get("weight", 0)),
            items=(),
        )
        if t["label_file_type"] == "ZPLII":
            return _zpl(spec).encode(), "application/zpl"
        return labels_pdf_bytes([spec]), "application/pdf"

    def _settle(self) -> None:
        """Queued purchases finish on the next read (caller holds the lock)."""
        for t in self.state.transactions.values():
            if t["status"] == "QUEUED":
                t["status"] = "SUCCESS"

    def _page(self, rows: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
        size = int(query.get("results", "25") or 25)
        page = int(query.get("page", "1") or 1)
        part = rows[(page - 1) * size : page * size]
        more = page * size < len(rows)
        return {
            "next": f"{self.url}?page={page + 1}&results={size}" if more else None,
            "previous": None,
            "results": part,
        }


def _zpl(spec: LabelSpec) -> str:
    """A minimal 4x6 ZPL II label (203 dpi): service, addresses and a Code 128 barcode of the tracking number."""
    to = spec.ship_to
    return (
        "^XA^CI28^PW812^LL1218"
        f"^FO40,40^A0N,40,40^FD{spec.service_name}^FS"
        f"^FO40,120^A0N,30,30^FDTO: {to.name}^FS^FO40,160^A0N,30,30^FD{to.street1}^FS"
        f"^FO40,200^A0N,30,30^FD{to.city}, {to.state} {to.zip}^FS"
        f"^FO40,320^BY3^BCN,200,Y,N,N^FD{spec.tracking_number}^FS"
        "^XZ"
    )


class _Server(ThreadingHTTPServer):
    """Quiet about clients that hang up (they time out on purpose in the fault tests)."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    standin: ShippoStandIn
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        standin = self.standin
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        operation, params = self._route(method, parts.path)
        if operation not in ("label", "manifest_document"):
            with standin.state.lock:
                standin.state.requests.append(Recorded(method, self.path, dict(self.headers.items()), raw))
        if operation is None:
            return self._json(404, {"detail": "Not found."})
        if operation == "label":
            found = standin.label_file(params["id"])
            return self._send(200, *found) if found else self._json(404, {"detail": "Not found."})
        if operation == "manifest_document":
            pdf = standin.manifest_document(params["id"])
            return self._send(200, pdf, "application/pdf") if pdf else self._json(404, {"detail": "Not found."})
        if not (self.headers.get("Authorization") or "").startswith("ShippoToken "):
            return self._json(401, {"detail": "Authentication credentials were not provided."})
        if self.headers.get("SHIPPO-API-VERSION") != "2018-02-08":
            return self._json(400, {"detail": "The requested version is not available."})
        if standin.latency_s:
            time.sleep(standin.latency_s)
        fault = standin.fault_for(operation)
        if fault in ("429", "500", "503"):
            return self._json(int(fault), {"detail": f"injected {fault}"})
        if fault == "late":
            time.sleep(standin.slow_s)
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return self._json(400, {"detail": "body is not JSON"})
        handler = getattr(standin, operation)
        if operation in ("create_transaction", "list_transactions"):
            status, answer = handler(query, body, fault)
        elif params:
            status, answer = handler(query, body, *params.values())
        else:
            status, answer = handler(query, body)
        if fault == "lost":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return None
        if fault == "slow":
            time.sleep(standin.slow_s)
        return self._json(status, answer)

    def _route(self, method: str, path: str) -> tuple[str | None, dict[str, str]]:
        for (m, pattern), name in OPERATIONS.items():
            found = re.fullmatch(pattern, path)
            if m == method and found:
                return name, found.groupdict()
        return None, {}

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


@contextmanager
def running(**options: Any) -> Iterator[ShippoStandIn]:
    """A started stand-in, stopped on exit."""
    with ShippoStandIn(**options) as standin:
        yield standin


def main(argv: list[str] | None = None) -> None:
    """Serve the stand-in until interrupted."""
    parser = argparse.ArgumentParser(description="A local Shippo stand-in for demos and tests.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every API answer")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of calls that fail (429, 5xx, ...)")
    args = parser.parse_args(argv)
    standin = ShippoStandIn(port=args.port, faults=Faults(rate=args.fault_rate), latency_s=args.latency_ms / 1000)
    print(f"Shippo stand-in on {standin.url} (SHIPPO_BASE_URL={standin.url}); Ctrl-C stops it", flush=True)
    try:
        standin.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        standin.server.server_close()


if __name__ == "__main__":
    main()

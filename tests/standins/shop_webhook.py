"""A shop that takes tracking numbers as signed webhooks (the receiving end of ``channels/webhook_push.py``),
written from the README's description, not from the sender's code.

It checks the signature (HMAC-SHA256 of ``timestamp + "." + body``, compared in constant time) and the timestamp
(within five minutes), records each delivery once per ``Idempotency-Key`` (a repeat is answered 200 and not
recorded again), and injects faults: ``429``, ``5xx``, ``slow`` (recorded, then the answer comes `slow_s` late:
the sender times out without knowing it took) and ``lost`` (recorded, then answered 503).

In a test: ``shop = WebhookShop(secret="..."); url = shop.start()``; ``shop.stop()``.
As a script: ``python -m tests.standins.shop_webhook --port 8766 --secret s3cret --fault-rate 0.2``.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.standins.http import Faults, JsonHandler, Request, Served

FAULT_KINDS = ("429", "5xx", "slow", "lost")
TIMESTAMP_WINDOW_S = 300


def valid_signature(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """Whether ``X-Fulfilment-Signature`` matches the body, compared in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.encode(), expected.encode())


@dataclass
class WebhookShop(Served):
    """The shop's deliveries (one per Idempotency-Key) and every request it refused."""

    secret: str = "shop-secret"
    faults: Faults = field(default_factory=lambda: Faults(kinds=FAULT_KINDS))
    deliveries: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def receive(self, request: Request) -> tuple[int, dict[str, Any]]:
        """Check and record one delivery; returns the HTTP status and the JSON answer."""
        stamp = request.headers.get("x-fulfilment-timestamp", "")
        if not valid_signature(self.secret, stamp, request.body, request.headers.get("x-fulfilment-signature", "")):
            return 401, {"message": "signature does not match: check the shared secret"}
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > TIMESTAMP_WINDOW_S:
            return 401, {"message": "timestamp outside the 5-minute window"}
        key = request.headers.get("idempotency-key", "")
        if not key:
            return 400, {"message": "Idempotency-Key header is missing"}
        shipment = json.loads(request.body)
        with self._lock:
            self.requests["repeat" if key in self.deliveries else "new"] += 1
            self.deliveries.setdefault(key, shipment)
        return 200, {"id": key}


class _Handler(JsonHandler):
    owner: WebhookShop

    def serve(self, request: Request) -> None:
        shop = self.owner
        fault = shop.faults.pick(request.path)
        if fault == "429":
            return self.send_json(429, {"message": "slow down"})
        if fault == "5xx":
            return self.send_json(502, {"message": "bad gateway"})
        status, answer = shop.receive(request)
        if fault == "slow":
            time.sleep(shop.faults.slow_s)
        if fault == "lost":
            return self.send_json(503, {"message": "service unavailable"})
        self.send_json(status, answer)


WebhookShop.handler = _Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--secret", default="shop-secret")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    args = parser.parse_args()
    shop = WebhookShop(args.secret, Faults(rate=args.fault_rate, kinds=FAULT_KINDS))
    print(f"webhook shop stand-in on {shop.start(args.port)}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        shop.stop()
        print(json.dumps(list(shop.deliveries.values()), indent=2))


if __name__ == "__main__":
    main()

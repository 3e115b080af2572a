"""A signed webhook as a tracking channel, for shops other than TikTok: one JSON POST per (order, parcel).

The body is the shipment (order id, tracking number, carrier, service, items). Headers: ``X-Fulfilment-Timestamp``
(unix seconds), ``X-Fulfilment-Signature: sha256=<hex>`` with hex = HMAC-SHA256(key=secret, msg=timestamp + "." +
raw body), and ``Idempotency-Key``, the same on every attempt of one push, so the shop can recognise a retry.
2xx means taken; 429, 5xx, timeouts and connection errors are tried again later; any other answer is a refusal
kept with the shop's message for a person.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import requests

from fulfilment.channels.base import WEBHOOK_PREFIX, ChannelError, Push
from fulfilment.config import WebhookSettings

SIGNATURE_HEADER = "X-Fulfilment-Signature"
TIMESTAMP_HEADER = "X-Fulfilment-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
MESSAGE_CHARS = 500
"""How much of a refusal's answer is kept as the parked push's message."""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Fulfilment-Signature`` header value for a body sent at `timestamp`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def payload(push: Push) -> dict[str, Any]:
    """The JSON a shop receives for one push."""
    return {
        "order_id": push.order_id,
        "tracking_number": push.tracking_number,
        "carrier": push.carrier,
        "carrier_name": push.provider_name,
        "service": push.service,
        "items": [{"sku": item.sku, "quantity": item.quantity} for item in push.items],
    }


def _message(answer: requests.Response) -> str:
    """The receiver's reason: a JSON ``message`` or ``error`` field, else the start of the body."""
    try:
        body = answer.json()
    except ValueError:
        body = None
    text = ""
    if isinstance(body, dict):
        text = str(body.get("message") or body.get("error") or "")
    text = text or answer.text.strip() or answer.reason or ""
    return text[:MESSAGE_CHARS]


class WebhookChannel:
    """POSTs each push to one shop's URL, signed with its secret."""

    def __init__(self, settings: WebhookSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.name = WEBHOOK_PREFIX + settings.name
        self._clock = clock
        self._http = requests.Session()

    def already_sent(self, push: Push) -> str | None:
        """A webhook has no read-back: a retry is sent again with the same Idempotency-Key and the shop dedupes."""
        return None

    def send(self, push: Push) -> str:
        body = json.dumps(payload(push), separators=(",", ":")).encode()
        stamp = str(int(self._clock()))
        headers = {
            "content-type": "application/json",
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: signature(self.settings.secret, stamp, body),
            IDEMPOTENCY_HEADER: push.key,
        }
        where = f"{self.settings.name} webhook"
        try:
            answer = self._http.post(self.settings.url, data=body, headers=headers, timeout=self.settings.timeout_s)
        except requests.RequestException as exc:
            raise ChannelError(f"{where} got no answer: {exc.__class__.__name__}", transient=True) from exc
        if answer.status_code < 300:
            return push.key[:64]
        transient = answer.status_code == 429 or answer.status_code >= 500
        raise ChannelError(f"{where}: HTTP {answer.status_code}: {_message(answer)}", transient)

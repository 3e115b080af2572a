"""A client of the TikTok Shop Partner API (version 202309): signed requests, the envelope, and errors sorted
into transient (try again later) and permanent (a person must look) ones. See ``tiktok.md`` section 3."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import requests

from fulfilment.channels.tiktok_sign import request_sign
from fulfilment.config import TikTokSettings

MAX_PAGE_SIZE = 100
MAX_DETAIL_IDS = 50
RETRY_CODES = frozenset({36009003, 36009004})
"""Envelope codes that mean "busy, try again" (system busy, rate limited)."""
READ_ATTEMPTS = 6
T = TypeVar("T")


class TikTokError(Exception):
    """A call that did not succeed: HTTP status (0 when no answer came), envelope code and TikTok's message."""

    def __init__(self, message: str, http: int = 0, code: int | None = None, request_id: str = "") -> None:
        super().__init__(message)
        self.message, self.http, self.code, self.request_id = message, http, code, request_id

    @property
    def transient(self) -> bool:
        """True when trying again later may succeed: no answer, HTTP 429 or 5xx, or a "busy" code."""
        return self.http == 0 or self.http == 429 or self.http >= 500 or self.code in RETRY_CODES

    def __str__(self) -> str:
        parts = [f"HTTP {self.http}" if self.http else "no answer"]
        if self.code is not None:
            parts.append(f"code {self.code}")
        if self.request_id:
            parts.append(f"request {self.request_id}")
        return f"TikTok: {self.message} ({', '.join(parts)})"


def backoff_s(attempt: int, base_s: float = 0.2, cap_s: float = 30.0) -> float:
    """Exponential backoff before try number `attempt` + 1 (attempt counts from 1)."""
    return min(cap_s, base_s * 2 ** (attempt - 1))


class TikTokClient:
    """Signed calls to one shop; reads are retried on transient errors, writes never are (the caller decides)."""

    def __init__(
        self,
        settings: TikTokSettings,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self._clock, self._sleep = clock, sleep
        self._http = requests.Session()
        self._providers: dict[str, dict[str, str]] = {}
        self._guard = threading.Lock()

    def call(self, method: str, path: str, params: Mapping[str, str] | None = None, body: Any = None) -> dict[str, Any]:
        """One signed request; returns the envelope's ``data`` or raises TikTokError."""
        s = self.settings
        query = {
            **(params or {}),
            "app_key": s.app_key,
            "timestamp": str(int(self._clock())),
            "shop_cipher": s.shop_cipher,
        }
        raw = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        query["sign"] = request_sign(s.app_secret, path, query, raw)
        headers = {"x-tts-access-token": s.access_token, "content-type": "application/json"}
        try:
            answer = self._http.request(
                method, s.base_url + path, params=query, data=raw or None, headers=headers, timeout=s.timeout_s
            )
        except requests.RequestException as exc:
            raise TikTokError(f"{method} {path} got no answer: {exc.__class__.__name__}") from exc
        try:
            envelope = answer.json()
            code = int(envelope["code"])
        except (ValueError, KeyError, TypeError):
            raise TikTokError(f"{method} {path}: not a TikTok answer", answer.status_code) from None
        if code != 0:
            message = str(envelope.get("message") or "error")
            raise TikTokError(message, answer.status_code, code, str(envelope.get("request_id", "")))
        if answer.status_code >= 400:
            raise TikTokError(f"{method} {path}: HTTP error with code 0", answer.status_code, code)
        return envelope.get("data") or {}

    def read(self, method: str, path: str, params: Mapping[str, str] | None = None, body: Any = None) -> Any:
        """A call that changes nothing, retried with backoff on transient errors."""
        return self._retrying(lambda: self.call(method, path, params, body))

    def _retrying(self, attempt: Callable[[], T]) -> T:
        tries = 1
        while True:
            try:
                return attempt()
            except TikTokError as exc:
                if not exc.transient or tries == READ_ATTEMPTS:
                    raise
                self._sleep(backoff_s(tries))
                tries += 1

    def search_orders(self, filters: Mapping[str, Any], page_size: int = MAX_PAGE_SIZE) -> Iterator[list[str]]:
        """Order ids matching `filters`, one page at a time, oldest update first."""
        token = ""
        while True:
            params = {"page_size": str(page_size), "sort_field": "update_time", "sort_order": "ASC"}
            if token:
                params["page_token"] = token
            data = self.read("POST", "/order/202309/orders/search", params, dict(filters))
            yield [str(order["id"]) for order in data.get("orders", [])]
            token = data.get("next_page_token") or ""
            if not token:
                return

    def order_details(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Full orders for `ids`, asked for in groups of 50."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), MAX_DETAIL_IDS):
            part = ",".join(ids[start : start + MAX_DETAIL_IDS])
            found.extend(self.read("GET", "/order/202309/orders", {"ids": part}).get("orders", []))
        return found

    def provider_id(self, delivery_option_id: str, name: str) -> str:
        """The shipping provider id TikTok uses for carrier `name` on this delivery option (cached)."""
        with self._guard:
            known = self._providers.get(delivery_option_id)
        if known is None:
            path = f"/logistics/202309/delivery_options/{delivery_option_id}/shipping_providers"
            known = {p["name"]: str(p["id"]) for p in self.read("GET", path).get("shipping_providers", [])}
            with self._guard:
                self._providers[delivery_option_id] = known
        if name not in known:
            raise TikTokError(f"no shipping provider {name!r} for delivery option {delivery_option_id}")
        return known[name]

    def packages(self, order_id: str) -> list[dict[str, Any]]:
        """The packages TikTok holds for an order (to learn whether an earlier push took)."""
        return list(self.read("GET", f"/fulfillment/202309/orders/{order_id}/packages").get("packages", []))

    def ship_package(self, order_id: str, tracking: str, provider_id: str, line_item_ids: Sequence[str]) -> str:
        """Mark the line items shipped in one package with this tracking number; returns the package id.

        Not retried here: after a transient error the push reads :meth:`packages` before sending again.
        """
        body = {
            "tracking_number": tracking,
            "shipping_provider_id": provider_id,
            "order_line_item_ids": list(line_item_ids),
        }
        return str(self.call("POST", f"/fulfillment/202309/orders/{order_id}/packages", body=body)["package_id"])

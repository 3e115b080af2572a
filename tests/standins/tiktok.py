"""A local TikTok Shop Partner API (version 202309) stand-in, following ``tiktok.md`` section 3.

It checks every request's signature exactly (HTTP 401, code 106001 on a bad sign or a timestamp outside five
minutes), answers in the ``{code, message, request_id, data}`` envelope, keeps orders and packages, and records
every accepted package in a ledger. Faults can be injected per request: ``bad_sign`` (401), ``429``, ``5xx``,
``code`` (HTTP 200 with a retryable code ≠ 0), ``slow`` (the request takes effect, then the answer comes
`slow_s` later: a caller that times out cannot know it took) and ``lost`` (takes effect, then answers 503).

In a test: ``shop = TikTokShop(...); url = shop.start()`` serves on a thread; ``shop.stop()``.
As a script: ``python -m tests.standins.tiktok --port 8765 --orders 500 --fault-rate 0.2``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fulfilment.channels.tiktok_sign import verify_request
from tests.standins.http import Faults, JsonHandler, Request, Served

CODE_BAD_SIGN = 106001
CODE_BAD_TOKEN = 105002
CODE_INVALID_PARAM = 40006
CODE_RATE_LIMITED = 36009004
CODE_BUSY = 36009003
CODE_ORDER_CANCELLED = 21011001
CODE_BAD_TRACKING = 21011002
CODE_LINE_ITEMS_SHIPPED = 21011003
CODE_NOT_FOUND = 21011004
TIMESTAMP_WINDOW_S = 300
MAX_PAGE_SIZE = 100
MAX_DETAIL_IDS = 50
TRACKING = re.compile(r"[A-Za-z0-9\-_./]{4,50}")
FAULT_KINDS = ("bad_sign", "429", "5xx", "code", "slow", "lost")
SHIPPABLE = ("AWAITING_SHIPMENT", "PARTIALLY_SHIPPING")
PROVIDERS = [
    {"id": "7117858858072016686", "name": "USPS"},
    {"id": "7117859084333745966", "name": "UPS"},
    {"id": "7129736293314053933", "name": "FedEx"},
    {"id": "7212608507307099950", "name": "DHL eCommerce"},
]


class ApiError(Exception):
    """An answer other than success: HTTP status, envelope code and message."""

    def __init__(self, http: int, code: int, message: str) -> None:
        super().__init__(message)
        self.http, self.code, self.message = http, code, message


@dataclass
class TikTokShop(Served):
    """The shop's state and the request handling; serve it with :meth:`start`."""

    app_key: str = "standin-key"
    app_secret: str = "standin-secret"
    access_token: str = "standin-token"
    shop_cipher: str = "standin-cipher"
    faults: Faults = field(default_factory=lambda: Faults(kinds=FAULT_KINDS))
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    packages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ledger: list[dict[str, Any]] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._package_seq = 1152921504606846976

    # --- set-up ------------------------------------------------------------------------------------------

    def add_orders(self, orders: list[dict[str, Any]]) -> None:
        with self._lock:
            for order in orders:
                self.orders[order["id"]] = order

    # --- requests ----------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> Any:
        """Check the request and run it; returns `data` or raises ApiError. Faults are applied by the caller."""
        now = time.time()
        if query.get("app_key") != self.app_key or not verify_request(
            self.app_secret, path, query, body, headers.get("content-type", "")
        ):
            raise ApiError(401, CODE_BAD_SIGN, "Invalid signature")
        try:
            stamp = int(query.get("timestamp", ""))
        except ValueError:
            stamp = 0
        if abs(now - stamp) > TIMESTAMP_WINDOW_S:
            raise ApiError(401, CODE_BAD_SIGN, "Invalid timestamp: outside the 5-minute window")
        if headers.get("x-tts-access-token") != self.access_token:
            raise ApiError(401, CODE_BAD_TOKEN, "Invalid access token")
        if query.get("shop_cipher") != self.shop_cipher:
            raise ApiError(400, CODE_INVALID_PARAM, "Invalid shop_cipher")
        payload = json.loads(body) if body else {}
        route = _route(method, path)
        if route is None:
            raise ApiError(404, CODE_NOT_FOUND, f"No API {method} {path}")
        name, arg = route
        with self._lock:
            self.requests[name] += 1
            return getattr(self, f"_{name}")(arg, query, payload)

    def _search(self, _: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        size = _int(query.get("page_size"), "page_size")
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise ApiError(400, CODE_INVALID_PARAM, f"page_size must be 1 to {MAX_PAGE_SIZE}")
        token = query.get("page_token", "")
        start = _int(token, "page_token") if token else 0
        found = sorted(
            (o for o in self.orders.values() if _matches(o, body)), key=lambda o: (o["update_time"], o["id"])
        )
        page = found[start : start + size]
        more = start + size < len(found)
        return {
            "orders": [{k: o[k] for k in ("id", "status", "create_time", "update_time")} for o in page],
            "next_page_token": str(start + size) if more else "",
            "total_count": len(found),
        }

    def _detail(self, _: str, query: dict[str, str], __: dict[str, Any]) -> dict[str, Any]:
        ids = [i for i in query.get("ids", "").split(",") if i]
        if not 1 <= len(ids) <= MAX_DETAIL_IDS:
            raise ApiError(400, CODE_INVALID_PARAM, f"ids must hold 1 to {MAX_DETAIL_IDS} order ids")
        return {"orders": [self.orders[i] for i in ids if i in self.orders]}

    def _providers(self, delivery_option_id: str, _: dict[str, str], __: dict[str, Any]) -> dict[str, Any]:
        return {"shipping_providers": PROVIDERS}

    def _packages_of(self, order_id: str, _: dict[str, str], __: dict[str, Any]) -> dict[str, Any]:
        if order_id not in self.orders:
            raise ApiError(200, CODE_NOT_FOUND, f"Order {order_id} not found")
        return {"packages": self.packages.get(order_id, [])}

    def _ship(self, order_id: str, _: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        order = self.orders.get(order_id)
        if order is None:
            raise ApiError(200, CODE_NOT_FOUND, f"Order {order_id} not found")
        if order["status"] == "CANCELLED":
            raise ApiError(200, CODE_ORDER_CANCELLED, "The order has been cancelled")
        tracking = str(body.get("tracking_number", ""))
        if not TRACKING.fullmatch(tracking):
            raise ApiError(200, CODE_BAD_TRACKING, "Invalid tracking number: 4-50 characters of A-Z a-z 0-9 - _ . /")
        if body.get("shipping_provider_id") not in {p["id"] for p in PROVIDERS}:
            raise ApiError(200, CODE_INVALID_PARAM, "Invalid shipping_provider_id for this delivery option")
        items = [str(i) for i in body.get("order_line_item_ids", [])]
        known = {li["id"] for li in order["line_items"]}
        shipped = {i for p in self.packages.get(order_id, []) for i in p["order_line_item_ids"]}
        if not items or not set(items) <= known:
            raise ApiError(200, CODE_INVALID_PARAM, "order_line_item_ids do not belong to the order")
        if set(items) & shipped or order["status"] not in SHIPPABLE:
            raise ApiError(200, CODE_LINE_ITEMS_SHIPPED, "Some line items are already in a package")
        self._package_seq += 1
        package = {
            "id": str(self._package_seq),
            "tracking_number": tracking,
            "shipping_provider_id": body["shipping_provider_id"],
            "order_line_item_ids": items,
        }
        self.packages.setdefault(order_id, []).append(package)
        self.ledger.append({"order_id": order_id, **package})
        order["status"] = "AWAITING_COLLECTION" if shipped | set(items) == known else "PARTIALLY_SHIPPING"
        order["update_time"] = int(time.time())
        return {"package_id": package["id"]}


ROUTES = (
    ("POST", re.compile(r"/order/202309/orders/search"), "search"),
    ("GET", re.compile(r"/order/202309/orders"), "detail"),
    ("GET", re.compile(r"/logistics/202309/delivery_options/([^/]+)/shipping_providers"), "providers"),
    ("POST", re.compile(r"/fulfillment/202309/orders/([^/]+)/packages"), "ship"),
    ("GET", re.compile(r"/fulfillment/202309/orders/([^/]+)/packages"), "packages_of"),
)


def _route(method: str, path: str) -> tuple[str, str] | None:
    for verb, pattern, name in ROUTES:
        match = pattern.fullmatch(path)
        if verb == method and match:
            return name, match.group(1) if pattern.groups else ""
    return None


def _int(value: str | None, name: str) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise ApiError(400, CODE_INVALID_PARAM, f"{name} must be a whole number") from None


def _matches(order: dict[str, Any], body: dict[str, Any]) -> bool:
    if "order_status" in body and order["status"] != body["order_status"]:
        return False
    if "shipping_type" in body and order["shipping_type"] != body["shipping_type"]:
        return False
    for name, op in (("update_time_ge", int.__ge__), ("update_time_lt", int.__lt__)):
        if name in body and not op(order["update_time"], int(body[name])):
            return False
    for name, op in (("create_time_ge", int.__ge__), ("create_time_lt", int.__lt__)):
        if name in body and not op(order["create_time"], int(body[name])):
            return False
    return True


class _Handler(JsonHandler):
    owner: TikTokShop

    def serve(self, request: Request) -> None:
        shop = self.owner
        fault = shop.faults.pick(request.path)
        if fault == "bad_sign":
            return self._send(401, CODE_BAD_SIGN, "Invalid signature", None)
        if fault == "429":
            return self._send(429, CODE_RATE_LIMITED, "Too many requests", None)
        if fault == "5xx":
            return self._send(random.choice((500, 502, 503)), 1, "Internal error", None)
        if fault == "code":
            return self._send(200, CODE_BUSY, "System busy, please try again later", None)
        try:
            data = shop.handle(request.method, request.path, request.query, request.headers, request.body)
        except ApiError as exc:
            return self._send(exc.http, exc.code, exc.message, None)
        except (ValueError, KeyError, TypeError) as exc:
            return self._send(400, CODE_INVALID_PARAM, f"Bad request: {exc}", None)
        if fault == "slow":
            time.sleep(shop.faults.slow_s)
        if fault == "lost":
            return self._send(503, 1, "Service unavailable", None)
        self._send(200, 0, "Success", data)

    def _send(self, status: int, code: int, message: str, data: Any) -> None:
        self.send_json(status, {"code": code, "message": message, "request_id": uuid.uuid4().hex, "data": data or {}})


TikTokShop.handler = _Handler


# --- sample orders -------------------------------------------------------------------------------------------

STATES = (
    ("CA", "California", "Los Angeles", "90012"),
    ("NY", "New York", "Brooklyn", "11201"),
    ("MA", "Massachusetts", "Cambridge", "02139"),
    ("TX", "Texas", "Austin", "78701"),
)
SKUS = ("TEE-BLK-S", "TEE-BLK-M", "TEE-BLK-L", "TEE-WHT-M", "MUG-CRM-11")  # in the bundled sample catalog


def make_order(n: int, now: int, status: str = "AWAITING_SHIPMENT", **overrides: Any) -> dict[str, Any]:
    """A realistic seller-shipped US order (one line item per unit), numbered `n`."""
    rng = random.Random(n)
    code, name, city, zip_ = STATES[n % len(STATES)]
    order_id = str(576000000000000000 + n)
    skus = [rng.choice(SKUS) for _ in range(rng.randint(1, 4))]
    order: dict[str, Any] = {
        "id": order_id,
        "status": status,
        "user_id": f"buyer{n % 997}",
        "create_time": now - 7200 + n % 3600,
        "paid_time": now - 7100 + n % 3600,
        "update_time": now - 6000 + n % 3600,
        "rts_sla_time": now + 86400,
        "shipping_due_time": now + 3 * 86400,
        "shipping_type": "SELLER",
        "delivery_option_id": "7091146663229654785",
        "is_buyer_request_cancel": False,
        "has_updated_recipient_address": False,
        "is_sample_order": False,
        "auto_combine_group_id": "",
        "buyer_message": "",
        "recipient_address": {
            "name": f"Buyer {n}",
            "phone_number": "(+1)5555550101",
            "address_line1": f"{100 + n % 900} Main St",
            "address_line2": "",
            "address_line3": "",
            "address_line4": "",
            "postal_code": zip_,
            "region_code": "US",
            "district_info": [
                {"address_level": "L0", "address_name": "United States", "iso_code": "US"},
                {"address_level": "L1", "address_name": name, "iso_code": f"US-{code}"},
                {"address_level": "L3", "address_name": city, "iso_code": ""},
            ],
        },
        "payment": {"currency": "USD", "sub_total": "0", "shipping_fee": "0", "total_amount": "0"},
        "line_items": [
            {
                "id": f"{order_id[:-3]}{n % 1000:03d}{i:02d}",
                "sku_id": f"17{SKUS.index(sku):05d}",
                "seller_sku": sku,
                "product_name": sku.replace("-", " ").title(),
                "sale_price": "9.99",
                "room_id": "",
            }
            for i, sku in enumerate(skus)
        ],
    }
    order["payment"]["sub_total"] = order["payment"]["total_amount"] = f"{9.99 * len(skus):.2f}"
    order.update(overrides)
    return order


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--orders", type=int, default=200, help="sample orders to start with")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--faults", default=",".join(FAULT_KINDS), help="comma-separated fault kinds")
    parser.add_argument("--app-key", default="standin-key")
    parser.add_argument("--app-secret", default="standin-secret")
    parser.add_argument("--access-token", default="standin-token")
    parser.add_argument("--shop-cipher", default="standin-cipher")
    args = parser.parse_args()
    shop = TikTokShop(
        args.app_key,
        args.app_secret,
        args.access_token,
        args.shop_cipher,
        Faults(rate=args.fault_rate, kinds=tuple(k for k in args.faults.split(",") if k) or FAULT_KINDS),
    )
    now = int(time.time())
    shop.add_orders([make_order(n, now) for n in range(args.orders)])
    print(f"TikTok Shop stand-in on {shop.start(args.port)} with {args.orders} orders", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        shop.stop()


if __name__ == "__main__":
    main()

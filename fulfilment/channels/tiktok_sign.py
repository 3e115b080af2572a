"""TikTok Shop signatures (``tiktok.md`` sections 3 and 4): pure functions, no I/O.

API requests: the sorted query parameters (without ``sign`` and ``access_token``) as ``{key}{value}``, after
the URL path and before the raw body (left out for ``multipart/form-data``), wrapped in the app secret on both
sides and signed with HMAC-SHA256 keyed by the app secret. Webhooks: HMAC-SHA256 of ``app_key + raw body``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

UNSIGNED_PARAMS = frozenset({"sign", "access_token"})


def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def request_sign(
    app_secret: str,
    path: str,
    params: Mapping[str, str],
    body: bytes = b"",
    content_type: str = "application/json",
) -> str:
    """The ``sign`` query parameter of an API request (lowercase hex)."""
    signed = "".join(f"{key}{params[key]}" for key in sorted(params) if key not in UNSIGNED_PARAMS)
    message = path.encode() + signed.encode()
    if not content_type.lower().startswith("multipart/form-data"):
        message += body
    return _hmac_hex(app_secret, app_secret.encode() + message + app_secret.encode())


def verify_request(
    app_secret: str,
    path: str,
    params: Mapping[str, str],
    body: bytes = b"",
    content_type: str = "application/json",
) -> bool:
    """Whether the request's ``sign`` parameter is right, compared in constant time."""
    given = params.get("sign", "")
    return hmac.compare_digest(given.encode(), request_sign(app_secret, path, params, body, content_type).encode())


def webhook_signature(app_key: str, app_secret: str, body: bytes) -> str:
    """The ``Authorization`` header TikTok puts on a webhook with this raw body."""
    return _hmac_hex(app_secret, app_key.encode() + body)


def verify_webhook(app_key: str, app_secret: str, body: bytes, authorization: str) -> bool:
    """Whether a webhook's ``Authorization`` header matches its raw body, compared in constant time."""
    expected = webhook_signature(app_key, app_secret, body)
    return hmac.compare_digest(authorization.strip().encode(), expected.encode())

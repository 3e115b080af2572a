"""Settings read from the environment (see the README's Settings section)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fulfilment.domain.documents import LABEL_FORMATS, PACKING_SLIPS, DocumentOptions


class SettingsError(ValueError):
    """A setting has a value the program cannot use; the message names the variable."""


TIKTOK_API_BASE_URL = "https://open-api.tiktokglobalshop.com"
TIKTOK_REQUIRED = ("TIKTOK_APP_KEY", "TIKTOK_APP_SECRET", "TIKTOK_ACCESS_TOKEN", "TIKTOK_SHOP_CIPHER")


@dataclass(frozen=True, slots=True)
class TikTokSettings:
    """Credentials and address of the TikTok Shop Partner API."""

    app_key: str
    app_secret: str
    access_token: str
    shop_cipher: str
    base_url: str
    timeout_s: float


@dataclass(frozen=True, slots=True)
class ShippoSettings:
    """How to reach Shippo: token, base URL (None = Shippo's servers), timeouts, rate limit and retries."""

    api_token: str
    base_url: str | None
    timeout_s: float
    rate_limit: int
    rate_window_s: int
    backoff_s: float
    concurrency: int

    @property
    def test_mode(self) -> bool:
        """Test tokens (``shippo_test_…``) buy no postage and get about a tenth of the live limits."""
        return self.api_token.startswith("shippo_test_")


LABEL_PROVIDERS = ("local", "shippo")


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """A shop that takes tracking numbers as signed webhooks: orders whose channel is `name` push to `url`."""

    name: str
    url: str
    secret: str
    timeout_s: float = 10.0


WEBHOOK_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,21}")


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved settings; build with :func:`load_settings`."""

    database_url: str
    redis_url: str | None
    rules_dir: Path
    output_dir: Path
    label_provider: str
    shop_timezone: ZoneInfo
    chunk_size: int
    handling_days: int
    redis_namespace: str
    combine: bool = True
    combine_max: int = 20
    secure_cookies: bool = False

    tiktok: TikTokSettings | None = None
    shippo: ShippoSettings | None = None
    post_stream_delay_s: int = 3600
    webhooks: tuple[WebhookSettings, ...] = ()
    push_lease_s: int = 120
    label_lease_s: int = 300
    documents: DocumentOptions = DocumentOptions()

    @property
    def label_format(self) -> str:
        """``pdf`` or ``zpl``: the default format of labels (a batch keeps the one it was started with)."""
        return self.documents.label_format

    @property
    def distributed(self) -> bool:
        """True when work goes through Redis to `fulfil worker` processes."""
        return self.redis_url is not None


TIKTOK_MAX_ORDERS_PER_TRACKING = 20
"""TikTok accepts one tracking number for at most this many orders."""


def _int_setting(env: dict[str, str], name: str, default: int, minimum: int = 1, maximum: int | None = None) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise SettingsError(f"{name}={value} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise SettingsError(f"{name}={value} must be at most {maximum}")
    return value


def _flag_setting(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().casefold()
    if not raw:
        return default
    if raw not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
        raise SettingsError(f"{name}={raw!r}: use 1 or 0")
    return raw in ("1", "true", "yes", "on")


def _float_setting(env: dict[str, str], name: str, default: float, minimum: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if value < minimum:
        raise SettingsError(f"{name}={value} must be at least {minimum}")
    return value


def _choice_setting(env: dict[str, str], name: str, choices: tuple[str, ...]) -> str:
    value = env.get(name, "").strip().casefold() or choices[0]
    if value not in choices:
        raise SettingsError(f"{name}={value!r}: use one of {', '.join(choices)}")
    return value


def _shippo_settings(env: dict[str, str]) -> ShippoSettings:
    token = env.get("SHIPPO_API_TOKEN", "").strip()
    if not token:
        raise SettingsError("FULFILMENT_LABEL_PROVIDER=shippo needs SHIPPO_API_TOKEN (shippo_test_… or shippo_live_…)")
    default_limit = 50 if token.startswith("shippo_test_") else 500
    return ShippoSettings(
        api_token=token,
        base_url=env.get("SHIPPO_BASE_URL", "").strip().rstrip("/") or None,
        timeout_s=_float_setting(env, "FULFILMENT_SHIPPO_TIMEOUT_S", 60.0, 0.01),
        rate_limit=_int_setting(env, "FULFILMENT_SHIPPO_RATE_LIMIT", default_limit),
        rate_window_s=_int_setting(env, "FULFILMENT_SHIPPO_RATE_WINDOW_S", 60),
        backoff_s=_float_setting(env, "FULFILMENT_SHIPPO_BACKOFF_S", 1.0, 0.0),
        concurrency=_int_setting(env, "FULFILMENT_SHIPPO_CONCURRENCY", 8, maximum=64),
    )


def _tiktok_settings(env: dict[str, str]) -> TikTokSettings | None:
    """The TikTok API settings, or None when none of them is set; a partial set is an error."""
    values = {name: env.get(name, "").strip() for name in TIKTOK_REQUIRED}
    if not any(values.values()):
        return None
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise SettingsError(f"{', '.join(missing)} must be set too (the TikTok API needs all four credentials)")
    timeout = env.get("TIKTOK_TIMEOUT_S", "").strip() or "30"
    try:
        timeout_s = float(timeout)
    except ValueError:
        raise SettingsError(f"TIKTOK_TIMEOUT_S={timeout!r} is not a number of seconds") from None
    return TikTokSettings(
        *values.values(),
        base_url=(env.get("TIKTOK_API_BASE_URL", "").strip() or TIKTOK_API_BASE_URL).rstrip("/"),
        timeout_s=timeout_s,
    )


def _webhook_settings(env: dict[str, str]) -> tuple[WebhookSettings, ...]:
    """The webhook channels named in FULFILMENT_WEBHOOK_CHANNELS, each with its _URL and _SECRET."""
    names = [n.strip() for n in env.get("FULFILMENT_WEBHOOK_CHANNELS", "").split(",") if n.strip()]
    timeout = env.get("FULFILMENT_WEBHOOK_TIMEOUT_S", "").strip() or "10"
    try:
        timeout_s = float(timeout)
    except ValueError:
        raise SettingsError(f"FULFILMENT_WEBHOOK_TIMEOUT_S={timeout!r} is not a number of seconds") from None
    found = []
    for name in names:
        if not WEBHOOK_NAME.fullmatch(name):
            raise SettingsError(
                f"FULFILMENT_WEBHOOK_CHANNELS: {name!r} is not a channel name (lowercase letters, digits, - and _, "
                'at most 22 characters, as in the orders\' "channel" field)'
            )
        prefix = f"FULFILMENT_WEBHOOK_{name.upper().replace('-', '_')}_"
        url, secret = env.get(prefix + "URL", "").strip(), env.get(prefix + "SECRET", "").strip()
        if not url.startswith(("https://", "http://")):
            raise SettingsError(f"{prefix}URL must be set to the shop's http(s) address for channel {name!r}")
        if not secret:
            raise SettingsError(f"{prefix}SECRET must be set: the key deliveries to channel {name!r} are signed with")
        found.append(WebhookSettings(name, url, secret, timeout_s))
    return tuple(found)


def _document_options(env: dict[str, str]) -> DocumentOptions:
    """FULFILMENT_LABEL_FORMAT, FULFILMENT_LABELS_REVERSE, FULFILMENT_LABELS_SEPARATORS, FULFILMENT_PACKING_SLIPS."""
    label_format = env.get("FULFILMENT_LABEL_FORMAT", "").strip().casefold() or "pdf"
    slips = env.get("FULFILMENT_PACKING_SLIPS", "").strip().casefold() or "separate"
    reverse = _flag_setting(env, "FULFILMENT_LABELS_REVERSE", False)
    separators = _flag_setting(env, "FULFILMENT_LABELS_SEPARATORS", True)
    if label_format not in LABEL_FORMATS:
        raise SettingsError(f"FULFILMENT_LABEL_FORMAT={label_format!r}: use one of {', '.join(LABEL_FORMATS)}")
    if slips not in PACKING_SLIPS:
        raise SettingsError(f"FULFILMENT_PACKING_SLIPS={slips!r}: use one of {', '.join(PACKING_SLIPS)}")
    try:
        return DocumentOptions(label_format, reverse, separators, slips)
    except ValueError as exc:
        raise SettingsError(f"FULFILMENT_LABEL_FORMAT and FULFILMENT_PACKING_SLIPS: {exc}") from None


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read the FULFILMENT_* variables, applying the documented defaults."""
    env = dict(os.environ if env is None else env)
    tz_name = env.get("FULFILMENT_SHOP_TIMEZONE", "").strip() or "America/Los_Angeles"
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"FULFILMENT_SHOP_TIMEZONE={tz_name!r} is not a known time zone") from None
    provider = _choice_setting(env, "FULFILMENT_LABEL_PROVIDER", LABEL_PROVIDERS)
    return Settings(
        database_url=env.get("FULFILMENT_DATABASE_URL", "").strip() or "sqlite:///./var/fulfilment.db",
        redis_url=env.get("FULFILMENT_REDIS_URL", "").strip() or None,
        rules_dir=Path(env.get("FULFILMENT_RULES_DIR", "").strip() or "./rules"),
        output_dir=Path(env.get("FULFILMENT_OUTPUT_DIR", "").strip() or "./var/out"),
        label_provider=provider,
        shop_timezone=tz,
        chunk_size=_int_setting(env, "FULFILMENT_CHUNK_SIZE", 250),
        handling_days=_int_setting(env, "FULFILMENT_HANDLING_DAYS", 2, minimum=0),
        redis_namespace=env.get("FULFILMENT_REDIS_NAMESPACE", "").strip() or "fulfilment",
        combine=_flag_setting(env, "FULFILMENT_COMBINE", True),
        combine_max=_int_setting(
            env, "FULFILMENT_COMBINE_MAX", TIKTOK_MAX_ORDERS_PER_TRACKING, maximum=TIKTOK_MAX_ORDERS_PER_TRACKING
        ),
        secure_cookies=_flag_setting(env, "FULFILMENT_SECURE_COOKIES", False),
        tiktok=_tiktok_settings(env),
        shippo=_shippo_settings(env) if provider == "shippo" else None,
        post_stream_delay_s=_int_setting(env, "FULFILMENT_POST_STREAM_DELAY_S", 3600, minimum=0),
        webhooks=_webhook_settings(env),
        push_lease_s=_int_setting(env, "FULFILMENT_PUSH_LEASE_S", 120, minimum=5),
        label_lease_s=_int_setting(env, "FULFILMENT_LABEL_LEASE_S", 300, minimum=5),
        documents=_document_options(env),
    )

"""Settings read from the environment (see the README's Settings section)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class SettingsError(ValueError):
    """A setting has a value the program cannot use; the message names the variable."""


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
    redis_namespace: str
    shippo: ShippoSettings | None = None

    @property
    def distributed(self) -> bool:
        """True when work goes through Redis to `fulfil worker` processes."""
        return self.redis_url is not None


def _int_setting(env: dict[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise SettingsError(f"{name}={value} must be at least {minimum}")
    return value


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
        concurrency=_int_setting(env, "FULFILMENT_SHIPPO_CONCURRENCY", 8),
    )


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read the FULFILMENT_* variables, applying the documented defaults."""
    env = dict(os.environ if env is None else env)
    tz_name = env.get("FULFILMENT_SHOP_TIMEZONE", "").strip() or "America/Los_Angeles"
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"FULFILMENT_SHOP_TIMEZONE={tz_name!r} is not a known time zone") from None
    provider = env.get("FULFILMENT_LABEL_PROVIDER", "").strip() or "local"
    if provider not in {"local", "shippo"}:
        raise SettingsError(f"FULFILMENT_LABEL_PROVIDER={provider!r}: the providers available are: local, shippo")
    return Settings(
        database_url=env.get("FULFILMENT_DATABASE_URL", "").strip() or "sqlite:///./var/fulfilment.db",
        redis_url=env.get("FULFILMENT_REDIS_URL", "").strip() or None,
        rules_dir=Path(env.get("FULFILMENT_RULES_DIR", "").strip() or "./rules"),
        output_dir=Path(env.get("FULFILMENT_OUTPUT_DIR", "").strip() or "./var/out"),
        label_provider=provider,
        shop_timezone=tz,
        chunk_size=_int_setting(env, "FULFILMENT_CHUNK_SIZE", 250),
        redis_namespace=env.get("FULFILMENT_REDIS_NAMESPACE", "").strip() or "fulfilment",
        shippo=_shippo_settings(env) if provider == "shippo" else None,
    )

"""Pytest helpers for the TikTok Shop stand-in: a shop served on a thread and the settings that reach it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fulfilment.config import TikTokSettings
from tests.standins.tiktok import TikTokShop


def tiktok_env(shop: TikTokShop, url: str, timeout_s: float = 5) -> dict[str, str]:
    """The TIKTOK_* variables that point the program at the stand-in."""
    return {
        "TIKTOK_APP_KEY": shop.app_key,
        "TIKTOK_APP_SECRET": shop.app_secret,
        "TIKTOK_ACCESS_TOKEN": shop.access_token,
        "TIKTOK_SHOP_CIPHER": shop.shop_cipher,
        "TIKTOK_API_BASE_URL": url,
        "TIKTOK_TIMEOUT_S": str(timeout_s),
    }


def tiktok_settings(shop: TikTokShop, url: str, timeout_s: float = 5, **changes: str) -> TikTokSettings:
    values = {
        "app_key": shop.app_key,
        "app_secret": shop.app_secret,
        "access_token": shop.access_token,
        "shop_cipher": shop.shop_cipher,
        "base_url": url,
        "timeout_s": timeout_s,
    }
    return TikTokSettings(**{**values, **changes})


@pytest.fixture
def tiktok_shop() -> Iterator[tuple[TikTokShop, str]]:
    """A fresh stand-in shop served on 127.0.0.1 for one test, and its base URL."""
    shop = TikTokShop()
    url = shop.start()
    try:
        yield shop, url
    finally:
        shop.stop()

"""Shippo settings: a token is required, test tokens get the lower default limit, bad numbers name the variable."""

from __future__ import annotations

import pytest

from fulfilment.config import SettingsError, load_settings


def test_shippo_needs_a_token() -> None:
    with pytest.raises(SettingsError, match="SHIPPO_API_TOKEN"):
        load_settings({"FULFILMENT_LABEL_PROVIDER": "shippo"})


def test_unknown_provider_names_the_choices() -> None:
    with pytest.raises(SettingsError, match="local, shippo"):
        load_settings({"FULFILMENT_LABEL_PROVIDER": "easypost"})


@pytest.mark.parametrize(("token", "limit"), [("shippo_test_abc", 50), ("shippo_live_abc", 500)])
def test_default_rate_limit_follows_the_token(token: str, limit: int) -> None:
    settings = load_settings({"FULFILMENT_LABEL_PROVIDER": "shippo", "SHIPPO_API_TOKEN": token})
    assert settings.shippo is not None
    assert settings.shippo.rate_limit == limit and settings.shippo.rate_window_s == 60
    assert settings.shippo.base_url is None and settings.shippo.test_mode == token.startswith("shippo_test_")


def test_limits_and_timeouts_are_configurable() -> None:
    settings = load_settings(
        {
            "FULFILMENT_LABEL_PROVIDER": "shippo",
            "SHIPPO_API_TOKEN": "shippo_live_abc",
            "SHIPPO_BASE_URL": "http://127.0.0.1:8765/",
            "FULFILMENT_SHIPPO_RATE_LIMIT": "120",
            "FULFILMENT_SHIPPO_TIMEOUT_S": "2.5",
        }
    )
    assert settings.shippo is not None
    assert (settings.shippo.rate_limit, settings.shippo.timeout_s) == (120, 2.5)
    assert settings.shippo.base_url == "http://127.0.0.1:8765"


def test_a_bad_timeout_names_the_variable() -> None:
    env = {"FULFILMENT_LABEL_PROVIDER": "shippo", "SHIPPO_API_TOKEN": "t", "FULFILMENT_SHIPPO_TIMEOUT_S": "soon"}
    with pytest.raises(SettingsError, match="FULFILMENT_SHIPPO_TIMEOUT_S='soon'"):
        load_settings(env)


def test_the_local_provider_needs_no_shippo_settings() -> None:
    assert load_settings({}).shippo is None

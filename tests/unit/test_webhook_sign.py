"""The webhook channel's signature: what a shop recomputes to trust a delivery."""

import pytest

from fulfilment.channels.webhook_push import signature
from fulfilment.config import SettingsError, load_settings
from tests.standins.shop_webhook import valid_signature


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = b'{"order_id":"A1","tracking_number":"9400100000000000000001"}'
    header = signature("s3cret", "1767225600", body)
    # the README's vector, computed with `openssl dgst -sha256 -hmac s3cret` over "1767225600." + body
    assert header == "sha256=965cfb6f7d0c1a93879297dd68ff174d7c31ff79dc7da52e74a96d6b30fad905"
    assert valid_signature("s3cret", "1767225600", body, header)
    assert not valid_signature("s3cret", "1767225601", body, header)
    assert not valid_signature("other", "1767225600", body, header)


def test_webhook_channels_come_from_the_environment_with_clear_errors() -> None:
    env = {
        "FULFILMENT_WEBHOOK_CHANNELS": "acme, big-shop",
        "FULFILMENT_WEBHOOK_ACME_URL": "https://acme.example/hooks",
        "FULFILMENT_WEBHOOK_ACME_SECRET": "a",
        "FULFILMENT_WEBHOOK_BIG_SHOP_URL": "http://10.0.0.5/tracking",
        "FULFILMENT_WEBHOOK_BIG_SHOP_SECRET": "b",
    }
    hooks = load_settings(env).webhooks
    assert [(w.name, w.url, w.secret) for w in hooks] == [
        ("acme", "https://acme.example/hooks", "a"),
        ("big-shop", "http://10.0.0.5/tracking", "b"),
    ]
    with pytest.raises(SettingsError, match="FULFILMENT_WEBHOOK_BIG_SHOP_SECRET must be set"):
        load_settings({**env, "FULFILMENT_WEBHOOK_BIG_SHOP_SECRET": ""})
    with pytest.raises(SettingsError, match="FULFILMENT_WEBHOOK_ACME_URL must be set"):
        load_settings({**env, "FULFILMENT_WEBHOOK_ACME_URL": "acme.example"})
    with pytest.raises(SettingsError, match="'Acme!' is not a channel name"):
        load_settings({**env, "FULFILMENT_WEBHOOK_CHANNELS": "Acme!"})

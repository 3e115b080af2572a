"""The signer against the formats doc's test vectors (tiktok.md sections 3 and 4)."""

from fulfilment.channels.tiktok_sign import request_sign, verify_request, verify_webhook, webhook_signature

WEBHOOK_BODY = (
    b'{"type":1,"tts_notification_id":"7380066284010030890","shop_id":"7495540735365777507",'
    b'"timestamp":1718305585,"data":{"is_on_hold_order":true,"order_id":"576653688135258178",'
    b'"order_status":"UNPAID","update_time":1718305585}}'
)


def test_api_vector_shops() -> None:
    params = {"app_key": "29a39d", "timestamp": "1623812664"}
    assert (
        request_sign("e59af819cc", "/authorization/202309/shops", params)
        == "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"
    )


def test_api_vector_test_api() -> None:
    assert (
        request_sign("app_secret", "/test-api", {"foo": "bar"})
        == "d3cb7fe11ecae942802ceeca67e7cf10120cc12f1517d45fbc1c8cfe5413c80f"
    )


def test_sign_and_access_token_are_not_signed_and_keys_are_sorted() -> None:
    base = request_sign("s", "/p", {"b": "2", "a": "1"})
    assert request_sign("s", "/p", {"a": "1", "b": "2", "sign": "x", "access_token": "t"}) == base


def test_body_is_signed_except_for_multipart() -> None:
    plain = request_sign("s", "/p", {"a": "1"})
    assert request_sign("s", "/p", {"a": "1"}, b'{"x":1}') != plain
    assert request_sign("s", "/p", {"a": "1"}, b'{"x":1}', "multipart/form-data; boundary=z") == plain


def test_verify_request_accepts_the_right_sign_only() -> None:
    params = {"app_key": "k", "timestamp": "1"}
    params["sign"] = request_sign("s", "/p", params, b"{}")
    assert verify_request("s", "/p", params, b"{}")
    assert not verify_request("s", "/p", params, b'{"changed":1}')
    assert not verify_request("other", "/p", params, b"{}")
    assert not verify_request("s", "/p", {"app_key": "k", "timestamp": "1"}, b"{}")


def test_webhook_vector() -> None:
    expected = "5dec0f11ec2f6783b8deee53c9ffbf8d024302f7c7e7fa55a35d17629031ac05"
    assert webhook_signature("abcdef", "123", WEBHOOK_BODY) == expected
    assert verify_webhook("abcdef", "123", WEBHOOK_BODY, expected)
    assert not verify_webhook("abcdef", "123", WEBHOOK_BODY.replace(b"UNPAID", b"CANCEL"), expected)
    assert not verify_webhook("abcdef", "124", WEBHOOK_BODY, expected)


def test_signatures_are_compared_in_constant_time(monkeypatch) -> None:
    """Both checks go through hmac.compare_digest (an == would leak how many leading characters match), and a
    header that is not ASCII is refused rather than raising."""
    import hmac

    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    assert not verify_webhook("abcdef", "123", WEBHOOK_BODY, "é" * 64)
    assert not verify_request("secret", "/api/orders", {"sign": "ü", "app_key": "k", "timestamp": "1"})
    assert len(calls) == 2


def test_errors_that_may_pass_on_a_retry_are_transient() -> None:
    from fulfilment.channels.tiktok_api import TikTokError, backoff_s

    assert TikTokError("no answer").transient
    assert TikTokError("rate", 429, 36009004).transient and TikTokError("oops", 503, 1).transient
    assert TikTokError("busy", 200, 36009003).transient
    assert not TikTokError("bad sign", 401, 106001).transient
    assert not TikTokError("cancelled", 200, 21011001).transient
    assert [backoff_s(n) for n in (1, 2, 3)] == [0.2, 0.4, 0.8] and backoff_s(50) == 30.0

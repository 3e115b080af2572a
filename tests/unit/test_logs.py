"""Logs never show a buyer's phone or street, a secret from the environment or a password in a URL: the masking
log-record factory every entry point installs, checked on sample lines and on the logs of a real run."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fulfilment import logs
from fulfilment.cli import app

PHONE, STREET, SECRET = "(617) 555-0199", "77 Secretive Lane", "sk_live_0123456789abcdef"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    factory, level = logging.getLogRecordFactory(), logging.getLogger().level
    engine_level = logging.getLogger("sqlalchemy.engine").level
    yield
    logging.setLogRecordFactory(factory)
    logging.getLogger().setLevel(level)
    logging.getLogger("sqlalchemy.engine").setLevel(engine_level)


@pytest.mark.parametrize(
    ("line", "hidden"),
    [
        ("call (+1)5555550101 now", "5555550101"),
        ("phone 617-555-0101.", "555-0101"),
        ("+1 (617) 555 0101", "555 0101"),
        ("ship to 123 Example St, Apt 4, Los Angeles", "123 Example"),
        ("12 Oak St Unit 7B", "Oak"),
        ("PO Box 1234, Juneau", "1234"),
        ("Address(name='Kim', street1='9 Elm Road', street2='Suite 5', phone='6175550101')", "Elm"),
        ('{"street1": "Calle Ocho 5", "phone": "x"}', "Ocho"),
        ("postgresql://app:s3cretpw@db:5432/fulfil", "s3cretpw"),
        ("GET /orders?app_key=k&access_token=tok-abc&sign=deadbeef", "tok-abc"),
    ],
)
def test_sample_lines_are_masked(line: str, hidden: str) -> None:
    masked = logs.mask(line)
    assert hidden not in masked and logs.MASK in masked


@pytest.mark.parametrize(
    "line",
    [
        "order 577100000000000001 labelled",
        "batch B20261122-042304-d693: 594 orders, 12 chunks in 3.2 s",
        "2026-11-21T19:05:00-08:00 screen chunk 17",
    ],
)
def test_ids_counts_and_times_are_left_alone(line: str) -> None:
    assert logs.mask(line) == line


def test_secrets_come_from_the_environment_and_are_masked(
    restore_logging: None, caplog: pytest.LogCaptureFixture
) -> None:
    env = {"SHIPPO_API_TOKEN": SECRET, "FULFILMENT_REDIS_URL": "redis://:r3dispass@cache:6379/0"}
    logs.install(env)
    logging.getLogger("fulfilment.test").warning("token %s, broker %s", SECRET, "r3dispass")
    assert SECRET not in caplog.text and "r3dispass" not in caplog.text and "token ***" in caplog.text


def test_a_real_run_logs_sql_but_no_phone_street_or_secret(
    embedded_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    restore_logging: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("FULFILMENT_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("TIKTOK_WEBHOOK_SECRET", SECRET)
    order = {
        "id": "LOG-1",
        "buyer": "kim",
        "created_at": "2026-11-21T19:05:00-08:00",
        "ship_to": {
            "name": "Kim Park",
            "street1": STREET,
            "street2": "Apt 9",
            "city": "Cambridge",
            "state": "MA",
            "zip": "02139",
            "country": "US",
            "phone": PHONE,
        },
        "lines": [{"sku": "TEE-BLK-M", "quantity": 1, "unit_price": 20}],
    }
    path = tmp_path / "orders.json"
    path.write_text(json.dumps([order]))
    caplog.set_level(logging.DEBUG)
    runner = CliRunner()
    assert runner.invoke(app, ["import", "json", str(path)]).exit_code == 0
    logging.getLogger("fulfilment.test").info("order %s ships to %s, %s", order["id"], STREET, PHONE)
    run = runner.invoke(app, ["batch", "run", "--json"])
    assert run.exit_code == 0, run.output
    text = caplog.text
    assert "INSERT INTO orders" in text, "FULFILMENT_LOG_LEVEL=DEBUG logs SQL statements"
    assert "order LOG-1 ships to ***, ***" in text
    for value in (STREET, "Secretive", PHONE, "555-0199", "6175550199", SECRET):
        assert value not in text, f"{value!r} reached the logs"

"""Shared fixtures: a fresh database per test (SQLite file or a PostgreSQL database of its own), a Redis
namespace per test run, and the environment the `fulfil` command reads."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from fulfilment.bench.measure import fresh_redis_namespace

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).with_name("fixtures")
PG_ADMIN_URL = os.environ.get("FULFILMENT_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
pytest_plugins = ["tests.standins.fixtures"]
REDIS_URL = os.environ.get("FULFILMENT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def services_up() -> bool:
    """Whether PostgreSQL and Redis answer; scripts/test says so in FULFILMENT_TEST_SERVICES."""
    flag = os.environ.get("FULFILMENT_TEST_SERVICES")
    if flag is not None:
        return flag == "1"
    return _reachable("127.0.0.1", 5432) and _reachable("127.0.0.1", 6379)


@pytest.fixture
def services() -> None:
    """Skip (or, under --require-services, fail) a test whose services are down."""
    if services_up():
        return
    if os.environ.get("FULFILMENT_TEST_REQUIRE_SERVICES") == "1":
        pytest.fail("PostgreSQL and Redis are required but not reachable")
    pytest.skip("PostgreSQL or Redis not reachable")


@pytest.fixture
def pg_url(services: None) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    import psycopg

    name = f"fulfil_test_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        from fulfilment.store.db import dispose_engine

        dispose_engine(f"{base}/{name}")
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_namespace(services: None) -> Iterator[str]:
    """A Redis key namespace of its own for one test; its keys are deleted afterwards."""
    with fresh_redis_namespace(REDIS_URL, "fulfil-test-") as namespace:
        yield namespace


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'fulfilment.db'}"


def fulfil_env(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str]:
    """The FULFILMENT_* variables for one test: its database, the repository's rules, its own output folder."""
    env = {
        "FULFILMENT_DATABASE_URL": database_url,
        "FULFILMENT_RULES_DIR": str(ROOT / "rules"),
        "FULFILMENT_OUTPUT_DIR": str(tmp_path / "out"),
        "FULFILMENT_SHOP_TIMEZONE": "America/Los_Angeles",
        "FULFILMENT_CHUNK_SIZE": "50",
    }
    env.update(extra)
    return env


@pytest.fixture
def embedded_env(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The process environment set for an embedded run on a fresh SQLite file."""
    env = fulfil_env(tmp_path, sqlite_url)
    monkeypatch.delenv("FULFILMENT_REDIS_URL", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def lose_push_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Drop every API push message sent from now on, as if Redis restarted before a worker took it; a batch's other
    steps are sent as usual."""
    from fulfilment import messages
    from fulfilment.batches import PUSH_STEP

    send = messages.send
    monkeypatch.setattr(messages, "send", lambda step: None if step.stage == PUSH_STEP else send(step))

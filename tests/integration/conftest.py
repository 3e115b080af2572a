"""Integration fixtures: a context on a fresh SQLite file and on a fresh PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

import pytest

from fulfilment.config import load_settings
from fulfilment.pipeline import Context, context
from tests.conftest import fulfil_env


@pytest.fixture(params=["sqlite", "postgresql"])
def ctx(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    """The process context on the embedded database and on PostgreSQL, with the repository's rules."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    monkeypatch.delenv("FULFILMENT_REDIS_URL", raising=False)
    for key, value in fulfil_env(tmp_path, url).items():
        monkeypatch.setenv(key, value)
    return context(load_settings())

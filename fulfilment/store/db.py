"""Engines, sessions and schema upgrades for SQLite (embedded) and PostgreSQL (distributed)."""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import ARRAY, ColumnElement, Engine, create_engine, event, literal, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")
UPGRADE_LOCK_KEY = 0x66756C66  # "fulf": one migrator at a time on PostgreSQL


def is_sqlite(engine: Engine) -> bool:
    """True for the embedded SQLite database."""
    return engine.dialect.name == "sqlite"


def one_of(session: Session, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """`column` is one of `values`: one array parameter on PostgreSQL, so the statement's text is the same
    whatever the count (the driver parses it once and prepares it; an IN list is new text, parsed again, for each
    count), an IN list on SQLite."""
    if is_sqlite(session.get_bind()):  # type: ignore[arg-type]
        return column.in_(values)  # type: ignore[no-any-return]
    return column == literal(list(values), ARRAY(column.type)).any_()  # type: ignore[no-any-return]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """Create an engine whose log lines and errors never show statement parameters; for SQLite create the
    database's folder and turn on WAL and foreign keys."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    # hide_parameters: statement parameters (addresses, phones, tokens) stay out of logs and error messages.
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, hide_parameters=True)


_engines: dict[str, Engine] = {}
_factories: dict[str, sessionmaker[Session]] = {}
_guard = threading.Lock()


def engine_for(url: str) -> Engine:
    """One engine per URL per process, upgraded to the newest schema on first use."""
    with _guard:
        if url not in _engines:
            engine = make_engine(url)
            upgrade(engine)
            _engines[url] = engine
            _factories[url] = sessionmaker(engine, expire_on_commit=False)
        return _engines[url]


def dispose_engine(url: str) -> None:
    """Close the process's connections to a database (e.g. before dropping it)."""
    with _guard:
        _factories.pop(url, None)
        engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()


def _session_factory(url: str) -> sessionmaker[Session]:
    engine_for(url)
    return _factories[url]


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on any error."""
    session = _session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, or None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """The newest schema revision this code knows."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def upgrade(engine: Engine) -> str:
    """Bring the schema to the newest revision (a no-op when it is there); returns the revision."""
    if current_revision(engine) == head_revision():
        return head_revision()
    config = _alembic_config(engine)
    with engine.begin() as conn:
        if not is_sqlite(engine):
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": UPGRADE_LOCK_KEY})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return head_revision()

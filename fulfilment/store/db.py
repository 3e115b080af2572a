"""Engines, sessions and schema upgrades for SQLite (embedded) and PostgreSQL (distributed).

Every process checks on its first use of a database that the schema is at the newest revision. That check reads
alembic's version table and the migration files' revision lines itself: importing alembic (and mako, which it
loads) takes about a third of a second, so it is imported only when the schema has to change.
"""

from __future__ import annotations

import atexit
import re
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Engine, create_engine, event, inspect, literal, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")
UPGRADE_LOCK_KEY = 0x66756C66  # "fulf": one migrator at a time on PostgreSQL
VERSION_TABLE = "alembic_version"
_REVISION_LINE = re.compile(r'^(down_revision|revision)\b[^=\n]*=\s*(?:"([^"]+)"|None)\s*$', re.MULTILINE)


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
    """One engine per URL per process, upgraded to the newest schema on first use; its connections are closed when
    the process exits."""
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


def dispose_all() -> None:
    """Close every connection the process holds, each ending its session with the database cleanly (at exit)."""
    for url in list(_engines):
        dispose_engine(url)


atexit.register(dispose_all)


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


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, or None for an empty database."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def head_revision() -> str:
    """The newest schema revision this code knows: the one that no migration file names as its `down_revision`
    (each file in ``migrations/versions`` states ``revision = "…"`` and ``down_revision = "…"`` or None)."""
    revisions: dict[str, Path] = {}
    parents: set[str] = set()
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        lines = dict(_REVISION_LINE.findall(path.read_text()))
        if not lines.get("revision") or "down_revision" not in lines:
            raise ValueError(f'{path}: no `revision = "…"` and `down_revision = …` lines')
        revisions[lines["revision"]] = path
        if lines["down_revision"]:
            parents.add(lines["down_revision"])
    heads = sorted(set(revisions) - parents)
    if len(heads) != 1:
        raise ValueError(f"{MIGRATIONS / 'versions'}: expected one head revision, found {heads or 'none'}")
    return heads[0]


def upgrade(engine: Engine) -> str:
    """Bring the schema to the newest revision (a no-op when it is there); returns the revision."""
    head = head_revision()
    if current_revision(engine) != head:
        _migrate(engine)
    return head


def _migrate(engine: Engine) -> None:
    """Run alembic's upgrade to head, one migrator at a time on PostgreSQL."""
    # Imported here, not at the top: only a process that finds the schema behind needs alembic (see the docstring).
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    with engine.begin() as conn:
        if not is_sqlite(engine):
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": UPGRADE_LOCK_KEY})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")

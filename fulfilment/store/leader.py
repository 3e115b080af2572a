"""One leader among processes that run schedules: a PostgreSQL session advisory lock, or a file lock for SQLite."""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from fulfilment.store.db import is_sqlite

SCHEDULER_LOCK_KEY = 0x66756C73  # "fuls"


class Leadership:
    """Held while this object is open: :meth:`try_acquire` is True for exactly one process at a time.

    PostgreSQL: ``pg_try_advisory_lock`` on a connection kept open (a dead leader's lock goes with its
    connection). SQLite: an exclusive ``flock`` on a file beside the database (released when the process dies).
    """

    def __init__(self, engine: Engine, key: int = SCHEDULER_LOCK_KEY) -> None:
        self.engine, self.key = engine, key
        self._held: Any = None

    def try_acquire(self) -> bool:
        if self._held is not None:
            return True
        if is_sqlite(self.engine):
            path = Path(make_url(str(self.engine.url)).database or "fulfilment.db").with_suffix(".scheduler.lock")
            handle = path.open("a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                return False
            self._held = handle
            return True
        conn = self.engine.connect()
        if conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar():
            conn.commit()
            self._held = conn
            return True
        conn.close()
        return False

    def release(self) -> None:
        """Give up leadership (closing the lock's connection or file)."""
        held, self._held = self._held, None
        if held is None:
            return
        if hasattr(held, "execute"):
            held.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            held.commit()
        held.close()

"""The schema check every process makes on first use of a database, without loading alembic."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory

from fulfilment.store.db import MIGRATIONS, current_revision, head_revision, make_engine, upgrade


def test_the_head_read_from_the_migration_files_is_alembics_head() -> None:
    assert head_revision() == ScriptDirectory(str(MIGRATIONS)).get_current_head()


def test_an_empty_database_is_upgraded_to_the_head_and_then_left_alone(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        assert current_revision(engine) is None
        assert upgrade(engine) == head_revision()
        assert current_revision(engine) == head_revision()
        assert upgrade(engine) == head_revision()
    finally:
        engine.dispose()

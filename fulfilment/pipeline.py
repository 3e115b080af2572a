"""What every stage needs: settings, validated rules and the database, resolved once per process."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy.orm import Session

from fulfilment.config import Settings, load_settings
from fulfilment.rules import Rules, load_rules
from fulfilment.store.db import engine_for, session_scope

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
"""Names allowed for folders under the output directory."""

CHUNK_STAGES = ("screen", "allocate", "route", "label")
"""The stages a chunk moves through, in order; after the last a chunk is ``done``."""

BATCH_STAGES = ("documenting", "pushing")
"""The stages a whole batch moves through once every chunk is done."""


@dataclass(frozen=True, slots=True)
class Context:
    """Settings and rules for one process; `session()` opens a transaction on the configured database."""

    settings: Settings
    rules: Rules

    @contextmanager
    def session(self) -> Iterator[Session]:
        with session_scope(self.settings.database_url) as session:
            yield session

    def batch_dir(self, name: str) -> Path:
        """The folder a batch's documents are written to (created on demand); a name that would leave the
        output folder (a path separator, `..`) is refused."""
        if not SAFE_NAME.fullmatch(name) or name in {".", ".."}:
            raise ValueError(f"{name!r} cannot name a folder under {self.settings.output_dir}")
        path = self.settings.output_dir / name
        path.mkdir(parents=True, exist_ok=True)
        return path


@cache
def _rules(rules_dir: Path) -> Rules:
    return load_rules(rules_dir)


def context(settings: Settings | None = None) -> Context:
    """The context for these settings (default: the environment); rules are loaded and validated once."""
    settings = settings or load_settings()
    engine_for(settings.database_url)
    return Context(settings, _rules(settings.rules_dir.resolve()))


def next_chunk_stage(stage: str) -> str:
    """The stage after `stage`, or ``done``."""
    index = CHUNK_STAGES.index(stage)
    return CHUNK_STAGES[index + 1] if index + 1 < len(CHUNK_STAGES) else "done"

"""Writing a document whole or not at all: to a temporary file beside it, renamed over it when complete."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

TEMPORARY_NAME = re.compile(r"\..+\.[0-9a-f]{8}\.tmp")
"""The names of the temporary files :func:`write_atomically` writes (``.<name>.<8 hex digits>.tmp``)."""


def write_atomically(path: Path, write: Callable[[Path], T]) -> T:
    """Call `write` with a temporary path beside `path`, then rename that file to `path`: a reader (or another
    copy of the same step writing the same file at the same time) sees the whole old file or the whole new one,
    never part of either. The temporary file is removed when `write` fails; returns what `write` returned."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        result = write(temporary)
        os.replace(temporary, path)
        return result
    finally:
        temporary.unlink(missing_ok=True)

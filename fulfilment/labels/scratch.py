"""Private work folders for the runs that merge documents, and the removal of what killed runs left behind."""

from __future__ import annotations

import fcntl
import logging
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fulfilment.labels.atomic import TEMPORARY_NAME

WORK_PREFIX = ".work-"
LOCK = ".lock"
WORK_GRACE_S = 60.0
"""A work folder younger than this is never removed: its run may not have taken its lock yet."""
TEMPORARY_AGE_S = 3600.0
"""A temporary file of `write_atomically` untouched this long is no longer being written."""
log = logging.getLogger(__name__)


@contextmanager
def work_folder(folder: Path) -> Iterator[Path]:
    """A folder of its own inside `folder` (created if missing) for the pages one run merges from, locked while
    the run holds it and removed when the run ends or fails, so runs at once never delete each other's files.
    What killed runs left in `folder` is removed first (see :func:`remove_leftovers`)."""
    folder.mkdir(parents=True, exist_ok=True)
    remove_leftovers(folder)
    work = Path(tempfile.mkdtemp(prefix=WORK_PREFIX, dir=folder))
    with open(work / LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield work
        finally:
            shutil.rmtree(work, ignore_errors=True)


def remove_leftovers(folder: Path, now: float | None = None) -> list[str]:
    """Remove from `folder` the work folders no run holds (no lock taken, older than WORK_GRACE_S) and the
    temporary files untouched for TEMPORARY_AGE_S that a killed run left; returns their names. Best effort: what
    another run renames or removes meanwhile is passed over, and what cannot be removed (another user's folder, a
    read-only disk) is logged and left."""
    now = time.time() if now is None else now
    removed = []
    for path in folder.iterdir():
        work = path.name.startswith(WORK_PREFIX)
        if not (work or TEMPORARY_NAME.fullmatch(path.name)):
            continue
        try:
            age = now - path.stat().st_mtime
            if work:
                gone = path.is_dir() and age >= WORK_GRACE_S and _remove_if_unheld(path)
            elif gone := age >= TEMPORARY_AGE_S:
                path.unlink(missing_ok=True)
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning("left %s in place: %s", path, exc)
            continue
        if gone:
            removed.append(path.name)
    return removed


def _remove_if_unheld(work: Path) -> bool:
    """Remove `work` unless a live run holds its lock (a killed process's lock is released with it; a run killed
    before it made its lock file gets one made here)."""
    with open(work / LOCK, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        shutil.rmtree(work)
        return True

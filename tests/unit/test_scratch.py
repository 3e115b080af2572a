"""Work folders: private to their run, and what a killed run left behind is removed by the next one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fulfilment.labels.scratch import TEMPORARY_AGE_S, WORK_GRACE_S, remove_leftovers, work_folder

_HOLD = """
import sys, time
from pathlib import Path
from fulfilment.labels.scratch import work_folder
with work_folder(Path(sys.argv[1])) as work:
    (work / "labels-1.pdf").write_bytes(b"%PDF-")
    print(work.name, flush=True)
    time.sleep(60)
"""


def _holder(folder: Path) -> tuple[subprocess.Popen[str], Path]:
    """A process inside a work folder of `folder`, and that folder."""
    process = subprocess.Popen([sys.executable, "-c", _HOLD, str(folder)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, folder / process.stdout.readline().strip()


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_run_removes_its_folder_and_keeps_the_others(tmp_path: Path) -> None:
    with work_folder(tmp_path) as mine:
        (mine / "labels-1.pdf").write_bytes(b"%PDF-")
        with work_folder(tmp_path) as other:
            assert other != mine and other.parent == mine.parent == tmp_path
        assert not other.exists() and (mine / "labels-1.pdf").exists()
    assert list(tmp_path.iterdir()) == []


def test_what_a_killed_run_left_is_removed_and_a_live_run_keeps_its_folder(tmp_path: Path) -> None:
    killed, killed_work = _holder(tmp_path)
    live, live_work = _holder(tmp_path)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        assert (killed_work / "labels-1.pdf").exists(), "a SIGKILL leaves the folder behind"
        no_lock = tmp_path / ".work-died-before-its-lock"
        no_lock.mkdir()
        young = tmp_path / ".work-just-made"
        young.mkdir()
        stale = tmp_path / ".labels.pdf.0123abcd.tmp"
        stale.write_bytes(b"%PDF-")
        fresh = tmp_path / ".pick-list.pdf.89abcdef.tmp"
        fresh.write_bytes(b"%PDF-")
        kept = tmp_path / "labels.pdf"
        kept.write_bytes(b"%PDF-")
        for path in (killed_work, live_work, no_lock):
            _age(path, WORK_GRACE_S + 1)
        _age(stale, TEMPORARY_AGE_S + 1)
        _age(kept, TEMPORARY_AGE_S + 1)

        removed = remove_leftovers(tmp_path)

        assert sorted(removed) == sorted([killed_work.name, no_lock.name, stale.name])
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live_work.name, young.name, fresh.name, kept.name])
        assert (live_work / "labels-1.pdf").exists(), "a run still holding its folder keeps it"
    finally:
        live.kill()
        live.wait()


def test_what_cannot_be_removed_is_logged_and_left_and_the_run_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gone = tmp_path / ".labels.pdf.0123abcd.tmp"
    gone.symlink_to(tmp_path / "renamed-meanwhile")  # stat() finds nothing, as after another run's rename
    stuck = tmp_path / ".work-not-ours"
    (stuck / ".lock").mkdir(parents=True)  # its lock cannot be opened, as another user's folder
    _age(stuck, WORK_GRACE_S + 1)
    assert remove_leftovers(tmp_path) == []
    assert stuck.exists() and f"left {stuck} in place" in caplog.text
    with work_folder(tmp_path) as work:
        assert work.is_dir()

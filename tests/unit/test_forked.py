"""A side job in a forked child: it runs beside the caller, its failure is reported, and it leaves the caller's
signal handlers and garbage alone."""

from __future__ import annotations

import gc
import os
import signal
import threading
from pathlib import Path

import pytest

from fulfilment.forked import ForkedError, forked


def test_the_job_runs_in_another_process_and_is_done_when_the_block_ends(tmp_path: Path) -> None:
    done = tmp_path / "job"
    with forked(lambda: done.write_text(str(os.getpid()))):
        pass
    assert done.read_text() != str(os.getpid())


def test_a_worker_thread_can_run_a_side_job(tmp_path: Path) -> None:
    done, errors = tmp_path / "job", []

    def worker() -> None:  # a dramatiq worker runs each step in a thread of its own
        try:
            with forked(lambda: done.write_text("drawn")):
                pass
        except Exception as error:
            errors.append(error)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(timeout=30)
    assert not errors and done.read_text() == "drawn"


def test_a_failed_job_raises_its_error_here_with_the_childs_traceback(tmp_path: Path) -> None:
    def job() -> None:
        raise ValueError("the printer is out of paper")

    with pytest.raises(ValueError, match="the printer is out of paper") as raised, forked(job):
        (tmp_path / "body").write_text("the body still ran")
    assert (tmp_path / "body").exists()
    assert "in job" in raised.value.__notes__[0], "the note shows where the child failed"


class _Unpicklable(Exception):
    def __init__(self, reason: str, handle: object) -> None:
        super().__init__(reason)
        self.handle = handle


def test_an_error_that_does_not_pickle_arrives_as_its_line_of_the_traceback() -> None:
    def job() -> None:
        raise _Unpicklable("disk on fire", lambda: None)

    with pytest.raises(ForkedError, match="_Unpicklable: disk on fire"), forked(job):
        pass


def test_when_the_block_fails_its_error_wins_and_the_job_still_finishes(tmp_path: Path) -> None:
    done = tmp_path / "job"
    with pytest.raises(KeyError), forked(lambda: done.write_text("whole")):
        raise KeyError("body")
    assert done.read_text() == "whole"


def test_the_job_takes_the_default_action_on_sigterm_not_the_callers_handler(tmp_path: Path) -> None:
    handled = tmp_path / "handled"
    previous = signal.signal(signal.SIGTERM, lambda *_: handled.write_text(str(os.getpid())))
    try:
        with pytest.raises(ForkedError, match="status -15"), forked(lambda: os.kill(os.getpid(), signal.SIGTERM)):
            pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert not handled.exists()


class _Finalized:
    """Cyclic garbage whose finalizer notes the process that ran it."""

    def __init__(self, marks: Path) -> None:
        self.marks, self.me = marks, self

    def __del__(self) -> None:
        with self.marks.open("a") as marks:
            marks.write(f"{os.getpid()}\n")


def test_the_job_never_finalizes_garbage_it_inherited(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    gc.collect()
    gc.disable()
    try:
        _Finalized(marks)  # unreachable, left for the collector
        with forked(gc.collect):
            pass
    finally:
        gc.enable()
    gc.collect()
    assert marks.read_text().split() == [str(os.getpid())]  # once, here: a connection is closed once

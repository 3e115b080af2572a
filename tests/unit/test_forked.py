"""A side job in a forked child: it runs beside the caller, its failure is reported, a stop sent to the group lets
it finish, a time limit kills it, and it leaves the caller's signal handlers and garbage alone."""

from __future__ import annotations

import ctypes
import errno
import gc
import os
import select
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import fulfilment.forked as forked_module
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


def test_an_error_that_does_not_pickle_arrives_as_its_text() -> None:
    def job() -> None:
        raise _Unpicklable("disk on fire", lambda: None)

    with pytest.raises(ForkedError, match="_Unpicklable: disk on fire"), forked(job):
        pass


def test_when_the_block_fails_its_error_wins_and_the_job_still_finishes(tmp_path: Path) -> None:
    done = tmp_path / "job"
    with pytest.raises(KeyError), forked(lambda: done.write_text("whole")):
        raise KeyError("body")
    assert done.read_text() == "whole"


def test_when_both_fail_the_jobs_error_is_a_note_on_the_blocks() -> None:
    def job() -> None:
        raise ValueError("no paper")

    with pytest.raises(KeyError) as raised, forked(job):
        raise KeyError("body")
    assert "the side job failed too: ValueError: no paper" in raised.value.__notes__


def test_a_stop_sent_to_the_process_group_lets_the_job_finish(tmp_path: Path) -> None:
    done, handled = tmp_path / "job", tmp_path / "handled"

    def job() -> None:
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            os.kill(os.getpid(), number)
        done.write_text("whole")

    previous = signal.signal(signal.SIGTERM, lambda *_: handled.write_text(str(os.getpid())))
    try:
        with forked(job):
            pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert done.read_text() == "whole"
    assert not handled.exists(), "the caller's handler did not run in the child"


def test_a_child_killed_by_a_signal_fails_the_block() -> None:
    with pytest.raises(ForkedError, match="status -9"), forked(lambda: os.kill(os.getpid(), signal.SIGKILL)):
        pass


class _TimeLimit(BaseException):
    """What dramatiq's time limit raises in a step's thread (not an ``Exception``)."""


def _interrupted_side_job(tmp_path: Path, body: Callable[[threading.Event], None]) -> int:
    """Run a side job that would take a minute from a thread whose `body` sets the event it is given when it is
    ready to be interrupted; once the child has started, interrupt the thread there with a time limit. Returns
    the child's pid once the thread has ended with that time limit."""
    child, raised, ready = tmp_path / "child", [], threading.Event()

    def job() -> None:
        child.write_text(str(os.getpid()))
        time.sleep(60)

    def worker() -> None:
        try:
            with forked(job):
                body(ready)
        except _TimeLimit as error:
            raised.append(error)

    thread = threading.Thread(target=worker)
    thread.start()
    assert ready.wait(timeout=30)
    deadline = time.monotonic() + 30
    while not (child.exists() and child.read_text()) and time.monotonic() < deadline:  # the child is running
        time.sleep(0.01)
    assert child.exists(), "the child started its job"
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(_TimeLimit))
    thread.join(timeout=10)
    assert not thread.is_alive() and raised, "the time limit ended the step"
    return int(child.read_text())


def test_a_time_limit_in_the_block_kills_the_child(tmp_path: Path) -> None:
    def body(ready: threading.Event) -> None:  # merging labels, say
        ready.set()
        while True:
            time.sleep(0.01)

    with pytest.raises(ProcessLookupError):
        os.kill(_interrupted_side_job(tmp_path, body), 0)  # killed and reaped


def test_a_time_limit_in_the_wait_kills_the_child(tmp_path: Path, monkeypatch) -> None:
    polls: list[threading.Event] = []
    real_poll = select.poll

    class Poll:
        """select.poll, telling the test when the caller first waits on the child."""

        def __init__(self) -> None:
            self._poll = real_poll()

        def register(self, fd: int, events: int) -> None:
            self._poll.register(fd, events)

        def unregister(self, fd: int) -> None:
            self._poll.unregister(fd)

        def poll(self, timeout_ms: int) -> list[tuple[int, int]]:
            polls[0].set()
            return self._poll.poll(timeout_ms)

    monkeypatch.setattr(forked_module.select, "poll", Poll)
    with pytest.raises(ProcessLookupError):
        os.kill(_interrupted_side_job(tmp_path, polls.append), 0)


def test_a_large_error_comes_back_whole() -> None:
    message = "no paper " * 25_000

    def job() -> None:
        raise ValueError(message)

    with pytest.raises(ValueError) as raised, forked(job):
        pass
    assert str(raised.value) == message


def test_where_no_process_can_be_forked_the_job_runs_here_first(tmp_path: Path, monkeypatch) -> None:
    def no_memory() -> int:
        raise OSError(errno.ENOMEM, "Cannot allocate memory")

    monkeypatch.setattr(os, "fork", no_memory)
    done = tmp_path / "job"
    with forked(lambda: done.write_text(str(os.getpid()))):
        assert done.exists(), "the job ran before the block"
    assert done.read_text() == str(os.getpid())


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

"""Running a side job in a forked child process while the caller goes on: the documents step draws the packing
slips on the other core while it merges the labels (the batch's last step, which otherwise keeps one core busy).

The child is a copy of the caller taken at the fork, with only the forking thread. The job must only compute and
write files, with what the caller has already imported: it must not use the caller's database or broker
connections. The child leaves through ``os._exit`` (no ``atexit`` handlers, no buffers flushed twice), its garbage
collector leaves the objects it inherited alone, and it ignores SIGINT, SIGTERM and SIGHUP: a Ctrl-C or a stop
sent to the whole process group (a terminal, systemd) lets it finish, as a dramatiq worker finishes its running
steps, instead of failing the step half-way. The caller waits for it in a loop an asynchronous exception (a
step's time limit) can interrupt; the child is then killed.
"""

from __future__ import annotations

import gc
import os
import pickle
import select
import signal
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import NoReturn

TRACEBACK_CHARS = 8000
"""How much of a failed job's traceback the child sends back (its end, where the error is)."""

MAX_PICKLED_ERROR = 64 * 1024
"""A larger pickled error is sent as its text (a :class:`ForkedError`)."""

POLL_MS = 20
"""How long the caller waits on the child's pipe before checking whether it has exited."""

_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class ForkedError(RuntimeError):
    """The side job's process ended without a readable report (killed by a signal), or with an error that is
    sent as text (one that does not pickle, or is not an ``Exception``): the message says which."""


@contextmanager
def forked(job: Callable[[], object]) -> Iterator[None]:
    """Run `job` in a forked child process while the body of the ``with`` runs; on leaving, wait for the child
    and, if the job failed, raise its error here as if it had run in this process (same type and message, the
    child's traceback as a note; :class:`ForkedError` when it cannot be). When the body fails, the child is
    still waited for (so it leaves no half-written file behind), the body's error is raised and a failure of the
    job is added to it as a note. Where a process cannot be forked (no ``os.fork``, or no memory for one) the job
    runs first, in this process."""
    fork = getattr(os, "fork", None)
    read_end, write_end = os.pipe()
    parent, pid = os.getpid(), 0
    try:
        with suppress(OSError):
            pid = fork() if fork else 0
        if pid == 0 and os.getpid() != parent:
            _run_child(job, write_end)
        os.close(write_end)
        write_end = -1
        if pid == 0:
            job()
        yield
    except BaseException as error:
        if os.getpid() != parent:
            os._exit(1)  # an error that escaped in the child must never run the caller's code there
        if pid:
            failure = _finish(pid, read_end)
            if failure is not None:
                error.add_note(f"the side job failed too: {type(failure).__name__}: {failure}")
        raise
    else:
        failure = _finish(pid, read_end) if pid else None
        if failure is not None:
            raise failure
    finally:
        if os.getpid() != parent:
            os._exit(1)
        for fd in (read_end, write_end):
            if fd >= 0:
                os.close(fd)


def _finish(pid: int, pipe: int) -> BaseException | None:
    """Wait for the child, reading its report as it comes; kill it when the wait is interrupted. Returns the
    job's error, or None when it succeeded."""
    report = bytearray()
    os.set_blocking(pipe, False)
    poller = select.poll()
    poller.register(pipe, select.POLLIN)
    try:
        while True:
            _read_into(report, pipe)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            poller.poll(POLL_MS)  # wakes on data or on the child's exit (unless another child holds the pipe)
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    _read_into(report, pipe)
    code = os.waitstatus_to_exitcode(status)
    return None if code == 0 else _job_error(bytes(report), code)


def _read_into(report: bytearray, pipe: int) -> None:
    """Append what the pipe holds now."""
    with suppress(BlockingIOError):
        while chunk := os.read(pipe, 65536):
            report += chunk


def _job_error(report: bytes, code: int) -> BaseException:
    """The error the child reported (with its traceback as a note), or why its process ended."""
    try:
        trace, summary, pickled = pickle.loads(report)  # written by our own child, just now
    except Exception:  # no report, or a cut one (the child was killed while writing it)
        return ForkedError(f"the side job's process ended with status {code}")
    try:
        error = pickle.loads(pickled)
    except Exception:  # sent as text, or it does not unpickle
        error = ForkedError(summary)
    error.add_note(f"raised in the side job's process:\n{trace}")
    return error


def _run_child(job: Callable[[], object], pipe: int) -> NoReturn:
    """In the child: run `job`, send its error down `pipe` if it fails, exit 0 or 1 without cleaning up."""
    code = 1
    try:
        gc.freeze()
        for number in _SIGNALS:
            signal.signal(number, signal.SIG_IGN)
        job()
        code = 0
    except BaseException as error:
        trace = traceback.format_exc()[-TRACEBACK_CHARS:]
        pickled = b""
        if isinstance(error, Exception):
            with suppress(Exception):
                pickled = pickle.dumps(error)
        if len(pickled) > MAX_PICKLED_ERROR:
            pickled = b""
        report = pickle.dumps((trace, f"{type(error).__name__}: {error}", pickled))
        view = memoryview(report)
        while view:
            view = view[os.write(pipe, view) :]
    finally:
        os._exit(code)

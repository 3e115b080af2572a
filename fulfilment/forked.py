"""Running a side job in a forked child process while the caller goes on: the documents step draws the packing
slips on the other core while it merges the labels (the batch's last step, which otherwise keeps one core busy).

The child is a copy of the caller taken at the fork, with only the forking thread. The job must only compute and
write files, with what the caller has already imported: it must not use the caller's database or broker
connections. The child leaves through ``os._exit`` (no ``atexit`` handlers, no buffers flushed twice); no garbage
collection runs between the fork and the child freezing the heap it inherited (its finalizers must not run
twice); and it ignores SIGINT, SIGTERM and SIGHUP, blocked from before the fork: a Ctrl-C or a stop sent to the
whole process group (a terminal, systemd) lets it finish, as a dramatiq worker finishes its running steps. The
caller waits for it in a loop an asynchronous exception can interrupt; when the caller is interrupted (a step's
time limit, in the body or in the wait) the child is killed and reaped. Linux only (``os.pidfd_open``): elsewhere
the job runs in the caller.
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

MAX_PICKLED_ERROR = 1 << 20
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
    child's traceback as a note; :class:`ForkedError` when it cannot be). When the body fails with an error, the
    child is still waited for, the body's error is raised and a failure of the job is added to it as a note; when
    it is interrupted (a time limit, Ctrl-C: not an ``Exception``) the child is killed. Where a process cannot be
    forked and watched (no ``os.fork`` or ``os.pidfd_open``, or no memory for a fork) the job runs in this
    process on entering, and its error is raised from there."""
    fork = getattr(os, "fork", None) if hasattr(os, "pidfd_open") else None
    parent, pid, pidfd, read_end, write_end = os.getpid(), 0, -1, -1, -1
    try:
        read_end, write_end = os.pipe()
        enabled = gc.isenabled()
        gc.disable()  # no automatic collection in the child before it freezes the heap
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)  # none reach the child before it ignores them
        try:
            with suppress(OSError):
                pid = fork() if fork else 0
            if pid == 0 and os.getpid() != parent:
                os.close(read_end)  # the child never blocks on a pipe only it still holds
                _run_child(job, write_end, enabled, mask)
        finally:
            if os.getpid() == parent:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                if enabled:
                    gc.enable()
        if pid:
            pidfd = os.pidfd_open(pid)
        fd, write_end = write_end, -1  # never closed twice
        os.close(fd)
        if pid == 0:
            job()
        yield
    except BaseException as error:
        if os.getpid() != parent:
            os._exit(1)
        if pid and pidfd >= 0 and isinstance(error, Exception):  # a time limit, Ctrl-C, GeneratorExit: kill (finally)
            failure = _finish(pidfd, read_end)
            pid = 0
            if failure is not None:
                error.add_note(f"the side job failed too: {type(failure).__name__}: {failure}")
        raise
    else:
        if pid:  # its pidfd is open: pidfd_open ran before the body
            failure = _finish(pidfd, read_end)
            pid = 0
            if failure is not None:
                raise failure
    finally:
        if os.getpid() != parent:
            os._exit(1)
        if pid:  # not reaped yet (interrupted, or the body was): kill and reap; harmless if it already was
            if pidfd >= 0:
                with suppress(ProcessLookupError):
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                with suppress(ChildProcessError):
                    os.waitid(os.P_PIDFD, pidfd, os.WEXITED)
            else:  # interrupted between the fork and pidfd_open
                with suppress(ProcessLookupError, ChildProcessError):
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
        for fd in (pidfd, read_end, write_end):
            if fd >= 0:
                os.close(fd)


def _finish(pidfd: int, pipe: int) -> BaseException | None:
    """Wait for the child, reading its report as it comes (the caller kills and reaps it if this is interrupted);
    returns the job's error, or None when it succeeded."""
    report = bytearray()
    os.set_blocking(pipe, False)
    poller = select.poll()
    poller.register(pipe, select.POLLIN)
    poller.register(pidfd, select.POLLIN)  # readable once the child has exited
    reading = True
    while True:
        if reading and _read_into(report, pipe):
            poller.unregister(pipe)  # at EOF: POLLHUP would wake every poll at once
            reading = False
        if any(fd == pidfd for fd, _ in poller.poll(POLL_MS)):  # a finite wait: an async exception gets through
            break
    _read_into(report, pipe)
    info = os.waitid(os.P_PIDFD, pidfd, os.WEXITED)
    code = info.si_status if info.si_code == os.CLD_EXITED else -info.si_status
    return None if code == 0 else _job_error(bytes(report), code)


def _read_into(report: bytearray, pipe: int) -> bool:
    """Append what the pipe holds now; whether it is at its end."""
    with suppress(BlockingIOError):
        while chunk := os.read(pipe, 65536):
            report += chunk
        return True
    return False


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
    if isinstance(error, StopIteration):  # raised in the generator of `forked` it would become a RuntimeError
        error = ForkedError(summary)
    error.add_note(f"raised in the side job's process:\n{trace}")
    return error


def _run_child(job: Callable[[], object], pipe: int, enabled: bool, mask: set[signal.Signals]) -> NoReturn:
    """In the child: run `job`, send its error down `pipe` if it fails, exit 0 or 1 without cleaning up."""
    code = 1
    try:
        gc.freeze()
        if enabled:
            gc.enable()
        for number in _SIGNALS:
            signal.signal(number, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
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
        summary = f"{type(error).__name__}: {error}"[:TRACEBACK_CHARS]
        report = pickle.dumps((trace, summary, pickled))
        view = memoryview(report)
        while view:
            view = view[os.write(pipe, view) :]
    finally:
        os._exit(code)

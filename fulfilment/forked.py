"""Running a side job in a forked child process while the caller goes on: the documents step draws the packing
slips on the other core while it merges the labels (the batch's last step, which otherwise keeps one core busy).

The child is a copy of the caller taken at the fork. It only computes and writes files: it never uses the caller's
database or broker connections and never closes them (it leaves through ``os._exit``, running no finalizers and
flushing no inherited buffers), its garbage collector leaves the objects it inherited alone, and it takes the
default action on SIGTERM, SIGINT and SIGHUP (a worker's handlers belong to threads the child does not have).
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn

TRACEBACK_CHARS = 8000
"""How much of a failed job's traceback the child sends back (its end, where the error is)."""


class ForkedError(RuntimeError):
    """The side job's process ended without saying why (killed by a signal), or with an error that does not
    pickle (the message is its line of the traceback)."""


@contextmanager
def forked(job: Callable[[], object]) -> Iterator[None]:
    """Run `job` in a forked child process while the body of the ``with`` runs; on leaving, wait for the child
    and, if the job failed, raise its error here as if it had run in this process (same type and message, the
    child's traceback as a note; :class:`ForkedError` when it cannot be). When the body fails, the child is
    still waited for (so it leaves no half-written file behind) and the body's error is the one raised. Without
    ``os.fork`` (Windows) the job runs first, in this process."""
    if not hasattr(os, "fork"):
        job()
        yield
        return
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        raise
    if pid == 0:
        os.close(read_end)
        _run_child(job, write_end)
    os.close(write_end)
    try:
        yield
    finally:
        try:
            with os.fdopen(read_end, "rb") as pipe:
                report = pipe.read()  # until the child exits
        finally:
            _, status = os.waitpid(pid, 0)  # reaped even when the read is interrupted
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise _job_error(report, code)


def _job_error(report: bytes, code: int) -> BaseException:
    """The error the child reported (with its traceback as a note), or why its process ended."""
    if not report:
        return ForkedError(f"the side job's process ended with status {code}")
    trace, pickled = pickle.loads(report)  # written by our own child, just now
    try:
        error = pickle.loads(pickled)
    except Exception:  # an error that does not pickle (or unpickle): its line of the traceback
        error = ForkedError(trace.strip().splitlines()[-1])
    error.add_note(f"raised in the side job's process:\n{trace}")
    return error


def _run_child(job: Callable[[], object], pipe: int) -> NoReturn:
    """In the child: run `job`, send its error and traceback down `pipe` if it fails, exit 0 or 1 without
    cleaning up."""
    code = 1
    try:
        gc.freeze()
        for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(number, signal.SIG_DFL)
        job()
        code = 0
    except BaseException as error:
        trace = traceback.format_exc()[-TRACEBACK_CHARS:]
        try:
            pickled = pickle.dumps(error)
        except Exception:
            pickled = b""
        with os.fdopen(pipe, "wb") as out:
            out.write(pickle.dumps((trace, pickled)))
    finally:
        os._exit(code)

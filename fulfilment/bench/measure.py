"""Measuring helpers for the benchmarks: wall time, peak memory of processes, fresh databases."""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
PG_ADMIN_URL = os.environ.get("FULFILMENT_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """Call `fn` and return its result and the wall time in seconds."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def peak_rss_mb(pid: int) -> float:
    """The peak resident memory (VmHWM) of a live process, in MiB; 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_s(pid: int, children: bool = False) -> float:
    """The CPU seconds (user + system) a live process has used so far, with `children` also what its ended and
    waited-for children used (a worker's forked side job counts once it is reaped); 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()  # the fields after the name
    except (OSError, IndexError):
        return 0.0
    ticks = sum(int(f) for f in fields[11 : 15 if children else 13])  # utime, stime[, cutime, cstime]
    return ticks / os.sysconf("SC_CLK_TCK")


_CLIENT_BACKEND = re.compile(r"postgres: (?:\S+: )?\S+ (\S+) (?:\[local\]|\S+\(\d+\))")
"""The title of a PostgreSQL client backend: ``postgres: [cluster: ]user database host(port) state``."""


def serves(title: str, database: str) -> bool:
    """Whether the PostgreSQL process with this title works for `database`: a backend of that database, or one
    of the server's own processes (postmaster, checkpointer, writers, autovacuum), which work for every one."""
    backend = _CLIENT_BACKEND.match(title)
    return backend is None or backend.group(1) == database


def server_pids(database: str) -> dict[str, list[int]]:
    """The live processes of this machine's PostgreSQL server that work for `database` (see :func:`serves`) and
    of its Redis server, from one pass over /proc."""
    found: dict[str, list[int]] = {"postgresql": [], "redis": []}
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            name = comm.read_text().strip()
            if name == "redis-server":
                found["redis"].append(int(comm.parent.name))
            elif name == "postgres":
                title = (comm.parent / "cmdline").read_bytes().decode(errors="replace").replace("\0", " ")
                if serves(title, database):
                    found["postgresql"].append(int(comm.parent.name))
        except OSError:
            continue
    return found


class CpuMeter:
    """CPU seconds used by a changing set of processes since the meter started: call :meth:`sample` with the
    live ones every so often; a process that ends between samples counts what it had used at its last sample.
    With `children`, each also counts its ended and waited-for children (see :func:`cpu_s`)."""

    def __init__(self, pids: list[int], children: bool = False) -> None:
        self._children = children
        self._start = {pid: cpu_s(pid, children) for pid in pids}
        self._last = dict(self._start)

    def sample(self, pids: list[int]) -> None:
        """Note what each of `pids` (new ones counted from zero) has used by now."""
        for pid in pids:
            self._last[pid] = max(self._last.get(pid, 0.0), cpu_s(pid, self._children))

    @property
    def used_s(self) -> float:
        """CPU seconds used, as of the last samples, since the meter started."""
        return sum(used - self._start.get(pid, 0.0) for pid, used in self._last.items())


class ProcessCpu:
    """CPU seconds of a benchmark's `workers` (the processes given at the start, each with the side jobs it forked
    and reaped: one still running counts once reaped, never twice) and of the PostgreSQL and Redis processes
    working for its database at `database_url` (:func:`server_pids`) since it started; call :meth:`sample`
    every so often."""

    def __init__(self, database_url: str, workers: list[int]) -> None:
        self._database = database_url.rsplit("/", 1)[1]
        self._workers = workers
        self._meters = {key: CpuMeter(pids, key == "workers") for key, pids in self._pids().items()}

    def _pids(self) -> dict[str, list[int]]:
        return {"workers": self._workers, **server_pids(self._database)}

    def sample(self) -> None:
        """Note what each live process has used by now."""
        for key, pids in self._pids().items():
            self._meters[key].sample(pids)

    def used_s(self) -> dict[str, float]:
        """CPU seconds per kind (workers, postgresql, redis), as of the last samples."""
        return {key: round(meter.used_s, 2) for key, meter in self._meters.items()}


def descendants(pid: int) -> list[int]:
    """Every live descendant process of `pid` (Linux /proc)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                children = [int(c) for c in task.read_text().split()]
            except OSError:
                continue
            found.extend(children)
            todo.extend(children)
    return found


def wait_until_idle(pids: Callable[[], list[int]], quiet_s: float = 0.5, timeout_s: float = 120.0) -> float:
    """Wait until the processes `pids()` lists use under a tenth of a core over `quiet_s` (started workers have
    booted and wait for messages); returns the seconds waited. Raises TimeoutError after `timeout_s`."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s:
        before = sum(map(cpu_s, pids()))
        time.sleep(quiet_s)
        if sum(map(cpu_s, pids())) - before < quiet_s / 10:
            return time.perf_counter() - start
    raise TimeoutError(f"processes still busy after {timeout_s:.0f} s")


@contextmanager
def fresh_postgres() -> Iterator[str]:
    """A new PostgreSQL database for one measurement, dropped afterwards."""
    import psycopg

    name = f"fulfil_bench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_redis_namespace(url: str, prefix: str) -> Iterator[str]:
    """A Redis key namespace of its own (`prefix` + random hex) for one run; its keys are deleted afterwards (the
    workers' heartbeats would otherwise stay behind)."""
    import redis

    namespace = f"{prefix}{secrets.token_hex(4)}"
    try:
        yield namespace
    finally:
        with suppress(redis.RedisError):  # Redis gone: leave the keys rather than hide why the run ended
            client = redis.Redis.from_url(url)
            keys = list(client.scan_iter(f"{namespace}*"))
            if keys:
                client.delete(*keys)

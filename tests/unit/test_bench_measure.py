"""The benchmark's CPU meter: what it reports for processes that start, run and end while it watches."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from fulfilment.bench.measure import CpuMeter, cpu_s, server_pids, serves, wait_until_idle

_SPIN = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\ninput()"


def _spun(process: subprocess.Popen[str], meter: CpuMeter) -> None:
    """Sample `process` until it has used its 0.3 CPU seconds (it then waits for a line on stdin)."""
    deadline = time.monotonic() + 30
    while cpu_s(process.pid) < 0.3 and time.monotonic() < deadline:
        meter.sample([process.pid])
        time.sleep(0.02)
    meter.sample([process.pid])


def test_meter_counts_a_process_that_started_after_it_and_keeps_its_time_once_it_ended() -> None:
    meter = CpuMeter([])
    process = subprocess.Popen([sys.executable, "-c", _SPIN], stdin=subprocess.PIPE, text=True)
    _spun(process, meter)
    counted = meter.used_s
    process.communicate("\n", timeout=30)
    meter.sample([process.pid])  # gone: its last sample stands

    assert counted >= 0.3
    assert meter.used_s == counted
    assert cpu_s(process.pid) == 0.0


def test_meter_counts_only_what_a_process_used_after_the_meter_started() -> None:
    process = subprocess.Popen([sys.executable, "-c", _SPIN], stdin=subprocess.PIPE, text=True)
    try:
        _spun(process, CpuMeter([]))
        meter = CpuMeter([process.pid])
        meter.sample([process.pid])
        assert meter.used_s < 0.1  # not the 0.3 s it had used before the meter started
    finally:
        process.communicate("\n", timeout=30)


def test_postgres_processes_of_other_databases_are_left_out() -> None:
    database = "fulfil_bench_0a1b2c3d"
    assert serves("postgres: 15/main: postgres fulfil_bench_0a1b2c3d 127.0.0.1(41234) idle", database)
    assert serves("postgres: app fulfil_bench_0a1b2c3d [local] UPDATE", database)
    assert not serves("postgres: 15/main: postgres shop 127.0.0.1(41236) idle in transaction", database)
    assert not serves("postgres: app fulfil_bench_0a1b2c3d_old [local] idle", database)
    for own in ("postgres: 15/main: checkpointer", "postgres: 15/main: logical replication launcher"):
        assert serves(own, database)
    assert serves("/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main", database)


def test_server_pids_finds_this_machines_servers() -> None:
    found = server_pids("no_such_database")
    assert set(found) == {"postgresql", "redis"}
    for pid in found["postgresql"]:
        assert Path(f"/proc/{pid}/comm").read_text().strip() == "postgres"


def test_waiting_for_started_processes_to_be_idle_waits_out_their_boot() -> None:
    process = subprocess.Popen([sys.executable, "-c", _SPIN], stdin=subprocess.PIPE, text=True)
    try:
        wait_until_idle(lambda: [process.pid], quiet_s=0.2)
        assert cpu_s(process.pid) >= 0.3  # the spin was over before the wait ended
    finally:
        process.communicate("\n", timeout=30)


_FORK_SPIN = (
    "import os, time\npid = os.fork()\nif pid == 0:\n    end = time.process_time() + 0.3\n"
    "    while time.process_time() < end: pass\n    os._exit(0)\nos.waitpid(pid, 0)\nprint(flush=True)\ninput()"
)


def test_a_meter_with_children_counts_a_side_job_once_its_parent_has_reaped_it() -> None:
    process = subprocess.Popen([sys.executable, "-c", _FORK_SPIN], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        with_children, alone = CpuMeter([process.pid], children=True), CpuMeter([process.pid])
        assert process.stdout is not None
        process.stdout.readline()  # the child has spun and been reaped
        for meter in (with_children, alone):
            meter.sample([process.pid])
        assert with_children.used_s >= 0.25  # 0.3 s spun, counted in clock ticks
        assert alone.used_s < 0.2  # the parent only waited
    finally:
        process.communicate(b"\n", timeout=30)

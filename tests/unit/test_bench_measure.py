"""The benchmark's CPU meter: what it reports for processes that start, run and end while it watches."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from fulfilment.bench.measure import CpuMeter, cpu_s, named_pids

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
        assert meter.used_s < 0.1  # it only waits on stdin now
    finally:
        process.communicate("\n", timeout=30)


def test_named_pids_finds_processes_by_command_name() -> None:
    with open(f"/proc/{os.getpid()}/comm") as comm:
        name = comm.read().strip()
    assert os.getpid() in named_pids(name)
    assert named_pids("no-such-command-name") == []

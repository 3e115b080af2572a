"""Merging a large batch's labels into one PDF in picking order: pages per second and the merge's peak memory.

Labels are drawn once per chunk of 250 (as the label stage does) and the chunk files copied to make up the
batch; the merge then takes one page from each chunk in turn (the worst order for readers: every source
interleaved) in a process of its own, whose peak resident memory is measured.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fulfilment.bench.pipeline import bench_specs
from fulfilment.labels.local import render_labels
from fulfilment.simulate import simulate_session

MIN_LABELS = 50_000
CHUNK = 250
START = datetime(2026, 11, 22, 18, tzinfo=UTC)
_CHILD = """
import sys
from pathlib import Path
from fulfilment.labels.merge import merge_pages
folder, chunk, chunks, labels = Path(sys.argv[1]), *map(int, sys.argv[2:5])
pages = ((folder / f"chunk-{i % chunks}.pdf", (i // chunks) % chunk) for i in range(labels))
print(merge_pages(pages, folder / "labels.pdf"))
"""


def run(n: int = 10_000) -> dict[str, Any]:
    """Merge `max(n, 50,000)` label pages from chunk files of 250 in interleaved picking order."""
    labels = max(n, MIN_LABELS)
    chunks = -(-labels // CHUNK)
    with tempfile.TemporaryDirectory(prefix="fulfil-bench-merge-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        render_labels(bench_specs(simulate_session(CHUNK, start=START)), folder / "chunk-0.pdf")
        render_s = time.perf_counter() - started
        for i in range(1, chunks):
            shutil.copyfile(folder / "chunk-0.pdf", folder / f"chunk-{i}.pdf")
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(folder), str(CHUNK), str(chunks), str(labels)],
            stdout=subprocess.PIPE,
        )
        assert child.stdout is not None
        pages = int(child.stdout.read().strip() or 0)
        _, status, usage = os.wait4(child.pid, 0)
        merge_s = time.perf_counter() - started
        if status != 0 or pages != labels:
            raise RuntimeError(f"the merge process failed (status {status}, {pages} of {labels} pages)")
        size_mb = (folder / "labels.pdf").stat().st_size / 2**20
    return {
        "benchmark": "merge",
        "labels": labels,
        "source_files": chunks,
        "render_250_s": round(render_s, 3),
        "merge_s": round(merge_s, 3),
        "pages_per_s": round(labels / merge_s),
        "merge_peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "output_mb": round(size_mb, 1),
    }


def markdown(r: dict[str, Any]) -> str:
    """One-row table of the measurement."""
    return (
        "| labels | source files | merge s | pages/s | merge peak RSS MiB | labels.pdf MiB |\n"
        "|---:|---:|---:|---:|---:|---:|\n"
        f"| {r['labels']:,} | {r['source_files']} | {r['merge_s']} | {r['pages_per_s']:,} | "
        f"{r['merge_peak_rss_mb']} | {r['output_mb']} |"
    )

"""Merging a large batch's labels into one print file in picking order: labels per second and the merge's peak
memory, for PDF and for ZPL.

Labels are drawn once per chunk of 250 (as the label stage does) and the chunk files copied to make up the
batch; the merge then takes one label from each chunk in turn (every source interleaved, the worst order) in a
process of its own, which reports its own peak resident memory (VmHWM: a forked child's rusage would count
the parent's memory too).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fulfilment.bench.pipeline import bench_specs
from fulfilment.labels.local import labels_pdf_bytes
from fulfilment.labels.zpl import render_zpl
from fulfilment.simulate import simulate_session

MIN_LABELS = 50_000
CHUNK = 250
START = datetime(2026, 11, 22, 18, tzinfo=UTC)
_CHILD = """
import os
import sys
from pathlib import Path
from fulfilment.labels.merge import merge_pages
from fulfilment.labels.zpl import merge_zpl
from fulfilment.bench.measure import peak_rss_mb
folder, ext, (chunk, chunks, labels) = Path(sys.argv[1]), sys.argv[2], map(int, sys.argv[3:6])
pages = ((folder / f"chunk-{i % chunks}.{ext}", (i // chunks) % chunk) for i in range(labels))
merged = (merge_zpl if ext == "zpl" else merge_pages)(pages, folder / f"labels.{ext}")
print(merged, peak_rss_mb(os.getpid()))
"""


def _merge(folder: Path, label_format: str, labels: int) -> dict[str, Any]:
    """Draw one chunk in `label_format`, copy it to make `labels` labels, merge them in a child process."""
    chunks = -(-labels // CHUNK)
    started = time.perf_counter()
    specs = bench_specs(simulate_session(CHUNK, start=START))
    content = render_zpl(specs) if label_format == "zpl" else labels_pdf_bytes(specs)
    render_s = time.perf_counter() - started
    for i in range(chunks):
        (folder / f"chunk-{i}.{label_format}").write_bytes(content)
    started = time.perf_counter()
    args = [str(folder), label_format, str(CHUNK), str(chunks), str(labels)]
    child = subprocess.Popen([sys.executable, "-c", _CHILD, *args], stdout=subprocess.PIPE)
    assert child.stdout is not None
    merged, peak_mb = (float(x) for x in (child.stdout.read().split() or [0, 0]))
    status = child.wait()
    merge_s = time.perf_counter() - started
    if status != 0 or merged != labels:
        raise RuntimeError(f"the {label_format} merge failed (status {status}, {merged} of {labels} labels)")
    return {
        "format": label_format,
        "source_files": chunks,
        "render_250_s": round(render_s, 3),
        "merge_s": round(merge_s, 3),
        "labels_per_s": round(labels / merge_s),
        "merge_peak_rss_mb": round(peak_mb, 1),
        "output_mb": round((folder / f"labels.{label_format}").stat().st_size / 2**20, 1),
    }


def run(n: int = 10_000) -> dict[str, Any]:
    """Merge `max(n, 50,000)` labels from chunk files of 250 in interleaved picking order, as PDF and as ZPL."""
    labels = max(n, MIN_LABELS)
    results = []
    for label_format in ("pdf", "zpl"):
        with tempfile.TemporaryDirectory(prefix="fulfil-bench-merge-") as tmp:
            results.append(_merge(Path(tmp), label_format, labels))
    return {"benchmark": "merge", "labels": labels, "formats": results}


def markdown(r: dict[str, Any]) -> str:
    """One row per format."""
    rows = [
        f"| {f['format']} | {r['labels']:,} | {f['source_files']} | {f['merge_s']} | {f['labels_per_s']:,} | "
        f"{f['merge_peak_rss_mb']} | {f['output_mb']} |"
        for f in r["formats"]
    ]
    return "\n".join(
        [
            "| format | labels | source files | merge s | labels/s | merge peak RSS MiB | output MiB |",
            "|---|---:|---:|---:|---:|---:|---:|",
            *rows,
        ]
    )

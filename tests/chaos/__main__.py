"""`scripts/chaos [--orders N] [--workers W] [--kills K] [--labels shippo|local] [--seed S]`: one chaos run, its table,
and exit status 1 on any violated guarantee."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tests.chaos.harness import PHASES, Options, Result, run
from tests.chaos.labels import LABELS


def parse(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog="scripts/chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=Options.orders, help="orders in the batch (default 10,000)")
    parser.add_argument("--workers", type=int, default=Options.workers, help="`fulfil worker` processes")
    parser.add_argument("--kills", type=int, default=Options.kills, help="worker SIGKILLs during the run")
    parser.add_argument("--kill-every", type=float, default=Options.kill_every_s, help="mean seconds between events")
    parser.add_argument(
        "--labels", choices=sorted(LABELS), default=Options.labels, help="label provider (default: the Shippo stand-in)"
    )
    parser.add_argument("--seed", type=int, default=Options.seed, help="orders, faults and kill times follow it")
    parser.add_argument("--fault-rate", type=float, default=Options.fault_rate, help="share of stand-in calls failed")
    parser.add_argument("--keep", action="store_true", help="keep the database (its name is printed)")
    parser.add_argument("--workdir", type=Path, help="logs and output (default: a new temporary folder)")
    args = parser.parse_args(argv)
    return Options(
        orders=args.orders,
        workers=args.workers,
        kills=args.kills,
        kill_every_s=args.kill_every,
        labels=args.labels,
        seed=args.seed,
        fault_rate=args.fault_rate,
        keep=args.keep,
        workdir=args.workdir,
    )


def table(result: Result) -> Table:
    """The run in one table: what was done to it, and what the checks found."""
    found, chaos = result.findings, result.chaos
    rows = [
        ("orders", f"{result.options.orders:,}"),
        ("outcomes", ", ".join(f"{n:,} {status}" for status, n in sorted(found.outcomes.items()))),
        ("worker kills", f"{chaos.kills} of {result.options.kills} (SIGKILL, restarted)"),
        ("events by phase", ", ".join(f"{chaos.by_phase[p]} during {p}" for p in PHASES)),
        ("worker exits (unplanned)", str(chaos.worker_exits)),
        ("Redis restarts", str(chaos.redis_restarts)),
        ("database drops", f"{chaos.db_drops} ({chaos.dropped_connections} connections terminated)"),
        (
            "faults injected",
            f"{sum(result.faults.values()):,} ({', '.join(f'{n} {k}' for k, n in sorted(result.faults.items()))})",
        ),
        ("tracking pushes", f"{len(result.ledger):,}"),
        *result.label_rows,
        ("lost", str(found.lost)),
        ("duplicated", str(found.duplicated)),
        ("violations", str(len(found.violations))),
        ("time to finish", f"{result.elapsed_s:,.1f} s"),
    ]
    out = Table("chaos run", f"batch {result.batch_id}", title="Nothing lost, nothing twice")
    for name, value in rows:
        out.add_row(name, value)
    return out


def main(argv: list[str] | None = None) -> int:
    opts = parse(sys.argv[1:] if argv is None else argv)
    console = Console(soft_wrap=True)
    console.print(f"chaos: {opts.orders:,} orders, {opts.workers} workers, {opts.kills} kills, labels {opts.labels}")
    result = run(opts)
    for event in result.chaos.events:
        console.print(f"  {event}", highlight=False)
    console.print(table(result))
    for violation in result.findings.violations:
        console.print(f"[red]VIOLATION[/red] {violation}", highlight=False)
    if result.chaos.kills < opts.kills:
        console.print(f"[red]only {result.chaos.kills} of {opts.kills} kills happened before the run ended[/red]")
    if result.database is not None:
        console.print(f"database kept: {result.database.url}", highlight=False)
    console.print(f"logs: {result.workdir}", highlight=False)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())

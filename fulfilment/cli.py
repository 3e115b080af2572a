"""The `fulfil` command: import orders, run batches, run workers, and the demo."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import OperationalError

from fulfilment.config import Settings, SettingsError, load_settings
from fulfilment.domain.orders import NotAnExportError, ParseResult, RowError
from fulfilment.yamlfile import ConfigInvalid

if TYPE_CHECKING:
    from fulfilment.runner import Progress as BatchProgress

app = typer.Typer(help="Batch order fulfilment for TikTok Shop live sessions.", no_args_is_help=True)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
import_app = typer.Typer(help="Import orders.", no_args_is_help=True)
catalog_app = typer.Typer(help="SKU weights and sizes.", no_args_is_help=True)
stock_app = typer.Typer(help="Stock on hand per warehouse.", no_args_is_help=True)
warehouses_app = typer.Typer(help="Warehouses from rules/warehouses.yaml.", no_args_is_help=True)
batch_app = typer.Typer(help="Batch runs.", no_args_is_help=True)
for sub, name in (
    (db_app, "db"),
    (import_app, "import"),
    (catalog_app, "catalog"),
    (stock_app, "stock"),
    (warehouses_app, "warehouses"),
    (batch_app, "batch"),
):
    app.add_typer(sub, name=name)


@app.callback()
def _main() -> None:
    """Batch order fulfilment for TikTok Shop live sessions."""
    from fulfilment import heap, logs

    logs.install()
    heap.tune()


out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
MAX_ROW_ERRORS_SHOWN = 50
EXIT_PARTIAL = 2
"""Exit code of an import that stored the good rows but rejected some."""


def fail(message: str) -> typer.Exit:
    """Print an error on stderr and return the exit to raise (code 1)."""
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(1)


def _context(settings: Settings | None = None) -> Any:
    from fulfilment.pipeline import context

    try:
        return context(settings or load_settings())
    except SettingsError as exc:
        raise fail(str(exc)) from None
    except ConfigInvalid as exc:
        raise fail(exc.report()) from None
    except OperationalError as exc:
        raise fail(f"cannot use the database: {exc.orig}") from None


def _report_rows(errors: list[RowError], source: Path) -> None:
    for error in errors[:MAX_ROW_ERRORS_SHOWN]:
        err.print(f"[yellow]{source}[/yellow] {error}", highlight=False)
    if len(errors) > MAX_ROW_ERRORS_SHOWN:
        err.print(f"… and {len(errors) - MAX_ROW_ERRORS_SHOWN} more rejected rows", highlight=False)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema to the newest revision."""
    from fulfilment.store.db import make_engine, upgrade

    try:
        revision = upgrade(make_engine(load_settings().database_url))
    except (SettingsError, OperationalError) as exc:
        raise fail(str(exc)) from None
    out.print(f"database at revision {revision}")


def _store_orders(ctx: Any, file: Path, parsed: ParseResult, session: str | None, as_json: bool) -> None:
    """Store parsed orders in one transaction and report: counts, skipped and rejected rows; exit 2 on rejects."""
    from fulfilment.store.orders import upsert_orders

    with ctx.session() as db:
        counts = upsert_orders(db, parsed.orders, source=file.name, actor="cli:import", live_session=session)
    result = {
        "file": str(file),
        "orders": len(parsed.orders),
        **counts.as_dict(),
        "skipped": parsed.skipped,
        "rejected_rows": [
            {"line": e.line, "column": e.column, "reason": e.reason, "order_id": e.order_id} for e in parsed.errors
        ],
    }
    if as_json:
        print(json.dumps(result))
    else:
        _report_rows(parsed.errors, file)
        skipped = ", ".join(f"{n} {why}" for why, n in parsed.skipped.items()) or "none"
        out.print(
            f"{file}: {len(parsed.orders)} orders read — {counts.created} new, {counts.updated} updated, "
            f"{counts.unchanged} unchanged, {len(counts.locked)} already in a batch (left as they are); "
            f"skipped: {skipped}; rejected rows: {len(parsed.errors)}",
            highlight=False,
        )
    if parsed.errors:
        raise typer.Exit(EXIT_PARTIAL)


@import_app.command("tiktok")
def import_tiktok(
    file: Annotated[Path, typer.Argument(help="Seller Center order export, CSV or XLSX.")],
    session: Annotated[str | None, typer.Option(help="Tag the orders with this live session.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Import a TikTok Shop order export: good rows are stored, bad rows are named; exit 2 if any were rejected."""
    from fulfilment.heap import collection_paused
    from fulfilment.ingest.tiktok_export import parse_tiktok_export

    ctx = _context()
    with collection_paused():
        try:
            parsed = parse_tiktok_export(file, ctx.settings.shop_timezone)
        except (NotAnExportError, OSError) as exc:
            raise fail(f"nothing imported: {exc}") from None
        _store_orders(ctx, file, parsed, session, as_json)


@import_app.command("json")
def import_json(
    file: Annotated[Path, typer.Argument(help="A JSON array of orders, or JSON Lines (one order per line).")],
    session: Annotated[str | None, typer.Option(help="Tag the orders with this live session.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Import orders from another channel as JSON; bad records are named by record (array) or line (JSON Lines)
    number; exit 2 if any were rejected."""
    from fulfilment.ingest.json_orders import parse_json_orders

    ctx = _context()
    try:
        parsed = parse_json_orders(file)
    except (NotAnExportError, OSError) as exc:
        raise fail(f"nothing imported: {exc}") from None
    _store_orders(ctx, file, parsed, session, as_json)


TableRows = list[tuple[int, dict[str, Any]]]


def import_table(file: Path, kind: str, apply: Callable[[Any, Any, TableRows], tuple[int, list[RowError]]]) -> None:
    """Read a small CSV table (`TABLES[kind]`), `apply(ctx, db, good rows)` in one transaction, report per row;
    exit 2 if any row was rejected (by the reader or by `apply`)."""
    from fulfilment.ingest.tables import TABLES, read_table

    ctx = _context()
    try:
        rows = list(read_table(file, TABLES[kind]))
    except NotAnExportError as exc:
        raise fail(f"nothing imported: {exc}") from None
    errors = [r for r in rows if isinstance(r, RowError)]
    good = [r for r in rows if not isinstance(r, RowError)]
    with ctx.session() as db:
        applied, refused = apply(ctx, db, good)
        errors.extend(refused)
    _report_rows(sorted(errors, key=lambda e: e.line), file)
    out.print(f"{file}: {applied} rows applied, {len(errors)} rejected", highlight=False)
    if errors:
        raise typer.Exit(EXIT_PARTIAL)


def _apply_catalog(ctx: Any, db: Any, rows: TableRows) -> tuple[int, list[RowError]]:
    from fulfilment.store.inventory import upsert_catalog

    return upsert_catalog(db, rows), []


def _apply_stock(ctx: Any, db: Any, rows: TableRows, delta: bool = False) -> tuple[int, list[RowError]]:
    from fulfilment.store.inventory import set_stock, sync_warehouses

    sync_warehouses(db, ctx.rules.warehouses)
    return set_stock(db, rows, delta=delta)


@catalog_app.command("import")
def catalog_import(
    file: Annotated[Path, typer.Argument(help="CSV: sku,weight_oz,length_in,width_in,height_in[,name,category,bin]")],
) -> None:
    """Add or update SKUs' weights and box sizes; exit 2 if any row was rejected."""
    import_table(file, "catalog", _apply_catalog)


@stock_app.command("import")
def stock_import(
    file: Annotated[Path, typer.Argument(help="CSV: warehouse,sku,on_hand")],
    delta: Annotated[bool, typer.Option("--delta", help="on_hand is a signed change (+ received, - sold)")] = False,
) -> None:
    """Set on-hand counts per warehouse and SKU (a full count, or --delta changes such as sales on other
    channels); a row that would go below the units reserved is refused; exit 2 if any row was rejected."""
    import_table(file, "stock", lambda ctx, db, rows: _apply_stock(ctx, db, rows, delta))


@stock_app.command("show")
def stock_show(
    sku: Annotated[str | None, typer.Argument(help="Only this SKU.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON list.")] = False,
) -> None:
    """Stock per SKU and warehouse: on hand, reserved for orders not yet labelled, and available."""
    from fulfilment.store import stock

    with _context().session() as db:
        rows = stock.levels(db, sku)
    if as_json:
        keys = ("warehouse", "sku", "on_hand", "reserved")
        print(json.dumps([{**dict(zip(keys, r, strict=True)), "available": r[2] - r[3]} for r in rows]))
        return
    if not rows:
        raise fail(f"no stock recorded for {sku!r}" if sku else "no stock recorded: fulfil stock import FILE")
    table = Table("sku", "warehouse", "on hand", "reserved", "available")
    for warehouse, code, on_hand, reserved in rows:
        table.add_row(code, warehouse, str(on_hand), str(reserved), str(on_hand - reserved))
    out.print(table)


@warehouses_app.command("list")
def warehouses_list() -> None:
    """List the warehouses in rank order with their ship-from addresses, carriers and cut-off, and the policy."""
    ctx = _context()
    table = Table("rank", "code", "name", "ship from", "carriers", "cut-off", "active")
    for rank, w in enumerate(ctx.rules.warehouses, 1):
        a = w.address
        table.add_row(
            str(rank),
            w.code,
            w.name,
            f"{a.street1}, {a.city}, {a.state} {a.zip}",
            ", ".join(w.services or w.carriers),
            f"{w.cutoff:%H:%M}" if w.cutoff else "",
            "yes" if w.active else "no",
        )
    out.print(table)
    policy = ctx.rules.allocation
    tie = f", ties within {policy.tie_radius_miles:g} mi by rank" if policy.tie_radius_miles else ""
    split = "split across warehouses" if policy.allow_split else "backorder"
    out.print(f"policy: {policy.mode}{tie}; an order no warehouse has whole: {split}", highlight=False)
    for o in policy.overrides:
        what = ", ".join(sorted(o.states | o.skus))
        out.print(f"override {o.id}: {what} only from {', '.join(o.warehouses)}", highlight=False)


def print_summary(ctx: Any, summary: dict[str, Any]) -> None:
    """The batch summary as a table, the paths of what it wrote, then its low-stock alerts."""
    from fulfilment.batches import alerts

    table = Table(title=f"Batch {summary['batch_id']} — {summary['status']}", show_header=True)
    for key in summary["counts"]:
        table.add_column(key, justify="right")
    table.add_row(*(str(v) for v in summary["counts"].values()))
    out.print(table)
    for key, path in summary["outputs"].items():
        if path:
            out.print(f"  {key:14} {path}", highlight=False)
    out.print(f"  elapsed        {summary['elapsed_s']:.1f} s", highlight=False)
    for alert in alerts(ctx, summary["batch_id"]):
        out.print(f"  [yellow]low stock[/yellow]      {alert['sku']}: {alert['reason']}", highlight=False)


def emit_summary(ctx: Any, summary: dict[str, Any], as_json: bool) -> None:
    """The batch summary: exactly one JSON object with --json, else the table and the files."""
    if as_json:
        print(json.dumps(summary))
    else:
        print_summary(ctx, summary)


def _with_progress(as_json: bool, run: Callable[[BatchProgress | None], dict[str, Any]]) -> dict[str, Any]:
    """Run a batch with a progress bar on a terminal (none in --json mode); Ctrl-C says how to resume."""
    from fulfilment.runner import last_batch

    try:
        if as_json or not sys.stderr.isatty():
            return run(None)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=err, transient=True) as bar:
            task = bar.add_task("batch", total=None)

            def update(done: int, total: int, status: str) -> None:
                bar.update(task, completed=done, total=total or None, description=status)

            return run(update)
    except KeyboardInterrupt:
        batch_id = last_batch()
        hint = f": `fulfil batch resume {batch_id}` finishes it" if batch_id else ""
        err.print(f"interrupted; the batch is left as it is{hint}", highlight=False)
        raise typer.Exit(130) from None


def _run_with_progress(
    ctx: Any, session: str | None, as_json: bool, timeout: float | None, options: Any = None
) -> dict[str, Any]:
    from fulfilment.runner import run_batch

    return _with_progress(
        as_json, lambda progress: run_batch(ctx, session, progress=progress, timeout_s=timeout, options=options)
    )


ReverseOption = Annotated[
    bool | None,
    typer.Option("--reverse/--no-reverse", help="Merged labels last to first, for printers that stack face up."),
]
SeparatorsOption = Annotated[
    bool | None, typer.Option("--separators/--no-separators", help="A separator page before each warehouse.")
]
SlipsOption = Annotated[
    str | None, typer.Option("--packing-slips", help="separate (own PDF), interleaved (after each label) or off.")
]


def document_overrides(**chosen: Any) -> dict[str, Any]:
    """The document options given on the command line (None: keep the setting or the batch's own)."""
    return {k: v for k, v in chosen.items() if v is not None}


def document_options(base: Any, overrides: dict[str, Any]) -> Any:
    """`base` DocumentOptions with `overrides`; a bad combination is a clear error (exit 1)."""
    try:
        return base.with_overrides(**overrides)
    except ValueError as exc:
        raise fail(str(exc)) from None


@batch_app.command("run")
def batch_run(
    session: Annotated[str | None, typer.Option(help="Only the orders of this live session.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print exactly one JSON object on stdout.")] = False,
    timeout: Annotated[float | None, typer.Option(help="Stop waiting after this many seconds.")] = None,
    label_format: Annotated[
        str | None, typer.Option("--format", help="pdf (4x6 pages) or zpl (ZPL II for thermal printers).")
    ] = None,
    reverse: ReverseOption = None,
    separators: SeparatorsOption = None,
    packing_slips: SlipsOption = None,
) -> None:
    """Claim every pending order into a batch and run it through every stage to the end. Document options not
    given come from the settings; the batch keeps them for resume and reprint."""
    ctx = _context()
    chosen = document_overrides(
        label_format=label_format, reverse=reverse, separators=separators, packing_slips=packing_slips
    )
    options = document_options(ctx.settings.documents, chosen)
    summary = _run_with_progress(ctx, session, as_json, timeout, options)
    emit_summary(ctx, summary, as_json)


@batch_app.command("show")
def batch_show(
    batch_id: Annotated[str, typer.Argument(help="The batch id printed by `batch run`.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print exactly one JSON object on stdout.")] = False,
) -> None:
    """Show a batch's status, counts and output files."""
    from fulfilment.batches import summary as batch_summary

    ctx = _context()
    summary = batch_summary(ctx, batch_id)
    if summary is None:
        raise fail(f"no batch {batch_id!r}")
    emit_summary(ctx, summary, as_json)


@batch_app.command("resume")
def batch_resume(
    batch_id: Annotated[str, typer.Argument(help="A batch that was interrupted or whose workers died.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print exactly one JSON object on stdout.")] = False,
    timeout: Annotated[float | None, typer.Option(help="Stop waiting after this many seconds.")] = None,
    reverse: ReverseOption = None,
    separators: SeparatorsOption = None,
    packing_slips: SlipsOption = None,
) -> None:
    """Send every unfinished step of a batch again and run it to the end (safe to repeat). It prints with the
    options it was started with; those given here replace them if its documents are not written yet."""
    from fulfilment.batches import summary as batch_summary
    from fulfilment.runner import resume_batch
    from fulfilment.store.document_options import batch_options

    ctx = _context()
    if batch_summary(ctx, batch_id) is None:
        raise fail(f"no batch {batch_id!r}")
    chosen = document_overrides(reverse=reverse, separators=separators, packing_slips=packing_slips)
    with ctx.session() as db:
        document_options(batch_options(db, batch_id, ctx.settings.documents), chosen)
    summary = _with_progress(as_json, lambda progress: resume_batch(ctx, batch_id, progress, timeout, chosen))
    emit_summary(ctx, summary, as_json)


@app.command("sweeper")
def sweeper(
    every: Annotated[float, typer.Option(help="Seconds between sweeps.")] = 60.0,
    stale_after: Annotated[float, typer.Option(help="Re-send work untouched for this many seconds.")] = 120.0,
    once: Annotated[bool, typer.Option(help="Sweep once and exit (for cron).")] = False,
) -> None:
    """Re-send batch steps and tracking pushes stuck past a deadline (a worker died, a message was lost).

    A sweep that fails because the database or Redis is briefly down is reported and tried again next time."""
    import time
    from datetime import timedelta

    from fulfilment.messages import dispatch
    from fulfilment.sweeper import TRANSIENT, sweep

    ctx = _context()
    if not ctx.settings.distributed:
        raise fail("FULFILMENT_REDIS_URL is not set: the embedded default sweeps inside `fulfil batch run`")
    while True:
        try:
            steps = sweep(ctx, timedelta(seconds=stale_after))
            dispatch(steps)
            if steps:
                out.print(f"re-sent {len(steps)} stalled step(s)", highlight=False)
        except TRANSIENT as exc:
            if once:
                raise fail(f"sweep failed: {exc}") from None
            err.print(f"sweep failed, trying again in {every:g} s: {exc}", highlight=False)
        if once:
            return
        time.sleep(every)


@app.command("worker")
def worker(
    processes: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    threads: Annotated[int, typer.Option(help="Threads per process.")] = 2,
) -> None:
    """Run dramatiq workers against FULFILMENT_REDIS_URL (use on any number of machines)."""
    ctx = _context()
    if not ctx.settings.distributed:
        raise fail("FULFILMENT_REDIS_URL is not set: workers need Redis (the embedded default runs batches in-process)")
    # An idle worker polls Redis at most every 100 ms (dramatiq's default 1 s delays every hand-off between
    # stages), and takes one message per thread, so no worker hoards a batch's chunks while another idles.
    os.environ.setdefault("dramatiq_worker_timeout", "100")
    os.environ.setdefault("dramatiq_queue_prefetch", str(threads))
    args = [
        sys.executable,
        "-m",
        "dramatiq",
        "fulfilment.worker",
        "--processes",
        str(processes),
        "--threads",
        str(threads),
    ]
    os.execv(sys.executable, args)


@app.command("demo")
def demo(
    orders: Annotated[int, typer.Option(help="Orders in the simulated live session.")] = 800,
    seed: Annotated[int | None, typer.Option(help="Random seed (default: a new session each run).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print exactly one JSON object on stdout.")] = False,
) -> None:
    """Simulate a live session, import its export, and ship it: labels, pick list, tracking upload file."""
    from fulfilment.demo import prepare_demo

    ctx = _context()
    session, export, import_counts = prepare_demo(ctx, orders, seed)
    if not as_json:
        out.print(f"simulated live session {session!r}: {orders} orders → {export}", highlight=False)
        out.print(
            f"imported {import_counts['created']} new orders ({import_counts['updated']} updated, "
            f"{import_counts['unchanged']} unchanged)",
            highlight=False,
        )
    summary = _run_with_progress(ctx, session, as_json, None)
    emit_summary(ctx, summary, as_json)


def register_commands(root: typer.Typer) -> None:
    """Add the command groups of every module in fulfilment.commands (each defines `register(app)`)."""
    import importlib
    import pkgutil

    from fulfilment import commands

    for module in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        importlib.import_module(f"fulfilment.commands.{module.name}").register(root)


register_commands(app)

"""`fulfil session start|end NAME` and `fulfil scheduler`: live sessions and their post-stream batches."""

from __future__ import annotations

import time
from typing import Annotated

import typer


def session_start(name: Annotated[str, typer.Argument(help="The live session's name.")]) -> None:
    """Mark a live session as started (orders paid from now on belong to it)."""
    from fulfilment.cli import _context, out
    from fulfilment.scheduling import start_session

    start_session(_context(), name)
    out.print(f"session {name!r} is live", highlight=False)


def session_end(
    name: Annotated[str, typer.Argument(help="The live session's name.")],
    delay: Annotated[
        int | None, typer.Option(help="Seconds until the post-stream batch (default FULFILMENT_POST_STREAM_DELAY_S).")
    ] = None,
) -> None:
    """Mark a live session as ended and schedule its post-stream batch; `fulfil scheduler` runs it when due."""
    from fulfilment.cli import _context, out
    from fulfilment.scheduling import end_session

    run = end_session(_context(), name, delay)
    out.print(f"session {name!r} ended; post-stream batch scheduled for {run.run_at:%Y-%m-%d %H:%M:%S} UTC")


def scheduler(
    once: Annotated[bool, typer.Option(help="Run what is due now and exit.")] = False,
    tick: Annotated[float, typer.Option(help="Seconds between looks at the schedule.")] = 5.0,
) -> None:
    """Run due post-stream batches and the schedules of rules/schedules.yaml (pulls, cron batches). Start it on as
    many machines as you like: only one (the holder of a PostgreSQL advisory lock, or a file lock for SQLite) runs
    anything; the others wait. Each fire is recorded once, and after downtime a missed fire runs once."""
    from fulfilment.cli import _context, err, out
    from fulfilment.scheduling import claim_due, record_fires, recover_runs, run_scheduled
    from fulfilment.store.db import engine_for
    from fulfilment.store.leader import Leadership

    ctx = _context()
    leadership = Leadership(engine_for(ctx.settings.database_url))
    leading = False
    try:
        while True:
            if leadership.try_acquire():
                if not leading:
                    leading = True
                    recovered = recover_runs(ctx)
                    out.print(f"scheduler: leading ({recovered} interrupted runs due again)", highlight=False)
                record_fires(ctx, ctx.rules.schedules)
                for run in claim_due(ctx):
                    what = f"{run.schedule or run.kind} {run.session_name or ''}".strip()
                    try:
                        batch_id = run_scheduled(ctx, run)
                        out.print(f"scheduler: {what} → {f'batch {batch_id}' if batch_id else 'done'}", highlight=False)
                    except Exception as exc:  # one failed run must not stop the scheduler
                        err.print(f"scheduler: {what} failed: {exc}", highlight=False)
            elif once:
                out.print("scheduler: another scheduler is leading; nothing done", highlight=False)
            if once:
                return
            time.sleep(tick)
    finally:
        leadership.release()


def register(app: typer.Typer) -> None:
    session_app = typer.Typer(help="Live sessions.", no_args_is_help=True)
    session_app.command("start")(session_start)
    session_app.command("end")(session_end)
    app.add_typer(session_app, name="session")
    app.command("scheduler")(scheduler)

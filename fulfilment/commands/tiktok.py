"""`fulfil pull tiktok`: bring orders in from the TikTok Shop Partner API."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer


def parse_since(value: str) -> int:
    """Unix seconds from `value`: unix seconds, or an ISO date/time (UTC unless it names a zone)."""
    if value.strip().isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(f"{value!r} is neither unix seconds nor an ISO time like 2026-11-21T18:00") from None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def pull_tiktok(
    since: Annotated[
        str | None, typer.Option(help="Orders updated since this time (default: since the last successful pull).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Search the shop's orders through the Partner API, fetch their details and store them like an import."""
    from fulfilment.channels.tiktok_api import TikTokClient, TikTokError
    from fulfilment.cli import _context, fail, out
    from fulfilment.ingest.tiktok_api import pull_orders

    start = parse_since(since) if since is not None else None
    ctx = _context()
    if ctx.settings.tiktok is None:
        raise fail("TIKTOK_APP_KEY, TIKTOK_APP_SECRET, TIKTOK_ACCESS_TOKEN and TIKTOK_SHOP_CIPHER must be set")
    try:
        result = pull_orders(ctx, TikTokClient(ctx.settings.tiktok), start)
    except TikTokError as exc:
        raise fail(f"pull stopped, the next pull starts where this one did: {exc}") from None
    summary = result.as_dict()
    if as_json:
        print(json.dumps(summary))
        return
    skipped = ", ".join(f"{n} {why}" for why, n in result.skipped.items()) or "none"
    out.print(
        f"TikTok: {result.orders} orders in {result.pages} pages — {summary['created']} new, "
        f"{summary['updated']} updated, {summary['unchanged']} unchanged, {summary['locked']} already in a batch; "
        f"skipped: {skipped}",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    pull_app = typer.Typer(help="Pull orders from a sales channel's API.", no_args_is_help=True)
    pull_app.command("tiktok")(pull_tiktok)
    app.add_typer(pull_app, name="pull")

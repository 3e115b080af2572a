"""`fulfil buyers`: buyer history from before the tool, for the high-return-rate check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


def _apply(ctx: Any, db: Any, rows: list[tuple[int, dict[str, Any]]]) -> tuple[int, list[Any]]:
    from fulfilment.store.buyers import set_history

    return set_history(db, rows)


def register(app: typer.Typer) -> None:
    buyers_app = typer.Typer(help="Buyer history.", no_args_is_help=True)
    app.add_typer(buyers_app, name="buyers")

    @buyers_app.command("import")
    def buyers_import(file: Annotated[Path, typer.Argument(help="CSV: buyer,orders,returns[,last_return_at]")]) -> None:
        """Set buyers' order and return counts from before the tool; exit 2 if any row was rejected."""
        from fulfilment.cli import import_table

        import_table(file, "buyers", _apply)

"""`fulfil serve`: the staff console in a browser."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the `serve` command."""
    from fulfilment.cli import _context, out

    @app.command("serve")
    def serve(
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    ) -> None:
        """Serve the staff console (sign in with an account from `fulfil users add`)."""
        import uvicorn

        from fulfilment.web import create_app

        ctx = _context()
        mode = "Redis + `fulfil worker`s" if ctx.settings.distributed else "an in-process worker"
        out.print(f"console on http://{host}:{port}/ — batches run on {mode}", highlight=False)
        uvicorn.run(create_app(ctx), host=host, port=port, log_level="info")

"""`fulfil webhooks serve`: receive TikTok Shop notifications over HTTP."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Annotated, Any

import typer


def make_server(ctx: Any, client: Any, host: str, port: int) -> ThreadingHTTPServer:
    """An HTTP server that hands every POST to the notification handler and answers with its verdict."""
    from fulfilment.ingest.tiktok_webhooks import handle_notification

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            answer = handle_notification(ctx, client, body, self.headers.get("authorization", ""))
            payload = answer.text.encode()
            self.send_response(answer.status)
            self.send_header("content-type", "text/plain; charset=utf-8")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
) -> None:
    """Receive TikTok Shop webhooks: forged ones get 401, replays are acknowledged and ignored, cancellations
    cancel the order (releasing stock, voiding a label), other changes are read back from the API."""
    from fulfilment.channels.tiktok_api import TikTokClient
    from fulfilment.cli import _context, fail, out

    ctx = _context()
    if ctx.settings.tiktok is None:
        raise fail("TIKTOK_APP_KEY, TIKTOK_APP_SECRET, TIKTOK_ACCESS_TOKEN and TIKTOK_SHOP_CIPHER must be set")
    server = make_server(ctx, TikTokClient(ctx.settings.tiktok), host, port)
    out.print(f"receiving TikTok webhooks on http://{host}:{server.server_address[1]}/", highlight=False)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.server_close()


def register(app: typer.Typer) -> None:
    webhooks_app = typer.Typer(help="Notifications from sales channels.", no_args_is_help=True)
    webhooks_app.command("serve")(serve)
    app.add_typer(webhooks_app, name="webhooks")

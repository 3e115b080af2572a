"""The console's FastAPI app: routers per area, static files, and how refusals look to browsers and scripts."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from fulfilment import logs
from fulfilment.pipeline import Context, context
from fulfilment.web import batches, ops, orders, review, rules, signin, stock, users
from fulfilment.web.auth import SignInRequired
from fulfilment.web.views import HERE, render

AREAS = (signin, batches, review, rules, stock, orders, users, ops)
"""The console's areas, each a module with a `router`."""


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "") and "authorization" not in request.headers


def create_app(ctx: Context | None = None) -> FastAPI:
    """The console for a context (default: from the environment); the schema is upgraded on first use. Log
    records are masked (`fulfilment.logs`)."""
    logs.install()
    app = FastAPI(title="fulfilment console", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ctx = ctx or context()
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for module in AREAS:
        app.include_router(module.router)

    @app.exception_handler(SignInRequired)
    async def sign_in_first(request: Request, _exc: SignInRequired) -> Response:
        if _wants_html(request) and request.method == "GET":
            return RedirectResponse(f"/signin?next={quote(request.url.path)}", status_code=303)
        return JSONResponse({"detail": "sign in first"}, status_code=401, headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(HTTPException)
    async def refused(request: Request, exc: HTTPException) -> Response:
        if _wants_html(request):
            return render(request, "error.html", None, status_code=exc.status_code, message=exc.detail)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
        return response

    return app

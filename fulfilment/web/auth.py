"""Who is asking: the session cookie or an API token, the role each route needs, and the CSRF check on POSTs."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from fulfilment.pipeline import Context
from fulfilment.store.users import Staff, staff_for_session, staff_for_token

SESSION_COOKIE = "fulfil_session"
SIGNIN_CSRF_COOKIE = "fulfil_signin_csrf"
"""A random value set with the sign-in form and echoed in it (double submit): there is no session yet."""


class SignInRequired(Exception):
    """The request carries no valid session or token: browsers are sent to sign in, scripts get 401."""


def context_of(request: Request) -> Context:
    """The app's context (settings, rules, database)."""
    return request.app.state.ctx


def identify(ctx: Context, request: Request) -> Staff | None:
    """The staff member behind a bearer token or the session cookie, or None."""
    header = request.headers.get("authorization", "")
    with ctx.session() as session:
        if header.lower().startswith("bearer "):
            return staff_for_token(session, header[7:].strip())
        cookie = request.cookies.get(SESSION_COOKIE)
        return staff_for_session(session, cookie) if cookie else None


def same_secret(given: object, expected: str | None) -> bool:
    """Constant-time comparison of a submitted token with the expected one."""
    if not isinstance(given, str) or not expected:
        return False
    return secrets.compare_digest(given.encode(), expected.encode())


def staff_with(role: str) -> Callable[[Request], Awaitable[Staff]]:
    """A dependency: the signed-in staff member if their role reaches `role`; on POST from a browser session
    the form's `csrf_token` must match the session's (bearer-token scripts have no cookie to forge)."""

    async def dependency(request: Request) -> Staff:
        staff = await run_in_threadpool(identify, context_of(request), request)
        if staff is None:
            raise SignInRequired()
        if not staff.may(role):
            raise HTTPException(403, f"this needs the {role} role; {staff.name} is a {staff.role}")
        if request.method == "POST" and staff.csrf_token is not None:
            form = await request.form()
            if not same_secret(form.get("csrf_token"), staff.csrf_token):
                raise HTTPException(403, "the form's CSRF token is missing or wrong: reload the page and try again")
        return staff

    return dependency


Packer = Annotated[Staff, Depends(staff_with("packer"))]
"""A route parameter: any signed-in staff member (packers start batches and download)."""
Reviewer = Annotated[Staff, Depends(staff_with("reviewer"))]
"""A route parameter: a reviewer or admin (the review queue)."""
Admin = Annotated[Staff, Depends(staff_with("admin"))]
"""A route parameter: an admin (staff accounts)."""

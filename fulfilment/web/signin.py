"""Signing in and out: the session cookie is HttpOnly, SameSite=Lax, and Secure when the setting says so."""

from __future__ import annotations

import logging
import secrets

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from fulfilment.store.users import check_password, close_session, open_session
from fulfilment.web.auth import SESSION_COOKIE, SIGNIN_CSRF_COOKIE, Packer, context_of, same_secret
from fulfilment.web.views import render

router = APIRouter()
log = logging.getLogger("fulfilment.web")


def _safe_next(target: str) -> str:
    """Only a path on this site (no scheme, no //host) may be the place to go after signing in."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def _signin_form(request: Request, next_path: str, error: str = "", status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request, "signin.html", None, status_code=status_code, signin_csrf=token, next_path=next_path, error=error
    )
    secure = context_of(request).settings.secure_cookies
    response.set_cookie(SIGNIN_CSRF_COOKIE, token, httponly=True, samesite="lax", secure=secure)
    return response


@router.get("/signin")
def signin_page(request: Request, next: str = "/") -> Response:
    return _signin_form(request, _safe_next(next))


@router.post("/signin")
def signin(
    request: Request,
    name: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form(""),
    next: str = Form("/"),
) -> Response:
    if not same_secret(csrf_token, request.cookies.get(SIGNIN_CSRF_COOKIE)):
        return _signin_form(request, _safe_next(next), "The form expired: please sign in again.", 403)
    ctx = context_of(request)
    with ctx.session() as session:
        user = check_password(session, name, password)
        cookie = open_session(session, user) if user else None
    if cookie is None:
        log.warning("sign-in refused for %r", name)
        return _signin_form(request, _safe_next(next), "Wrong name or password.", 401)
    log.info("%s signed in", name)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, cookie, httponly=True, samesite="lax", secure=ctx.settings.secure_cookies, path="/"
    )
    response.delete_cookie(SIGNIN_CSRF_COOKIE)
    return response


@router.post("/signout")
def signout(request: Request, staff: Packer) -> Response:
    with context_of(request).session() as session:
        close_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response

"""Staff accounts (admins only): who may sign in, and adding someone."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from fulfilment.store.users import ROLES, Staff, UserError, add_user, list_users
from fulfilment.web.auth import Admin, context_of
from fulfilment.web.views import render

router = APIRouter()


def _page(request: Request, staff: Staff, error: str = "", status_code: int = 200) -> Response:
    with context_of(request).session() as session:
        users = list_users(session)
    return render(request, "users.html", staff, status_code=status_code, users=users, roles=ROLES, error=error)


@router.get("/users")
def users_page(request: Request, staff: Admin) -> Response:
    return _page(request, staff)


@router.post("/users")
def add(
    request: Request,
    staff: Admin,
    name: str = Form(""),
    role: str = Form(""),
    password: str = Form(""),
) -> Response:
    try:
        with context_of(request).session() as session:
            add_user(session, name, role, password)
    except UserError as exc:
        return _page(request, staff, str(exc), 400)
    return RedirectResponse("/users", status_code=303)

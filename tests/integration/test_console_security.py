"""The console refuses what it must: no page or action without sign-in, no POST without the CSRF token,
no action above one's role, and no password stored or logged in clear."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from fulfilment.pipeline import context
from fulfilment.store.models import User
from fulfilment.store.users import add_user
from fulfilment.web import create_app
from fulfilment.web.app import AREAS
from tests.console import add_user as add_user_cli
from tests.console import csrf_of, fulfil_users, sign_in, sqlite_bytes

PASSWORDS = {"ada": "ada-admin-pass", "rex": "rex-review-pass", "pat": "pat-packer-pass"}
OPEN = {"/signin", "/health"}


@pytest.fixture
def app(embedded_env: dict[str, str]):  # type: ignore[no-untyped-def]
    ctx = context()
    with ctx.session() as session:
        for (name, password), role in zip(PASSWORDS.items(), ("admin", "reviewer", "packer"), strict=True):
            add_user(session, name, role, password)
    return create_app(ctx)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        yield c


def routes(method: str) -> list[str]:
    """Every path of the console for `method` (but the open ones), with path parameters filled in."""
    return [
        re.sub(r"\{[^}]+\}", "x", r.path)
        for area in AREAS
        for r in area.router.routes
        if isinstance(r, APIRoute) and method in r.methods and r.path not in OPEN
    ]


def test_no_page_or_action_without_sign_in(client: TestClient) -> None:
    gets, posts = routes("GET"), routes("POST")
    assert {"/", "/review", "/users", "/metrics", "/batches/x/files/x"} <= set(gets)
    assert {"/batches", "/batches/x/retry", "/users", "/signout"} <= set(posts)
    for path in gets:
        page = client.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/signin"), path
        assert client.get(path).status_code == 401, path
    for path in posts:
        assert client.post(path, data={"session": ""}).status_code == 401, path
    assert client.get("/metrics", headers={"Authorization": "Bearer ful_not-a-token"}).status_code == 401


def test_every_post_needs_the_sessions_csrf_token(client: TestClient) -> None:
    sign_in(client, "ada", PASSWORDS["ada"])
    token = csrf_of(client.get("/").text)
    for path in routes("POST"):
        for form in ({}, {"csrf_token": "forged"}, {"csrf_token": "förged"}):
            answer = client.post(path, data={**form, "name": "eve", "role": "admin", "password": "x" * 12})
            assert answer.status_code == 403, (path, form)
    assert client.get("/", follow_redirects=False).status_code == 200, "still signed in"
    assert client.post("/users", data={"csrf_token": token, "name": "eve", "role": "packer", "password": "p" * 10})
    assert "eve" in client.get("/users").text


def test_sign_in_form_needs_its_own_token(client: TestClient) -> None:
    client.get("/signin")
    refused = client.post("/signin", data={"name": "ada", "password": PASSWORDS["ada"], "csrf_token": "x"})
    assert refused.status_code == 403
    assert client.get("/").status_code == 401


def test_wrong_role_is_refused(client: TestClient) -> None:
    sign_in(client, "pat", PASSWORDS["pat"])
    token = csrf_of(client.get("/").text)
    assert client.get("/review").status_code == 403
    assert client.get("/users").status_code == 403
    added = client.post("/users", data={"csrf_token": token, "name": "mal", "role": "admin", "password": "m" * 10})
    assert added.status_code == 403
    assert "needs the admin role" in added.json()["detail"]
    assert client.get("/stock").status_code == 200

    client.cookies.clear()
    sign_in(client, "rex", PASSWORDS["rex"])
    assert client.get("/review").status_code == 200
    assert client.get("/users").status_code == 403
    with context().session() as session:
        assert session.scalar(select(User).where(User.name == "mal")) is None


def test_session_cookie_is_httponly_and_samesite(embedded_env: dict[str, str], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with context().session() as session:
        add_user(session, "ada", "admin", PASSWORDS["ada"])
    for secure in ("0", "1"):
        monkeypatch.setenv("FULFILMENT_SECURE_COOKIES", secure)
        with TestClient(create_app(), base_url="https://testserver") as client:
            form = client.get("/signin")
            answer = client.post(
                "/signin",
                data={"name": "ada", "password": PASSWORDS["ada"], "csrf_token": csrf_of(form.text)},
                follow_redirects=False,
            )
        assert answer.status_code == 303
        [cookie] = [c.lower() for c in answer.headers.get_list("set-cookie") if c.startswith("fulfil_session=")]
        assert "httponly" in cookie and "samesite=lax" in cookie
        assert ("secure" in cookie) is (secure == "1")


def test_sign_out_ends_the_session_and_next_cannot_leave_the_site(client: TestClient) -> None:
    form = client.get("/signin")
    answer = client.post(
        "/signin",
        data={"name": "ada", "password": PASSWORDS["ada"], "csrf_token": csrf_of(form.text), "next": "//evil.example"},
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/"
    cookie = client.cookies.get("fulfil_session")
    client.post("/signout", data={"csrf_token": csrf_of(client.get("/").text)})
    client.cookies.set("fulfil_session", cookie)
    assert client.get("/").status_code == 401


def test_passwords_are_never_stored_or_logged_in_clear(
    embedded_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    password = "correct horse battery staple"
    added = add_user_cli(embedded_env, "sam", "packer", password)
    assert added.returncode == 0, added.stderr
    assert password not in added.stdout + added.stderr
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app()) as client:
        assert sign_in(client, "sam", password + "!").status_code == 401
        assert sign_in(client, "sam", password).status_code == 200
        assert "sam (packer)" in client.get("/").text
    assert password not in caplog.text
    assert "sam signed in" in caplog.text
    with context().session() as session:
        row = session.scalar(select(User).where(User.name == "sam"))
        assert row is not None
        assert row.password_hash.startswith("$argon2id$") and password not in row.password_hash
    stored = sqlite_bytes(embedded_env)
    assert b"$argon2id$" in stored and password.encode() not in stored


def test_api_token_is_shown_once_and_stored_hashed(embedded_env: dict[str, str], app) -> None:  # type: ignore[no-untyped-def]
    printed = fulfil_users(embedded_env, "token", "pat")
    token = printed.stdout.strip()
    assert printed.returncode == 0 and token.startswith("ful_")
    with TestClient(app) as client:
        metrics = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert metrics.status_code == 200 and "fulfilment_orders" in metrics.text
        assert client.get("/review", headers={"Authorization": f"Bearer {token}"}).status_code == 403
    assert token.encode() not in sqlite_bytes(embedded_env)


def test_users_add_asks_twice_hides_the_password_and_refuses_bad_input(embedded_env: dict[str, str]) -> None:
    from typer.testing import CliRunner

    from fulfilment.cli import app as cli

    runner = CliRunner()
    added = runner.invoke(cli, ["users", "add", "kim", "--role", "reviewer"], input="kim-password\nkim-password\n")
    assert added.exit_code == 0, added.output
    assert "added kim (reviewer)" in added.output and "kim-password" not in added.output
    again = runner.invoke(cli, ["users", "add", "kim", "--role", "packer", "--password-stdin"], input="other-pass\n")
    assert again.exit_code == 1 and "exists already" in again.output
    role = runner.invoke(cli, ["users", "add", "lee", "--role", "boss", "--password-stdin"], input="lee-password\n")
    assert role.exit_code == 1 and "not one of: packer, reviewer, admin" in role.output
    short = runner.invoke(cli, ["users", "add", "lee", "--role", "packer", "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "at least 8 characters" in short.output
    assert runner.invoke(cli, ["users", "token", "nobody"]).exit_code == 1

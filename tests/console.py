"""Test helpers for the staff console: serving it in a child process, adding users, signing in over HTTP."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import ROOT

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')


def child_env(env: dict[str, str]) -> dict[str, str]:
    """This process's environment without its FULFILMENT_* variables, plus exactly `env`."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("FULFILMENT_")}, **env}


def fulfil_users(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`fulfil users ARGS` in a child process with exactly the given settings and `stdin` as its input."""
    return subprocess.run(
        [sys.executable, "-m", "fulfilment", "users", *args],
        input=stdin,
        env=child_env(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def add_user(env: dict[str, str], name: str, role: str, password: str) -> subprocess.CompletedProcess[str]:
    """`fulfil users add NAME --role ROLE --password-stdin` with the password on stdin."""
    return fulfil_users(env, "add", name, "--role", role, "--password-stdin", stdin=password + "\n")


def sqlite_bytes(env: dict[str, str]) -> bytes:
    """Every byte of the SQLite database of `env`, its write-ahead log included."""
    path = Path(env["FULFILMENT_DATABASE_URL"].removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(env: dict[str, str], log: Path, timeout_s: float = 60) -> Iterator[str]:
    """Run `fulfil serve` on a free port until the block ends; yields its base URL once /health answers."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fulfilment", "serve", "--port", str(port)],
        env=child_env(env),
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"fulfil serve did not come up:\n{log.read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = CSRF_FIELD.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def sign_in(client: httpx.Client | object, name: str, password: str) -> object:
    """Sign in through the form (an httpx or TestClient client keeps the cookies); returns the POST response."""
    form = client.get("/signin")  # type: ignore[attr-defined]
    return client.post(  # type: ignore[attr-defined]
        "/signin", data={"name": name, "password": password, "csrf_token": csrf_of(form.text), "next": "/"}
    )

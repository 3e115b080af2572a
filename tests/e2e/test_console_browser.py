"""A real headless Chromium drives the console served by `fulfil serve`: sign in, start a batch, watch it
finish, download the labels, approve and reject held orders on the review page, and a packer refused the
reviewer's and admin's pages and actions. Screenshots of the main
pages go to tests/artifacts/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from fulfilment.config import load_settings
from fulfilment.demo import prepare_demo
from fulfilment.pipeline import context
from fulfilment.runner import run_batch
from fulfilment.store.users import add_user
from tests.conftest import ROOT, fulfil_env
from tests.console import served

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "tests" / "artifacts" / "screenshots"
USERS = {"ada": ("admin", "ada-admin-pass"), "pat": ("packer", "pat-packer-pass")}


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[Any]:
    """A page in a fresh Chromium profile (Debian's chromium; never a browser downloaded by the test tool)."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing (scripts/test installs Debian's chromium when run as root)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            accept_downloads=True,
            viewport={"width": 1280, "height": 900},
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


@contextmanager
def serve_demo(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, batched: bool
) -> Iterator[tuple[str, str]]:
    """`fulfil serve` on a fresh SQLite database holding a simulated live session (run through a batch when
    `batched`, so orders wait for review) and the users."""
    env = fulfil_env(tmp_path, sqlite_url)
    ctx = context(load_settings(env))
    session_name, _, _ = prepare_demo(ctx, 150, seed=11)
    if batched:  # the in-process worker reads its settings from the environment
        monkeypatch.delenv("FULFILMENT_REDIS_URL", raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        run_batch(ctx, session_name, timeout_s=240)
    with ctx.session() as session:
        for name, (role, password) in USERS.items():
            add_user(session, name, role, password)
    with served(env, tmp_path / "serve.log") as base:
        yield base, session_name


@pytest.fixture
def console(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    with serve_demo(tmp_path, sqlite_url, monkeypatch, batched=False) as served_at:
        yield served_at


@pytest.fixture
def reviewed_console(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    with serve_demo(tmp_path, sqlite_url, monkeypatch, batched=True) as served_at:
        yield served_at


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/")
    assert "/signin" in page.url
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", USERS[name][1])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_sign_in_start_a_batch_watch_it_finish_and_download(
    browser_page: Any, console: tuple[str, str], tmp_path: Path
) -> None:
    page, (base, session_name) = browser_page, console
    page.goto(f"{base}/")
    shot(page, "01-sign-in")
    sign_in(page, base, "ada")
    assert "ada (admin)" in page.inner_text("header")
    shot(page, "02-batches")

    page.select_option("#session-select", session_name)
    page.click("#start-batch button[type=submit]")
    page.wait_for_url(f"{base}/batches/*")
    batch_url = page.url
    page.wait_for_selector("#downloads", timeout=240_000)  # the page polls progress.json and reloads at the end
    assert page.inner_text("#status") in ("completed", "completed_with_errors")
    assert page.inner_text("#done") == page.inner_text("#total") == page.inner_text("#count-orders")
    shot(page, "03-batch-finished")

    with page.expect_download() as download:
        page.click("#file-labels_pdf")
    pdf = tmp_path / "labels.pdf"
    download.value.save_as(pdf)
    # one page per parcel (a combined parcel carries several orders), besides a separator per warehouse
    pages = sum("TEST LABEL" in p.extract_text() for p in PdfReader(pdf).pages)
    assert 0 < pages <= int(page.inner_text("#count-labelled"))
    assert pages == len({row.split(",")[1] for row in tracking_rows(page, base)})

    for path, name in (("/review", "04-review-queue"), ("/rules", "05-rules"), ("/stock", "06-stock")):
        assert page.goto(f"{base}{path}").status == 200
        shot(page, name)
    page.goto(f"{base}/review")
    held = page.locator("#held a")
    assert held.count() > 0, "the simulated session has orders held for review"
    held.first.click()
    page.wait_for_url(f"{base}/orders/*")
    assert page.inner_text("#order-status") == "held"
    assert "claimed by batch" in page.inner_text("#audit")
    shot(page, "07-order")
    assert page.goto(f"{base}/users").status == 200
    shot(page, "08-users")

    page.goto(batch_url)
    page.click("header .signout button")
    page.wait_for_url(f"{base}/signin")


def test_a_packer_is_refused_reviewer_and_admin_actions(browser_page: Any, console: tuple[str, str]) -> None:
    page, (base, _) = browser_page, console
    sign_in(page, base, "pat")
    nav = page.inner_text("header nav")
    assert "Review queue" not in nav and "Users" not in nav
    refused = page.goto(f"{base}/review")
    assert refused.status == 403
    assert "needs the reviewer role" in page.inner_text("#error")
    shot(page, "09-packer-refused")
    assert page.goto(f"{base}/users").status == 403

    page.goto(f"{base}/")
    token = page.get_attribute("#start-batch input[name=csrf_token]", "value")
    added = page.request.post(
        f"{base}/users", form={"csrf_token": token, "name": "mallory", "role": "admin", "password": "x" * 12}
    )
    assert added.status == 403
    refused_approval = page.request.post(f"{base}/review/approve", form={"csrf_token": token, "order_id": "x"})
    assert refused_approval.status == 403 and "needs the reviewer role" in refused_approval.text()
    assert page.goto(f"{base}/stock").status == 200


def test_a_reviewer_approves_one_held_order_and_rejects_another(
    browser_page: Any, reviewed_console: tuple[str, str]
) -> None:
    page, (base, _) = browser_page, reviewed_console
    sign_in(page, base, "ada")
    page.goto(f"{base}/review")
    rows = page.locator("#held tr.order")
    assert rows.count() >= 2, "the batch held orders for review"
    first, second = rows.nth(0).get_attribute("data-order"), rows.nth(1).get_attribute("data-order")
    shot(page, "10-review-queue-actions")

    page.fill("#note", "buyer confirmed by phone")
    with page.expect_navigation():
        rows.nth(0).locator("button.approve").click()
    assert f"order {first} approved" in page.inner_text("#notice")
    assert page.locator(f'#held tr[data-order="{first}"]').count() == 0

    assert page.locator("#held tr.current").get_attribute("data-order") == second  # the keyboard starts on top
    page.once("dialog", lambda dialog: dialog.accept("address does not exist"))
    with page.expect_navigation():  # the URL already has ?done=…: wait for the new page, not the old one
        page.keyboard.press("r")
    assert f"order {second} rejected and cancelled" in page.inner_text("#notice")
    shot(page, "11-review-decided")

    page.goto(f"{base}/orders/{first}")
    assert page.inner_text("#order-status") == "approved"
    assert "web:ada" in page.inner_text("#audit") and "buyer confirmed by phone" in page.inner_text("#audit")
    page.goto(f"{base}/orders/{second}")
    assert page.inner_text("#order-status") == "rejected"
    assert "rejected: address does not exist" in page.inner_text("#audit")


def tracking_rows(page: Any, base: str) -> list[str]:
    """The batch's tracking upload CSV rows (header dropped), fetched with the page's signed-in cookies."""
    batch_path = page.url.removeprefix(base)
    response = page.request.get(f"{base}{batch_path}/files/tracking_csv")
    assert response.ok
    return response.text().splitlines()[1:]

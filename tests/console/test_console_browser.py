"""The console in a real browser: Playwright for Python driving Debian's Chromium
(``/usr/bin/chromium``, installed by `make test`'s prereqs; no browser download) against
the live gunicorn api on real PostgreSQL and Redis, providers simulated.

Set ``TRIBUTARY_SCREENSHOTS=1`` to write each page's screenshot to docs/console/.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tributary_common import bands

from tests.api.conftest import API_TOKEN, CRON_SECRET, Live
from tests.support.missing import missing
from tests.support.simulator import SimAdmin

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("TRIBUTARY_CHROMIUM", "/usr/bin/chromium")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"
WAIT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed (pip install -r requirements-dev.txt)")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        missing(
            f"Chromium not found at {CHROMIUM}: install Debian's `chromium` package "
            "(make test's prereqs do it as root) or set TRIBUTARY_CHROMIUM"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, live: Live) -> Iterator[Any]:
    context = browser.new_context(base_url=live.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    tab = context.new_page()
    yield tab
    context.close()


def sign_in(page: Any, token: str = API_TOKEN) -> None:
    page.goto("/console")
    page.wait_for_url("**/console/login**")
    page.fill("#token", token)
    page.click("button[type=submit]")


def shot(page: Any, name: str) -> None:
    if os.environ.get("TRIBUTARY_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS / f"{name}.png"), full_page=True)


def user() -> str:
    return f"console-{uuid.uuid4().hex[:8]}"


def connect(client: httpx.Client, user_id: str, provider: str) -> dict[str, Any]:
    body = {"userId": user_id, "provider": provider, "accountId": f"acct-{user_id}-{provider}"}
    result = client.post("/api/connections", json={**body, "accessToken": "t"})
    assert result.status_code == 201, result.text
    connection: dict[str, Any] = result.json()
    return connection


def process(cron: httpx.Client, done: Any, rounds: int = 10) -> None:
    for _ in range(rounds):
        cron.post("/api/cron/process-queue", json={"limit": 10})
        if done():
            return


def test_sign_in_and_out(page: Any) -> None:
    # A wrong token is refused on the sign-in page
    sign_in(page, "not-the-token")
    assert "not the API token" in page.inner_text("[role=alert]")
    shot(page, "sign-in")

    # The right one opens the Overview, which refreshes itself
    page.fill("#token", API_TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url("**/console")
    assert page.inner_text("h1") == "Overview"
    shown = page.locator("#bands tbody tr td:first-child").all_inner_texts()
    assert shown == [band.name for band in bands.BANDS]
    first = page.inner_text("#overview p.muted")
    page.wait_for_function(
        "text => document.querySelector('#overview p.muted').innerText !== text",
        arg=first,
        timeout=WAIT_MS,
    )
    cookie = next(c for c in page.context.cookies() if c["name"] == "tributary_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    shot(page, "overview")

    # Signing out ends it: pages send the browser back to sign in
    page.click("text=Sign out")
    page.wait_for_url("**/console/login")
    page.goto("/console/jobs")
    page.wait_for_url("**/console/login**")


def test_filter_jobs_and_open_one(page: Any, live: Live, sim: SimAdmin) -> None:
    u = user()
    with live.client() as client, live.client(CRON_SECRET) as cron:
        for provider in ("github", "youtube"):
            connect(client, u, provider)
        jobs = client.post("/api/sync/manual", json={"userId": u}).json()["jobs"]
        github = next(j["jobId"] for j in jobs if j["provider"] == "github")
        process(
            cron,
            lambda: client.get(f"/api/sync/jobs/{github}").json()["job"]["status"] == "completed",
        )

    sign_in(page)
    page.wait_for_url("**/console")
    page.click("nav >> text=Jobs")
    page.fill("input[name=userId]", u)
    page.select_option("select[name=provider]", "github")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**provider=github**")
    rows = page.locator("#jobs tbody tr")
    assert rows.count() == 1
    assert "github" in rows.first.inner_text() and u in rows.first.inner_text()
    shot(page, "jobs")

    rows.first.locator("a").first.click()
    page.wait_for_url(f"**/console/jobs/{github}")
    assert page.inner_text("#job-status").startswith("completed")
    timeline = page.locator("#attempts li")
    assert timeline.count() >= 1 and "completed" in timeline.last.inner_text()
    shot(page, "job")


def test_replay_a_dead_letter_changes_the_ledger(page: Any, live: Live, sim: SimAdmin) -> None:
    u = user()
    with live.client() as client, live.client(CRON_SECRET) as cron:
        connection = connect(client, u, "github")
        job = client.post("/api/sync/manual", json={"userId": u, "provider": "github"}).json()
        sim.fault("github", "bad_request", account=connection["accountId"], count=None)
        process(
            cron,
            lambda: (
                client.get(f"/api/sync/jobs/{job['jobId']}").json()["job"]["status"] == "failed"
            ),
        )
        sim.clear_faults()
        letters = client.get("/api/dead-letters", params={"userId": u}).json()["deadLetters"]
        assert len(letters) == 1 and letters[0]["replayJobId"] is None

        sign_in(page)
        page.wait_for_url("**/console")
        page.goto(f"/console/dead-letters?userId={u}")
        assert page.locator("#letters tbody tr").count() == 1
        shot(page, "dead-letters")
        page.locator("#letters tbody tr a").first.click()
        assert connection["id"] in page.inner_text("#payload")
        shot(page, "dead-letter")
        page.click("#replay-one")
        assert "replay dead letter" in page.inner_text("#confirm-text")
        shot(page, "replay-confirm")
        page.click("#confirm")
        created = page.locator("#replay-jobs tbody tr")
        assert created.count() == 1
        shot(page, "replayed")

        # The ledger changed: the letter is marked with the job replay created
        after = client.get(f"/api/dead-letters/{letters[0]['id']}").json()
        assert after["replayJobId"] is not None and after["replayedAt"] is not None
        assert after["replayJobId"] in created.first.inner_text()
        new_job = client.get(f"/api/sync/jobs/{after['replayJobId']}").json()["job"]
        assert new_job["trigger"] == "retry" and new_job["connectionId"] == connection["id"]


def test_pause_a_connection(page: Any, live: Live) -> None:
    u = user()
    with live.client() as client:
        connection = connect(client, u, "meta_ads")
        sign_in(page)
        page.wait_for_url("**/console")
        page.click("nav >> text=Connections")
        page.fill("input[name=q]", u)
        page.click("form.filters button[type=submit]")
        row = page.locator(f"tr[data-connection='{connection['id']}']")
        assert "active" in row.inner_text()
        shot(page, "connections")
        row.locator("button", has_text="Pause").click()
        page.wait_for_url("**done=**")
        assert "paused" in page.inner_text("#notice")
        assert "paused" in page.locator(f"tr[data-connection='{connection['id']}']").inner_text()
        assert client.get(f"/api/connections/{connection['id']}").json()["status"] == "paused"

        page.locator(f"tr[data-connection='{connection['id']}'] button", has_text="Resume").click()
        page.wait_for_url("**done=**")
        assert client.get(f"/api/connections/{connection['id']}").json()["status"] == "active"

        page.click("nav >> text=Scheduler")
        assert page.inner_text("h1") == "Scheduler"
        shot(page, "scheduler")


def test_readable_on_a_phone(browser: Any, live: Live) -> None:
    context = browser.new_context(base_url=live.url, viewport={"width": 390, "height": 844})
    tab = context.new_page()
    try:
        sign_in(tab)
        tab.wait_for_url("**/console")
        tab.goto("/console/jobs")
        # Nothing wider than the screen but the tables' own scroll areas
        width = tab.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width
        if os.environ.get("TRIBUTARY_SCREENSHOTS") == "1":
            tab.screenshot(path=str(DOCS / "jobs-phone.png"), full_page=True)
    finally:
        context.close()

"""The DPO's morning in a real browser (Chromium): the to-do list, a request found by e-mail,
assigned and extended, and a legal hold placed by e-mail; on a desktop and at 390 px."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from _browser import CHROMIUM, CHROMIUM_ARGS, playwright_sync
from _live import live_server
from _web import PASSWORD, database, make_app
from privacyops.rights.models import RightsRequest
from privacyops.web.routes.rights import rights_service


@pytest.fixture
def chromium() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_dpo_morning(tmp_path: Path, chromium: Any, width: int) -> None:
    app = make_app(tmp_path, second_factor="none")
    service = rights_service(type("R", (), {"app": app})())  # type: ignore[arg-type]
    rid = service.submit("access", "nora@example.com").request_id
    service.submit("access", "olaf@example.com")
    db = database(app)
    with db.session() as session:  # Nora's request came in 25 days ago: due within a week
        session.execute(
            sa.update(RightsRequest)
            .where(RightsRequest.public_id == rid)
            .values(received_at=datetime.now(UTC) - timedelta(days=25), state="in_progress")
        )
    with live_server(app) as url:
        body = {"name": "Nora", "email": "nora@example.com", "request_details": "Hi"}
        assert httpx.post(f"{url}/api/v1/intake/web_form", json=body).status_code == 202
        page = chromium.new_page(viewport={"width": width, "height": 900})
        page.goto(f"{url}/login")
        page.fill("input[name=email]", "dpo@example.com")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/dashboard")
        # the to-do list: one request due this week, two open ones
        due = page.locator('[data-todo="due-week"]')
        assert due.locator(".stat").inner_text() == "1"
        assert "due within 7 days" in due.inner_text()
        assert page.locator('[data-todo="overdue"] .stat').inner_text() == "0"
        assert page.locator("text=Open requests (2)").is_visible()
        due.click()
        page.wait_for_url("**/dashboard/requests?due=week")
        assert page.locator(f'a[href="/dashboard/requests/{rid}"]').count() == 1
        # find it by e-mail (a POST: the address never enters the URL)
        page.fill("input[name=q]", "Nora@Example.com")
        page.click("form[role=search] button")
        assert page.locator("text=1 request found by e-mail address").is_visible()
        assert "nora" not in page.url.lower()
        page.click(f'a[href="/dashboard/requests/{rid}"]')
        # assign it, comment, extend it
        page.select_option("#assignee-choice", "operator@example.com")
        page.click("#desk button")
        assert page.locator("#assignee").inner_text() == "operator@example.com"
        page.fill("#comment-text", "Waiting for the CRM export.")
        page.click("#comments button")
        assert page.locator("text=Waiting for the CRM export.").is_visible()
        page.fill("#extend-reason", "Many systems to search")
        page.click("form[action$='/extend'] button")
        assert page.locator("text=Extended by two months").first.is_visible()
        # extended by two months: no longer due this week
        page.goto(f"{url}/dashboard")
        assert page.locator('[data-todo="due-week"] .stat').inner_text() == "0"
        # a legal hold by e-mail
        page.goto(f"{url}/dashboard/retention")
        page.fill("#hold-subject", "nora@example.com")
        page.fill("#hold-form input[name=reason]", "Court case 2026-41")
        page.click("#hold-form button")
        assert page.locator("text=Legal hold placed.").is_visible()
        assert page.locator("text=Court case 2026-41").first.is_visible()
        # nothing wider than the screen
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width + 1

"""The banner in a real browser (Debian chromium driven by Playwright): nothing runs before
consent, refusal is as easy as acceptance, choices reach the server with their proof, GPC."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn

from _browser import CHROMIUM, CHROMIUM_ARGS, free_port, playwright_sync
from privacyops.consent.models import ConsentRecord
from privacyops.settings import Settings
from privacyops.store import Database
from privacyops.web.app import create_app
from privacyops.web.deps import app_database

pytestmark = pytest.mark.browser


class LiveServer:
    """The app served by uvicorn in a thread, on a free port of 127.0.0.1."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=settings.port, log_level="error")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = settings.base_url

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        service = getattr(self.app.state, "consent", None)
        if service is not None:
            service.close()
        db = getattr(self.app.state, "db", None)
        if db is not None:
            db.dispose()

    def records(self) -> list[ConsentRecord]:
        db = Database(self.settings.effective_database_url)
        try:
            with db.session() as session:
                return list(session.scalars(sa.select(ConsentRecord).order_by(ConsentRecord.id)))
        finally:
            db.dispose()

    def wait_for_records(self, count: int, timeout: float = 10.0) -> list[ConsentRecord]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.records()
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(
        data_dir=tmp_path / "data",
        port=port,
        base_url=base,
        site_origins=[base],
    )
    with LiveServer(settings) as server:
        app_database(server.app)  # opened and migrated before the browser arrives
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def _consent_cookie(context: Any) -> dict[str, Any] | None:
    from urllib.parse import unquote

    for cookie in context.cookies():
        if cookie["name"] == "po_consent":
            value: dict[str, Any] = json.loads(unquote(cookie["value"]))
            return value
    return None


def test_banner_blocks_until_consent_then_reject_reopen_accept(
    live: LiveServer, browser: Any
) -> None:
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(f"{live.url}/consent/demo")
    dialog = page.get_by_role("dialog")
    dialog.wait_for(state="visible")
    assert dialog.get_attribute("aria-modal") == "true"
    assert page.locator("#po-title").inner_text() == "Your privacy choices"

    # Nothing ran, nothing loaded, nothing is ticked.
    assert page.evaluate("window.__analyticsRan === undefined")
    assert page.locator("#demo-pixel").get_attribute("src") is None
    assert page.locator("#demo-widget").get_attribute("src") is None
    ticked = page.eval_on_selector_all(
        "#po-consent input[type=checkbox]",
        "els => els.filter(e => e.checked).map(e => e.dataset.cat || e.dataset.of)",
    )
    assert set(ticked) == {"necessary"}

    # "Reject all" is exactly as prominent as "Accept all", both on the first layer.
    reject = page.get_by_role("button", name="Reject all")
    accept = page.get_by_role("button", name="Accept all")
    assert reject.is_visible()
    assert accept.is_visible()
    style = (
        "e => { const s = getComputedStyle(e); return [s.backgroundColor, s.color, s.fontSize,"
        " s.fontWeight, s.borderTopWidth, s.paddingTop, s.height]; }"
    )
    assert reject.evaluate(style) == accept.evaluate(style)

    # Keyboard: Tab stays inside the dialog (focus trap).
    page.keyboard.press("Tab")
    for _ in range(12):
        page.keyboard.press("Tab")
        assert page.evaluate(
            "document.getElementById('po-consent').contains(document.activeElement)"
        )

    reject.click()
    dialog.wait_for(state="hidden")
    (first,) = live.wait_for_records(1)
    assert first.action == "reject"
    assert page.evaluate("window.__analyticsRan === undefined")
    cookie = _consent_cookie(context)
    assert cookie is not None
    assert cookie["c"] == []

    # The persistent control reopens the dialog; Esc closes it without a change.
    page.locator("#po-consent-reopen").click()
    dialog.wait_for(state="visible")
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert len(live.records()) == 1

    page.locator("#po-consent-reopen").click()
    page.get_by_role("button", name="Accept all").click()
    page.wait_for_function("() => window.__analyticsRan === true")
    assert page.locator("#demo-pixel").get_attribute("src") == "/consent/demo/pixel.gif"
    assert page.locator("#demo-widget").get_attribute("src") == "/consent/demo/widget.html"
    assert page.evaluate(
        "window.dataLayer.some(a => a[0] === 'consent' && a[1] === 'update'"
        " && a[2].analytics_storage === 'granted')"
    )

    rejected, accepted = live.wait_for_records(2)
    assert accepted.action == "accept"
    assert accepted.previous_id == rejected.id
    assert accepted.analytics
    assert accepted.advertising
    assert accepted.widgets
    config = page.evaluate(f"fetch('{live.url}/api/v1/consent/config?lang=en').then(r => r.json())")
    assert accepted.text_hash == config["text_hash"]
    assert accepted.banner_version == config["banner_version"]
    assert accepted.page_url == f"{live.url}/consent/demo"
    assert accepted.ip_truncated == "127.0.0.0/24"
    assert accepted.user_agent

    # A later visit runs the tags at once and shows no banner.
    page.reload()
    page.wait_for_function("() => window.__analyticsRan === true")
    assert not page.get_by_role("dialog").is_visible()
    assert any(c["name"] == "_ga" for c in context.cookies())

    # Withdrawal: recorded, and the analytics cookies are cleared.
    page.locator("#po-consent-reopen").click()
    page.get_by_role("button", name="Withdraw consent").click()
    records = live.wait_for_records(3)
    assert records[-1].action == "withdraw"
    assert not records[-1].analytics
    assert not any(c["name"] == "_ga" for c in context.cookies())
    context.close()


def test_gpc_header_refuses_advertising_and_is_recorded(live: LiveServer, browser: Any) -> None:
    context = browser.new_context(locale="en-US", extra_http_headers={"Sec-GPC": "1"})
    page = context.new_page()
    page.goto(f"{live.url}/consent/demo")
    page.get_by_role("dialog").wait_for(state="visible")
    (gpc,) = live.wait_for_records(1)
    assert gpc.action == "gpc"
    assert gpc.gpc
    assert not gpc.advertising
    assert page.locator(".po-gpc").is_visible()

    # Accepting everything still leaves advertising refused while the signal is on.
    page.get_by_role("button", name="Accept all").click()
    page.wait_for_function("() => window.__analyticsRan === true")
    records = live.wait_for_records(2)
    assert records[-1].action == "accept"
    assert records[-1].analytics
    assert not records[-1].advertising
    assert page.locator("#demo-pixel").get_attribute("src") is None
    context.close()


def test_banner_switches_language_and_lists_vendor_policies(live: LiveServer, browser: Any) -> None:
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(f"{live.url}/consent/demo")
    page.get_by_role("dialog").wait_for(state="visible")
    page.get_by_label("Language").select_option("pl")
    page.get_by_role("button", name="Odrzuć wszystkie").wait_for(state="visible")
    assert page.get_by_role("dialog").get_attribute("lang") == "pl"
    # The categories layer lists vendors with links to their policies.
    page.get_by_role("button", name="Dostosuj").click()
    page.locator("#po-cats summary").first.click()
    links = page.locator("#po-cats a[href^='http']")
    assert links.count() >= 1
    context.close()

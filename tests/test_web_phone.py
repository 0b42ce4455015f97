"""Every public page fits a 390 px phone screen (no horizontal scroll), in real Chromium;
the site's root leads to the privacy center; the request form keeps each right short."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from _browser import CHROMIUM, CHROMIUM_ARGS, playwright_sync
from _live import live_server
from _web import make_app

PUBLIC_PAGES = [
    "/privacy",
    "/privacy/changes",
    "/privacy/consent",
    "/privacy/complaints",
    "/privacy/requests/new",
    "/api/v1/rights/exports/no-such-link-0000",
    "/login",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    app = make_app(tmp_path_factory.mktemp("phone"), second_factor="none")
    with live_server(app) as base:
        yield base


@pytest.fixture(scope="module")
def phone(site: str) -> Iterator[Any]:
    with playwright_sync.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = chromium.new_context(viewport={"width": 390, "height": 844})
        yield context.new_page()
        chromium.close()


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_a_public_page_fits_a_390_px_screen(site: str, phone: Any, path: str) -> None:
    phone.goto(site + path)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{path} is {width} px wide on a 390 px screen"


def test_the_root_leads_to_the_privacy_center(site: str, phone: Any) -> None:
    phone.goto(site + "/")
    assert phone.url == site + "/privacy"


def test_the_request_form_shows_each_right_briefly(site: str, phone: Any) -> None:
    phone.goto(site + "/privacy/requests/new")
    more = phone.locator("details.right-more")
    assert more.count() >= 1
    assert not more.first.evaluate("d => d.open")  # the full text waits behind the disclosure
    email_top = phone.locator("input[name=email]").bounding_box()["y"]
    assert email_top < 2000, f"the e-mail field is {email_top:.0f} px down"

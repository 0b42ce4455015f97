"""The journeys of issue 8 in a real browser (Debian chromium driven by Playwright), against the
real service: uvicorn in a thread, the background scheduler, a local SMTP server (aiosmtpd).

- a person files an access request, reads the code from the mail, verifies, downloads the
  export, and the PDF opens with the password from the second message (pikepdf); the answer
  page attached to it, opened in the browser at 390 px, names every GDPR Art. 15(1) item;
- a DPO logs in, sees the request with its clock, extends it with a reason, sees the audit
  event.

Screenshots of the main pages are taken on every run; with ``PRIVACYOPS_SCREENSHOTS=1`` they are
written to ``docs/screenshots/`` (shown in docs/service-and-dashboard.md), otherwise to a
temporary folder, so a plain test run leaves the tracked files alone.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pikepdf
import pytest
import uvicorn

from _browser import CHROMIUM, CHROMIUM_ARGS, free_port, playwright_sync
from _mailbox import Mailbox, smtp_server
from _web import PASSWORD, make_app
from privacyops.jobs import JobContext, Scheduler, default_jobs
from privacyops.policy.loader import load_configured_policy
from privacyops.store import IdentityIn, RecordIn, Registry, Submission

pytestmark = pytest.mark.browser

#: What the person reads for each item of GDPR Art. 15(1)-(2) on the answer page.
ART_15_WORDS = [
    "Ada Lovelace",  # 15(3) the copy
    "Why we use it",  # (a) purposes
    "needed for a contract with you",  # the legal basis in words
    "Kinds of data",  # (b)
    "Who receives it",  # (c)
    "processes it for us",  # the recipient's role
    "How long we keep it",  # (d)
    "that is until",  # the end date
    "Rectification",  # (e)
    "Erasure",
    "Restriction",
    "Objection",
    "Art. 77",  # (f)
    "Datatilsynet",
    "Where it came from",  # (g)
    "based solely on automated processing",  # (h)
    "Sent outside Europe",  # 15(2)
    "This is not a valid protection for the transfer",
    "Your consents",
    "Who read or used your data",
]

SHOTS = (
    Path(__file__).resolve().parents[1] / "docs" / "screenshots"
    if os.environ.get("PRIVACYOPS_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "privacyops-screenshots"
)


class Service:
    """privacyops as ``serve`` runs it: the app under uvicorn plus the background scheduler."""

    def __init__(self, tmp_path: Path, smtp_port: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = make_app(
            tmp_path,
            smtp_port=smtp_port,
            second_factor="none",
            base_url=self.url,
            port=self.port,
        )
        settings = self.app.state.settings
        db = self.app.state.db
        self.scheduler = Scheduler(
            default_jobs(JobContext(settings, db, load_configured_policy(settings))),
            tick_seconds=0.5,
        )
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="error")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Service:
        self.thread.start()
        self.scheduler.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.scheduler.stop()
        self.server.should_exit = True
        self.thread.join(10)
        self.app.state.db.dispose()


@pytest.fixture
def mail() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def service(tmp_path: Path, mail: tuple[Mailbox, int]) -> Iterator[Service]:
    with Service(tmp_path, mail[1]) as running:
        yield running


@pytest.fixture
def browser() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def _wait_for(predicate: Any, what: str, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def test_person_files_an_access_request_and_opens_the_export(
    service: Service, mail: tuple[Mailbox, int], browser: Any, tmp_path: Path
) -> None:
    box, _ = mail
    Registry(service.app.state.db).ingest(
        Submission(
            [IdentityIn("email", "ada@example.com")],
            RecordIn(
                channel="web_form",
                legal_basis="contract",
                policy_version="v3",
                data_categories=["name", "email"],
                purposes=["answer-request"],
                payload={"name": "Ada Lovelace", "email": "ada@example.com"},
            ),
        )
    )
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{service.url}/privacy")
    assert "Privacy Policy" in page.content()
    _shot(page, "privacy-policy")
    page.goto(f"{service.url}/privacy/changes")
    _shot(page, "privacy-changes")

    page.goto(f"{service.url}/privacy/requests/new")
    page.check("input[name=type][value=access]")
    page.fill("input[name=email]", "ada@example.com")
    page.check("input[name=confirm]")
    _shot(page, "privacy-request-form")
    page.click("button:has-text('Send the request')")
    page.wait_for_url(re.compile(r"/privacy/requests/r[0-9a-f]+$"))
    assert "awaiting identity" in page.inner_text("#request-state")
    assert page.inner_text("#deadline")

    code = _wait_for(
        lambda: re.search(r"\b(\d{6,8})\b", "\n".join(box.bodies())), "the code e-mail"
    ).group(1)
    page.fill("input[name=code]", code)
    page.click("button:has-text('Confirm')")
    assert "the code is right" in page.content()

    def answered() -> Any:
        text = "\n".join(box.bodies())
        link = re.search(r"(http://127\.0\.0\.1:\d+/api/v1/rights/exports/\S+)", text)
        password = re.search(r"password of the file .* is: (\S+)", text)
        return (link.group(1), password.group(1)) if link and password else None

    link, password = _wait_for(answered, "the answer e-mails (scheduler)", seconds=60)
    page.reload()
    assert "completed" in page.inner_text("#request-state")
    _shot(page, "privacy-request-status")

    page.goto(link)
    with page.expect_download() as download_info:
        page.click("button:has-text('Download my data')")
    download = download_info.value
    content = Path(download.path()).read_bytes()
    assert content.startswith(b"%PDF")
    with pikepdf.open(io.BytesIO(content), password=password) as pdf:
        assert len(pdf.pages) >= 1
        answer_page = pdf.attachments["answer.html"].get_file().read_bytes()
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(content))
    context.close()

    # the answer page the PDF carries, read on a phone
    saved = tmp_path / "answer.html"
    saved.write_bytes(answer_page)
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    page = phone.new_page()
    page.goto(saved.as_uri())
    text = " ".join(page.inner_text("#answer").split())
    for words in ART_15_WORDS:
        assert words in text, words
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(page, "access-answer")
    phone.close()


def test_dpo_sees_the_clock_extends_with_a_reason_and_sees_the_audit_event(
    service: Service, mail: tuple[Mailbox, int], browser: Any
) -> None:
    person = browser.new_context().new_page()
    person.goto(f"{service.url}/privacy/requests/new")
    person.check("input[name=type][value=erasure]")
    person.fill("input[name=email]", "bob@example.com")
    person.check("input[name=confirm]")
    person.click("button:has-text('Send the request')")
    person.wait_for_url(re.compile(r"/privacy/requests/r[0-9a-f]+$"))
    request_id = person.url.rsplit("/", 1)[1]

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{service.url}/dashboard")
    page.wait_for_url(re.compile(r"/login"))
    _shot(page, "login")
    page.fill("input[name=email]", "dpo@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_url(re.compile(r"/dashboard$"))
    _shot(page, "dashboard")

    page.goto(f"{service.url}/dashboard/requests")
    row = page.locator("tr", has=page.locator(f"a:has-text('{request_id}')"))
    assert re.search(r"\d+ d", row.inner_text())
    _shot(page, "dashboard-requests")
    page.click(f"a:has-text('{request_id}')")
    assert "days left" in page.inner_text("#days-left")
    page.fill("#extend-reason", "We must search several systems for your data.")
    page.click("button:has-text('Extend')")
    assert "Extended by two months" in page.content()
    events = page.inner_text("#audit-events")
    assert "rights.request.extended" in events
    assert "We must search several systems for your data." in events
    _shot(page, "dashboard-request-extended")

    for path, name in (
        ("/dashboard/audit", "dashboard-audit"),
        ("/dashboard/policy", "dashboard-policy"),
        ("/dashboard/processors", "dashboard-processors"),
        ("/dashboard/consent", "dashboard-consent"),
        ("/dashboard/spam", "dashboard-spam"),
        ("/dashboard/retention", "dashboard-retention"),
    ):
        page.goto(f"{service.url}{path}")
        _shot(page, name)
    page.goto(f"{service.url}/dashboard/audit")
    page.click("button:has-text('Verify the hash chain')")
    assert "The chain is intact" in page.content()
    _shot(page, "dashboard-audit-verified")
    context.close()

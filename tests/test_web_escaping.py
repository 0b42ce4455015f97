"""A name like ``<script>alert(1)</script>`` is text on every page that shows it, never markup."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from _web import browser, csrf, login, make_app
from privacyops.audit import AuditLog
from privacyops.intake import spam

EVIL = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return browser(make_app(tmp_path))


def _inert(html: str) -> None:
    assert EVIL not in html
    assert "<script>alert" not in html


def test_a_name_submitted_through_intake_is_inert_in_the_spam_review(client: TestClient) -> None:
    db = client.app.state.db  # type: ignore[attr-defined]
    with db.session() as session:
        spam.add_rule(session, AuditLog(db), "keyword", "casino", actor="staff:test")
    body = {"name": EVIL, "email": "x@example.com", "request_details": f"casino {EVIL}"}
    assert client.post("/api/v1/intake/web_form", json=body).status_code == 202
    staff = browser(client.app)  # type: ignore[arg-type]
    login(staff, "operator")
    queue = staff.get("/dashboard/spam")
    _inert(queue.text)
    item_id = queue.text.split('href="/dashboard/spam/', 1)[1].split('"', 1)[0]
    review = staff.get(f"/dashboard/spam/{item_id}")
    assert review.status_code == 200
    _inert(review.text)
    assert ESCAPED in review.text
    for path in ("/dashboard", "/dashboard/requests", "/dashboard/audit", "/dashboard/policy"):
        page = staff.get(path)
        _inert(page.text)


def test_a_stored_submission_is_inert_on_every_dashboard_page(client: TestClient) -> None:
    body = {"name": EVIL, "email": "y@example.com", "request_details": EVIL}
    assert client.post("/api/v1/intake/web_form", json=body).status_code == 202
    staff = browser(client.app)  # type: ignore[arg-type]
    login(staff, "admin")
    for path in (
        "/dashboard",
        "/dashboard/requests?state=all",
        "/dashboard/audit",
        "/dashboard/spam?status=all",
        "/dashboard/staff",
        "/dashboard/processors",
    ):
        page = staff.get(path)
        assert page.status_code == 200, path
        _inert(page.text)


def test_values_echoed_back_into_forms_are_escaped(client: TestClient) -> None:
    page = client.get("/privacy/requests/new")
    echoed = client.post(
        "/privacy/requests",
        data={
            "csrf_token": csrf(page.text),
            "type": "rectification",
            "email": EVIL,
            "correction": EVIL,
            "note": EVIL,
        },
    )
    assert echoed.status_code == 422
    _inert(echoed.text)
    assert ESCAPED in echoed.text
    login_page = client.get("/login")
    failed = client.post(
        "/login", data={"csrf_token": csrf(login_page.text), "email": EVIL, "password": "x"}
    )
    _inert(failed.text)
    _inert(client.get(f"/privacy/complaints?country={EVIL}").text)
    _inert(client.get(f"/login?next={EVIL}").text)
    _inert(client.get(f"/privacy/requests/{EVIL}").text)
    staff = browser(client.app)  # type: ignore[arg-type]
    login(staff, "dpo")
    _inert(staff.get(f"/dashboard/audit?action={EVIL}").text)
    _inert(staff.get(f"/dashboard/requests?state={EVIL}").text)

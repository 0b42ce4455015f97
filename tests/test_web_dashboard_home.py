"""The dashboard home page is the DPO's to-do list: counts of what waits, each a link."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from _web import browser, csrf, database, login, make_app
from privacyops.intake.models import QuarantineItem
from privacyops.rights.due import due_counts
from privacyops.rights.models import RightsRequest, StaffTask
from privacyops.web.routes.rights import rights_service


def _request(received: datetime, state: str = "in_progress", **extra: object) -> RightsRequest:
    return RightsRequest(
        public_id=secrets.token_hex(8),
        token_hash=secrets.token_bytes(32),
        type="access",
        state=state,
        identity_index=secrets.token_bytes(32),
        policy_version="1.0",
        received_at=received,
        **extra,
    )


def _card(html: str, key: str) -> str:
    """The number on the home page's card ``data-todo=key``."""
    found = re.search(rf'data-todo="{key}"[^>]*><div class="stat">([^<]+)</div>', html)
    assert found, f"no {key} card"
    return found.group(1)


@pytest.fixture
def client(tmp_path: Path, db_url: str) -> TestClient:
    return browser(make_app(tmp_path, db_url))


def test_home_counts_what_waits_for_the_dpo(client: TestClient) -> None:
    db = database(client.app)  # type: ignore[arg-type]
    now = datetime.now(UTC)
    with db.session() as session:
        # overdue for certain (a year old), overdue near the boundary (40 days), due in days
        # (27 days old), fresh, completed long ago (not counted), extended 40 days ago (not due)
        old = _request(now - timedelta(days=365))
        session.add_all(
            [
                old,
                _request(now - timedelta(days=40)),
                _request(now - timedelta(days=27), state="awaiting_review"),
                _request(now - timedelta(days=1), state="awaiting_identity"),
                _request(now - timedelta(days=400), state="completed"),
                _request(now - timedelta(days=40), extended_at=now, extension_reason="complex"),
            ]
        )
        session.flush()
        session.add(StaffTask(request_id=old.id, kind="balancing"))
        session.add(
            QuarantineItem(public_id=secrets.token_hex(8), channel="web", policy_version="1.0")
        )
    login(client, "dpo")
    page = client.get("/dashboard")
    assert page.status_code == 200
    html = page.text
    assert _card(html, "overdue") == "2"
    assert "requests are past the legal deadline" in html
    assert _card(html, "due-week") == "1"
    assert _card(html, "state-in_progress") == "3"
    assert _card(html, "state-awaiting_review") == "1"
    assert _card(html, "state-awaiting_identity") == "1"
    assert "Open requests (5)" in html
    assert _card(html, "decisions") == "1"
    assert "balancing test: 1" in html
    assert _card(html, "spam") == "1"
    assert _card(html, "identity-reviews") == "0"
    assert _card(html, "retention") == "0"
    assert re.fullmatch(r"[\d,]+", _card(html, "lint"))
    assert _card(html, "audit") == "?"
    # each count links to where the work is done, and the links work
    overdue = client.get("/dashboard/requests?due=overdue")
    assert overdue.status_code == 200
    assert "past their legal deadline" in overdue.text
    assert overdue.text.count("overdue ") >= 2  # both overdue rows carry the badge
    assert overdue.text.count('href="/dashboard/requests/') == 2
    week = client.get("/dashboard/requests?due=week")
    assert week.text.count('href="/dashboard/requests/') == 1


def test_due_counts_agree_with_each_clock(client: TestClient) -> None:
    """The SQL shortcut gives what computing every request's clock gives."""
    db = database(client.app)  # type: ignore[arg-type]
    now = datetime.now(UTC)
    with db.session() as session:
        session.add_all(
            _request(now - timedelta(days=d), extended_at=now if d % 3 == 0 else None)
            for d in range(0, 130, 1)
        )
    service = rights_service(type("R", (), {"app": client.app})())  # type: ignore[arg-type]
    today = date.today()
    with db.read_session() as session:
        clocks = [service.clock(row).days_left(today) for row in session.query(RightsRequest)]
    assert len(clocks) == 130
    counts = due_counts(service, today=today)
    assert counts.overdue == sum(1 for d in clocks if d is not None and d < 0)
    assert counts.due_soon == sum(1 for d in clocks if d is not None and 0 <= d <= 7)
    assert counts.overdue > 0
    assert counts.due_soon > 0


def test_home_shows_the_last_audit_check(client: TestClient) -> None:
    login(client, "dpo")
    page = client.get("/dashboard/audit")
    client.post("/dashboard/audit/verify", data={"csrf_token": csrf(page.text)})
    home = client.get("/dashboard")
    assert _card(home.text, "audit") == "OK"
    assert "audit chain intact at its last check" in home.text


def test_operator_home_leaves_out_the_audit_card(client: TestClient) -> None:
    login(client, "operator")
    home = client.get("/dashboard")
    assert home.status_code == 200
    assert 'data-todo="audit"' not in home.text
    assert 'data-todo="overdue"' in home.text


def test_home_requires_a_login(client: TestClient) -> None:
    page = client.get("/dashboard", follow_redirects=False)
    assert page.status_code in (302, 303, 401)

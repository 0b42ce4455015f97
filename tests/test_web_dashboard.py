"""Dashboard pages: policy versions with lint, processors and transfers, the audit log."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from _web import browser, csrf, database, login, make_app
from privacyops.audit import AuditLog, NewEvent
from privacyops.consent.models import ConsentRecord
from privacyops.store.models import DataSubject, LegalHold, PersonalDataRecord


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return browser(make_app(tmp_path))


def test_policy_versions_show_their_lint_findings(client: TestClient) -> None:
    login(client, "auditor")
    page = client.get("/dashboard/policy")
    assert page.status_code == 200
    assert "in force" in page.text
    assert "errors" in page.text
    assert "warnings" in page.text


def test_processors_and_transfers(client: TestClient) -> None:
    login(client, "operator")
    page = client.get("/dashboard/processors")
    assert page.status_code == 200
    assert "Transfers outside the EEA" in page.text
    assert "United States" in page.text
    assert "privacy_shield" in page.text  # shown as declared, for the DPO to see
    assert "Google" in page.text


def test_audit_log_pages_and_verifies(client: TestClient) -> None:
    db = database(client.app)  # type: ignore[arg-type]
    AuditLog(db).append_many([NewEvent(f"test.event{i}", actor="test") for i in range(60)])
    login(client, "dpo")
    page = client.get("/dashboard/audit")
    assert page.status_code == 200
    assert "test.event59" in page.text
    assert "test.event5<" not in page.text
    older = client.get("/dashboard/audit?before=11")
    assert "test.event0" in older.text
    verified = client.post("/dashboard/audit/verify", data={"csrf_token": csrf(page.text)})
    assert verified.status_code == 200
    assert "The chain is intact: 60 events checked" in verified.text
    replay = client.post("/dashboard/audit/verify", data={"csrf_token": csrf(page.text)})
    assert replay.status_code == 400
    assert "already sent" in replay.text


def test_operator_may_not_read_the_audit_log(client: TestClient) -> None:
    login(client, "operator")
    assert client.get("/dashboard/audit").status_code == 403


def test_dashboard_navigation_follows_the_role(client: TestClient) -> None:
    login(client, "operator")
    page = client.get("/dashboard")
    assert 'href="/dashboard/policy"' in page.text
    assert 'href="/dashboard/audit"' not in page.text
    assert 'href="/dashboard/staff"' not in page.text


def test_consent_statistics_chart_the_opt_in_rate(client: TestClient) -> None:
    db = database(client.app)  # type: ignore[arg-type]
    now = datetime.now(UTC)
    with db.session() as session:
        for i in range(40):
            session.add(
                ConsentRecord(
                    record_id=f"r{i:031d}",
                    visitor_id=f"v{i}",
                    created_at=now - timedelta(days=i % 4),
                    action="custom",
                    analytics=i % 2 == 0,
                    advertising=i % 4 == 0,
                    widgets=True,
                    vendors="{}",
                    gpc=False,
                    banner_version="b1",
                    text_hash="0" * 64,
                    language="en",
                    policy_version="v3",
                    expires_at=now + timedelta(days=180),
                    source="banner",
                )
            )
    login(client, "auditor")
    page = client.get("/dashboard/consent?days=7")
    assert page.status_code == 200
    assert "<svg" in page.text
    assert page.text.count("<polyline") == 3
    assert ">40</div>banner choices" in page.text
    assert "50.0%</div>opted in to analytics" in page.text
    assert "25.0%</div>opted in to advertising" in page.text


def test_retention_forecast_and_legal_holds(client: TestClient) -> None:
    body = {"name": "Rita", "email": "rita@example.com", "request_details": "Hello"}
    assert client.post("/api/v1/intake/web_form", json=body).status_code == 202
    db = database(client.app)  # type: ignore[arg-type]
    with db.session() as session:
        subject = session.scalar(sa.select(DataSubject.public_id))
    login(client, "dpo")
    page = client.get("/dashboard/retention?days=3660")
    assert page.status_code == 200
    assert "more records reach the end of their period within 3660 days" in page.text
    assert "web_form" in page.text
    assert re.search(r'data-retention="past-due"><div class="stat">0<', page.text)
    bad = client.post(
        "/dashboard/retention/holds",
        data={"csrf_token": csrf(page.text), "subject": "nobody", "reason": "", "until": "soon"},
    )
    assert bad.status_code == 422
    assert "Reason (no personal data) is required." in bad.text
    assert "Until: give a date as YYYY-MM-DD." in bad.text
    placed = client.post(
        "/dashboard/retention/holds",
        data={"csrf_token": csrf(bad.text), "subject": subject, "reason": "Litigation 2026-17"},
    )
    assert placed.status_code == 201, placed.text
    assert "Litigation 2026-17" in placed.text
    with db.session() as session:
        hold_id = session.scalar(sa.select(LegalHold.id))
    lifted = client.post(
        f"/dashboard/retention/holds/{hold_id}/lift", data={"csrf_token": csrf(placed.text)}
    )
    assert "Legal hold lifted." in lifted.text
    assert "No active legal hold." in lifted.text
    audit = client.get("/dashboard/audit")
    assert "retention.hold.placed" in audit.text
    assert "retention.hold.lifted" in audit.text


def test_retention_shows_past_due_first_with_why(client: TestClient) -> None:
    for name in ("Rita", "Sven"):
        body = {"name": name, "email": f"{name.lower()}@example.com", "request_details": "Hi"}
        assert client.post("/api/v1/intake/web_form", json=body).status_code == 202
    db = database(client.app)  # type: ignore[arg-type]
    long_ago = datetime.now(UTC) - timedelta(days=365 * 40)
    with db.session() as session:
        session.execute(
            sa.update(PersonalDataRecord).values(
                collected_at=long_ago,
                last_contact_at=long_ago,
                last_event_registration_at=long_ago,
                last_service_delivery_at=long_ago,
            )
        )
        first = session.scalars(sa.select(DataSubject.id).order_by(DataSubject.id)).first()
        session.add(LegalHold(subject_id=first, reason="Litigation", created_by="test"))
    login(client, "dpo")
    page = client.get("/dashboard/retention")
    html = page.text
    assert re.search(r'data-retention="past-due"><div class="stat">2<', html)
    assert ">1</div>of them are kept by a legal hold" in html
    assert "go at the next daily sweep" in html
    assert html.index("Past their retention period") < html.index("Expiring soon")
    home = client.get("/dashboard")
    assert re.search(r'data-todo="retention"[^>]*><div class="stat">2<', home.text)


def test_legal_hold_placed_by_email_or_request(client: TestClient) -> None:
    body = {"name": "Rita", "email": "rita@example.com", "request_details": "Hello"}
    assert client.post("/api/v1/intake/web_form", json=body).status_code == 202
    db = database(client.app)  # type: ignore[arg-type]
    with db.session() as session:
        subject = session.scalar(sa.select(DataSubject.public_id))
    login(client, "dpo")
    page = client.get("/dashboard/retention")
    unknown = client.post(
        "/dashboard/retention/holds",
        data={"csrf_token": csrf(page.text), "subject": "nobody@example.com", "reason": "Claim"},
    )
    assert unknown.status_code == 422
    assert "No one with that e-mail address is in the registry." in unknown.text
    placed = client.post(
        "/dashboard/retention/holds",
        data={"csrf_token": csrf(unknown.text), "subject": "Rita@Example.com", "reason": "Claim"},
    )
    assert placed.status_code == 201, placed.text
    assert f"<code>{subject}</code>" in placed.text
    no_link = client.post(
        "/dashboard/retention/holds",
        data={"csrf_token": csrf(placed.text), "subject": "r" + "0" * 24, "reason": "Claim"},
    )
    assert "That request is not linked to a person in the registry (yet)." in no_link.text


def test_policy_findings_grouped_by_rule_without_server_paths(client: TestClient) -> None:
    login(client, "dpo")
    page = client.get("/dashboard/policy")
    assert page.status_code == 200
    html = page.text
    assert '<details class="lint-version" open>' in html
    rules = re.findall(r'data-rule="([^"]+)"', html)
    assert rules
    current = html.split('<details class="lint-version"')[1]
    current_rules = re.findall(r'data-rule="([^"]+)"', current)
    assert len(current_rules) == len(set(current_rules))  # one group per rule
    assert "<h3>" in html  # sections within a rule
    assert ".yaml:" not in html
    assert str(Path.cwd()) not in html
    assert "/tmp/" not in html

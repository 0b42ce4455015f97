"""``/api/v1/intake``: public and staff channels, bad input as clear 4xx with nothing written,
rate limit, and the spam review API, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from _web import database, make_app
from privacyops.accounts import create_api_token
from privacyops.audit import AuditLog
from privacyops.store.registry import Registry

URL = "/api/v1/intake"


@pytest.fixture
def client(tmp_path: Path, db_url: str) -> TestClient:
    return TestClient(make_app(tmp_path, db_url, intake_rate_limit_per_minute=5))


@pytest.fixture
def staff(client: TestClient) -> dict[str, str]:
    with database(client.app).session() as session:
        _, token = create_api_token(session, "crm-sync", ["intake:read", "intake:write"])
    return {"authorization": f"Bearer {token}"}


def written(client: TestClient) -> int:
    db = database(client.app)
    with db.engine.connect() as conn:
        return int(
            conn.execute(sa.text("SELECT count(*) FROM personal_data_records")).scalar_one()
            + conn.execute(sa.text("SELECT count(*) FROM intake_quarantine")).scalar_one()
        )


def registry(client: TestClient) -> Registry:
    return Registry(database(client.app))


@pytest.mark.parametrize("channel", ["web_form", "chatbot"])
def test_public_channels_need_no_login_and_reveal_nothing(client: TestClient, channel: str) -> None:
    body = {"name": "Pat Public", "email": "pat@example.com", "request_details": "Hello"}
    response = client.post(f"{URL}/{channel}", json=body)
    assert response.status_code == 202
    assert response.json() == {"status": "received"}
    subject = registry(client).find_subject("email", "pat@example.com")
    assert subject is not None
    [record] = registry(client).records_for(subject)
    assert record.channel == channel
    assert AuditLog(database(client.app)).verify().ok


@pytest.mark.parametrize(
    ("channel", "body"),
    [
        ("contact", {"phone": "+47 21 92 93 00", "call_duration": 125, "call_recording": "rec:42"}),
        ("customer", {"email": "buyer@example.com", "company_address": "1 Road, Oslo"}),
        ("event", {"email": "guest@example.com", "linkedin_profile": "linkedin.com/in/guest"}),
    ],
)
def test_staff_channels_need_the_intake_scope(
    client: TestClient, staff: dict[str, str], channel: str, body: dict[str, Any]
) -> None:
    anonymous = client.post(f"{URL}/{channel}", json=body)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "authentication_required"
    response = client.post(f"{URL}/{channel}", json=body, headers=staff)
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["status"] == "stored"
    assert result["channel"] == channel
    assert result["legal_basis"] == "contract"
    record = registry(client).get_record(result["record_id"])
    assert record.subject_public_id == result["subject_ref"]
    [event] = [e for e in AuditLog(database(client.app)).tail(5) if e.action == "record.collect"]
    assert event.actor == "token:crm-sync"


@pytest.mark.parametrize(
    ("channel", "body", "status", "code"),
    [
        ("web_form", {"email": "not an e-mail"}, 400, "invalid_input"),
        ("web_form", {"email": "a@example.com", "phone": "call me"}, 400, "invalid_input"),
        ("web_form", {"email": "a@example.com", "name": 7}, 400, "invalid_input"),
        ("web_form", {"email": "a@example.com", "name": True}, 400, "invalid_input"),
        ("web_form", {"email": "a@example.com", "skype_id": "x"}, 422, "undeclared_data"),
        (
            "web_form",
            {"email": "a@example.com", "collected_at": "2001-01-01"},
            422,
            "undeclared_data",
        ),
        ("web_form", {"email": "kid@example.com", "age": 15}, 422, "age_gate_refused"),
        (
            "web_form",
            {"email": "a@example.com", "request_details": "x" * 70_000},
            413,
            "payload_too_large",
        ),
        ("web_form", ["email", "a@example.com"], 400, "invalid_input"),
        ("telex", {"email": "a@example.com"}, 401, "authentication_required"),
    ],
)
def test_bad_input_is_a_clear_4xx_and_nothing_is_written(
    client: TestClient, channel: str, body: Any, status: int, code: str
) -> None:
    response = client.post(f"{URL}/{channel}", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    if isinstance(body, dict):
        for value in body.values():
            if isinstance(value, str) and len(value) > 3:
                assert value not in response.text
    assert written(client) == 0


def test_unknown_channel_for_staff_is_404(client: TestClient, staff: dict[str, str]) -> None:
    response = client.post(f"{URL}/telex", json={"email": "a@example.com"}, headers=staff)
    assert response.status_code == 404
    assert "telex" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "raw", [b'{"email": "a@example.com"', b"\xff\xfe", b"", b"[" * 100_000 + b"]" * 100_000]
)
def test_malformed_json_is_400(client: TestClient, raw: bytes) -> None:
    response = client.post(
        f"{URL}/web_form", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code in (400, 413)
    assert written(client) == 0


@pytest.mark.parametrize(
    "name", ["Robert'); DROP TABLE personal_data_records;--", "<img src=x onerror=alert(1)>"]
)
def test_injection_strings_are_kept_as_data(client: TestClient, name: str) -> None:
    response = client.post(f"{URL}/web_form", json={"email": "inj@example.com", "name": name})
    assert response.status_code == 202
    assert name not in response.text
    subject = registry(client).find_subject("email", "inj@example.com")
    assert subject is not None
    [record] = registry(client).records_for(subject)
    assert record.payload is not None
    assert record.payload["name"] == name


def test_public_submissions_are_rate_limited(client: TestClient) -> None:
    codes = [
        client.post(f"{URL}/chatbot", json={"email": f"r{i}@example.com"}).status_code
        for i in range(6)
    ]
    assert codes == [202] * 5 + [429]
    last = client.post(f"{URL}/chatbot", json={"email": "late@example.com"})
    assert last.status_code == 429
    assert int(last.headers["retry-after"]) >= 1


def test_spam_review_over_the_api(client: TestClient, staff: dict[str, str]) -> None:
    rule = client.post(
        f"{URL}/spam/rules", json={"kind": "regex", "pattern": r"bit\.ly/"}, headers=staff
    )
    assert rule.status_code == 201, rule.text
    blocked = client.post(
        f"{URL}/spam/blocklist",
        json={"kind": "ip_range", "value": "198.51.100.0/24"},
        headers=staff,
    )
    assert blocked.status_code == 201
    # Spam gets the same public answer as anything else.
    spam = client.post(
        f"{URL}/web_form", json={"email": "s@example.com", "request_details": "see bit.ly/x"}
    )
    assert spam.json() == {"status": "received"}
    assert registry(client).find_subject("email", "s@example.com") is None

    assert client.get(f"{URL}/spam/quarantine").status_code == 401
    queue = client.get(f"{URL}/spam/quarantine", headers=staff).json()
    assert len(queue) == 1
    assert queue[0]["matched"] == [f"rule:regex#{rule.json()['id']}"]
    qid = queue[0]["id"]
    shown = client.get(f"{URL}/spam/quarantine/{qid}", headers=staff).json()
    assert shown["payload"]["email"] == "s@example.com"

    released = client.post(
        f"{URL}/spam/quarantine/{qid}/release", json={"note": "ok"}, headers=staff
    )
    assert released.status_code == 200, released.text
    assert released.json()["status"] == "stored"
    again = client.post(f"{URL}/spam/quarantine/{qid}/reject", json={}, headers=staff)
    assert again.status_code == 409

    spam2 = client.post(
        f"{URL}/web_form", json={"email": "t@junk.example", "request_details": "bit.ly/y"}
    )
    assert spam2.status_code == 202
    qid2 = client.get(f"{URL}/spam/quarantine", headers=staff).json()[0]["id"]
    rejected = client.post(
        f"{URL}/spam/quarantine/{qid2}/reject", json={"block_sender": True}, headers=staff
    )
    assert rejected.status_code == 200
    assert len(rejected.json()["blocklist_entries"]) == 1
    entries = client.get(f"{URL}/spam/blocklist", headers=staff).json()
    assert {e["value"] for e in entries} == {"198.51.100.0/24", "t***@junk.example"}
    assert (
        client.delete(f"{URL}/spam/blocklist/{entries[0]['id']}", headers=staff).status_code == 204
    )
    assert client.delete(f"{URL}/spam/rules/{rule.json()['id']}", headers=staff).status_code == 204
    assert client.get(f"{URL}/spam/rules", headers=staff).json() == []
    bad = client.post(f"{URL}/spam/rules", json={"kind": "regex", "pattern": "(("}, headers=staff)
    assert bad.status_code == 400
    assert AuditLog(database(client.app)).verify().ok


def test_under_age_endpoint_erases(client: TestClient, staff: dict[str, str]) -> None:
    stored = client.post(f"{URL}/event", json={"email": "teen@example.com"}, headers=staff).json()
    response = client.post(
        f"{URL}/under-age", json={"subject_ref": stored["subject_ref"]}, headers=staff
    )
    assert response.status_code == 200
    assert response.json()["erased"] is True
    assert registry(client).find_subject("email", "teen@example.com") is None
    missing = client.post(f"{URL}/under-age", json={"subject_ref": "nobody"}, headers=staff)
    assert missing.status_code == 404


def test_openapi_documents_the_intake_endpoint(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/intake/{channel}" in paths
    assert json.dumps(paths["/api/v1/intake/{channel}"]["post"]["responses"]).count("422") >= 1

"""The breach register through its JSON API, the dashboard (with the countdown on the home
page) and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from _web import browser, database, login, make_app
from privacyops.accounts import create_api_token
from privacyops.audit import AuditLog
from privacyops.store import IdentityIn, RecordIn, Registry, Submission


def _token(client: TestClient, *scopes: str) -> dict[str, str]:
    with database(client.app).session() as session:  # type: ignore[arg-type]
        _, token = create_api_token(session, "dpo-tool", list(scopes))
    return {"authorization": f"Bearer {token}"}


@pytest.fixture
def client(tmp_path: Path, db_url: str, smtp_server) -> TestClient:  # type: ignore[no-untyped-def]
    app = make_app(tmp_path, db_url, smtp_host="127.0.0.1", smtp_port=smtp_server.port)
    registry = Registry(database(app))
    for n in range(2):
        registry.ingest(
            Submission(
                [IdentityIn("email", f"p{n}@example.org")],
                RecordIn(
                    channel="web_form",
                    legal_basis="consent",
                    policy_version="v3",
                    data_categories=["email"],
                    collected_at=datetime.now(UTC) - timedelta(days=3),
                ),
            )
        )
    return browser(app)


def test_api_record_assess_draft_and_letters(client: TestClient, smtp_server) -> None:  # type: ignore[no-untyped-def]
    write = _token(client, "breaches:read", "breaches:write")
    read = _token(client, "breaches:read")
    aware = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    body = {
        "title": "Lost laptop",
        "description": "An unencrypted laptop with a form export was stolen.",
        "aware_at": aware,
        "timezone": "Europe/Oslo",
        "channels": ["web_form"],
        "data_categories": ["email"],
    }
    assert client.post("/api/v1/breaches", json=body, headers=read).status_code == 403
    naive = client.post(
        "/api/v1/breaches", json={**body, "aware_at": "2027-03-26T16:00"}, headers=write
    )
    assert naive.status_code == 422
    created = client.post("/api/v1/breaches", json=body, headers=write)
    assert created.status_code == 201, created.text
    breach = created.json()
    ref = breach["ref"]
    assert breach["affected"] == {
        "people": 2,
        "records": 2,
        "erased_people": 0,
        "by_channel": {"web_form": 2},
        "by_category": {"email": 2},
    }
    assert 69 * 3600 < breach["countdown"]["seconds_left"] <= 70 * 3600
    assert "p0@example.org" not in created.text

    risk = client.post(
        f"/api/v1/breaches/{ref}/risk",
        json={"likelihood": "very_high", "severity": "high", "reasons": "Plain text."},
        headers=write,
    )
    assert risk.json()["risk"]["decision"] == "people"
    draft = client.get(f"/api/v1/breaches/{ref}/notification", headers=read).json()
    assert draft["authority"]["country"] == "NO"
    assert draft["nature"]["approximate_people"] == 2
    assert set(draft["to_follow"]) == {"likely_consequences", "measures"}
    pdf = client.get(f"/api/v1/breaches/{ref}/notification.pdf", headers=read)
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")

    sent = client.post(f"/api/v1/breaches/{ref}/letters", headers=write)
    assert sent.json()["totals"] == {"sent": 2}
    assert len(smtp_server.to("p1@example.org")) == 1
    # Tokens never see the people in plain text; a DPO's session does, and it is audited.
    assert client.get(f"/api/v1/breaches/{ref}/people", headers=write).status_code == 401
    login(client, "dpo")
    people = client.get(f"/api/v1/breaches/{ref}/people")
    assert sorted(p["identities"][0][1] for p in people.json()) == [
        "p0@example.org",
        "p1@example.org",
    ]
    assert AuditLog(database(client.app)).tail(1)[0].action == "record.read"  # type: ignore[arg-type]
    assert client.get("/api/v1/breaches/BR-NOSUCH", headers=read).status_code == 404


def test_dashboard_shows_the_countdown(client: TestClient) -> None:
    write = _token(client, "breaches:write")
    aware = datetime(2027, 3, 26, 15, 0, tzinfo=UTC)  # Good Friday, 16:00 in Oslo
    body = {
        "title": "Form export public",
        "description": "The export was reachable.",
        "aware_at": aware.isoformat(),
        "timezone": "Europe/Oslo",
        "data_categories": ["email"],
    }
    ref = client.post("/api/v1/breaches", json=body, headers=write).json()["ref"]
    login(client, "operator")
    assert client.get("/dashboard/breaches").status_code == 403
    assert ref not in client.get("/dashboard").text
    client.post("/logout")
    login(client, "dpo")
    home = client.get("/dashboard").text
    assert ref in home
    assert "Mon 2027-03-29 17:00 CEST" in home
    assert " h " in home
    assert "left" in home
    page = client.get(f"/dashboard/breaches/{ref}")
    assert page.status_code == 200
    assert "Mon 2027-03-29 17:00 CEST" in page.text
    assert "people affected" in page.text


def test_cli_breach(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from privacyops.cli.app import app

    monkeypatch.setenv("PRIVACYOPS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    runner = CliRunner()
    out = runner.invoke(
        app, ["breach", "deadline", "2027-03-26T16:00", "--timezone", "Europe/Oslo"]
    )
    assert out.output.strip() == "2027-03-29T17:00:00+02:00"
    naive = runner.invoke(app, ["breach", "deadline", "2027-03-26T16:00"])
    assert naive.exit_code != 0
    recorded = runner.invoke(
        app,
        [
            "breach", "record", "--title", "Stolen phone", "--description", "A phone.",
            "--aware-at", "2027-03-26T16:00", "--timezone", "Europe/Oslo",
            "--category", "email", "--channel", "web_form",
        ],
    )  # fmt: skip
    assert recorded.exit_code == 0, recorded.output
    shown = json.loads(recorded.output)
    assert shown["deadline"] == "2027-03-29T17:00:00+02:00"
    assert shown["affected"]["people"] == 0
    letter = runner.invoke(app, ["breach", "letters", shown["ref"]])
    assert letter.exit_code == 0
    assert "security incident" in letter.output

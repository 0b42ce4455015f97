"""DPIA screening of the seed policy and the DPIA register (GDPR Art. 35)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from privacyops.audit import AuditLog
from privacyops.errors import InvalidInput
from privacyops.policy import default_policy_book
from privacyops.registers.dpia import DpiaRegister, criteria, screen
from privacyops.store import Database


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url, master_key=b"M" * 32)
    database.upgrade()
    yield database
    database.dispose()


def _flagged() -> dict[str, set[str]]:
    return {
        s.activity.key: {c.id for c in s.matched}
        for s in screen(default_policy_book().current)
        if s.needs_dpia
    }


def test_criteria_cover_the_nine_of_wp248() -> None:
    numbers = {c.number for c in criteria() if c.kind == "wp248"}
    assert numbers == set(range(1, 10))


def test_seed_policy_screening_flags_the_risky_activities() -> None:
    flagged = _flagged()
    # Cross-device tracking and behavioural advertising on the website (policy §2).
    assert "cross_device_tracking" in flagged["website/website-advertising"]
    assert "large_scale_monitoring" in flagged["website/website-advertising"]
    # Albacross correlates visitors' IP addresses with their employer.
    assert "company_deanonymisation" in flagged["website/website-analytics"]
    # Calls are recorded on the contact channel.
    assert "call_recording" in flagged["contact/answer-request"]
    # Answering a web-form request meets no criterion.
    assert "web_form/answer-request" not in flagged
    assert "website/website-payments" not in flagged


def test_one_wp248_criterion_alone_does_not_need_a_dpia() -> None:
    by_key = {s.activity.key: s for s in screen(default_policy_book().current)}
    remarketing = by_key["event/event-remarketing"]
    assert [c.id for c in remarketing.matched] == ["evaluation_scoring"]
    assert not remarketing.needs_dpia


def test_register_records_and_reports(db: Database) -> None:
    register = DpiaRegister(db, default_policy_book().current)
    before = {r["activity"]: r["dpia"] for r in register.report()}
    assert before["website/website-advertising"] == "missing"
    fields = {
        "description": "Retargeting through ad networks.",
        "necessity": "Needed for campaigns; consent first.",
        "risks": "Profiling across sites.",
        "measures": "Consent banner; no special categories.",
        "dpo_advice": "Proceed with consent only.",
        "review_date": date.today() + timedelta(days=365),
    }
    saved = register.add("website/website-advertising", fields, actor="staff:1")
    assert saved["review_overdue"] is False
    after = {r["activity"]: r["dpia"] for r in register.report()}
    assert after["website/website-advertising"] == "done"
    register.add(
        "website/website-advertising",
        {**fields, "review_date": date.today() - timedelta(days=1)},
        actor="staff:1",
    )
    again = {r["activity"]: r["dpia"] for r in register.report()}
    assert again["website/website-advertising"] == "review_overdue"
    assert len(register.records()) == 1
    assert AuditLog(db).tail(1)[0].action == "dpia.record"
    with pytest.raises(InvalidInput, match="not a purpose"):
        register.add("website/no-such", fields, actor="staff:1")
    with pytest.raises(InvalidInput, match="dpo_advice"):
        register.add("contact/answer-request", {**fields, "dpo_advice": " "}, actor="staff:1")


def test_cli_dpia_screen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from privacyops.cli.app import app

    monkeypatch.setenv("PRIVACYOPS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    out = CliRunner().invoke(app, ["dpia", "screen"])
    assert out.exit_code == 0, out.output
    rows = {r["activity"]: r for r in json.loads(out.output)}
    assert rows["website/website-advertising"]["dpia"] == "missing"
    added = CliRunner().invoke(
        app,
        [
            "dpia", "add", "contact/answer-request", "--description", "d", "--necessity", "n",
            "--risks", "r", "--measures", "m", "--dpo-advice", "a", "--review", "2027-12-01",
        ],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    listed = json.loads(CliRunner().invoke(app, ["dpia", "list"]).output)
    assert [d["activity"] for d in listed] == ["contact/answer-request"]


def test_api_dpia(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from _web import database, make_app
    from privacyops.accounts import create_api_token

    client = TestClient(make_app(tmp_path))
    with database(client.app).session() as session:  # type: ignore[arg-type]
        _, read = create_api_token(session, "r", ["dpia:read"])
        _, write = create_api_token(session, "w", ["dpia:read", "dpia:write"])
    as_read = {"authorization": f"Bearer {read}"}
    as_write = {"authorization": f"Bearer {write}"}
    rows = client.get("/api/v1/dpia/screening", headers=as_read).json()
    assert {"activity": "contact/answer-request", "dpia": "missing"}.items() <= next(
        r for r in rows if r["activity"] == "contact/answer-request"
    ).items()
    body = {
        "activity": "contact/answer-request",
        "description": "d",
        "necessity": "n",
        "risks": "r",
        "measures": "m",
        "dpo_advice": "a",
        "review_date": "2027-12-01",
    }
    assert client.post("/api/v1/dpia", json=body, headers=as_read).status_code == 403
    created = client.post("/api/v1/dpia", json=body, headers=as_write)
    assert created.status_code == 201, created.text
    bad = client.post("/api/v1/dpia", json={**body, "activity": "x/y"}, headers=as_write)
    assert bad.status_code == 400
    assert bad.json()["error"]["details"][0]["loc"] == ["activity"]

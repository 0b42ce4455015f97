"""Art. 19 enforced: an erasure, rectification or restriction is answered only once every
recipient is told, or the DPO has recorded how it was told another way or why telling it is
impossible or disproportionate; the person may see the list (Art. 19, second sentence)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests._rights import submit_and_verify
from tests.conftest import SmtpSink
from tests.test_rights_notices import ORGANISER, make_service
from tests.test_rights_workflow import ingest
from typer.testing import CliRunner

from _web import csrf, database, login, make_app
from privacyops.accounts import create_api_token
from privacyops.audit import AuditLog
from privacyops.cli.app import app as cli_app
from privacyops.errors import Conflict, InvalidInput, VerificationFailed
from privacyops.rights.engine import tick
from privacyops.rights.service import RightsService
from privacyops.web.routes.rights import rights_service


@pytest.fixture
def service(tmp_path: Path, db_url: str, smtp_server: SmtpSink) -> Iterator[RightsService]:
    service = make_service(tmp_path, db_url, smtp_server, {})
    yield service
    service.db.dispose()


def answers(smtp: SmtpSink, to: str) -> list[str]:
    return [smtp.body(m) for m in smtp.to(to) if "answered" in m["Subject"]]


def unreachable(service: RightsService, request_id: str) -> list[str]:
    return [
        r["recipient_id"]
        for r in service.staff_recipients(request_id)
        if r["status"] == "unreachable"
    ]


def test_erasure_waits_for_the_dpo_on_each_recipient_without_an_address(
    service: RightsService, smtp_server: SmtpSink
) -> None:
    ingest(service, "ada@example.com", channel="event")
    receipt = submit_and_verify(service, smtp_server, "erasure", "ada@example.com")
    tick(service)

    # the organisers have an address and were told; the others have none: the DPO decides
    listed = {r["recipient_id"]: r for r in service.staff_recipients(receipt.request_id)}
    assert listed["event-organisers"]["status"] == "sent"
    assert len(smtp_server.to(ORGANISER)) == 1
    open_ones = unreachable(service, receipt.request_id)
    assert open_ones, listed
    view = service.show(receipt.request_id)
    assert view["state"] == "awaiting_review"
    assert {"kind": "recipients", "decision": None, "reason": None} in view["tasks"]
    assert answers(smtp_server, "ada@example.com") == []  # not answered yet

    # a decision needs a known kind and a note; an already notified recipient has none to take
    with pytest.raises(InvalidInput):
        service.decide_recipient(receipt.request_id, open_ones[0], "skip", "x", actor="dpo")
    with pytest.raises(InvalidInput):
        service.decide_recipient(
            receipt.request_id, open_ones[0], "disproportionate", "  ", actor="dpo"
        )
    with pytest.raises(Conflict):
        service.decide_recipient(
            receipt.request_id, "event-organisers", "impossible", "why", actor="dpo"
        )

    first, *rest = open_ones
    service.decide_recipient(
        receipt.request_id, first, "other_route", "Told by phone to their DPO", actor="dpo"
    )
    tick(service)
    if rest:  # still waiting while any is undecided
        assert service.show(receipt.request_id)["state"] == "awaiting_review"
    for rid in rest:
        service.decide_recipient(
            receipt.request_id,
            rid,
            "disproportionate",
            "The recipient's copy is a one-off printout, destroyed after the event",
            actor="dpo",
        )
    with pytest.raises(Conflict):  # decided once
        service.decide_recipient(receipt.request_id, first, "impossible", "x", actor="dpo")
    view = service.show(receipt.request_id)
    assert view["state"] == "in_progress"
    assert [t["decision"] for t in view["tasks"] if t["kind"] == "recipients"] == ["decided"]
    tick(service)
    status = service.status(receipt.request_id, receipt.token)
    assert status["state"] == "completed"
    names = {r["recipient_id"]: r["recipient"] for r in listed.values()}
    assert sorted(status["outcome"]["not_notified"]) == sorted(names[r] for r in rest)
    assert names[first] in status["outcome"]["recipients_notified"]

    # the answer offers the list; the person with the key gets it
    (answer,) = answers(smtp_server, "ada@example.com")
    assert "You may ask us who they are" in answer
    assert f"/privacy/requests/{receipt.request_id}" in answer
    told = {
        r["recipient_id"]: r
        for r in service.recipients_for_person(receipt.request_id, receipt.token)
    }
    assert told["event-organisers"]["status"] == "sent"
    assert told[first]["status"] == "other_route"
    assert "note" not in told[first]  # how staff reached it stays internal
    for rid in rest:
        assert told[rid]["status"] == "disproportionate"
        assert "one-off printout" in told[rid]["note"]
        assert "decided_by" not in told[rid]
    with pytest.raises(VerificationFailed):
        service.recipients_for_person(receipt.request_id, "wrong-token")
    decided = [e for e in AuditLog(service.db).events() if e.action == "notice.decided"]
    assert len(decided) == len(open_ones)
    assert {e.actor for e in decided} == {"dpo"}


def test_restriction_is_held_for_art19_too_and_the_cli_decides(
    service: RightsService, smtp_server: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(service, "bob@example.com", channel="event")
    receipt = submit_and_verify(
        service,
        smtp_server,
        "restriction",
        "bob@example.com",
        details={"ground": "accuracy_contested"},
    )
    tick(service)
    assert service.show(receipt.request_id)["state"] == "awaiting_review"
    open_ones = unreachable(service, receipt.request_id)
    assert open_ones

    # the CLI lists the recipients and records the decisions
    monkeypatch.setenv("PRIVACYOPS_DATA_DIR", str(service.settings.data_dir))
    monkeypatch.setenv("PRIVACYOPS_DATABASE_URL", service.settings.database_url)
    runner = CliRunner()
    listed = runner.invoke(cli_app, ["request", "recipients", receipt.request_id, "--json"])
    assert listed.exit_code == 0, listed.output
    assert "unreachable" in listed.output
    for rid in open_ones:
        done = runner.invoke(
            cli_app,
            [
                "request",
                "decide-recipient",
                receipt.request_id,
                rid,
                "--decision",
                "impossible",
                "--note",
                "No contact exists any more",
            ],
        )
        assert done.exit_code == 0, done.output
    assert unreachable(service, receipt.request_id) == []
    tick(service)
    assert service.status(receipt.request_id, receipt.token)["state"] == "completed"


def test_dashboard_form_and_api_record_the_art19_decisions(
    tmp_path: Path, smtp_server: SmtpSink
) -> None:
    app = make_app(tmp_path, smtp_port=smtp_server.port, second_factor="none")
    staff = TestClient(app, headers={"accept": "text/html"})
    login(staff, "dpo")
    service = rights_service(type("R", (), {"app": app})())  # type: ignore[arg-type]
    ingest(service, "cy@example.com", channel="event")
    receipt = submit_and_verify(
        service,
        smtp_server,
        "restriction",
        "cy@example.com",
        details={"ground": "accuracy_contested"},
    )
    tick(service)
    open_ones = unreachable(service, receipt.request_id)
    assert len(open_ones) >= 2
    page = staff.get(f"/dashboard/requests/{receipt.request_id}")
    assert page.status_code == 200
    assert "Recipients told (GDPR Art. 19)" in page.text
    assert f'action="/dashboard/requests/{receipt.request_id}/recipients/{open_ones[0]}"' in (
        page.text
    )

    # without a CSRF token or a note: refused, nothing recorded
    url = f"/dashboard/requests/{receipt.request_id}/recipients/{open_ones[0]}"
    no_csrf = staff.post(url, data={"decision": "impossible", "note": "gone"})
    assert no_csrf.status_code == 422
    no_note = staff.post(
        url, data={"csrf_token": csrf(page.text), "decision": "impossible", "note": ""}
    )
    assert no_note.status_code == 422
    assert "How it was told, or why not is required" in no_note.text
    assert unreachable(service, receipt.request_id) == open_ones
    ok = staff.post(
        url,
        data={
            "csrf_token": csrf(no_note.text),
            "decision": "impossible",
            "note": "Company dissolved",
        },
    )
    assert ok.status_code == 200, ok.text
    assert "Art. 19 decision recorded." in ok.text
    assert "Company dissolved" in ok.text

    # the staff API does the same; the person sees the list with the request's key
    api = TestClient(app)
    with database(app).session() as session:
        _, token = create_api_token(session, "dpo-tool", ["requests:read", "requests:write"])
    api.headers["Authorization"] = f"Bearer {token}"
    for rid in open_ones[1:]:
        decided = api.post(
            f"/api/v1/rights/staff/requests/{receipt.request_id}/recipients/{rid}",
            json={"decision": "disproportionate", "note": "Archived mailing list"},
        )
        assert decided.status_code == 200, decided.text
    assert decided.json()["state"] == "in_progress"
    tick(service)
    person = TestClient(app)
    listed = person.get(
        f"/api/v1/rights/requests/{receipt.request_id}/recipients",
        headers={"X-Request-Token": receipt.token},
    )
    assert listed.status_code == 200
    assert {r["status"] for r in listed.json()} == {"impossible", "disproportionate"}
    wrong = person.get(
        f"/api/v1/rights/requests/{receipt.request_id}/recipients",
        headers={"X-Request-Token": "x" * 40},
    )
    assert wrong.status_code == 400
    assert "error" in wrong.json()

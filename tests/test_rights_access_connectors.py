"""An access request answered fully: the export waits until every connected system (SQL, HTTP,
manual task, processor e-mail) has answered, and then holds every system's records."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pikepdf
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests._rights import decide_recipients, phone_texts, submit_and_verify
from tests.conftest import SmtpSink
from tests.test_rights_workflow import LINK, ingest
from typer.testing import CliRunner

from _connectors_shop import dataset_yaml, fill
from _crm_server import CONNECTOR_YAML, CRM, TOKEN, seed, serve
from _web import browser, csrf, login, make_app
from privacyops.accounts import create_api_token
from privacyops.audit import AuditLog
from privacyops.cli.app import app as cli_app
from privacyops.connectors import list_tasks, make_engine, task_records
from privacyops.connectors.models import ConnectorTask
from privacyops.rights.downloads import open_export
from privacyops.rights.engine import (
    RECHECK_WAITING,
    RETRY_FIRST,
    process,
    runnable,
    tick,
)
from privacyops.rights.models import ConnectorAnswer, RightsRequest
from privacyops.rights.service import RightsService
from privacyops.rights.tasks import complete_task
from privacyops.settings import reset_settings
from privacyops.store import utcnow
from privacyops.web.routes.rights import rights_service

TRELLO_YAML = "connector: {name: trello, type: manual, system: Trello, processor: trello}\n"
HUBSPOT = "privacy@hubspot.example"
HUBSPOT_YAML = (
    "connector: {name: hubspot, type: email, system: HubSpot, processor: hubspot, "
    f"to: {HUBSPOT}}}\n"
)
CARD = {"board": "Onboarding", "card": "Call Ada about the engine"}


@dataclass
class World:
    app: FastAPI
    service: RightsService
    crm: CRM
    staff: TestClient  # the staff API, with a token of the requests:* scopes


def _world(tmp_path: Path, db_url: str, smtp: SmtpSink, files: dict[str, str], crm: CRM) -> World:
    folder = tmp_path / "connectors"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    app = make_app(
        tmp_path,
        db_url,
        smtp_port=smtp.port,
        second_factor="phone_code",
        connectors_dir=folder,
        connector_hash_salt="pepper",
    )
    service = rights_service(type("R", (), {"app": app})())  # type: ignore[arg-type]
    with service.db.session() as session:
        _, token = create_api_token(session, "dpo-desk", ["requests:read", "requests:write"])
    staff = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    return World(app, service, crm, staff)


@pytest.fixture
def world(
    tmp_path: Path, db_url: str, smtp_server: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    """The shop database (SQL), the CRM (HTTP, a real local server) and Trello (manual)."""
    monkeypatch.setenv("CRM_TOKEN", TOKEN)
    shop_url = db_url if db_url.startswith("postgresql") else f"sqlite:///{tmp_path / 'shop.db'}"
    shop = fill(shop_url)
    crm = CRM()
    seed(crm)
    shop_yml = dataset_yaml(shop_url)
    with serve(crm) as base_url:
        crm_yml = CONNECTOR_YAML.format(base_url=base_url).replace("retries: 3", "retries: 0")
        files = {"shop.yml": shop_yml, "crm.yml": crm_yml, "trello.yml": TRELLO_YAML}
        w = _world(tmp_path, db_url, smtp_server, files, crm)
        yield w
        w.service.db.dispose()
    shop.dispose()


def answers_to(smtp: SmtpSink, email: str) -> list[Any]:
    return [m for m in smtp.to(email) if "your data is ready" in m["Subject"]]


def download(w: World, smtp: SmtpSink, email: str) -> dict[str, Any]:
    """What the person gets: the link from the e-mail, the password from the text message."""
    (mail,) = answers_to(smtp, email)
    token = LINK.search(smtp.body(mail))
    assert token
    password = phone_texts(w.service)[-1]["text"].rsplit(": ", 1)[1]
    response = TestClient(w.app).post(f"/api/v1/rights/exports/{token.group(1)}")
    assert response.status_code == 200, response.text
    with pikepdf.open(io.BytesIO(response.content), password=password) as pdf:
        data: dict[str, Any] = json.loads(pdf.attachments["data.json"].get_file().read_bytes())
        data["csv"] = list(
            csv.reader(io.StringIO(pdf.attachments["data.csv"].get_file().read_bytes().decode()))
        )
    return data


def events(w: World) -> list[str]:
    return [e.action for e in AuditLog(w.service.db).events()]


def test_access_waits_for_the_manual_task_and_then_holds_every_system(
    world: World, smtp_server: SmtpSink
) -> None:
    w = world
    ingest(w.service, "ada@example.com")
    receipt = submit_and_verify(w.service, smtp_server, "access", "ada@example.com")
    texts_before = len(phone_texts(w.service))
    tick(w.service)

    # Trello has no API: its task is open, so the person gets nothing yet
    status = w.service.status(receipt.request_id, receipt.token)
    assert status["state"] == "in_progress"
    assert status["outcome"]["waiting_for"] == ["Trello"]
    other = {s["system"]: s for s in status["outcome"]["other_systems"]}
    assert other["Trello"]["status"] == "pending"
    assert other["Shop database"] == {"system": "Shop database", "status": "done", "records": 8}
    assert other["Company CRM"]["status"] == "done"
    assert answers_to(smtp_server, "ada@example.com") == []
    assert len(phone_texts(w.service)) == texts_before  # no export password either

    # staff see what it waits for, and the task to do
    listed = w.staff.get("/api/v1/rights/staff/requests", params={"state": "in_progress"})
    assert listed.status_code == 200, listed.text
    (row,) = [r for r in listed.json() if r["request_id"] == receipt.request_id]
    assert row["outcome"]["waiting_for"] == ["Trello"]
    page = browser(w.app)
    login(page, "dpo")
    listing = page.get("/dashboard/requests")
    assert listing.status_code == 200
    assert "<td>Trello</td><td></td></tr>" in listing.text  # waiting for; no assignee yet
    detail = page.get(f"/dashboard/requests/{receipt.request_id}")
    assert 'id="waiting-for">Waiting for: Trello' in detail.text
    assert "<tr><td>Company CRM</td><td>done</td><td>10</td></tr>" in detail.text
    tasks = w.staff.get("/api/v1/connectors/tasks").json()["tasks"]
    assert [(t["system"], t["action"], t["request"]) for t in tasks] == [
        ("Trello", "access", receipt.request_id)
    ]

    # more runs while the task is open: nothing asked twice, nothing sent
    calls = len(w.crm.calls)
    tick(w.service)
    tick(w.service)
    assert w.service.status(receipt.request_id, receipt.token)["state"] == "in_progress"
    assert len(list_tasks(w.service.db, request_ref=receipt.request_id)) == 1
    assert events(w).count("connector.task_opened") == 1
    assert events(w).count("rights.waiting") == 1  # recorded when it starts waiting
    assert len(w.crm.calls) == calls  # the CRM answered once; it is not asked again
    assert answers_to(smtp_server, "ada@example.com") == []

    # staff record what Trello holds, through the staff API
    done = w.staff.post(
        f"/api/v1/connectors/tasks/{tasks[0]['id']}/complete",
        json={"outcome": "one card found", "records": {"cards": [CARD]}},
    )
    assert done.status_code == 200, done.text
    tick(w.service)
    status = w.service.status(receipt.request_id, receipt.token)
    assert status["state"] == "completed"
    assert "waiting_for" not in status["outcome"]
    assert {s["system"]: s["records"] for s in status["outcome"]["other_systems"]} == {
        "Shop database": 8,
        "Company CRM": 10,
        "Trello": 1,
    }
    assert len(w.crm.calls) == calls

    data = download(w, smtp_server, "ada@example.com")
    systems = {s["connector"]: s for s in data["other_systems"]}
    assert systems["Trello"]["records"] == {"cards": [CARD]}
    assert systems["Trello"]["status"] == "done"
    assert systems["Shop database"]["records"]["customer"][0]["name"] == "Ada"
    assert len(systems["Company CRM"]["records"]["contacts"]) == 3
    assert data["parts"]  # and the registry's own record
    assert ["Trello:cards:0", "card", CARD["card"], "Trello", "", "", ""] in data["csv"]

    # the records kept while waiting are gone once the export holds them
    with w.service.db.session() as session:
        kept = session.scalars(sa.select(ConnectorAnswer.records_sealed)).all()
    assert len(kept) == 3
    assert all(k is None for k in kept)
    (task,) = list_tasks(w.service.db, request_ref=receipt.request_id)
    assert task_records(w.service.db, task) == {}
    actions = events(w)
    for step in ("collect", "export", "answer"):
        assert actions.count(f"rights.step.{step}") == 1
    assert len(answers_to(smtp_server, "ada@example.com")) == 1
    (exported,) = AuditLog(w.service.db).events(actions=["rights.step.export"])
    details = json.loads(exported.details)
    assert (details["systems"], details["system_records"]) == (3, 19)
    (collected,) = AuditLog(w.service.db).events(actions=["rights.step.collect"])
    assert json.loads(collected.details)["waiting_for"] == ["Trello"]


def test_failing_http_system_keeps_access_waiting_until_it_answers(
    world: World, smtp_server: SmtpSink
) -> None:
    w = world
    w.crm.faults.extend(["503"] * 50)  # the CRM is up but answers 503
    ingest(w.service, "ada@example.com")
    receipt = submit_and_verify(w.service, smtp_server, "access", "ada@example.com")
    tick(w.service)
    status = w.service.status(receipt.request_id, receipt.token)
    assert status["state"] == "in_progress"
    assert status["outcome"]["waiting_for"] == ["Company CRM", "Trello"]
    other = {s["system"]: s["status"] for s in status["outcome"]["other_systems"]}
    assert other == {"Shop database": "done", "Company CRM": "failed", "Trello": "pending"}
    assert status["outcome"]["retries"] == 1
    with w.service.db.session() as session:
        rid = session.scalar(
            sa.select(RightsRequest.id).where(RightsRequest.public_id == receipt.request_id)
        )
    assert runnable(w.service) == []  # backing off, as an erasure does
    assert runnable(w.service, now=utcnow() + RETRY_FIRST + timedelta(seconds=1)) == [rid]

    (task,) = list_tasks(w.service.db, request_ref=receipt.request_id)
    w.staff.post(f"/api/v1/connectors/tasks/{task.id}/complete", json={"outcome": "nothing found"})
    # the back-off has passed, the CRM is still down: it waits longer, nothing is sent
    _expire_lease(w, rid)
    assert process(w.service, rid) == "in_progress"
    status = w.service.status(receipt.request_id, receipt.token)
    assert status["outcome"]["waiting_for"] == ["Company CRM"]
    assert status["outcome"]["retries"] == 2
    assert answers_to(smtp_server, "ada@example.com") == []

    w.crm.faults.clear()  # the CRM is back
    _expire_lease(w, rid)
    tick(w.service)
    status = w.service.status(receipt.request_id, receipt.token)
    assert status["state"] == "completed"
    data = download(w, smtp_server, "ada@example.com")
    systems = {s["connector"]: s for s in data["other_systems"]}
    assert len(systems["Company CRM"]["records"]["contacts"]) == 3
    assert systems["Trello"]["records"] == {}
    assert systems["Shop database"]["records"]["customer"][0]["name"] == "Ada"


def _expire_lease(w: World, request_id: int) -> None:
    """Time passes: the back-off of a waiting request is over."""
    with w.service.db.session() as session:
        session.execute(
            sa.update(RightsRequest).where(RightsRequest.id == request_id).values(lease_until=None)
        )


class Crash(BaseException):
    """The worker dies inside a step's transaction (its work done, not committed)."""


def crash_at(name: str) -> Any:
    def hook(_ref: str, step: str) -> None:
        if step == name:
            raise Crash(step)

    return hook


def test_a_worker_crash_in_collect_or_export_does_nothing_twice(
    world: World, smtp_server: SmtpSink
) -> None:
    w = world
    ingest(w.service, "ada@example.com")
    receipt = submit_and_verify(w.service, smtp_server, "access", "ada@example.com")
    with w.service.db.session() as session:
        rid = session.scalar(
            sa.select(RightsRequest.id).where(RightsRequest.public_id == receipt.request_id)
        )
    assert rid is not None

    # dies after asking the systems, before the commit: nothing of it is kept ...
    with pytest.raises(Crash):
        process(w.service, rid, worker="w1", hook=crash_at("collect"))
    assert list_tasks(w.service.db, request_ref=receipt.request_id) == []
    # ... and the next run asks once more: one task, one answer per system
    assert process(w.service, rid, worker="w1") == "in_progress"
    (task,) = list_tasks(w.service.db, request_ref=receipt.request_id)
    with w.service.db.session() as session:
        names = session.scalars(sa.select(ConnectorAnswer.connector)).all()
    assert sorted(names) == ["Company CRM", "Shop database", "Trello"]

    w.staff.post(
        f"/api/v1/connectors/tasks/{task.id}/complete",
        json={"outcome": "one card", "records": {"cards": [CARD]}},
    )
    # dies while making the export: no file handed out, no mail, the records still kept
    with pytest.raises(Crash):
        process(w.service, rid, worker="w1", hook=crash_at("export"))
    assert answers_to(smtp_server, "ada@example.com") == []
    (task,) = list_tasks(w.service.db, request_ref=receipt.request_id)
    assert task_records(w.service.db, task) == {"cards": [CARD]}
    assert process(w.service, rid, worker="w1") == "completed"
    data = download(w, smtp_server, "ada@example.com")
    assert {s["connector"]: s["records"] for s in data["other_systems"]}["Trello"] == {
        "cards": [CARD]
    }
    actions = events(w)
    assert actions.count("connector.task_opened") == 1
    for step in ("collect", "export", "answer"):
        assert actions.count(f"rights.step.{step}") == 1


def test_waiting_request_keeps_its_legal_clock_and_can_be_extended(
    world: World, smtp_server: SmtpSink
) -> None:
    w = world
    ingest(w.service, "ada@example.com")
    receipt = submit_and_verify(w.service, smtp_server, "access", "ada@example.com")
    tick(w.service)
    before = w.service.show(receipt.request_id)
    assert before["state"] == "in_progress"
    assert before["clock"]["deadline"] is not None
    extended = w.service.extend(
        receipt.request_id, "Trello must be searched by hand", actor="staff:dpo"
    )
    assert extended["state"] == "in_progress"
    assert extended["clock"]["deadline"] > before["clock"]["deadline"]
    assert extended["outcome"]["waiting_for"] == ["Trello"]
    told = [m for m in smtp_server.to("ada@example.com") if "Trello must be" in smtp_server.body(m)]
    assert len(told) == 1


@pytest.mark.parametrize(
    "records",
    [
        ["not", "an", "object"],
        {"cards": "not a list"},
        {"cards": ["not an object"]},
    ],
)
def test_records_of_the_wrong_shape_are_refused_and_change_nothing(
    world: World, smtp_server: SmtpSink, records: Any
) -> None:
    w = world
    ingest(w.service, "ada@example.com")
    submit_and_verify(w.service, smtp_server, "access", "ada@example.com")
    tick(w.service)
    (task,) = list_tasks(w.service.db)
    refused = w.staff.post(
        f"/api/v1/connectors/tasks/{task.id}/complete",
        json={"outcome": "found", "records": records},
    )
    assert refused.status_code == 422
    assert set(refused.json()) == {"error"}
    assert [t.status for t in list_tasks(w.service.db)] == ["open"]


@pytest.fixture
def hubspot(
    tmp_path: Path, db_url: str, smtp_server: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    """Only HubSpot, a processor reached by e-mail; the CLI points at the same database."""
    w = _world(tmp_path, db_url, smtp_server, {"hubspot.yml": HUBSPOT_YAML}, CRM())
    monkeypatch.setenv("PRIVACYOPS_DATABASE_URL", db_url)
    monkeypatch.setenv("PRIVACYOPS_DATA_DIR", str(tmp_path / "data"))
    reset_settings()
    yield w
    reset_settings()
    w.service.db.dispose()


def test_processor_is_written_to_once_and_its_answer_reaches_the_export(
    hubspot: World, smtp_server: SmtpSink, tmp_path: Path
) -> None:
    w = hubspot
    ingest(w.service, "ada@example.com")
    receipt = submit_and_verify(w.service, smtp_server, "access", "ada@example.com")
    for _ in range(3):
        tick(w.service)
    (mail,) = smtp_server.to(HUBSPOT)
    assert "access" in mail["Subject"]
    assert "ada@example.com" in smtp_server.body(mail)
    assert w.service.status(receipt.request_id, receipt.token)["outcome"]["waiting_for"] == [
        "HubSpot"
    ]
    assert answers_to(smtp_server, "ada@example.com") == []

    # the processor answers with a file; staff record it with the CLI
    (task,) = list_tasks(w.service.db, request_ref=receipt.request_id)
    found = tmp_path / "hubspot.json"
    found.write_text(json.dumps({"contacts": [{"email": "ada@example.com", "stage": "lead"}]}))
    wrong = CliRunner().invoke(
        cli_app, ["connectors", "done", str(task.id), "--outcome", "x", "--records", __file__]
    )
    assert wrong.exit_code != 0
    out = CliRunner().invoke(
        cli_app,
        ["connectors", "done", str(task.id), "--outcome", "1 contact", "--records", str(found)],
    )
    assert out.exit_code == 0, out.output
    tick(w.service)
    assert w.service.status(receipt.request_id, receipt.token)["state"] == "completed"
    data = download(w, smtp_server, "ada@example.com")
    (system,) = data["other_systems"]
    assert system["connector"] == "HubSpot"
    assert system["records"] == {"contacts": [{"email": "ada@example.com", "stage": "lead"}]}
    assert len(smtp_server.to(HUBSPOT)) == 1


@pytest.fixture
def trello(
    tmp_path: Path, db_url: str, smtp_server: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    """Only Trello, a system with no API that staff act on by hand; the CLI points at the
    same database."""
    w = _world(tmp_path, db_url, smtp_server, {"trello.yml": TRELLO_YAML}, CRM())
    monkeypatch.setenv("PRIVACYOPS_DATABASE_URL", db_url)
    monkeypatch.setenv("PRIVACYOPS_DATA_DIR", str(tmp_path / "data"))
    reset_settings()
    yield w
    w.service.db.dispose()
    reset_settings()


@pytest.mark.parametrize(
    ("kind", "details"),
    [
        ("restriction", {"ground": "legal_claims"}),
        ("rectification", {"changes": {"name": "Ada King"}}),
    ],
)
def test_restriction_and_rectification_wait_for_the_manual_system(
    trello: World, smtp_server: SmtpSink, kind: str, details: dict[str, Any]
) -> None:
    w = trello
    ingest(w.service, "ada@example.com")
    receipt = submit_and_verify(w.service, smtp_server, kind, "ada@example.com", details=details)
    tick(w.service)
    tick(w.service)
    status = w.service.status(receipt.request_id, receipt.token)
    assert status["state"] == "in_progress", json.dumps([status["outcome"], events(w)])
    assert status["outcome"]["waiting_for"] == ["Trello"]
    answered = [m for m in smtp_server.to("ada@example.com") if "answered" in m["Subject"]]
    assert answered == []
    (task,) = w.staff.get("/api/v1/connectors/tasks").json()["tasks"]
    assert (task["system"], task["action"], task["request"]) == ("Trello", kind, receipt.request_id)
    assert len(task["checklist"]) == 3

    # staff read who the task is about and what to do: audited, kept encrypted, write scope
    url = f"/api/v1/connectors/tasks/{task['id']}/brief"
    brief = w.staff.get(url)
    assert brief.status_code == 200, brief.text
    # the phone is not among them: a line people share finds no one (docs/registry.md)
    assert brief.json()["identities"] == {"email": ["ada@example.com"]}
    assert {k: brief.json().get(k) for k in details} == details
    assert events(w).count("connector.task_brief_read") == 1
    with w.service.db.session() as session:
        _, reader = create_api_token(session, "auditor", ["requests:read"])
        sealed = session.scalar(sa.select(ConnectorTask.brief_sealed))
    assert sealed is not None
    assert b"ada@example.com" not in sealed
    read_only = TestClient(w.app, headers={"Authorization": f"Bearer {reader}"}).get(url)
    assert read_only.status_code == 403
    assert TestClient(w.app).get(url).status_code == 401
    cli = CliRunner().invoke(cli_app, ["connectors", "brief", str(task["id"])])
    assert cli.exit_code == 0, cli.output
    assert "email: ada@example.com" in cli.output
    assert events(w).count("connector.task_brief_read") == 2

    # records go with access tasks only
    refused = w.staff.post(
        f"/api/v1/connectors/tasks/{task['id']}/complete",
        json={"outcome": "done", "records": {"cards": [CARD]}},
    )
    assert refused.status_code == 400
    done = w.staff.post(
        f"/api/v1/connectors/tasks/{task['id']}/complete", json={"outcome": "2 cards updated"}
    )
    assert done.status_code == 200, done.text
    tick(w.service)
    decide_recipients(w.service, receipt.request_id)  # Art. 19: no address
    tick(w.service)
    status = w.service.status(receipt.request_id, receipt.token)
    assert status["state"] == "completed"
    assert status["outcome"]["other_systems"] == [{"system": "Trello", "status": "done"}]
    assert "Trello" not in status["outcome"]["not_notified"]  # reached by its task
    (answer,) = [m for m in smtp_server.to("ada@example.com") if "answered" in m["Subject"]]
    assert "Trello" in smtp_server.body(answer)
    assert events(w).count("connector.task_opened") == 1
    # done: who it was about is forgotten
    gone = w.staff.get(url)
    assert gone.status_code == 409
    assert "no longer kept" in gone.json()["error"]["message"]
    with w.service.db.session() as session:
        assert session.scalar(sa.select(ConnectorTask.brief_sealed)) is None


def test_processor_is_told_the_corrected_values_of_a_rectification(
    hubspot: World, smtp_server: SmtpSink
) -> None:
    w = hubspot
    ingest(w.service, "ada@example.com")
    submit_and_verify(
        w.service,
        smtp_server,
        "rectification",
        "ada@example.com",
        details={"changes": {"name": "Ada King"}},
    )
    tick(w.service)
    # the processor's Art. 19 notice says what to correct, not only that something was
    (mail,) = smtp_server.to(HUBSPOT)
    body = smtp_server.body(mail).replace("\r\n", "\n")
    assert "Notice of rectification" in mail["Subject"]
    assert "email: ada@example.com" in body
    assert "The corrected values:\n  name: Ada King" in body


def test_connected_systems_are_called_while_no_write_lock_is_held(
    world: World, smtp_server: SmtpSink, db_url: str
) -> None:
    """The CRM (HTTP) and the shop database (SQL) are asked before each step's transaction: a
    slow API never holds the embedded database's single write lock, so intake, consent and
    the rest of the service keep writing meanwhile."""
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL has no database-wide write lock")
    w = world
    path = w.service.db.url.database
    assert path is not None
    seen: list[tuple[str, str]] = []

    def probe(call: str) -> None:  # another writer, arriving while the CRM is being asked
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            seen.append((call, "free"))
        except sqlite3.OperationalError as exc:
            seen.append((call, str(exc)))
        finally:
            other.close()

    w.crm.on_call = probe
    ingest(w.service, "ada@example.com")
    access = submit_and_verify(w.service, smtp_server, "access", "ada@example.com")
    tick(w.service)
    erasure = submit_and_verify(w.service, smtp_server, "erasure", "ada@example.com")
    for _ in range(3):
        tick(w.service)
    assert any(call.startswith("GET") for call, _ in seen)  # the access asked the CRM
    assert any(call.startswith("DELETE") for call, _ in seen)  # the erasure erased there
    assert {state for _, state in seen} == {"free"}, seen
    # and the answers reached the requests as before
    other = {
        s["system"]: s["status"]
        for s in w.service.status(access.request_id, access.token)["outcome"]["other_systems"]
    }
    assert other["Company CRM"] == "done"
    assert other["Shop database"] == "done"
    erased = w.service.status(erasure.request_id, erasure.token)["outcome"]["other_systems"]
    assert {s["system"]: s["status"] for s in erased}["Company CRM"] == "done"
    assert not any(c["email"] == "ada@example.com" for c in w.crm.contacts.values())


def test_staff_see_whom_a_task_is_about_and_record_it_done_in_the_dashboard(
    trello: World, smtp_server: SmtpSink
) -> None:
    w = trello
    ingest(w.service, "ada@example.com")
    receipt = submit_and_verify(w.service, smtp_server, "erasure", "ada@example.com")
    tick(w.service)
    (task,) = list_tasks(w.service.db, request_ref=receipt.request_id)
    base = f"/dashboard/requests/{receipt.request_id}"

    # an auditor sees the task, not the person, and cannot act
    auditor = browser(w.app)
    login(auditor, "auditor")
    seen = auditor.get(base)
    assert f'id="system-task-{task.id}"' in seen.text
    assert "Trello: erasure" in seen.text
    assert "Show whom it is about" not in seen.text
    token = csrf(auditor.get("/dashboard").text)
    refused = auditor.post(f"{base}/systems/{task.id}/brief", data={"csrf_token": token})
    assert refused.status_code == 403

    page = browser(w.app)
    login(page, "operator")
    detail = page.get(base)
    assert "ada@example.com" not in detail.text  # not shown until asked for
    shown = page.post(f"{base}/systems/{task.id}/brief", data={"csrf_token": csrf(detail.text)})
    assert shown.status_code == 200, shown.text
    assert "<dt>email</dt><dd>ada@example.com</dd>" in shown.text
    reads = [e for e in AuditLog(w.service.db).events() if e.action == "connector.task_brief_read"]
    assert [e.actor.split(":")[0] for e in reads] == ["staff"]
    stale = page.post(f"{base}/systems/{task.id}/brief", data={"csrf_token": "forged"})
    assert stale.status_code == 422
    assert "ada@example.com" not in stale.text

    empty = page.post(
        f"{base}/systems/{task.id}/complete",
        data={"csrf_token": csrf(shown.text), "outcome": " "},
    )
    assert empty.status_code == 422
    assert "Outcome is required." in empty.text
    assert list_tasks(w.service.db, request_ref=receipt.request_id)[0].status == "open"
    other = page.post(
        f"/dashboard/requests/{receipt.request_id[:-1]}x/systems/{task.id}/complete",
        data={"csrf_token": csrf(empty.text), "outcome": "done"},
    )
    assert other.status_code == 404  # a task is acted on through its own request only
    done = page.post(
        f"{base}/systems/{task.id}/complete",
        data={"csrf_token": csrf(page.get(base).text), "outcome": "2 cards deleted"},
    )
    assert done.status_code == 200, done.text
    assert "Trello: recorded as done" in done.text
    assert "ada@example.com" not in done.text
    tick(w.service)
    decide_recipients(w.service, receipt.request_id)  # Art. 19: no address
    tick(w.service)
    assert w.service.status(receipt.request_id, receipt.token)["state"] == "completed"


def test_rectification_corrects_the_connected_database_too(
    world: World, smtp_server: SmtpSink, db_url: str, tmp_path: Path
) -> None:
    w = world
    ingest(w.service, "ada@example.com")
    receipt = submit_and_verify(
        w.service,
        smtp_server,
        "rectification",
        "ada@example.com",
        details={"changes": {"name": "Ada King"}},
    )
    calls = len(w.crm.calls)
    tick(w.service)
    status = w.service.status(receipt.request_id, receipt.token)
    other = {s["system"]: s for s in status["outcome"]["other_systems"]}
    # the shop's dataset says which column holds a name (user.name): corrected there
    assert other["Shop database"] == {"system": "Shop database", "status": "done", "corrected": 1}
    shop_url = db_url if db_url.startswith("postgresql") else f"sqlite:///{tmp_path / 'shop.db'}"
    shop = make_engine(shop_url)
    with shop.connect() as conn:
        names = dict(conn.execute(sa.text("SELECT id, name FROM customer")).all())
    shop.dispose()
    assert names[1] == "Ada King"
    assert names[2] == "Bob"
    assert len(w.crm.calls) == calls  # an HTTP API has no rectification to call
    # Trello (no API) still has its task; once done, the request is answered
    assert status["outcome"]["waiting_for"] == ["Trello"]
    (task,) = list_tasks(w.service.db, request_ref=receipt.request_id)
    complete_task(w.service.db, task.id, outcome="card renamed", actor="staff:dpo")
    tick(w.service)
    decide_recipients(w.service, receipt.request_id)  # Art. 19: no address
    tick(w.service)
    assert w.service.status(receipt.request_id, receipt.token)["state"] == "completed"


def test_portability_holds_the_connected_records_held_on_contract_or_consent(
    tmp_path: Path, db_url: str, smtp_server: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_TOKEN", TOKEN)
    shop_url = db_url if db_url.startswith("postgresql") else f"sqlite:///{tmp_path / 'shop.db'}"
    shop = fill(shop_url)
    # the shop says which tables it holds on which basis: orders on the contract; logins not
    shop_yml = (
        dataset_yaml(shop_url)
        .replace("    - name: orders\n", "    - name: orders\n      legal_basis: contract\n")
        .replace(
            "    - name: order_line\n", "    - name: order_line\n      legal_basis: contract\n"
        )
        .replace(
            "    - name: login\n", "    - name: login\n      legal_basis: legitimate_interest\n"
        )
    )
    crm = CRM()
    seed(crm)
    with serve(crm) as base_url:
        crm_yml = CONNECTOR_YAML.format(base_url=base_url)  # declares no basis: not asked
        files = {"shop.yml": shop_yml, "crm.yml": crm_yml, "trello.yml": TRELLO_YAML}
        w = _world(tmp_path, db_url, smtp_server, files, crm)
        try:
            ingest(w.service, "ada@example.com")
            submit_and_verify(w.service, smtp_server, "portability", "ada@example.com")
            tick(w.service)
            token = LINK.search(smtp_server.body(smtp_server.to("ada@example.com")[-1]))
            assert token, "no export link"
            _name, media, content = open_export(w.service, token.group(1))
            assert crm.calls == []
            assert list_tasks(w.service.db) == []  # no staff task: a manual system's basis
        finally:
            w.service.db.dispose()
    shop.dispose()
    assert media == "application/zip"
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        data = json.loads(archive.read("data.json"))
    (system,) = data["other_systems"]
    assert system["connector"] == "Shop database"
    assert sorted(system["records"]) == ["order_line", "orders"]
    assert sorted(r["id"] for r in system["records"]["orders"]) == [100, 101]


def test_a_waiting_request_rests_until_its_task_is_done(
    trello: World, smtp_server: SmtpSink
) -> None:
    w = trello
    ingest(w.service, "ada@example.com")
    receipt = submit_and_verify(w.service, smtp_server, "erasure", "ada@example.com")
    tick(w.service)
    assert w.service.status(receipt.request_id, receipt.token)["outcome"]["waiting_for"] == [
        "Trello"
    ]
    with w.service.db.session() as session:
        rid = session.scalar(
            sa.select(RightsRequest.id).where(RightsRequest.public_id == receipt.request_id)
        )
    # not taken again on every tick while staff have not acted...
    assert runnable(w.service) == []
    # ...but looked at again after a while, whatever happened meanwhile
    later = utcnow() + RECHECK_WAITING + timedelta(seconds=1)
    assert runnable(w.service, now=later) == [rid]
    # completing the task wakes it at once
    (task,) = list_tasks(w.service.db, request_ref=receipt.request_id)
    complete_task(w.service.db, task.id, outcome="2 cards deleted", actor="staff:dpo")
    assert runnable(w.service) == [rid]
    tick(w.service)
    decide_recipients(w.service, receipt.request_id)  # Art. 19: no address
    tick(w.service)
    assert w.service.status(receipt.request_id, receipt.token)["state"] == "completed"


def test_refusing_a_waiting_request_cancels_its_tasks_and_forgets_the_records(
    world: World, smtp_server: SmtpSink
) -> None:
    w = world
    ingest(w.service, "ada@example.com")
    receipt = submit_and_verify(w.service, smtp_server, "access", "ada@example.com")
    tick(w.service)
    refused = w.staff.post(
        f"/api/v1/rights/staff/requests/{receipt.request_id}/refuse",
        json={"reason": "Manifestly unfounded (Art. 12(5))"},
    )
    assert refused.status_code == 200, refused.text
    assert refused.json()["state"] == "refused"
    assert w.staff.get("/api/v1/connectors/tasks").json()["tasks"] == []
    (task,) = list_tasks(w.service.db, request_ref=receipt.request_id)
    assert task.status == "cancelled"
    with w.service.db.session() as session:
        kept = session.scalars(sa.select(ConnectorAnswer.records_sealed)).all()
    assert len(kept) == 3
    assert all(k is None for k in kept)
    tick(w.service)
    assert answers_to(smtp_server, "ada@example.com") == []
    assert "connector.task_cancelled" in events(w)

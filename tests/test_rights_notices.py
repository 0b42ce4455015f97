"""The rights engine and the connectors together: Art. 19 notices after an erasure or a
restriction, and requests that wait for the systems that have not done their part."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests._rights import decide_recipients, submit_and_verify
from tests.conftest import SmtpSink
from tests.test_rights_workflow import ingest

from _crm_server import CONNECTOR_YAML
from privacyops.audit import AuditLog
from privacyops.connectors import list_tasks
from privacyops.policy.schema import PolicyBook
from privacyops.rights.engine import RETRY_FIRST, process, runnable, tick
from privacyops.rights.factory import build_service
from privacyops.rights.models import RightsRequest, StepRecord
from privacyops.rights.notices import notices_for_request
from privacyops.rights.service import RightsService
from privacyops.rights.tasks import complete_task
from privacyops.settings import Settings
from privacyops.store import Database, utcnow

ORGANISER = "dpo@organiser.example"
HUBSPOT = "privacy@hubspot.example"


def with_organiser_address(book: PolicyBook) -> PolicyBook:
    """The seed policy, with an Art. 19 address for the event organisers (a recipient)."""
    current = book.current
    recipients = [
        r.model_copy(update={"notify_email": ORGANISER}) if r.id == "event-organisers" else r
        for r in current.recipients
    ]
    return book.model_copy(
        update={
            "versions": [*book.versions[:-1], current.model_copy(update={"recipients": recipients})]
        }
    )


def make_service(
    tmp_path: Path, db_url: str, smtp: SmtpSink, files: dict[str, str]
) -> RightsService:
    folder = tmp_path / "connectors"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        smtp_port=smtp.port,
        second_factor="phone_code",
        connectors_dir=folder,
    )
    db = Database(db_url, master_key=b"k" * 32)
    db.upgrade()
    service = build_service(settings, db=db)
    service.policy = with_organiser_address(service.policy)
    return service


HUBSPOT_YAML = (
    "connector: {name: hubspot, type: email, system: HubSpot, processor: hubspot, "
    f"to: {HUBSPOT}}}\n"
)


@pytest.fixture
def service(tmp_path: Path, db_url: str, smtp_server: SmtpSink) -> Iterator[RightsService]:
    service = make_service(tmp_path, db_url, smtp_server, {"hubspot.yml": HUBSPOT_YAML})
    yield service
    service.db.dispose()


def notices(smtp: SmtpSink, address: str) -> list[Any]:
    return [m for m in smtp.to(address) if "GDPR Art. 19" in m["Subject"]]


def row_of(service: RightsService, public_id: str) -> RightsRequest:
    with service.db.session() as session:
        row = session.scalar(sa.select(RightsRequest).where(RightsRequest.public_id == public_id))
        assert row is not None
        session.expunge(row)
        return row


def test_erasure_notifies_recipients_and_waits_for_the_processor_task(
    service: RightsService, smtp_server: SmtpSink
) -> None:
    ingest(service, "ada@example.com", channel="event")
    receipt = submit_and_verify(service, smtp_server, "erasure", "ada@example.com")
    tick(service)

    # Art. 19: the recipient (manifest address) and the processor (its connector's address)
    (organiser,) = notices(smtp_server, ORGANISER)
    assert organiser["Subject"] == f"[{receipt.request_id}] Notice of erasure (GDPR Art. 19)"
    assert "ada@example.com" in smtp_server.body(organiser)
    assert len(notices(smtp_server, HUBSPOT)) == 1
    sent = {n.recipient_id: n.status for n in notices_for_request(service.db, receipt.request_id)}
    assert {k: v for k, v in sent.items() if v != "unreachable"} == {
        "event-organisers": "sent",
        "hubspot": "sent",
    }
    assert sent["skype"] == "unreachable"  # no address: the DPO decides (Art. 19)

    # HubSpot's erasure is an e-mail task: the request waits, visibly, and is not answered
    status = service.status(receipt.request_id, receipt.token)
    assert status["state"] == "in_progress"
    assert status["outcome"]["waiting_for"] == ["HubSpot"]
    assert status["outcome"]["other_systems"] == [
        {"system": "HubSpot", "status": "pending", "erased": 0}
    ]
    assert "Skype" in status["outcome"]["not_notified"]  # no address: the DPO's to handle
    assert not [m for m in smtp_server.to("ada@example.com") if "answered" in m["Subject"]]
    assert "rights.waiting" in [e.action for e in AuditLog(service.db).events()]

    # another run while the task is open: still waiting, no notice sent twice
    tick(service)
    assert service.status(receipt.request_id, receipt.token)["state"] == "in_progress"
    # even if the notify step itself ran again (a crash after its notices went)
    with service.db.session() as session:
        session.execute(
            sa.delete(StepRecord).where(
                StepRecord.step == "notify",
                StepRecord.request_id == row_of(service, receipt.request_id).id,
            )
        )
    tick(service)
    assert len(notices(smtp_server, ORGANISER)) == 1
    assert len(notices(smtp_server, HUBSPOT)) == 1

    # the processor answers; staff record it (connectors API): the request completes
    (task,) = list_tasks(service.db, request_ref=receipt.request_id)
    complete_task(service.db, task.id, outcome="contact deleted", actor="staff:dpo")
    tick(service)
    # then it waits for the DPO's Art. 19 decision on the recipients with no address
    assert service.status(receipt.request_id, receipt.token)["state"] == "awaiting_review"
    assert "skype" in decide_recipients(service, receipt.request_id)
    tick(service)
    status = service.status(receipt.request_id, receipt.token)
    assert status["state"] == "completed"
    outcome = status["outcome"]
    assert "waiting_for" not in outcome
    assert outcome["other_systems"] == [{"system": "HubSpot", "status": "done", "erased": 0}]
    assert sorted(outcome["recipients_notified"]) == ["HubSpot", "Organizers of the event"]
    (answer,) = [m for m in smtp_server.to("ada@example.com") if "answered" in m["Subject"]]
    assert "Organizers of the event" in smtp_server.body(answer)
    assert len(notices(smtp_server, ORGANISER)) == 1


def test_restriction_notifies_recipients(service: RightsService, smtp_server: SmtpSink) -> None:
    ingest(service, "ada@example.com", channel="event")
    receipt = submit_and_verify(
        service, smtp_server, "restriction", "ada@example.com", details={"ground": "legal_claims"}
    )
    tick(service)
    decide_recipients(service, receipt.request_id)
    tick(service)
    status = service.status(receipt.request_id, receipt.token)
    assert status["state"] == "completed"
    (notice,) = notices(smtp_server, ORGANISER)
    assert "Notice of restriction" in notice["Subject"]
    assert "Organizers of the event" in status["outcome"]["recipients_notified"]


def test_unreachable_system_is_retried_with_back_off(
    tmp_path: Path, db_url: str, smtp_server: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_TOKEN", "t")
    down = CONNECTOR_YAML.format(base_url="http://127.0.0.1:9").replace("retries: 3", "retries: 0")
    service = make_service(tmp_path, db_url, smtp_server, {"crm.yml": down})
    ingest(service, "ada@example.com")
    receipt = submit_and_verify(service, smtp_server, "erasure", "ada@example.com")
    tick(service)
    status = service.status(receipt.request_id, receipt.token)
    assert status["state"] == "in_progress"
    assert status["outcome"]["waiting_for"] == ["Company CRM"]
    assert status["outcome"]["other_systems"][0]["status"] == "failed"
    assert status["outcome"]["retries"] == 1
    row = row_of(service, receipt.request_id)
    assert runnable(service) == []  # backing off
    assert runnable(service, now=utcnow() + RETRY_FIRST + timedelta(seconds=1)) == [row.id]
    # the next attempt fails again: the wait doubles, and nothing is marked done
    with service.db.session() as session:
        session.execute(
            sa.update(RightsRequest).where(RightsRequest.id == row.id).values(lease_until=None)
        )
    assert process(service, row.id) == "in_progress"
    after = row_of(service, receipt.request_id)
    assert after.outcome is not None
    assert after.outcome["retries"] == 2
    assert after.lease_until is not None
    assert after.lease_until.replace(tzinfo=None) > (
        utcnow() + RETRY_FIRST + timedelta(seconds=5)
    ).replace(tzinfo=None)
    assert after.completed_at is None
    service.db.dispose()

"""Proportionate identity checks (GDPR Art. 12(2), 12(6); EDPB Guidelines 01/2022): the
e-mail code, then a phone code when the registry holds that phone for the person, else one
question about their own records, and staff review of a document only when the identity is
genuinely in doubt, which alone pauses the Art. 12(3) clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests._rights import last_code, phone_code, phone_texts
from tests.conftest import SmtpSink
from tests.test_rights_workflow import ingest, make_service

from _web import csrf, database, login, make_app
from privacyops.audit import AuditLog
from privacyops.errors import VerificationFailed
from privacyops.rights.engine import tick
from privacyops.rights.models import IdentityDocument
from privacyops.rights.service import RightsService
from privacyops.settings import Settings
from privacyops.web.routes.rights import rights_service

SHARED_LINE = "+4722000000"


@pytest.fixture
def service(tmp_path: Path, db_url: str, smtp_server: SmtpSink) -> Iterator[RightsService]:
    svc = make_service(tmp_path, db_url, smtp_server)
    yield svc
    svc.db.dispose()


def mails(smtp: SmtpSink, to: str, words: str) -> list[str]:
    return [smtp.body(m) for m in smtp.to(to) if words in m["Subject"]]


def test_the_default_second_check_is_proportionate() -> None:
    assert Settings().second_factor == "proportionate"


def test_a_phone_held_for_the_person_gets_the_second_code(
    service: RightsService, smtp_server: SmtpSink
) -> None:
    ingest(service, "ada@example.com", phone="+4721929300")
    receipt = service.submit("access", "ada@example.com", phone="+4721929300")
    status = service.verify(
        receipt.request_id, receipt.token, last_code(smtp_server, "ada@example.com")
    )
    assert status["state"] == "awaiting_identity"
    assert status["next"] == "Enter the code we sent to your phone."
    assert "question" not in status
    status = service.verify(receipt.request_id, receipt.token, phone_code(service), factor="second")
    assert status["state"] == "verified"
    # the identity was never in doubt: the clock runs from receipt
    assert status["clock"]["start"] == status["received_at"][:10]


def test_a_shared_phone_is_not_used_and_a_question_is_asked_instead(
    service: RightsService, smtp_server: SmtpSink
) -> None:
    ingest(service, "ann@acme.example", phone=SHARED_LINE, channel="event")
    ingest(service, "bob@acme.example", phone=None, channel="web_form")
    receipt = service.submit("access", "bob@acme.example", phone=SHARED_LINE)
    texts = len(phone_texts(service))
    status = service.verify(
        receipt.request_id, receipt.token, last_code(smtp_server, "bob@acme.example")
    )
    assert len(phone_texts(service)) == texts  # Ann's line gets no code for Bob's request
    assert status["state"] == "awaiting_identity"
    assert status["next"] == "Answer the question below to confirm it is you."
    options = [o["id"] for o in status["question"]["options"]]
    assert options == [c.id for c in service.policy.current.channels] + ["dont-remember"]
    (told,) = mails(smtp_server, "bob@acme.example", "one question")
    assert "We will not ask for an identity document" in told
    assert f"/privacy/requests/{receipt.request_id}" in told
    assert "web_form" not in told  # the answer is never in the message

    status = service.answer_question(receipt.request_id, receipt.token, "web_form")
    assert status["state"] == "verified"
    assert status["clock"]["start"] == status["received_at"][:10]
    with pytest.raises(VerificationFailed):  # one answer only
        service.answer_question(receipt.request_id, receipt.token, "web_form")
    tick(service)
    assert service.status(receipt.request_id, receipt.token)["state"] == "completed"


def test_a_wrong_answer_goes_to_staff_review_and_pauses_the_clock(
    service: RightsService, smtp_server: SmtpSink
) -> None:
    ingest(service, "cy@example.com", phone=None, channel="event")
    receipt = service.submit("erasure", "cy@example.com")
    service.verify(receipt.request_id, receipt.token, last_code(smtp_server, "cy@example.com"))
    with pytest.raises(VerificationFailed):  # not an option
        service.answer_question(receipt.request_id, receipt.token, "<script>")
    with pytest.raises(VerificationFailed):  # not the request's key
        service.answer_question(receipt.request_id, "x" * 40, "event")
    status = service.answer_question(receipt.request_id, receipt.token, "web_form")
    assert status["state"] == "awaiting_review"
    assert status["clock"]["start"] is None  # genuinely in doubt: paused until the review
    assert status["clock"]["deadline"] is None
    (told,) = mails(smtp_server, "cy@example.com", "we need to confirm who you are")
    assert "copy of an identity document" in told
    assert "delete it once they have decided" in told
    view = service.show(receipt.request_id)
    assert {"kind": "identity_document", "decision": None, "reason": None} in view["tasks"]
    service.decide(
        receipt.request_id, "identity_document", "accept", "ID seen by phone call", actor="dpo"
    )
    status = service.status(receipt.request_id, receipt.token)
    assert status["clock"]["start"] is not None  # runs from the acceptance


def test_someone_we_hold_nothing_about_gets_the_same_question(
    service: RightsService, smtp_server: SmtpSink
) -> None:
    ingest(service, "known@example.com", phone=None)
    known = service.submit("access", "known@example.com")
    nobody = service.submit("access", "nobody@example.com")
    views = []
    for receipt, email in ((known, "known@example.com"), (nobody, "nobody@example.com")):
        views.append(
            service.verify(receipt.request_id, receipt.token, last_code(smtp_server, email))
        )
    # the same question and options whether or not we hold anything about the person
    assert views[0]["question"] == views[1]["question"]
    assert views[0]["next"] == views[1]["next"]
    status = service.answer_question(nobody.request_id, nobody.token, "event")
    assert status["state"] == "verified"  # nothing to release or erase
    tick(service)
    assert service.status(nobody.request_id, nobody.token)["state"] == "completed"


def test_the_question_on_the_privacy_page_and_the_api(
    tmp_path: Path, db_url: str, smtp_server: SmtpSink
) -> None:
    app = make_app(tmp_path, db_url, smtp_port=smtp_server.port)
    client, url = _file_on_the_page(app, smtp_server, "access", "dee@example.com")
    verified = client.get(url)
    assert "How did you last get in touch with us?" in verified.text
    assert 'value="dont-remember"' in verified.text
    no_csrf = client.post(f"{url}/answer", data={"answer": "event"})
    assert no_csrf.status_code == 422
    answered = client.post(
        f"{url}/answer", data={"csrf_token": csrf(verified.text), "answer": "event"}
    )
    assert answered.status_code == 200, answered.text
    assert "awaiting identity" not in answered.text

    # the JSON API: the options in the status, the answer through /verify
    api = TestClient(app)
    receipt = api.post(
        "/api/v1/rights/requests", json={"type": "erasure", "email": "eve@example.com"}
    ).json()
    headers = {"X-Request-Token": receipt["token"]}
    first = api.post(
        f"/api/v1/rights/requests/{receipt['request_id']}/verify",
        json={"code": last_code(smtp_server, "eve@example.com")},
        headers=headers,
    ).json()
    assert first["question"]["options"][-1]["id"] == "dont-remember"
    answer = api.post(
        f"/api/v1/rights/requests/{receipt['request_id']}/verify",
        json={"code": "dont-remember", "factor": "question"},
        headers=headers,
    )
    assert answer.status_code == 200
    assert answer.json()["state"] == "awaiting_review"  # does not remember: staff help


def _file_on_the_page(
    app: FastAPI, smtp: SmtpSink, kind: str, email: str
) -> tuple[TestClient, str]:
    """A person we hold (no phone) files a request on the privacy page and enters the e-mail
    code; returns their browser and the request's page address (now showing the question)."""
    client = TestClient(app, headers={"accept": "text/html"})
    service = rights_service(type("R", (), {"app": app})())  # type: ignore[arg-type]
    ingest(service, email, phone=None, channel="event")
    page = client.get("/privacy/requests/new")
    data = {"csrf_token": csrf(page.text), "confirm": "on", "type": kind, "email": email}
    sent = client.post("/privacy/requests", data=data, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    url = sent.headers["location"]
    status = client.get(url)
    code = {"csrf_token": csrf(status.text), "code": last_code(smtp, email)}
    verified = client.post(f"{url}/verify", data=code)
    assert verified.status_code == 200, verified.text
    return client, url


PNG = b"\x89PNG\r\n\x1a\n" + b"IHDR-test-identity-document-" * 40


def test_in_doubt_the_person_uploads_a_document_staff_read_it_once_decided_it_is_gone(
    tmp_path: Path, db_url: str, smtp_server: SmtpSink
) -> None:
    app = make_app(tmp_path, db_url, smtp_port=smtp_server.port, identity_document_max_bytes=20_000)
    person, url = _file_on_the_page(app, smtp_server, "erasure", "fay@example.com")
    service = rights_service(type("R", (), {"app": app})())  # type: ignore[arg-type]
    request_id = url.rsplit("/", 1)[-1]
    asked = person.get(url)
    doubt = person.post(
        f"{url}/answer", data={"csrf_token": csrf(asked.text), "answer": "dont-remember"}
    )
    assert "Send a copy of an identity document" in doubt.text
    assert 'enctype="multipart/form-data"' in doubt.text

    def upload(content: bytes, name: str, token: str) -> object:
        return person.post(
            f"{url}/document",
            data={"csrf_token": token},
            files={"document": (name, content, "application/pdf")},
        )

    fake = upload(b"MZ\x90\x00 not a document", "id.pdf", csrf(doubt.text))
    assert fake.status_code == 400  # type: ignore[attr-defined]
    assert "Send a PDF, JPEG or PNG file." in fake.text  # type: ignore[attr-defined]
    big = upload(b"%PDF-" + b"0" * 30_000, "id.pdf", csrf(fake.text))  # type: ignore[attr-defined]
    assert big.status_code in (400, 413)  # type: ignore[attr-defined]
    no_csrf = upload(PNG, "id.png", "")
    assert no_csrf.status_code == 422  # type: ignore[attr-defined]
    db = database(app)
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(IdentityDocument)) == 0
    ok = upload(PNG, "id.png", csrf(big.text))  # type: ignore[attr-defined]
    assert ok.status_code == 200, ok.text  # type: ignore[attr-defined]
    assert "our staff will look at your document" in ok.text  # type: ignore[attr-defined]
    with db.session() as session:
        stored = session.scalar(sa.select(IdentityDocument))
        assert stored is not None
        assert stored.media_type == "image/png"
        assert b"identity-document" not in stored.sealed  # sealed with the request's key

    staff = TestClient(app, headers={"accept": "text/html"})
    anonymous = staff.get(f"/dashboard/requests/{request_id}/document", follow_redirects=False)
    assert anonymous.status_code in (401, 303)
    assert anonymous.content != PNG
    login(staff, "dpo")
    listing = staff.get(f"/dashboard/requests/{request_id}")
    assert "Open the identity document" in listing.text
    opened = staff.get(f"/dashboard/requests/{request_id}/document")
    assert opened.status_code == 200
    assert opened.content == PNG
    assert opened.headers["content-type"] == "image/png"
    reads = [e for e in AuditLog(db).events() if e.action == "rights.document.read"]
    assert len(reads) == 1
    assert reads[0].actor.startswith("staff:")
    service.decide(request_id, "identity_document", "accept", "Name matches", actor="staff:dpo")
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(IdentityDocument)) == 0
    assert staff.get(f"/dashboard/requests/{request_id}/document").status_code == 404
    assert "rights.document.deleted" in [e.action for e in AuditLog(db).events()]

"""Data-subject requests end to end: codes by real SMTP, second factor, every right, staff
decisions, and answers that never reveal whether someone is in the data."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pikepdf
import pytest
import sqlalchemy as sa
from tests._rights import CODE, decide_recipients, last_code, phone_texts, submit_and_verify
from tests.conftest import SmtpSink

from privacyops.audit import AuditLog
from privacyops.consent.models import MarketingConsent
from privacyops.errors import (
    Conflict,
    InvalidInput,
    RateLimited,
    VerificationFailed,
)
from privacyops.rights.downloads import open_export
from privacyops.rights.engine import tick
from privacyops.rights.factory import build_service
from privacyops.rights.models import StepRecord
from privacyops.rights.service import RightsService
from privacyops.settings import Settings
from privacyops.store import Database
from privacyops.store.registry import IdentityIn, RecordIn, Registry, Submission

LINK = re.compile(r"/api/v1/rights/exports/(\S+)")


def make_service(tmp_path: Path, db_url: str, smtp: SmtpSink, **overrides: Any) -> RightsService:
    settings = Settings(
        data_dir=tmp_path / "data", database_url=db_url, **{"smtp_port": smtp.port, **overrides}
    )
    db = Database(db_url, master_key=b"k" * 32)
    db.upgrade()
    return build_service(settings, db=db)


@pytest.fixture
def service(tmp_path: Path, db_url: str, smtp_server: SmtpSink) -> Iterator[RightsService]:
    svc = make_service(tmp_path, db_url, smtp_server, second_factor="phone_code")
    yield svc
    svc.db.dispose()


def ingest(
    service: RightsService,
    email: str,
    phone: str | None = "+4721929300",
    *,
    legal_basis: str = "consent",
    channel: str = "web_form",
    **payload: Any,
) -> str:
    registry = Registry(service.db)
    identities = [IdentityIn("email", email)] + ([IdentityIn("phone", phone)] if phone else [])
    subject, _ = registry.ingest(
        Submission(
            identities,
            RecordIn(
                channel=channel,
                legal_basis=legal_basis,
                policy_version="v3",
                data_categories=["name", "email"],
                purposes=["answer-request"],
                payload={"name": "Ada Lovelace", "email": email, **payload},
            ),
        )
    )
    return subject.public_id


def events(service: RightsService) -> list[str]:
    return [e.action for e in AuditLog(service.db).events()]


# --- identity -------------------------------------------------------------------------------


def test_code_arrives_by_smtp_and_verifies(service: RightsService, smtp_server: SmtpSink) -> None:
    receipt = service.submit("restriction", "ada@example.com", details={"ground": "legal_claims"})
    assert receipt.state == "awaiting_identity"
    mail = smtp_server.to("ada@example.com")
    assert len(mail) == 1
    assert receipt.request_id in mail[0]["Subject"] + smtp_server.body(mail[0])
    status = service.verify(
        receipt.request_id, receipt.token, last_code(smtp_server, "ada@example.com")
    )
    assert status["state"] == "verified"
    # the code is kept hashed: the database holds no six-digit code in the clear
    with service.db.engine.connect() as conn:
        hashes = conn.execute(sa.text("SELECT code_hash FROM rights_challenges")).scalars().all()
    assert all(len(h) == 32 for h in hashes)


def test_answers_are_identical_for_known_and_unknown_people(
    service: RightsService, smtp_server: SmtpSink
) -> None:
    ingest(service, "known@example.com")
    known = service.submit("access", "known@example.com", phone="+4721929300")
    unknown = service.submit("access", "nobody@example.com", phone="+4721929300")
    a, b = known.as_dict(), unknown.as_dict()
    assert a.keys() == b.keys()
    assert (a["state"], a["message"]) == (b["state"], b["message"])
    ka = service.verify(known.request_id, known.token, last_code(smtp_server, "known@example.com"))
    kb = service.verify(
        unknown.request_id, unknown.token, last_code(smtp_server, "nobody@example.com")
    )
    strip = lambda v: {k: v[k] for k in v if k not in ("request_id", "received_at", "clock")}  # noqa: E731
    assert strip(ka) == strip(kb)
    mails = [
        smtp_server.body(smtp_server.to(x)[0]) for x in ("known@example.com", "nobody@example.com")
    ]
    normal = [CODE.sub("CODE", re.sub(r"r[0-9a-f]{24}", "REQ", m)) for m in mails]
    assert normal[0] == normal[1]
    # and the audit log says nothing of the subject before the runner resolves it
    assert all(e.subject_ref is None for e in AuditLog(service.db).events())


def test_wrong_expired_and_exhausted_codes(service: RightsService, smtp_server: SmtpSink) -> None:
    receipt = service.submit("complaint", "bob@example.com")
    code = last_code(smtp_server, "bob@example.com")
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(VerificationFailed) as caught:
        service.verify(receipt.request_id, receipt.token, wrong)
    message = caught.value.message
    for bad in [("r" + "0" * 24, receipt.token), (receipt.request_id, "not-the-token")]:
        with pytest.raises(VerificationFailed) as other:
            service.verify(bad[0], bad[1], code)
        assert other.value.message == message  # one error for every kind of miss
    # expired
    later = datetime.now(UTC) + timedelta(seconds=service.settings.otp_ttl_seconds + 5)
    with pytest.raises(VerificationFailed):
        service.verify(receipt.request_id, receipt.token, code, now=later)
    # attempts exhausted: even the right code no longer works
    for _ in range(service.settings.otp_max_attempts):
        with pytest.raises(VerificationFailed):
            service.verify(receipt.request_id, receipt.token, wrong)
    with pytest.raises(VerificationFailed):
        service.verify(receipt.request_id, receipt.token, code)
    status = service.status(receipt.request_id, receipt.token)
    assert status["state"] == "awaiting_identity"
    # a new code can be asked for, and works
    service.resend(receipt.request_id, receipt.token)
    fresh = last_code(smtp_server, "bob@example.com")
    assert service.verify(receipt.request_id, receipt.token, fresh)["state"] == "verified"


def test_brute_force_is_rate_limited(tmp_path: Path, db_url: str, smtp_server: SmtpSink) -> None:
    service = make_service(tmp_path, db_url, smtp_server, rights_failures_per_hour=5)
    receipt = service.submit("complaint", "eve@example.com")
    for n in range(5):
        with pytest.raises(VerificationFailed):
            service.verify(receipt.request_id, receipt.token, f"{n:06d}x", client="203.0.113.9")
    with pytest.raises(RateLimited):
        service.verify(receipt.request_id, receipt.token, "123456", client="203.0.113.9")
    service.db.dispose()


@pytest.mark.parametrize(
    ("kind", "email", "kw"),
    [
        ("deletion", "a@example.com", {}),
        ("access", "not-an-address", {}),
        ("access", "a@example.com", {"phone": "12"}),
        ("access", "a@example.com", {"phone": None}),  # phone_code needs a phone
        ("restriction", "a@example.com", {"details": {"ground": "because"}}),
        ("rectification", "a@example.com", {"details": {"changes": {"shoe_size": "44"}}}),
        ("objection", "a@example.com", {"details": {"objection": "everything"}}),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    service: RightsService, smtp_server: SmtpSink, kind: str, email: str, kw: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInput):
        service.submit(kind, email, **kw)
    assert smtp_server.messages == []
    with service.db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM rights_requests")).scalar() == 0


# --- fulfilment -----------------------------------------------------------------------------


def test_access_export_is_an_encrypted_pdf_with_password_by_phone_and_one_download(
    service: RightsService, smtp_server: SmtpSink
) -> None:
    ingest(service, "ada@example.com", note_text="Wants a quote")
    receipt = submit_and_verify(service, smtp_server, "access", "ada@example.com")
    assert tick(service) == 1
    status = service.status(receipt.request_id, receipt.token)
    assert status["state"] == "completed"
    answer = smtp_server.body(smtp_server.to("ada@example.com")[-1])
    token = LINK.search(answer)
    assert token
    assert "password" in answer
    assert "is:" not in answer
    password = phone_texts(service)[-1]["text"].rsplit(": ", 1)[1]
    name, media, content = open_export(service, token.group(1))
    assert (name, media) == ("personal-data.pdf", "application/pdf")
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(content))
    with pikepdf.open(io.BytesIO(content), password=password) as pdf:
        assert pdf.encryption.stream_method.name == "aesv3"  # AES-256
        data = json.loads(pdf.attachments["data.json"].get_file().read_bytes())
        assert "data.csv" in pdf.attachments
    part = data["parts"][0]
    assert part["data"]["note_text"] == "Wants a quote"
    for key in ("purposes", "legal_basis", "source", "recipients", "retention", "transfers"):
        assert key in part
    assert part["retention"]
    # the link works once
    with pytest.raises(VerificationFailed):
        open_export(service, token.group(1))
    assert "rights.export.downloaded" in events(service)


def test_portability_holds_only_consent_or_contract_data(
    service: RightsService, smtp_server: SmtpSink
) -> None:
    ingest(service, "pat@example.com", legal_basis="consent", source="form")
    Registry(service.db).ingest(
        Submission(
            [IdentityIn("email", "pat@example.com")],
            RecordIn(
                channel="website",
                legal_basis="legitimate_interest",
                policy_version="v3",
                payload={"visits": 17},
            ),
        )
    )
    submit_and_verify(service, smtp_server, "portability", "pat@example.com")
    tick(service)
    token = LINK.search(smtp_server.body(smtp_server.to("pat@example.com")[-1]))
    assert token
    _name, media, content = open_export(service, token.group(1))
    assert media == "application/zip"
    import zipfile

    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        data = json.loads(archive.read("data.json"))
        assert "data.csv" in archive.namelist()
    assert [p["legal_basis"] for p in data["parts"]] == ["consent"]


def test_erasure_shreds_the_subject(service: RightsService, smtp_server: SmtpSink) -> None:
    ingest(service, "gone@example.com")
    receipt = submit_and_verify(service, smtp_server, "erasure", "gone@example.com")
    tick(service)
    decide_recipients(service, receipt.request_id)  # Art. 19: recipients with no address
    tick(service)
    status = service.status(receipt.request_id, receipt.token)
    assert status["state"] == "completed"
    assert status["outcome"]["method"] == "crypto-shred"
    assert Registry(service.db).find_subject("email", "gone@example.com") is None
    assert "rights.step.erase" in events(service)


def test_erasure_keeps_records_under_legal_hold_and_names_them(
    service: RightsService, smtp_server: SmtpSink
) -> None:
    ref = ingest(service, "held@example.com")
    registry = Registry(service.db)
    registry.add_legal_hold(registry.get_subject(ref), "pending court case 2026-17")
    receipt = submit_and_verify(service, smtp_server, "erasure", "held@example.com")
    tick(service)
    outcome = service.status(receipt.request_id, receipt.token)["outcome"]
    assert outcome["erased"] == 0
    assert "pending court case 2026-17" in outcome["kept"][0]["reason"]
    assert registry.find_subject("email", "held@example.com") is not None
    answer = smtp_server.body(smtp_server.to("held@example.com")[-1])
    assert "pending court case 2026-17" in answer


def test_erasure_keeps_legal_obligation_records(
    service: RightsService, smtp_server: SmtpSink
) -> None:
    ref = ingest(service, "inv@example.com")
    Registry(service.db).ingest(
        Submission(
            [IdentityIn("email", "inv@example.com")],
            RecordIn(
                channel="customer",
                legal_basis="legal_obligation",
                policy_version="v3",
                payload={"invoice": "2025-001"},
            ),
        )
    )
    receipt = submit_and_verify(service, smtp_server, "erasure", "inv@example.com")
    tick(service)
    outcome = service.status(receipt.request_id, receipt.token)["outcome"]
    assert outcome["erased"] == 1
    assert "legal obligation" in outcome["kept"][0]["reason"]
    registry = Registry(service.db)
    left = registry.records_for(registry.get_subject(ref))
    assert [r.payload for r in left] == [{"invoice": "2025-001"}]


def test_rectification_restriction_objection_withdrawal_complaint(
    service: RightsService, smtp_server: SmtpSink
) -> None:
    ref = ingest(service, "r@example.com")
    registry = Registry(service.db)
    now = datetime.now(UTC)
    with service.db.session() as session:
        session.add(
            MarketingConsent(
                subject_id=ref,
                token_hash="0" * 64,
                status="confirmed",
                purpose="marketing-updates",
                language="en",
                policy_version="v3",
                text_hash="0" * 64,
                requested_at=now,
                link_expires_at=now,
                confirmed_at=now,
            )
        )
    submit_and_verify(
        service,
        smtp_server,
        "rectification",
        "r@example.com",
        details={"changes": {"name": "Ada King"}},
    )
    submit_and_verify(
        service,
        smtp_server,
        "restriction",
        "r@example.com",
        details={"ground": "accuracy_contested"},
    )
    submit_and_verify(
        service,
        smtp_server,
        "objection",
        "r@example.com",
        details={"objection": "direct_marketing"},
    )
    submit_and_verify(service, smtp_server, "consent_withdrawal", "r@example.com")
    complaint = submit_and_verify(
        service, smtp_server, "complaint", "r@example.com", details={"country": "PL"}
    )
    tick(service)
    subject = registry.get_subject(ref)
    assert registry.records_for(subject)[0].payload["name"] == "Ada King"  # type: ignore[index]
    assert [r.ground for r in registry.restrictions(subject)] == ["accuracy_contested"]
    assert registry.is_suppressed("r@example.com")
    with service.db.session() as session:
        assert session.scalars(sa.select(MarketingConsent.status)).all() == ["withdrawn"]
    # lifting the restriction: the person is told first, then it is lifted
    restricted = next(v for v in service.list_requests() if v["type"] == "restriction")
    rid = restricted["outcome"]["restriction"]
    service.lift_restriction(restricted["request_id"], rid, "accuracy verified", actor="staff:dpo")
    assert registry.restrictions(subject) == []
    notice = smtp_server.body(smtp_server.to("r@example.com")[-1])
    assert "accuracy verified" in notice
    assert events(service).index("rights.restriction.notice") < events(service).index(
        "rights.restriction.lifted"
    )
    outcome = service.status(complaint.request_id, complaint.token)["outcome"]
    assert "UODO" in outcome["complaint"]["authority"]["name"]
    actions = events(service)
    for step in ("rectify", "restrict", "object", "withdraw", "complaint"):
        assert f"rights.step.{step}" in actions


def test_objection_to_legitimate_interest_waits_for_the_balancing_decision(
    service: RightsService, smtp_server: SmtpSink
) -> None:
    ref = ingest(service, "li@example.com")
    registry = Registry(service.db)
    receipt = submit_and_verify(
        service,
        smtp_server,
        "objection",
        "li@example.com",
        details={"objection": "legitimate_interest"},
    )
    tick(service)
    assert service.status(receipt.request_id, receipt.token)["state"] == "awaiting_review"
    subject = registry.get_subject(ref)
    assert [r.ground for r in registry.restrictions(subject)] == ["objection_pending"]
    service.decide(
        receipt.request_id, "balancing", "override", "fraud prevention outweighs", actor="staff:dpo"
    )
    tick(service)
    status = service.status(receipt.request_id, receipt.token)
    assert status["state"] == "completed"
    assert status["outcome"]["decision"] == "override"
    assert registry.restrictions(subject) == []


def test_staff_review_second_factor(tmp_path: Path, db_url: str, smtp_server: SmtpSink) -> None:
    service = make_service(tmp_path, db_url, smtp_server, second_factor="staff_review")
    ingest(service, "doc@example.com")
    receipt = service.submit("erasure", "doc@example.com")
    status = service.verify(
        receipt.request_id, receipt.token, last_code(smtp_server, "doc@example.com")
    )
    assert status["state"] == "awaiting_review"
    assert tick(service) == 0  # nothing runs before the document is accepted
    service.decide(
        receipt.request_id, "identity_document", "accept", "passport checked", actor="staff:dpo"
    )
    tick(service)
    decide_recipients(service, receipt.request_id)
    tick(service)
    assert service.status(receipt.request_id, receipt.token)["state"] == "completed"
    service.db.dispose()


def test_extension_refusal_and_repeated_requests(
    service: RightsService, smtp_server: SmtpSink
) -> None:
    receipt = service.submit("complaint", "x@example.com")
    with pytest.raises(InvalidInput):
        service.extend(receipt.request_id, " ", actor="staff:dpo")
    view = service.extend(receipt.request_id, "complex request", actor="staff:dpo")
    assert view["clock"]["extended"] is True
    assert view["extension_reason"] == "complex request"
    assert "complex request" in smtp_server.body(smtp_server.to("x@example.com")[-1])
    with pytest.raises(Conflict):
        service.extend(receipt.request_id, "again", actor="staff:dpo")
    refused = service.refuse(receipt.request_id, "no such processing", actor="staff:dpo")
    assert refused["state"] == "refused"
    answer = smtp_server.body(smtp_server.to("x@example.com")[-1])
    assert "no such processing" in answer
    assert "Art. 77" in answer
    assert "Datatilsynet" in answer
    public = service.status(receipt.request_id, receipt.token)
    assert "Art. 79" in public["refusal"]["further_actions"]
    # the third access request in a year is flagged for a staff decision on fee or refusal
    for n in range(3):
        last = submit_and_verify(
            service, smtp_server, "restriction", "y@example.com", details={"ground": "legal_claims"}
        )
        if n < 2:
            tick(service)
    assert service.status(last.request_id, last.token)["state"] == "awaiting_review"
    view = service.decide(
        last.request_id, "excessive", "fee", "EUR 20 administrative fee", actor="staff:dpo"
    )
    assert view["state"] == "verified"
    assert "rights.task.decided" in events(service)


def test_steps_run_once_when_processed_again(service: RightsService, smtp_server: SmtpSink) -> None:
    ingest(service, "once@example.com")
    submit_and_verify(service, smtp_server, "access", "once@example.com")
    tick(service)
    tick(service)
    with service.db.engine.connect() as conn:
        steps = conn.execute(sa.select(StepRecord.step)).scalars().all()
    assert sorted(steps) == ["answer", "collect", "export", "resolve"]


def test_mail_server_down_keeps_the_code_queued_and_sends_it_later(
    tmp_path: Path, db_url: str, smtp_server: SmtpSink
) -> None:
    from tests.conftest import SmtpSink as Sink

    down = Sink()  # a port nobody listens on
    service = make_service(tmp_path, db_url, smtp_server, smtp_port=down.port)
    receipt = service.submit("complaint", "late@example.com")  # same answer as ever
    assert receipt.state == "awaiting_identity"
    assert smtp_server.to("late@example.com") == []
    service.settings.smtp_port = smtp_server.port  # the server is back
    tick(service)
    assert len(smtp_server.to("late@example.com")) == 1
    tick(service)  # sent once only
    assert len(smtp_server.to("late@example.com")) == 1
    service.db.dispose()

"""Intake through the Python API, on SQLite and PostgreSQL: every channel stored encrypted with
its purpose, basis, policy version and retention clock, findable by e-mail, in a verified audit
chain; refusals leave nothing behind; the spam quarantine and the age gate."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from privacyops.audit import AuditLog
from privacyops.errors import (
    AgeGateRefused,
    InvalidInput,
    InvalidTransition,
    NotFound,
    UndeclaredData,
)
from privacyops.intake import spam
from privacyops.intake.service import IntakeResult, IntakeService
from privacyops.policy import default_policy_book
from privacyops.settings import Settings
from privacyops.store import Database
from privacyops.store.registry import Registry

TABLES = (
    "data_subjects",
    "identities",
    "personal_data_records",
    "intake_quarantine",
    "audit_events",
)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url, master_key=os.urandom(32))
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def service(db: Database, tmp_path: Path) -> IntakeService:
    return IntakeService(
        db,
        Registry(db),
        AuditLog(db),
        default_policy_book(),
        settings=Settings(data_dir=tmp_path / "data"),
    )


def counts(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def raw_bytes(db: Database) -> bytes:
    """Every value of every intake-written table, as bytes: what a copy of the database shows."""
    out = bytearray()
    with db.engine.connect() as conn:
        for table in (*TABLES, "intake_blocks"):
            for row in conn.execute(sa.text(f"SELECT * FROM {table}")):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        out += bytes(value)
                    elif value is not None:
                        out += str(value).encode()
    return bytes(out)


CHANNEL_CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "web_form",
        {
            "name": "Wendy Form",
            "email": "wendy@example.com",
            "company": "Formcorp",
            "request_details": "A demo, please",
        },
        "last_contact_at",
    ),
    (
        "chatbot",
        {"name": "Charlie Bot", "email": "charlie@example.com", "request_details": "Pricing?"},
        "last_contact_at",
    ),
    (
        "contact",
        {
            "name": "Phil Phone",
            "email": "phil@example.com",
            "phone": "+47 21 92 93 00",
            "call_duration": "00:04:05",
            "call_recording": "recordings://2026/03/phil-1.ogg",
            "communication_history": ["Called about a quote"],
        },
        "last_contact_at",
    ),
    (
        "customer",
        {
            "name": "Cora Customer",
            "email": "cora@example.com",
            "company": "Buyer Ltd",
            "company_address": "1 Main St, Oslo",
            "contract_event": "service_delivered",
            "last_service_delivery_at": "2026-01-15T00:00:00Z",
        },
        "last_service_delivery_at",
    ),
    (
        "event",
        {
            "name": "Eve Event",
            "email": "eve@example.com",
            "linkedin_profile": "https://www.linkedin.com/in/eve-event",
            "business_card": "Eve Event, CTO, Eventful AS",
        },
        "last_event_registration_at",
    ),
]


@pytest.mark.parametrize(("channel", "payload", "clock"), CHANNEL_CASES)
def test_each_channel_is_stored_encrypted_findable_by_email_and_audited(
    service: IntakeService, db: Database, channel: str, payload: dict[str, Any], clock: str
) -> None:
    result = service.submit(channel, payload, actor=f"test:{channel}")
    assert result.status == "stored"

    registry = service.registry
    subject = registry.find_subject("email", payload["email"].upper())
    assert subject is not None
    assert subject.public_id == result.subject_ref
    [record] = registry.records_for(subject)
    assert record.channel == channel
    assert record.policy_version == default_policy_book().current.version.id
    assert record.legal_basis == "contract"
    assert "answer-request" in record.purposes
    assert getattr(record, clock) is not None
    assert record.payload is not None
    assert record.payload["email"] == payload["email"]
    assert set(record.data_categories) <= set(
        default_policy_book().current.channel(channel).categories
    )

    stored = raw_bytes(db)
    for value in (payload["email"], payload["name"]):
        assert value.encode() not in stored  # encrypted at rest, no plaintext index

    verified = service.audit.verify()
    assert verified.ok
    [event] = [e for e in service.audit.tail(10) if e.action == "record.collect"]
    assert event.subject_ref == result.subject_ref
    assert event.actor == f"test:{channel}"
    assert payload["email"] not in event.details


def test_customer_contract_event_and_original_timestamps(service: IntakeService) -> None:
    result = service.submit(
        "customer",
        {
            "email": "old@example.com",
            "collected_at": "2019-06-01T09:30:00+02:00",
            "contract_event": "contract_signed",
            "source_system": "legacy-crm",
        },
    )
    record = service.registry.get_record(result.record_id or 0)
    assert record.collected_at == dt.datetime(2019, 6, 1, 7, 30, tzinfo=dt.UTC)
    assert record.last_service_delivery_at == record.collected_at
    assert record.source_system == "legacy-crm"
    assert record.payload is not None
    assert record.payload["contract_event"]["kind"] == "contract_signed"


def test_one_person_through_two_channels_is_one_subject(service: IntakeService) -> None:
    first = service.submit("web_form", {"email": "same@example.com", "phone": "+4721929300"})
    second = service.submit(
        "contact", {"email": "SAME@example.com", "phone": "+47 21 92 93 00", "call_duration": 30}
    )
    assert first.subject_ref == second.subject_ref
    # a call from the same line without the e-mail is not taken for the same person: a phone
    # only corroborates (an office line is shared; docs/registry.md)
    third = service.submit("contact", {"phone": "+47 21 92 93 00", "call_duration": 30})
    assert third.subject_ref != first.subject_ref


def test_marketing_consent_is_captured_and_audited(service: IntakeService) -> None:
    result = service.submit(
        "web_form", {"email": "optin@example.com", "marketing_consent": True}, staff=False
    )
    assert result.marketing_consent
    assert "marketing-updates" in result.purposes
    consent = [e for e in service.audit.tail(5) if e.action == "consent.change"]
    assert len(consent) == 1
    assert consent[0].subject_ref == result.subject_ref
    assert '"given":true' in consent[0].details


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"email": "kid@example.com", "age": 13}, AgeGateRefused),
        ({"email": "kid@example.com", "birth_date": "2015-01-01"}, AgeGateRefused),
        ({"email": "a@example.com", "skype_id": "live:a"}, UndeclaredData),
        ({"email": "not an address"}, InvalidInput),
        ({"email": "a@example.com", "phone": "+1 555"}, InvalidInput),
        ({"email": "a@example.com", "name": {"first": "A"}}, InvalidInput),
    ],
)
def test_refused_submissions_leave_nothing_behind(
    service: IntakeService, db: Database, payload: dict[str, Any], error: type[Exception]
) -> None:
    before = counts(db)
    with pytest.raises(error):
        service.submit("web_form", payload, staff=False)
    assert counts(db) == before


def test_unknown_channel(service: IntakeService, db: Database) -> None:
    before = counts(db)
    with pytest.raises(NotFound):
        service.submit("carrier_pigeon", {"email": "a@example.com"})
    assert counts(db) == before


@pytest.mark.parametrize(
    "name",
    [
        "Robert'); DROP TABLE data_subjects;--",
        "<script>alert('x')</script>",
        "' OR '1'='1",
        'x"; DELETE FROM audit_events; --',
    ],
)
def test_injection_strings_are_stored_inertly(
    service: IntakeService, db: Database, name: str
) -> None:
    result = service.submit("web_form", {"email": "inj@example.com", "name": name})
    record = service.registry.get_record(result.record_id or 0)
    assert record.payload is not None
    assert record.payload["name"] == name
    assert all(v >= 1 for k, v in counts(db).items() if k != "intake_quarantine")
    assert service.audit.verify().ok


def test_submit_many_is_one_transaction_with_per_item_errors(service: IntakeService) -> None:
    results = service.submit_many(
        "event",
        [
            {"email": "one@example.com"},
            {"email": "bad"},
            {"email": "two@example.com", "age": 10},
            {"email": "one@example.com", "business_card": "card"},
        ],
    )
    kinds = [type(r).__name__ for r in results]
    assert kinds == ["IntakeResult", "InvalidInput", "AgeGateRefused", "IntakeResult"]
    first, last = results[0], results[3]
    assert isinstance(first, IntakeResult)
    assert isinstance(last, IntakeResult)
    assert first.subject_ref == last.subject_ref
    assert service.audit.verify().events_checked == 2


# --- the spam and swindler gate (policy §8) ---------------------------------------------------


def add(service: IntakeService, kind: str, value: str) -> int:
    with service.db.session() as session:
        if kind in ("keyword", "regex"):
            return spam.add_rule(session, service.audit, kind, value, actor="staff:test").id
        return spam.add_block(
            session, service.audit, service.db.keyring, kind, value, actor="staff:test"
        ).id


@pytest.mark.parametrize(
    ("kind", "value", "payload", "ip"),
    [
        ("email", "Scam@Fraud.example", {"email": "scam@fraud.example"}, None),
        ("domain", "fraud.example", {"email": "anyone@mail.fraud.example"}, None),
        ("ip_range", "203.0.113.0/24", {"email": "a@example.com"}, "203.0.113.77"),
        ("ip_range", "2001:db8::/32", {"email": "a@example.com"}, "2001:db8::1"),
        (
            "keyword",
            "Crypto Giveaway",
            {"email": "a@example.com", "request_details": "crypto giveaway!"},
            None,
        ),
        (
            "regex",
            r"\bwin\s+\$\d+",
            {"email": "a@example.com", "request_details": "WIN $500 now"},
            None,
        ),
        ("account", "+47 21 92 93 00", {"email": "a@example.com", "phone": "+4721929300"}, None),
    ],
)
def test_a_match_is_quarantined_encrypted_never_dropped(
    service: IntakeService,
    db: Database,
    kind: str,
    value: str,
    payload: dict[str, Any],
    ip: str | None,
) -> None:
    entry = add(service, kind, value)
    result = service.submit("web_form", payload, client_ip=ip, staff=False)
    assert result.status == "quarantined"
    assert result.subject_ref is None
    assert counts(db)["personal_data_records"] == 0
    [held] = service.quarantined()
    assert held["id"] == result.quarantine_id
    assert held["matched"] == [
        f"{'rule' if kind in ('keyword', 'regex') else 'blocklist'}:{kind}#{entry}"
    ]
    assert payload["email"].encode() not in raw_bytes(db)
    shown = service.show_quarantined(held["id"], actor="staff:test")
    assert shown["payload"]["email"] == payload["email"]


def test_clean_submission_passes_the_gate(service: IntakeService) -> None:
    add(service, "domain", "fraud.example")
    add(service, "keyword", "giveaway")
    assert service.submit("web_form", {"email": "a@notfraud.example"}).status == "stored"


def test_release_stores_as_normal_and_is_audited(service: IntakeService) -> None:
    add(service, "keyword", "urgent")
    held = service.submit("web_form", {"email": "r@example.com", "request_details": "URGENT"})
    released = service.release(held.quarantine_id or "", actor="staff:dpo", note="real lead")
    assert released.status == "stored"
    subject = service.registry.find_subject("email", "r@example.com")
    assert subject is not None
    assert subject.public_id == released.subject_ref
    [item] = service.quarantined(status="released")
    assert item["decided_by"] == "staff:dpo"
    actions = [e.action for e in service.audit.tail(4)]
    assert actions[-2:] == ["intake.release", "record.collect"]
    with pytest.raises(InvalidTransition):
        service.release(held.quarantine_id or "", actor="staff:dpo")
    assert service.audit.verify().ok


def test_reject_discards_and_can_block_the_sender(service: IntakeService, db: Database) -> None:
    add(service, "regex", r"free\s+money")
    held = service.submit(
        "contact",
        {
            "email": "spammer@example.com",
            "skype_id": "live:spammer",
            "request_details": "free money",
        },
    )
    blocks = service.reject(held.quarantine_id or "", actor="staff:dpo", block_sender=True)
    assert len(blocks) == 2
    with db.engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT payload_sealed, key_wrapped, status FROM intake_quarantine")
        ).one()
    assert row == (None, None, "rejected")
    with pytest.raises(InvalidTransition):
        service.show_quarantined(held.quarantine_id or "", actor="staff:dpo")
    # The next submission from that sender is held, by e-mail and by Skype account.
    again = service.submit("contact", {"email": "SPAMMER@example.com"})
    assert again.status == "quarantined"
    again2 = service.submit("contact", {"email": "new@example.com", "skype_id": "Live:Spammer"})
    assert again2.status == "quarantined"
    with db.session() as session:
        listed = spam.list_blocks(session)
    assert {b["value"] for b in listed} == {"s***@example.com", "l***r"}
    assert "spammer@example.com" not in str(listed)
    actions = [e.action for e in service.audit.tail(20)]
    assert "intake.reject" in actions
    assert service.audit.verify().ok


def test_unknown_quarantine_id(service: IntakeService) -> None:
    with pytest.raises(NotFound):
        service.release("nope", actor="staff:x")


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("email", "not-an-email"),
        ("domain", "not a domain"),
        ("ip_range", "300.1.1.1/8"),
        ("regex", "(unclosed"),
        ("keyword", ""),
        ("colour", "red"),
    ],
)
def test_bad_blocklist_entries_and_rules_are_refused(
    service: IntakeService, kind: str, value: str
) -> None:
    with pytest.raises(InvalidInput):
        add(service, kind, value)


def test_removing_entries_and_rules(service: IntakeService) -> None:
    block = add(service, "domain", "fraud.example")
    rule = add(service, "keyword", "lottery")
    with service.db.session() as session:
        spam.remove_block(session, service.audit, block, actor="staff:x")
        spam.remove_rule(session, service.audit, rule, actor="staff:x")
    assert (
        service.submit(
            "web_form", {"email": "a@fraud.example", "request_details": "lottery"}
        ).status
        == "stored"
    )
    with service.db.session() as session, pytest.raises(NotFound):
        spam.remove_block(session, service.audit, block, actor="staff:x")


# --- the age gate after the fact (policy §12) --------------------------------------------------


def test_mark_under_age_erases_the_subject(service: IntakeService, db: Database) -> None:
    result = service.submit("event", {"email": "young@example.com", "name": "Young One"})
    assert service.mark_under_age(result.subject_ref or "", actor="staff:dpo") is True
    assert service.registry.find_subject("email", "young@example.com") is None
    assert counts(db)["personal_data_records"] == 0
    actions = [e.action for e in service.audit.tail(3)]
    assert actions[-2:] == ["subject.under_age", "subject.erase"]
    assert service.audit.verify().ok
    with pytest.raises(NotFound):
        service.mark_under_age("no-such-subject", actor="staff:dpo")

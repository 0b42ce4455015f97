"""Erasure assessed record by record (GDPR Art. 17(1), 17(3)): what bookkeeping law keeps is
kept, restricted and readable by the DPO until its keep-period ends; the answer says so; the
retention sweep erases it then and shreds the person. SQLite and PostgreSQL (``db_url``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests._rights import decide_recipients, submit_and_verify
from tests.conftest import SmtpSink

from privacyops.errors import InvalidInput, NotFound
from privacyops.policy import default_policy_book
from privacyops.policy.statutory import assess
from privacyops.retention import sweep
from privacyops.rights.engine import tick
from privacyops.rights.factory import build_service
from privacyops.rights.service import RightsService
from privacyops.settings import Settings
from privacyops.store import Database
from privacyops.store.registry import IdentityIn, RecordIn, Registry, Submission

EMAIL = "kari@acme.example"
INVOICED = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
DELIVERED = datetime(2026, 6, 30, 17, 0, tzinfo=UTC)
#: the end of the financial year 2026 + 5 years (bokføringsloven § 13; rachunkowość art. 74)
KEEP_UNTIL = datetime(2032, 1, 1, tzinfo=UTC)


@pytest.fixture
def service(tmp_path: Path, db_url: str, smtp_server: SmtpSink) -> Iterator[RightsService]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        smtp_port=smtp_server.port,
        second_factor="phone_code",
    )
    db = Database(db_url, master_key=b"k" * 32)
    db.upgrade()
    svc = build_service(settings, db=db)
    yield svc
    db.dispose()


def _add(registry: Registry, record: RecordIn) -> int:
    identities = [IdentityIn("email", EMAIL), IdentityIn("phone", "+4721929300")]
    _, record_id = registry.ingest(Submission(identities, record))
    return record_id


def web_form(categories: list[str], purposes: list[str], **kw: Any) -> RecordIn:
    """A record the web form collected on consent."""
    return RecordIn(
        channel="web_form",
        legal_basis="consent",
        policy_version="v3",
        data_categories=categories,
        purposes=purposes,
        **kw,
    )


def customer_with_invoices(service: RightsService) -> dict[str, int]:
    """A customer who wrote through the web form, agreed to marketing, and was invoiced."""
    registry = Registry(service.db)
    return {
        "web_form": _add(
            registry,
            web_form(
                ["name", "email", "request_details"],
                ["answer-request"],
                payload={"name": "Kari Nordmann", "request_details": "Need a quote"},
            ),
        ),
        "marketing": _add(
            registry,
            web_form(
                ["email"], ["marketing-updates"], payload={"email": EMAIL, "topic": "cloud news"}
            ),
        ),
        "invoice": _add(
            registry,
            RecordIn(
                channel="customer",
                legal_basis="contract",
                policy_version="v3",
                data_categories=["name", "email", "company", "company_address"],
                purposes=["answer-request"],
                payload={"name": "Kari Nordmann", "company": "Acme AS", "invoice": "2026-042"},
                collected_at=INVOICED,
                last_service_delivery_at=DELIVERED,
            ),
        ),
    }


def test_invoicing_data_is_kept_restricted_until_its_keep_period_ends(
    service: RightsService, smtp_server: SmtpSink
) -> None:
    ids = customer_with_invoices(service)
    registry = Registry(service.db)
    receipt = submit_and_verify(
        service, smtp_server, "erasure", EMAIL, details={"ground": "consent_withdrawn"}
    )
    tick(service)
    decide_recipients(service, receipt.request_id)  # Art. 19: recipients with no address
    tick(service)

    status = service.status(receipt.request_id, receipt.token)
    assert status["state"] == "completed"
    outcome = status["outcome"]
    assert outcome["erasure_ground"] == "consent_withdrawn"
    assert outcome["erased"] == 2
    assert outcome["method"] == "delete"
    [kept] = outcome["kept"]
    assert kept["record"] == ids["invoice"]
    assert kept["article"] == "17(3)(b)"
    assert kept["until"] == "2032-01-01"

    # the web form and marketing records are gone; nothing of them can be read
    for name in ("web_form", "marketing"):
        with pytest.raises(NotFound):
            registry.get_record(ids[name])
    # the invoice stays readable by the DPO, marked with its keep-until, the person restricted
    invoice = registry.get_record(ids["invoice"])
    assert invoice.payload == {"name": "Kari Nordmann", "company": "Acme AS", "invoice": "2026-042"}
    assert invoice.keep_until == KEEP_UNTIL
    assert invoice.kept_under == "legal_obligation"
    subject = registry.find_subject("email", EMAIL)
    assert subject is not None
    assert subject.erased_at is None
    assert [r.ground for r in registry.restrictions(subject)] == ["erasure_exception"]

    # the answer the person reads names the ground, the exception, the law, what and until when
    answer = smtp_server.body(smtp_server.to(EMAIL)[-1])
    assert "you withdrew the consent" in answer
    assert "Article 17(1)(b)" in answer
    assert "Article 17(3)(b)" in answer
    assert "because a law obliges us to keep them" in answer
    assert "Bokføringsloven" in answer  # Norway
    assert "art. 74" in answer  # Poland
    assert "invoices and the name, e-mail, company and company address" in answer
    assert "We keep them until 1 January 2032" in answer
    assert "We erased 2 of your records" in answer
    assert "legal_obligation" not in answer
    assert "erasure_exception" not in answer

    # the day before the keep-period ends, retention keeps it; from that day, it erases it
    before = sweep(service.db, service.policy, as_of=datetime(2031, 12, 31, tzinfo=UTC))
    assert before.exception_ended == 0
    assert registry.get_record(ids["invoice"]).payload is not None
    after = sweep(service.db, service.policy, as_of=datetime(2032, 1, 2, tzinfo=UTC))
    assert after.exception_ended == 1
    assert after.exception_subjects_erased == 1
    with pytest.raises(NotFound):
        registry.get_record(ids["invoice"])
    assert registry.find_subject("email", EMAIL) is None  # shredded: identities gone
    assert service.db.key_store.get_many([subject.public_id]) == {}  # and the key
    gone = registry.get_subject(subject.public_id)
    assert gone.erased_at is not None
    assert registry.restrictions(gone) == []


def test_a_person_without_statutory_data_is_erased_entirely(
    service: RightsService, smtp_server: SmtpSink
) -> None:
    registry = Registry(service.db)
    record_id = _add(
        registry, web_form(["name", "email"], ["answer-request"], payload={"name": "Ola"})
    )
    public_id = registry.get_record(record_id).subject_public_id
    receipt = submit_and_verify(service, smtp_server, "erasure", EMAIL)
    tick(service)
    decide_recipients(service, receipt.request_id)  # Art. 19: recipients with no address
    tick(service)
    outcome = service.status(receipt.request_id, receipt.token)["outcome"]
    assert outcome["method"] == "crypto-shred"
    assert outcome["kept"] == []
    assert outcome["erasure_ground"] == "no_longer_necessary"  # none named: Art. 17(1)(a)
    assert registry.find_subject("email", EMAIL) is None
    with pytest.raises(NotFound):
        registry.get_record(record_id)
    assert service.db.key_store.get_many([public_id]) == {}  # the key is destroyed
    answer = smtp_server.body(smtp_server.to(EMAIL)[-1])
    assert "Article 17(1)(a)" in answer
    assert "We erased everything we held about you (1 record)." in answer
    assert "17(3)" not in answer


def test_an_unknown_erasure_ground_is_refused(service: RightsService) -> None:
    with pytest.raises(InvalidInput) as refused:
        service.submit("erasure", EMAIL, phone="+4721929300", details={"ground": "because"})
    assert refused.value.details[0]["loc"] == ["ground"]


def test_the_sweep_keeps_a_kept_record_its_channel_rule_has_expired(
    service: RightsService,
) -> None:
    """A kept record outlives its channel's own retention rule until its keep-until."""
    registry = Registry(service.db)
    old = datetime(2015, 1, 1, tzinfo=UTC)  # web form: 6 years from collection, long expired
    record_id = _add(registry, web_form(["email"], [], payload={"email": EMAIL}, collected_at=old))
    subject = registry.get_subject(registry.get_record(record_id).subject_public_id)
    registry.keep_records(subject, {record_id: (KEEP_UNTIL, "legal_claims")})
    report = sweep(service.db, service.policy, as_of=datetime(2030, 1, 1, tzinfo=UTC))
    [group] = [g for g in report.groups if g.channel == "web_form"]
    assert group.kept_exception == 1
    assert group.deleted == 0
    assert registry.get_record(record_id).payload == {"email": EMAIL}


@pytest.mark.parametrize(
    ("collected", "delivered", "until"),
    [
        (INVOICED, DELIVERED, KEEP_UNTIL),
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), None, KEEP_UNTIL),
        (datetime(2027, 1, 1, 0, 0, tzinfo=UTC), None, datetime(2033, 1, 1, tzinfo=UTC)),
        (datetime(2025, 11, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC), KEEP_UNTIL),
    ],
)
def test_keep_until_is_the_end_of_the_financial_year_plus_five_years(
    collected: datetime, delivered: datetime | None, until: datetime
) -> None:
    manifest = default_policy_book().current
    keep = assess(
        manifest,
        "customer",
        ["company"],
        ["answer-request"],
        collected,
        delivered,
        at=datetime(2026, 12, 4, tzinfo=UTC),
    )
    assert keep is not None
    assert keep.until == until
    assert keep.rule.country in {"NO", "PL"}
    # not an invoicing record: nothing keeps it
    assert (
        assess(
            manifest, "web_form", ["email"], ["answer-request"], collected, delivered, at=INVOICED
        )
        is None
    )

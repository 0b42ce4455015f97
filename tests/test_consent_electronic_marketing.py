"""`consent check` on electronic direct marketing: refused without consent (ePrivacy Art.
13(1)), with the national law named, except the soft opt-in for customers the manifest declares
(Art. 13(2)): own customers, similar products, an opt-out at collection and in every message."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from tests.conftest import SmtpSink

from privacyops.audit.models import AuditEvent
from privacyops.consent.check import Decision, check_use
from privacyops.consent.outbox import send_marketing
from privacyops.consent.service import ConsentService
from privacyops.errors import InvalidInput, ProcessingRestricted
from privacyops.policy.schema import Manifest
from privacyops.settings import Settings
from privacyops.store import IdentityIn, RecordIn, Registry, open_database

EMAIL = "grace@example.com"
SOFT_OPT_IN = {
    "customers": ["customer"],
    "similar_products": True,
    "opt_out_at_collection": True,
    "opt_out_in_every_message": True,
}


@pytest.fixture
def service(settings: Settings, db_url: str) -> Iterator[ConsentService]:
    settings = settings.model_copy(update={"database_url": db_url})
    svc = ConsentService(settings, db=open_database(settings))
    yield svc
    svc.close()
    svc.db.dispose()


def _person(service: ConsentService, channel: str) -> None:
    registry = Registry(service.db)
    subject = registry.get_or_create_subject([IdentityIn("email", EMAIL)])
    version = service.book.current.version.id
    registry.add_record(
        subject, RecordIn(channel=channel, legal_basis="contract", policy_version=version)
    )


def _with_soft_opt_in(service: ConsentService, **soft: Any) -> Manifest:
    data = service.book.current.model_dump(mode="json")
    for p in data["purposes"]:
        if p["id"] == "promotional-communications":
            p["soft_opt_in"] = {**SOFT_OPT_IN, **soft}
    return Manifest.model_validate(data)


def _check(service: ConsentService, manifest: Manifest) -> Decision:
    with service.db.session() as session:
        return check_use(
            session,
            manifest=manifest,
            banner=service.banner,
            registry=Registry(service.db),
            purpose="promotional-communications",
            email=EMAIL,
        )


def test_the_seed_policy_refuses_e_mail_marketing_on_legitimate_interest(
    service: ConsentService,
) -> None:
    _person(service, "customer")
    decision = service.check(purpose="promotional-communications", email=EMAIL)
    assert not decision.allow
    assert decision.rule == "electronic_marketing"
    assert "needs the person's prior consent (ePrivacy Art. 13(1))" in decision.reason
    assert "Norway: markedsføringsloven § 15" in decision.reason
    assert "Poland: Prawo komunikacji elektronicznej" in decision.reason
    assert "art. 398" in decision.reason
    assert "the policy claims no soft opt-in" in decision.reason
    # a purpose on contract is still allowed by its basis
    assert service.check(purpose="answer-request", email=EMAIL).allow


def test_the_soft_opt_in_allows_a_customer_only(service: ConsentService) -> None:
    manifest = _with_soft_opt_in(service)
    _person(service, "web_form")  # a prospect: a form, no sale
    refused = _check(service, manifest)
    assert not refused.allow
    assert "not known as a customer" in refused.reason
    _person(service, "customer")  # the same person, now with a customer record
    allowed = _check(service, manifest)
    assert allowed.allow
    assert allowed.rule == "soft_opt_in"
    assert "ePrivacy Art. 13(2)" in allowed.reason


def test_an_incomplete_soft_opt_in_is_no_exception(service: ConsentService) -> None:
    _person(service, "customer")
    manifest = _with_soft_opt_in(service, opt_out_in_every_message=False)
    decision = _check(service, manifest)
    assert not decision.allow
    assert "not every message offers an opt-out" in decision.reason


def test_an_objection_beats_the_soft_opt_in(service: ConsentService) -> None:
    _person(service, "customer")
    Registry(service.db).suppress(EMAIL, reason="objection")
    decision = _check(service, _with_soft_opt_in(service))
    assert not decision.allow
    assert decision.rule == "suppression"


# --- the marketing outbox: the same refusal, and an opt-out in every message -----------------


def _send(
    service: ConsentService, smtp: SmtpSink, purpose: str, manifest: Manifest | None = None
) -> Decision:
    settings = service.settings.model_copy(
        update={"smtp_port": smtp.port, "base_url": "https://privacy.example.com"}
    )
    return send_marketing(
        service.db,
        settings,
        manifest=manifest or service.book.current,
        banner=service.banner,
        purpose_id=purpose,
        email=EMAIL,
        subject="Our new white paper",
        body="Read it here.",
    )


def test_the_outbox_refuses_what_the_check_refuses_and_sends_nothing(
    service: ConsentService, smtp_server: SmtpSink
) -> None:
    _person(service, "web_form")
    with pytest.raises(ProcessingRestricted, match=r"prior consent \(ePrivacy Art\. 13\(1\)\)"):
        _send(service, smtp_server, "promotional-communications")
    assert smtp_server.to(EMAIL) == []
    with pytest.raises(InvalidInput, match="direct-marketing purpose"):
        _send(service, smtp_server, "answer-request")


def test_a_soft_opt_in_message_goes_out_with_the_opt_out(
    service: ConsentService, smtp_server: SmtpSink
) -> None:
    _person(service, "customer")
    decision = _send(service, smtp_server, "promotional-communications", _with_soft_opt_in(service))
    assert decision.rule == "soft_opt_in"
    (message,) = smtp_server.to(EMAIL)
    text = smtp_server.body(message)
    assert text.startswith("Read it here.")
    assert "You can stop these messages at any time, free of charge:" in text
    assert "https://privacy.example.com/privacy/requests/new?type=objection" in text
    assert EMAIL not in text.split("free of charge:")[1]  # no personal data in the link
    with service.db.session() as session:
        actions = session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert "consent.marketing.send" in actions

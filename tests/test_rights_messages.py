"""Every message to a person speaks plainly and offers the right to object (issue 15, item 6).

- the first message of a request (the code) names the right to object, apart from the rest
  (GDPR Art. 21(4));
- a refusal and an overridden objection carry the complaint and judicial remedy routes, with
  the competent authority (GDPR Art. 12(4), 77-79), in the e-mail and on the status page;
- no message of any request type shows a Python list, a dict or an internal code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests._rights import decide_recipients, last_code
from tests._rights import submit_and_verify as confirm
from tests.conftest import SmtpSink
from tests.test_rights_workflow import ingest, make_service

from privacyops.rights.engine import tick
from privacyops.rights.service import RightsService

OBJECT = "YOUR RIGHT TO OBJECT"
REMEDIES = ["IF YOU DISAGREE", "Art. 77", "Datatilsynet", "Postboks 458 Sentrum", "Art. 79"]
#: What a person must never read: Python lists and dicts, outcome keys, codes.
LEAKS = re.compile(
    r"[\[\]{}]|'[a-z_]+':|other_systems|recipients_notified|not_notified|legitimate_interest"
    r"|direct_marketing|consent_withdrawal|_request"
)


@pytest.fixture
def service(tmp_path: Path, db_url: str, smtp_server: SmtpSink) -> Iterator[RightsService]:
    svc = make_service(tmp_path, db_url, smtp_server, second_factor="phone_code")
    yield svc
    svc.db.dispose()


def bodies(smtp: SmtpSink, to: str) -> list[str]:
    return [smtp.body(m) for m in smtp.to(to)]


def test_the_first_message_names_the_right_to_object_apart_from_the_rest(
    service: RightsService, smtp_server: SmtpSink
) -> None:
    receipt = service.submit("complaint", "new@example.com")
    (first,) = bodies(smtp_server, "new@example.com")
    assert receipt.request_id in first
    assert last_code(smtp_server, "new@example.com") in first
    code_part, _, objection = first.partition(OBJECT)
    assert objection, "the right to object is a section of its own"
    assert "direct marketing" in objection
    assert "stop at once" in objection
    assert "Art. 21(1)" in objection
    assert "/privacy/requests/new" in objection
    assert "direct marketing" not in code_part


def test_a_refusal_carries_the_authority_and_the_court_route(
    service: RightsService, smtp_server: SmtpSink
) -> None:
    ingest(service, "x@example.com")
    receipt = confirm(service, smtp_server, "erasure", "x@example.com")
    service.refuse(receipt.request_id, "We are required to keep invoices.", actor="staff:dpo")
    refusal = bodies(smtp_server, "x@example.com")[-1]
    assert "We are required to keep invoices." in refusal
    for words in REMEDIES:
        assert words in refusal
    view = service.status(receipt.request_id, receipt.token)
    assert "Art. 79" in view["remedies"]["further_actions"]
    assert view["remedies"]["authority"]["name"] == "Datatilsynet"


def test_an_overridden_objection_carries_the_remedies_and_an_upheld_one_does_not(
    service: RightsService, smtp_server: SmtpSink
) -> None:
    answers = {}
    for decision in ("override", "uphold"):
        email = f"{decision}@example.com"
        ingest(service, email)
        receipt = confirm(
            service, smtp_server, "objection", email, details={"objection": "legitimate_interest"}
        )
        tick(service)
        service.decide(
            receipt.request_id, "balancing", decision, "fraud checks need it", actor="staff:dpo"
        )
        tick(service)
        answers[decision] = bodies(smtp_server, email)[-1]
        view = service.status(receipt.request_id, receipt.token)
        assert ("remedies" in view) is (decision == "override")
    assert "compelling legitimate grounds" in answers["override"]
    assert "fraud checks need it" in answers["override"]
    for words in REMEDIES:
        assert words in answers["override"]
    assert "IF YOU DISAGREE" not in answers["uphold"]
    assert "we no longer use your data" in answers["uphold"]


def test_every_answer_is_plain_words(service: RightsService, smtp_server: SmtpSink) -> None:
    """One request of each type: every message the person gets is words, never a dump."""
    kinds = {
        "erasure": {},
        "rectification": {"details": {"changes": {"name": "Ada King"}}},
        "restriction": {"details": {"ground": "accuracy_contested"}},
        "objection": {"details": {"objection": "direct_marketing"}},
        "consent_withdrawal": {},
        "complaint": {"details": {"country": "PL"}},
        "portability": {},
    }
    receipts = {}
    for kind, extra in kinds.items():
        email = f"{kind.replace('_', '-')}@example.com"
        ingest(service, email)
        receipts[kind] = confirm(service, smtp_server, kind, email, **extra)
    tick(service)
    for kind in ("erasure", "rectification", "restriction"):  # Art. 19: recipients first
        decide_recipients(service, receipts[kind].request_id)
    tick(service)
    for kind in kinds:
        email = f"{kind.replace('_', '-')}@example.com"
        messages = smtp_server.to(email)
        answer = [m for m in messages if "answered" in m["Subject"] or "ready" in m["Subject"]]
        assert answer, kind
        for message in messages:
            text = message["Subject"] + "\n" + smtp_server.body(message)
            assert not LEAKS.search(text), (kind, LEAKS.search(text), text)
    complaint = smtp_server.body(smtp_server.to("complaint@example.com")[-1])
    assert "Urząd Ochrony Danych Osobowych" in complaint  # the person's own country
    rectified = smtp_server.body(smtp_server.to("rectification@example.com")[-1])
    assert "We corrected: Name/surname." in rectified


def test_the_marketing_opt_in_mail_names_the_right_to_object(
    service: RightsService, smtp_server: SmtpSink
) -> None:
    """Often the first message a person gets from us (Art. 21(4)): the objection to direct
    marketing, apart from the rest, with the link that stops it."""
    from privacyops.consent.service import ConsentService

    ConsentService(service.settings, service.policy, service.db).request_marketing(
        "news@example.com"
    )
    (mail,) = smtp_server.to("news@example.com")
    body = smtp_server.body(mail)
    confirm_part, _, objection = body.partition(OBJECT)
    assert "/consent/marketing/confirm?token=" in confirm_part
    assert "/consent/marketing/withdraw?token=" in objection
    assert "Art. 21(2)" in objection
    assert not LEAKS.search(mail["Subject"] + body)

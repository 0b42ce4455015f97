"""Proportionate identity checks (GDPR Art. 12(2), 12(6); EDPB Guidelines 01/2022 §§ 58-77).

The policy asks for "two trusted IDs" before data is released or erased. With
``second_factor = "proportionate"`` (the default) the first is the e-mail code; the second is
one the registry already holds for that person, so nobody is asked for more than the
controller knows already (EDPB 01/2022 § 70: no ID document by default):

1. a phone code, when the phone the person gave is one of their identities in the registry
   (a phone may be shared, so it must be held *for this person*: ``holds_identity``);
2. otherwise one multiple-choice question about their own records: the channel of their last
   contact. The options are every channel of the policy plus "I do not remember", the same for
   everyone, so the question shows nothing of what we hold. A person we hold nothing about is
   asked the same question and any answer goes on (there is nothing to release or erase; the
   answer then says so). Only the person controlling the e-mail address gets this far.
3. staff review of an identity document only when neither exists, or the answer was wrong or
   "I do not remember": the identity is then genuinely in doubt, the Art. 12(3) clock waits for
   the review (``identity_doubt_at``), and the person is told in plain words what is needed.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, object_session

from privacyops.errors import VerificationFailed
from privacyops.rights import transitions
from privacyops.rights.identity import Message
from privacyops.rights.models import Challenge, RightsRequest
from privacyops.rights.submission import send_code
from privacyops.rights.texts import render_text
from privacyops.rights.verification import after_identity, load_request
from privacyops.rights.workflow import RequestState, TaskKind
from privacyops.store import utcnow

if TYPE_CHECKING:
    from privacyops.rights.service import RightsService

__all__ = [
    "DONT_REMEMBER",
    "QUESTION",
    "answer_question",
    "open_question",
    "question_open",
    "question_options",
    "second_check",
]

#: The challenge factor of the question (``rights_challenges.factor``).
QUESTION = "question"
#: The option for a person who does not remember; it leads to staff review.
DONT_REMEMBER = "dont-remember"
#: Any answer goes on (nothing is held about the person).
_ANY = "*"
#: How long the question stays open (the person answers it on the request's page).
QUESTION_TTL = timedelta(days=14)


def question_options(service: RightsService) -> list[dict[str, str]]:
    """The options of the question, the same for every person: each channel of the policy,
    then "I do not remember" (its label is written in the page template)."""
    channels = [{"id": c.id, "label": c.name} for c in service.policy.current.channels]
    return [*channels, {"id": DONT_REMEMBER, "label": ""}]


def second_check(
    service: RightsService, session: Session, row: RightsRequest, now: datetime
) -> None:
    """The e-mail code was right: start the second check (phone code, question, or review)."""
    details = service.context(row).details
    subject = service.registry.find_subject(session, "email", details["email"])
    phone = details.get("phone")
    if (
        subject is not None
        and phone
        and service.registry.holds_identity(session, subject, "phone", phone)
    ):
        send_code(service, session, row, "second", phone, now=now)
        return
    facts = service.registry.record_facts(session, subject) if subject is not None else []
    if subject is None or facts:
        last = max(facts, key=lambda f: f.collected_at).channel if facts else _ANY
        _ask(service, session, row, last, details["email"], now)
        return
    in_doubt(service, session, row, details["email"], now)


def _ask(
    service: RightsService,
    session: Session,
    row: RightsRequest,
    answer: str,
    email: str,
    now: datetime,
) -> None:
    challenge = Challenge(
        request_id=row.id,
        factor=QUESTION,
        code_hash=b"",
        created_at=now,
        expires_at=now + QUESTION_TTL,
    )
    session.add(challenge)
    session.flush()
    challenge.code_hash = service.keyed_hash("code", f"{challenge.id}:{answer}")
    service.record(session, "rights.question.asked", row)
    _tell(service, session, row, email, "identity_question.txt")


def _tell(
    service: RightsService, session: Session, row: RightsRequest, email: str, template: str
) -> None:
    """Tell the person, in plain words, what is needed to confirm who they are."""
    manifest = service.policy.current
    dpo = manifest.dpo.email if manifest.dpo else None
    text = render_text(
        template,
        request=row.public_id,
        organisation=manifest.organization,
        url=f"{service.settings.base_url.rstrip('/')}/privacy/requests/{row.public_id}",
        dpo_email=dpo or manifest.contact_point.contact.email or service.settings.mail_from,
    )
    subject, _, body = text.partition("\n")
    service.queue_message(
        session, row, f"identity:{template}", "email", Message(email, subject, body.strip())
    )


def in_doubt(
    service: RightsService, session: Session, row: RightsRequest, email: str, now: datetime
) -> None:
    """The identity is genuinely in doubt: staff review a document; the Art. 12(3) clock
    waits for their decision; the person is told what is needed."""
    row.identity_doubt_at = now
    transitions.open_task(service, session, row, TaskKind.IDENTITY_DOCUMENT)
    transitions.move(
        service, session, row, RequestState.AWAITING_REVIEW, reason="identity in doubt"
    )
    _tell(service, session, row, email, "identity_document.txt")


def open_question(session: Session, row: RightsRequest) -> Challenge | None:
    """The question the person has still to answer, if any."""
    return session.scalar(
        sa.select(Challenge)
        .where(
            Challenge.request_id == row.id,
            Challenge.factor == QUESTION,
            Challenge.consumed_at.is_(None),
        )
        .order_by(Challenge.id.desc())
        .limit(1)
    )


def question_open(row: RightsRequest) -> bool:
    """Whether ``row`` (loaded in a session) waits for the person's answer to the question."""
    session = object_session(row)
    return session is not None and open_question(session, row) is not None


def answer_question(
    service: RightsService,
    request_id: str,
    token: str,
    option: str,
    *,
    client: str = "local",
    now: datetime | None = None,
) -> dict[str, Any]:
    """The person's answer to the question: right, the request goes on; wrong or "I do not
    remember", staff review a document (the person is told). One answer only.

    Raises:
        VerificationFailed: unknown request, wrong token, or no open question.
    """
    now = now or utcnow()
    options = {o["id"] for o in question_options(service)}
    failed = False
    with service.write_session() as session:
        try:
            row = load_request(service, session, request_id, token)
        except VerificationFailed:
            failed = True
        else:
            challenge = open_question(session, row)
            if (
                challenge is None
                or row.state != RequestState.AWAITING_IDENTITY.value
                or challenge.expires_at <= now
                or option not in options
            ):
                failed = True
            else:
                challenge.consumed_at = now
                right = option != DONT_REMEMBER and any(
                    hmac.compare_digest(
                        challenge.code_hash,
                        service.keyed_hash("code", f"{challenge.id}:{given}"),
                    )
                    for given in (option, _ANY)
                )
                service.record(session, "rights.question.answered", row, right=right)
                if right:
                    row.second_factor_at = now
                    after_identity(service, session, row, now)
                else:
                    in_doubt(service, session, row, service.context(row).details["email"], now)
    if failed:
        service.count_failure(client, now)
        raise VerificationFailed("The answer cannot be taken: open the request with its key.")
    service.deliver_outbox(request_id=row.id)
    return service.status(request_id, token)

"""Confirming the person's identity by one-time codes (GDPR Art. 12(6)), and following a
request with its bearer token.

Wrong codes, tokens and request ids all give one error (:data:`BAD_CODE`), counted per
client; a type that needs a second factor asks for it (a phone code or a document staff
review), and a request repeated too often is flagged for staff (Art. 12(5)).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.errors import Conflict, InvalidInput, VerificationFailed
from privacyops.rights import transitions
from privacyops.rights.identity import check_rate
from privacyops.rights.models import Challenge, RightsRequest
from privacyops.rights.submission import send_code
from privacyops.rights.workflow import RequestState, RequestType, TaskKind
from privacyops.store import utcnow

if TYPE_CHECKING:
    from privacyops.rights.service import RightsService

__all__ = [
    "BAD_CODE",
    "after_identity",
    "count_failure",
    "counted_request",
    "identity_confirmed",
    "load_request",
    "resend",
    "verify",
]

BAD_CODE = "The code or token is not valid, or has expired."


def load_request(
    service: RightsService, session: Session, public_id: str, token: str
) -> RightsRequest:
    """The request ``public_id`` if ``token`` is its token; one error for every miss."""
    row = None
    if isinstance(public_id, str) and len(public_id) <= 64:
        row = session.scalar(sa.select(RightsRequest).where(RightsRequest.public_id == public_id))
    expected = row.token_hash if row is not None else b"\0" * 32
    given = service.keyed_hash("token", token if isinstance(token, str) else "")
    if row is None or not hmac.compare_digest(expected, given):
        raise VerificationFailed(BAD_CODE)
    return row


@contextmanager
def counted_request(
    service: RightsService, public_id: str, token: str, *, client: str, write: bool = True
) -> Iterator[tuple[Session, RightsRequest]]:
    """A session and the request ``public_id`` its ``token`` opens; a miss is counted against
    ``client`` (rate limit) once that session has ended, never inside it (no second write
    while one holds the SQLite write lock), then raises ``VerificationFailed``."""
    failed = False
    with service.write_session() if write else service.db.read_session() as session:
        try:
            row = load_request(service, session, public_id, token)
        except VerificationFailed:
            failed = True
        else:
            yield session, row
    if failed:
        service.count_failure(client, utcnow())
        raise VerificationFailed(BAD_CODE)


def count_failure(service: RightsService, client: str, now: datetime) -> None:
    """Count a wrong code, token or reference from ``client``.

    Raises:
        RateLimited: too many failures from this client this hour.
    """
    check_rate(
        service.db,
        service.keyed_hash("rate-fail", client),
        limit=service.settings.rights_failures_per_hour,
        window=timedelta(hours=1),
        now=now,
    )


def verify(
    service: RightsService,
    request_id: str,
    token: str,
    code: str,
    *,
    factor: str = "email",
    client: str = "local",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Check a one-time code; on success move the request on and return its status.

    Raises:
        VerificationFailed: unknown request, wrong token, wrong/expired/used code (one
            message for all).
        RateLimited: too many failures from this client.
    """
    now = now or utcnow()
    failed = False
    with service.write_session() as session:
        try:
            row = load_request(service, session, request_id, token)
        except VerificationFailed:
            failed = True
        else:
            challenge = session.scalar(
                sa.select(Challenge)
                .where(
                    Challenge.request_id == row.id,
                    Challenge.factor == factor,
                    Challenge.consumed_at.is_(None),
                )
                .order_by(Challenge.id.desc())
                .limit(1)
                .with_for_update()
            )
            ok = (
                challenge is not None
                and row.state in (RequestState.AWAITING_IDENTITY.value,)
                and challenge.expires_at > now
                and challenge.attempts < service.settings.otp_max_attempts
                and isinstance(code, str)
                and hmac.compare_digest(
                    challenge.code_hash,
                    service.keyed_hash("code", f"{challenge.id}:{code.strip()}"),
                )
            )
            if ok and challenge is not None:
                challenge.consumed_at = now
                service.record(session, "rights.code.verified", row, factor=factor)
                identity_confirmed(service, session, row, factor, now)
            else:
                failed = True
                if challenge is not None:
                    challenge.attempts += 1
                service.record(session, "rights.code.failed", row, factor=factor)
    if failed:
        service.count_failure(client, now)
        raise VerificationFailed(BAD_CODE)
    service.deliver_outbox(request_id=row.id)
    return service.status(request_id, token)


def identity_confirmed(
    service: RightsService, session: Session, row: RightsRequest, factor: str, now: datetime
) -> None:
    """A code for ``factor`` was right: ask for the second factor the type needs, else move on."""
    kind = RequestType(row.type)
    if factor == "email":
        row.verified_at = now
        if service.needs_second_factor(kind):
            if service.settings.second_factor == "proportionate":
                service.second_check(session, row, now)  # rights/idcheck.py
                return
            if service.settings.second_factor == "phone_code":
                phone = service.context(row).details["phone"]
                send_code(service, session, row, "second", phone, now=now)
                return
            transitions.open_task(service, session, row, TaskKind.IDENTITY_DOCUMENT)
            transitions.move(service, session, row, RequestState.AWAITING_REVIEW)
            return
    else:
        row.second_factor_at = now
    after_identity(service, session, row, now)


def after_identity(
    service: RightsService, session: Session, row: RightsRequest, now: datetime
) -> None:
    """Flag repeated requests (Art. 12(5)) for staff; otherwise queue for the engine."""
    earlier = session.scalar(
        sa.select(sa.func.count(RightsRequest.id)).where(
            RightsRequest.identity_index == row.identity_index,
            RightsRequest.type == row.type,
            RightsRequest.id != row.id,
            RightsRequest.received_at >= now - timedelta(days=365),
            RightsRequest.verified_at.is_not(None),
        )
    )
    if (earlier or 0) + 1 >= service.settings.rights_repeat_threshold:
        row.flagged = "repeated"
        transitions.open_task(service, session, row, TaskKind.EXCESSIVE)
        if row.state != RequestState.AWAITING_REVIEW.value:
            transitions.move(
                service, session, row, RequestState.AWAITING_REVIEW, reason="repeated request"
            )
        return
    if row.state == RequestState.AWAITING_REVIEW.value or row.state != RequestState.VERIFIED.value:
        transitions.move(service, session, row, RequestState.VERIFIED)


def _resend(
    service: RightsService, session: Session, row: RightsRequest, factor: str, now: datetime
) -> None:
    if row.state != RequestState.AWAITING_IDENTITY.value:
        raise Conflict("This request is not waiting for a code.")
    details = service.context(row).details
    to = details["email"] if factor == "email" else details.get("phone")
    if not to:
        raise InvalidInput("No such factor.", details=[{"loc": ["factor"], "msg": "email"}])
    send_code(service, session, row, factor, to, now=now)


def resend(
    service: RightsService,
    request_id: str,
    token: str,
    *,
    factor: str = "email",
    client: str = "local",
) -> dict[str, Any]:
    """Send a new code for ``factor`` (at most ``otp_max_sends`` per request)."""
    now = utcnow()
    failed = False
    with service.write_session() as session:
        try:
            row = load_request(service, session, request_id, token)
        except VerificationFailed:
            failed = True  # counted once this transaction has let go of the write lock
        else:
            _resend(service, session, row, factor, now)
    if failed:
        service.count_failure(client, now)
        raise VerificationFailed(BAD_CODE)
    service.deliver_outbox(request_id=row.id)
    return service.status(request_id, token)

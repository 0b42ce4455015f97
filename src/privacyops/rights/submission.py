"""Submitting a request (GDPR Art. 12(2): make the exercise of rights easy).

The answer is the same for anyone: a request is accepted and a one-time code is sent to the
address it names before anyone looks the person up; nothing of a rejected submission is
stored.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.errors import Conflict, InvalidInput
from privacyops.freetext import check_free_json
from privacyops.identities import email_address, phone_number
from privacyops.rights import transitions
from privacyops.rights.erasure import ErasureGround
from privacyops.rights.identity import Message, check_rate, new_code, new_token
from privacyops.rights.messages import people_context, render_message
from privacyops.rights.models import Challenge, RightsRequest
from privacyops.rights.workflow import (
    NEEDS_SECOND_FACTOR,
    OBJECTION_KINDS,
    RESTRICTION_GROUNDS,
    RequestState,
    RequestType,
    parse_type,
)
from privacyops.store import new_key, utcnow

if TYPE_CHECKING:
    from privacyops.rights.service import RightsService

__all__ = ["ACCEPTED", "MAX_DETAIL_BYTES", "Submitted", "send_code", "submit", "validate_details"]

ACCEPTED = (
    "Your request is registered. If the address you gave is valid, a one-time code is on its "
    "way to it: enter it to confirm the request."
)
MAX_DETAIL_BYTES = 20_000


@dataclass(frozen=True, slots=True)
class Submitted:
    """What ``submit`` answers: the request reference and the bearer token to follow it."""

    request_id: str
    token: str
    state: str
    message: str = ACCEPTED

    def as_dict(self) -> dict[str, str]:
        return {
            "request_id": self.request_id,
            "token": self.token,
            "state": self.state,
            "message": self.message,
        }


def validate_details(
    service: RightsService, kind: RequestType, details: Mapping[str, Any]
) -> dict[str, Any]:
    """The details a request of ``kind`` may carry, checked (nothing else is kept).

    Raises:
        InvalidInput: a detail is missing or malformed; PayloadTooLarge: too large."""
    details = check_free_json(details, max_bytes=MAX_DETAIL_BYTES)  # as intake checks text
    clean: dict[str, Any] = {}
    if kind is RequestType.RECTIFICATION:
        changes = details.get("changes")
        known = {c.id for c in service.policy.current.data_categories}
        if not isinstance(changes, dict) or not changes:
            raise InvalidInput(
                "Say what to correct.",
                details=[{"loc": ["changes"], "msg": "a map of data category to value"}],
            )
        for key, value in changes.items():
            if key not in known or not isinstance(value, str) or len(value) > 2000:
                raise InvalidInput(
                    "A correction names an unknown data category or is not text.",
                    details=[{"loc": ["changes", key], "msg": "unknown category or bad value"}],
                )
        clean["changes"] = dict(changes)
    if kind is RequestType.RESTRICTION:
        ground = details.get("ground")
        if ground not in RESTRICTION_GROUNDS:
            raise InvalidInput(
                "Choose the ground of the restriction.",
                details=[{"loc": ["ground"], "msg": f"one of {', '.join(RESTRICTION_GROUNDS)}"}],
            )
        clean["ground"] = ground
    if kind is RequestType.ERASURE:
        # the ground of Art. 17(1); a person who names none is taken to say their data is no
        # longer needed (17(1)(a)), the ground every erasure request can rest on
        erasure = ErasureGround.parse(details.get("ground", ErasureGround.NO_LONGER_NECESSARY))
        if erasure is None:
            raise InvalidInput(
                "Choose the ground of the erasure.",
                details=[{"loc": ["ground"], "msg": f"one of {', '.join(ErasureGround)}"}],
            )
        clean["ground"] = erasure.value
    if kind is RequestType.OBJECTION:
        objection = details.get("objection", "direct_marketing")
        if objection not in OBJECTION_KINDS:
            raise InvalidInput(
                "Choose what you object to.",
                details=[{"loc": ["objection"], "msg": f"one of {', '.join(OBJECTION_KINDS)}"}],
            )
        clean["objection"] = objection
    if kind is RequestType.COMPLAINT and details.get("country"):
        country = str(details["country"]).upper()
        if len(country) != 2 or not country.isalpha():
            raise InvalidInput(
                "The country must be a two-letter code.",
                details=[{"loc": ["country"], "msg": "like 'NO' or 'DE'"}],
            )
        clean["country"] = country
    note = details.get("note")
    if note is not None:
        if not isinstance(note, str):
            raise InvalidInput("The note must be text.", details=[{"loc": ["note"], "msg": "text"}])
        clean["note"] = note
    return clean


def needs_second_factor(service: RightsService, kind: RequestType) -> bool:
    """Whether requests of ``kind`` need a second factor under the settings in force."""
    return kind in NEEDS_SECOND_FACTOR and service.settings.second_factor != "none"


def submit(
    service: RightsService,
    type: str,
    email: str,
    *,
    phone: str | None = None,
    details: Mapping[str, Any] | None = None,
    client: str = "local",
    channel: str = "api",
    now: datetime | None = None,
) -> Submitted:
    """Register a request and send the first one-time code to ``email``.

    The answer is the same for anyone: nothing is looked up in the registry here.

    Raises:
        InvalidInput: unknown type, malformed address or number, bad details.
        RateLimited: too many requests from this client or for this address.
    """
    now = now or utcnow()
    kind = parse_type(type)
    address = email_address(email).lower()
    number = phone_number(phone) if phone else None
    if (
        service.needs_second_factor(kind)
        and service.settings.second_factor == "phone_code"
        and number is None
    ):
        raise InvalidInput(
            "This request needs a phone number for the second code.",
            details=[{"loc": ["phone"], "msg": "required for this request type"}],
        )
    clean = validate_details(service, kind, details or {})
    hour = timedelta(hours=1)
    limit = service.settings.rights_submit_per_hour
    check_rate(
        service.db, service.keyed_hash("rate-submit", client), limit=limit, window=hour, now=now
    )
    check_rate(
        service.db, service.keyed_hash("rate-identity", address), limit=limit, window=hour, now=now
    )
    public_id = "r" + secrets.token_hex(12)
    token = new_token()
    data_key = new_key()
    with service.write_session() as session:
        row = RightsRequest(
            public_id=public_id,
            token_hash=service.keyed_hash("token", token),
            type=kind.value,
            state=RequestState.RECEIVED.value,
            identity_index=service.identity_index(address),
            wrapped_key=service.db.keyring.wrap(public_id, data_key),
            policy_version=service.policy.current.version.id,
            channel=channel,
            received_at=now,
        )
        session.add(row)
        session.flush()
        row.details_sealed = service.seal_for(row, {"email": address, "phone": number, **clean})
        service.record(session, "rights.request.received", row, actor="subject", channel=channel)
        transitions.move(service, session, row, RequestState.AWAITING_IDENTITY)
        send_code(service, session, row, "email", address, now=now)
    service.deliver_outbox(request_id=row.id)
    return Submitted(public_id, token, RequestState.AWAITING_IDENTITY.value)


def send_code(
    service: RightsService,
    session: Session,
    row: RightsRequest,
    factor: str,
    to: str,
    *,
    now: datetime,
) -> None:
    """Queue a new one-time code for ``factor`` to ``to``; only its keyed hash is stored.

    Raises:
        Conflict: ``otp_max_sends`` codes were sent already."""
    sent = session.scalar(
        sa.select(sa.func.count(Challenge.id)).where(
            Challenge.request_id == row.id, Challenge.factor == factor
        )
    )
    if (sent or 0) >= service.settings.otp_max_sends:
        raise Conflict("No more codes can be sent for this request; submit a new one.")
    code = new_code()
    challenge = Challenge(
        request_id=row.id,
        factor=factor,
        code_hash=b"",
        created_at=now,
        expires_at=now + timedelta(seconds=service.settings.otp_ttl_seconds),
    )
    session.add(challenge)
    session.flush()
    challenge.code_hash = service.keyed_hash("code", f"{challenge.id}:{code}")
    words = {
        **people_context(service.policy.current, service.settings),
        "request_ref": row.public_id,
        "code": code,
        "minutes": service.settings.otp_ttl_seconds // 60,
    }
    if factor == "email":
        message = Message(to, *render_message("code", words))
        channel = "email"
    else:
        message = Message(to, *render_message("code_phone", words))
        channel = "phone"
    service.queue_message(session, row, f"code:{factor}:{(sent or 0) + 1}", channel, message)
    service.record(session, "rights.code.sent", row, factor=factor)

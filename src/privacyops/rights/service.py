"""The rights service: submit and verify requests, follow them, and the staff decisions.

Every answer to the public is the same whether or not the person is in the registry: a request
is accepted and a code is sent to the address it names before anyone looks the person up, and
wrong codes, tokens and request ids all give one error. The registry is consulted only by the
runner's ``resolve`` step, after the identity is confirmed (:mod:`privacyops.rights.runner`).
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import phonenumbers
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session

from privacyops.audit import AuditLog, NewEvent
from privacyops.connectors import Connector, cancel_tasks
from privacyops.errors import (
    Conflict,
    DependencyUnavailable,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    VerificationFailed,
)
from privacyops.policy import PolicyBook
from privacyops.rights.authorities import answer_complaint
from privacyops.rights.clocks import RequestClock, request_clock
from privacyops.rights.identity import (
    EmailSender,
    Message,
    PhoneSender,
    check_rate,
    new_code,
    new_token,
)
from privacyops.rights.messages import further_actions, people_context, render_message
from privacyops.rights.models import (
    Challenge,
    ConnectorAnswer,
    OutboxMessage,
    RightsRequest,
    StaffTask,
)
from privacyops.rights.ports import SubjectRegistry
from privacyops.rights.workflow import (
    FINAL_STATES,
    NEEDS_SECOND_FACTOR,
    OBJECTION_KINDS,
    RESTRICTION_GROUNDS,
    RequestState,
    RequestType,
    TaskKind,
    check_transition,
    parse_type,
)
from privacyops.settings import Settings
from privacyops.store import Database, new_key, open_sealed, seal, utcnow

__all__ = ["RightsService", "Submitted"]

log = logging.getLogger(__name__)

ACCEPTED = (
    "Your request is registered. If the address you gave is valid, a one-time code is on its "
    "way to it: enter it to confirm the request."
)
BAD_CODE = "The code or token is not valid, or has expired."
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


@dataclass
class RequestContext:
    """A request opened for work: the row and its decrypted details."""

    row: RightsRequest
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def type(self) -> RequestType:
        return RequestType(self.row.type)


def _normalise_email(value: str) -> str:
    try:
        info = validate_email(value, check_deliverability=False)
    except (EmailNotValidError, TypeError):
        raise InvalidInput(
            "The e-mail address is not valid.",
            details=[{"loc": ["email"], "msg": "not a valid e-mail address"}],
        ) from None
    return info.normalized.lower()


def _normalise_phone(value: str) -> str:
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidInput(
            "The phone number is not valid.",
            details=[{"loc": ["phone"], "msg": "an international number like +47 21 92 93 00"}],
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class RightsService:
    """Every operation on data-subject requests.

    Args:
        db: the database (opened with its master key).
        settings: the settings in force.
        policy: the policy book (every version).
        email: sender of e-mail (SMTP in production).
        phone: sender of texts (second factor and export passwords).
        registry: the personal-data registry.
        connectors: other systems the request also reaches (SQL, HTTP...).
    """

    def __init__(
        self,
        db: Database,
        settings: Settings,
        policy: PolicyBook,
        *,
        email: EmailSender,
        phone: PhoneSender,
        registry: SubjectRegistry,
        connectors: Sequence[Connector] = (),
    ) -> None:
        self.db = db
        self.settings = settings
        self.policy = policy
        self.email = email
        self.phone = phone
        self.registry = registry
        self.connectors = list(connectors)
        self.audit = AuditLog(db)

    def __repr__(self) -> str:
        return f"RightsService({self.db!r})"

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """A session for work that reads and then writes.

        On SQLite it takes the write lock with its first statement: a transaction that reads
        first and writes later fails at once ("database is locked") when another writer got
        in between, where one that starts by writing simply waits its turn (busy timeout).
        """
        with self.db.session() as session:
            if self.db.dialect == "sqlite":
                session.execute(sa.text("UPDATE rights_rate_buckets SET count = count WHERE 0"))
            yield session

    # --- keys and hashes ---------------------------------------------------------------

    def _hash(self, purpose: str, value: str) -> bytes:
        return self.db.keyring.blind_index(f"rights-{purpose}", value)

    def identity_index(self, email: str) -> bytes:
        """The blind index of an e-mail address (same as the registry's identities)."""
        return self.db.keyring.blind_index("email", email)

    def _request_key(self, row: RightsRequest) -> bytes:
        if row.wrapped_key is None:
            raise Conflict("This request's details were purged.")
        return self.db.keyring.unwrap(row.public_id, row.wrapped_key)

    def seal_for(self, row: RightsRequest, data: Mapping[str, Any]) -> bytes:
        return seal(self._request_key(row), json.dumps(data).encode(), row.public_id.encode())

    def open_for(self, row: RightsRequest, sealed: bytes) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(
            open_sealed(self._request_key(row), sealed, row.public_id.encode())
        )
        return value

    def context(self, row: RightsRequest) -> RequestContext:
        details = self.open_for(row, row.details_sealed) if row.details_sealed else {}
        return RequestContext(row, details)

    # --- audit -------------------------------------------------------------------------

    def record(
        self,
        session: Session,
        action: str,
        row: RightsRequest,
        *,
        actor: str = "system",
        reason: str | None = None,
        pending: list[NewEvent] | None = None,
        **details: Any,
    ) -> None:
        """Append an audit event about ``row`` in the same transaction as the act (or to
        ``pending``, which the caller appends with ``append_many`` before it commits)."""
        event = NewEvent(
            action,
            actor,
            row.subject_ref,
            reason,
            {"request": row.public_id, "type": row.type, **details},
        )
        if pending is not None:
            pending.append(event)
        else:
            self.audit.append_many([event], session=session)

    # --- outbox ------------------------------------------------------------------------

    def queue_message(
        self,
        session: Session,
        row: RightsRequest,
        purpose: str,
        channel: str,
        message: Message,
        *,
        queued: bool | None = None,
    ) -> None:
        """Write a message to the outbox once per (request, purpose); ``queued`` is whether it
        is there already, when the caller knows (else this looks)."""
        if queued is None:
            queued = (
                session.scalar(
                    sa.select(OutboxMessage.id).where(
                        OutboxMessage.request_id == row.id, OutboxMessage.purpose == purpose
                    )
                )
                is not None
            )
        if queued:
            return
        sealed = self.seal_for(
            row, {"to": message.to, "subject": message.subject, "body": message.body}
        )
        session.add(
            OutboxMessage(request_id=row.id, purpose=purpose, channel=channel, sealed=sealed)
        )

    def deliver_outbox(self, *, request_id: int | None = None, limit: int = 100) -> int:
        """Send queued messages; returns how many went out. A message that fails stays queued
        (its attempts counted) and is tried again by the runner."""
        sent = 0
        with self.write_session() as session:
            # claim a batch: only one process sends a given message (SQLite: the write lock
            # is held; PostgreSQL: rows another sender holds are skipped)
            query = (
                sa.select(OutboxMessage, RightsRequest)
                .join(RightsRequest, RightsRequest.id == OutboxMessage.request_id)
                .where(OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < 10)
                .order_by(OutboxMessage.id)
                .limit(limit)
                .with_for_update(of=OutboxMessage, skip_locked=True)
            )
            if request_id is not None:
                query = query.where(OutboxMessage.request_id == request_id)
            pending = [(m, r) for m, r in session.execute(query)]
            if pending:
                session.execute(
                    sa.update(OutboxMessage)
                    .where(OutboxMessage.id.in_([m.id for m, _ in pending]))
                    .values(sent_at=utcnow(), attempts=OutboxMessage.attempts + 1)
                    .execution_options(synchronize_session=False)
                )
        failed: list[int] = []
        for message, row in pending:
            body = self.open_for(row, message.sealed)
            out = Message(body["to"], body["subject"], body["body"])
            try:
                (self.phone if message.channel == "phone" else self.email).send(out)
                sent += 1
            except Exception as exc:  # the peer is down: release the claim, retry later
                log.warning("outbox message %s not sent: %s", message.id, type(exc).__name__)
                failed.append(message.id)
        if failed:
            with self.write_session() as session:
                session.execute(
                    sa.update(OutboxMessage)
                    .where(OutboxMessage.id.in_(failed))
                    .values(sent_at=None)
                    .execution_options(synchronize_session=False)
                )
        return sent

    # --- submit ------------------------------------------------------------------------

    def _validate_details(self, kind: RequestType, details: Mapping[str, Any]) -> dict[str, Any]:
        if len(json.dumps(details, default=str)) > MAX_DETAIL_BYTES:
            raise PayloadTooLarge("The request details are too large.")
        clean: dict[str, Any] = {}
        if kind is RequestType.RECTIFICATION:
            changes = details.get("changes")
            known = {c.id for c in self.policy.current.data_categories}
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
                    details=[
                        {"loc": ["ground"], "msg": f"one of {', '.join(RESTRICTION_GROUNDS)}"}
                    ],
                )
            clean["ground"] = ground
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
                raise InvalidInput(
                    "The note must be text.", details=[{"loc": ["note"], "msg": "text"}]
                )
            clean["note"] = note
        return clean

    def needs_second_factor(self, kind: RequestType) -> bool:
        return kind in NEEDS_SECOND_FACTOR and self.settings.second_factor != "none"

    def submit(
        self,
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
        address = _normalise_email(email)
        number = _normalise_phone(phone) if phone else None
        if (
            self.needs_second_factor(kind)
            and self.settings.second_factor == "phone_code"
            and number is None
        ):
            raise InvalidInput(
                "This request needs a phone number for the second code.",
                details=[{"loc": ["phone"], "msg": "required for this request type"}],
            )
        clean = self._validate_details(kind, details or {})
        hour = timedelta(hours=1)
        limit = self.settings.rights_submit_per_hour
        check_rate(self.db, self._hash("rate-submit", client), limit=limit, window=hour, now=now)
        check_rate(self.db, self._hash("rate-identity", address), limit=limit, window=hour, now=now)
        public_id = "r" + secrets.token_hex(12)
        token = new_token()
        data_key = new_key()
        with self.write_session() as session:
            row = RightsRequest(
                public_id=public_id,
                token_hash=self._hash("token", token),
                type=kind.value,
                state=RequestState.RECEIVED.value,
                identity_index=self.identity_index(address),
                wrapped_key=self.db.keyring.wrap(public_id, data_key),
                policy_version=self.policy.current.version.id,
                channel=channel,
                received_at=now,
            )
            session.add(row)
            session.flush()
            row.details_sealed = self.seal_for(row, {"email": address, "phone": number, **clean})
            self.record(session, "rights.request.received", row, actor="subject", channel=channel)
            self._move(session, row, RequestState.AWAITING_IDENTITY)
            self._send_code(session, row, "email", address, now=now)
        self.deliver_outbox(request_id=row.id)
        return Submitted(public_id, token, RequestState.AWAITING_IDENTITY.value)

    def _move(
        self,
        session: Session,
        row: RightsRequest,
        target: RequestState,
        *,
        actor: str = "system",
        reason: str | None = None,
        pending: list[NewEvent] | None = None,
    ) -> None:
        check_transition(row.state, target)
        previous = row.state
        row.state = target.value
        self.record(
            session,
            f"rights.request.{target.value}",
            row,
            actor=actor,
            reason=reason,
            pending=pending,
            previous=previous,
        )

    def _send_code(
        self, session: Session, row: RightsRequest, factor: str, to: str, *, now: datetime
    ) -> None:
        sent = session.scalar(
            sa.select(sa.func.count(Challenge.id)).where(
                Challenge.request_id == row.id, Challenge.factor == factor
            )
        )
        if (sent or 0) >= self.settings.otp_max_sends:
            raise Conflict("No more codes can be sent for this request; submit a new one.")
        code = new_code()
        challenge = Challenge(
            request_id=row.id,
            factor=factor,
            code_hash=b"",
            created_at=now,
            expires_at=now + timedelta(seconds=self.settings.otp_ttl_seconds),
        )
        session.add(challenge)
        session.flush()
        challenge.code_hash = self._hash("code", f"{challenge.id}:{code}")
        words = {
            **people_context(self.policy.current, self.settings),
            "request_ref": row.public_id,
            "code": code,
            "minutes": self.settings.otp_ttl_seconds // 60,
        }
        if factor == "email":
            message = Message(to, *render_message("code", words))
            channel = "email"
        else:
            message = Message(to, *render_message("code_phone", words))
            channel = "phone"
        self.queue_message(session, row, f"code:{factor}:{(sent or 0) + 1}", channel, message)
        self.record(session, "rights.code.sent", row, factor=factor)

    # --- verify ------------------------------------------------------------------------

    def _load(self, session: Session, public_id: str, token: str) -> RightsRequest:
        """The request ``public_id`` if ``token`` is its token; one error for every miss."""
        row = None
        if isinstance(public_id, str) and len(public_id) <= 64:
            row = session.scalar(
                sa.select(RightsRequest).where(RightsRequest.public_id == public_id)
            )
        expected = row.token_hash if row is not None else b"\0" * 32
        given = self._hash("token", token if isinstance(token, str) else "")
        if row is None or not hmac.compare_digest(expected, given):
            raise VerificationFailed(BAD_CODE)
        return row

    def _failure(self, client: str, now: datetime) -> None:
        check_rate(
            self.db,
            self._hash("rate-fail", client),
            limit=self.settings.rights_failures_per_hour,
            window=timedelta(hours=1),
            now=now,
        )

    def verify(
        self,
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
        with self.write_session() as session:
            try:
                row = self._load(session, request_id, token)
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
                    and challenge.attempts < self.settings.otp_max_attempts
                    and isinstance(code, str)
                    and hmac.compare_digest(
                        challenge.code_hash, self._hash("code", f"{challenge.id}:{code.strip()}")
                    )
                )
                if ok and challenge is not None:
                    challenge.consumed_at = now
                    self.record(session, "rights.code.verified", row, factor=factor)
                    self._identity_confirmed(session, row, factor, now)
                else:
                    failed = True
                    if challenge is not None:
                        challenge.attempts += 1
                    self.record(session, "rights.code.failed", row, factor=factor)
        if failed:
            self._failure(client, now)
            raise VerificationFailed(BAD_CODE)
        self.deliver_outbox(request_id=row.id)
        return self.status(request_id, token)

    def _identity_confirmed(
        self, session: Session, row: RightsRequest, factor: str, now: datetime
    ) -> None:
        kind = RequestType(row.type)
        if factor == "email":
            row.verified_at = now
            if self.needs_second_factor(kind):
                if self.settings.second_factor == "phone_code":
                    phone = self.context(row).details["phone"]
                    self._send_code(session, row, "second", phone, now=now)
                    return
                self._open_task(session, row, TaskKind.IDENTITY_DOCUMENT)
                self._move(session, row, RequestState.AWAITING_REVIEW)
                return
        else:
            row.second_factor_at = now
        self._after_identity(session, row, now)

    def _after_identity(self, session: Session, row: RightsRequest, now: datetime) -> None:
        """Flag repeated requests (Art. 12(5)) for staff; otherwise queue for the runner."""
        earlier = session.scalar(
            sa.select(sa.func.count(RightsRequest.id)).where(
                RightsRequest.identity_index == row.identity_index,
                RightsRequest.type == row.type,
                RightsRequest.id != row.id,
                RightsRequest.received_at >= now - timedelta(days=365),
                RightsRequest.verified_at.is_not(None),
            )
        )
        if (earlier or 0) + 1 >= self.settings.rights_repeat_threshold:
            row.flagged = "repeated"
            self._open_task(session, row, TaskKind.EXCESSIVE)
            if row.state != RequestState.AWAITING_REVIEW.value:
                self._move(session, row, RequestState.AWAITING_REVIEW, reason="repeated request")
            return
        if (
            row.state == RequestState.AWAITING_REVIEW.value
            or row.state != RequestState.VERIFIED.value
        ):
            self._move(session, row, RequestState.VERIFIED)

    def _open_task(self, session: Session, row: RightsRequest, kind: TaskKind) -> StaffTask:
        task = session.scalar(
            sa.select(StaffTask).where(StaffTask.request_id == row.id, StaffTask.kind == kind.value)
        )
        if task is None:
            task = StaffTask(request_id=row.id, kind=kind.value)
            session.add(task)
            session.flush()
            self.record(session, "rights.task.opened", row, task=kind.value)
        return task

    def resend(
        self, request_id: str, token: str, *, factor: str = "email", client: str = "local"
    ) -> dict[str, Any]:
        """Send a new code for ``factor`` (at most ``otp_max_sends`` per request)."""
        now = utcnow()
        with self.write_session() as session:
            try:
                row = self._load(session, request_id, token)
            except VerificationFailed:
                self._failure(client, now)
                raise
            if row.state != RequestState.AWAITING_IDENTITY.value:
                raise Conflict("This request is not waiting for a code.")
            details = self.context(row).details
            to = details["email"] if factor == "email" else details.get("phone")
            if not to:
                raise InvalidInput("No such factor.", details=[{"loc": ["factor"], "msg": "email"}])
            self._send_code(session, row, factor, to, now=now)
        self.deliver_outbox(request_id=row.id)
        return self.status(request_id, token)

    # --- following a request -----------------------------------------------------------

    def clock(self, row: RightsRequest) -> RequestClock:
        """The legal clock of ``row`` (clock start per the ``clock_start`` setting)."""
        return request_clock(
            received_at=row.received_at,
            verified_at=row.verified_at,
            country=self.policy.current.contact_point.country,
            mode=self.settings.clock_start,
            extended=row.extended_at is not None,
        )

    def view(self, row: RightsRequest, *, staff: bool = False) -> dict[str, Any]:
        """What the requester (or staff) sees of a request; no personal data."""
        out: dict[str, Any] = {
            "request_id": row.public_id,
            "type": row.type,
            "state": row.state,
            "received_at": row.received_at.astimezone(UTC).isoformat(),
            "clock": self.clock(row).as_dict(),
            "extension_reason": row.extension_reason,
            "refusal": None,
            "outcome": row.outcome,
        }
        overridden = (row.outcome or {}).get("decision") == "override"  # Art. 21(1)
        if row.state == RequestState.REFUSED.value or overridden:
            authority = answer_complaint(None, self.policy.current.contact_point.country)
            out["remedies"] = {
                "further_actions": further_actions(self.policy.current, self.settings),
                "authority": authority.authority.as_dict(),
            }
        if row.state == RequestState.REFUSED.value:
            out["refusal"] = {"reason": row.refusal_reason, **out["remedies"]}
        if row.state == RequestState.AWAITING_IDENTITY.value:
            out["next"] = (
                "Enter the code we sent to your phone."
                if row.verified_at is not None
                else "Enter the code we sent to your e-mail address."
            )
        if staff:
            out["flagged"] = row.flagged
            out["subject_ref"] = row.subject_ref
            out["verified_at"] = row.verified_at.isoformat() if row.verified_at else None
        return out

    def status(self, request_id: str, token: str, *, client: str = "local") -> dict[str, Any]:
        """The requester's view of a request, given its bearer token."""
        with self.db.session() as session:
            try:
                row = self._load(session, request_id, token)
            except VerificationFailed:
                self._failure(client, utcnow())
                raise
            return self.view(row)

    # --- staff -------------------------------------------------------------------------

    def _staff_row(self, session: Session, request_id: str) -> RightsRequest:
        row = session.scalar(
            sa.select(RightsRequest).where(RightsRequest.public_id == request_id).with_for_update()
        )
        if row is None:
            raise NotFound("No request has that reference.")
        return row

    def _staff_views(self, session: Session, rows: Sequence[RightsRequest]) -> list[dict[str, Any]]:
        views = [self.view(r, staff=True) for r in rows]
        for view, row in zip(views, rows, strict=True):
            tasks = session.scalars(sa.select(StaffTask).where(StaffTask.request_id == row.id))
            view["tasks"] = [
                {"kind": t.kind, "decision": t.decision, "reason": t.reason} for t in tasks
            ]
        return views

    def list_requests(self, *, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Requests for staff, the nearest deadline first.

        Raises:
            InvalidInput: ``state`` is not a request state.
        """
        if state is not None and state not in {s.value for s in RequestState}:
            raise InvalidInput(
                "Unknown request state.",
                details=[{"loc": ["state"], "msg": "one of " + ", ".join(RequestState)}],
            )
        with self.db.session() as session:
            query = sa.select(RightsRequest).order_by(RightsRequest.received_at).limit(limit)
            if state:
                query = query.where(RightsRequest.state == state)
            views = self._staff_views(session, list(session.scalars(query)))
        return sorted(views, key=lambda v: v["clock"]["deadline"] or "9999")

    def show(self, request_id: str) -> dict[str, Any]:
        """One request for staff, with its open and decided tasks.

        Raises:
            NotFound: no request has that reference.
        """
        with self.db.session() as session:
            row = session.scalar(
                sa.select(RightsRequest).where(RightsRequest.public_id == request_id)
            )
            if row is None:
                raise NotFound("No request has that reference.")
            return self._staff_views(session, [row])[0]

    def extend(
        self, request_id: str, reason: str, *, actor: str, today: datetime | None = None
    ) -> dict[str, Any]:
        """Extend the period by two months (GDPR Art. 12(3)), telling the person the reason.

        Raises:
            InvalidInput: no reason given.
            Conflict: already extended, final, or the first month is over (the person must be
                told within it).
        """
        if not reason or not reason.strip():
            raise InvalidInput(
                "An extension needs a reason told to the person.",
                details=[{"loc": ["reason"], "msg": "required"}],
            )
        now = today or utcnow()
        with self.write_session() as session:
            row = self._staff_row(session, request_id)
            if row.state in FINAL_STATES:
                raise Conflict("The request is already answered.")
            if row.extended_at is not None:
                raise Conflict("The request was already extended.")
            clock = self.clock(row)
            country = self.policy.current.contact_point.country
            from privacyops.rights.clocks import local_day

            if clock.notice_by is not None and local_day(now, country) > clock.notice_by:
                raise Conflict(
                    "The first month is over: an extension must be told within it (Art. 12(3))."
                )
            row.extended_at = now
            row.extension_reason = reason.strip()
            new = self.clock(row)
            details = self.context(row).details
            self.queue_message(
                session,
                row,
                "extension",
                "email",
                Message(
                    details["email"],
                    *render_message(
                        "extension",
                        {
                            **people_context(self.policy.current, self.settings),
                            "request_ref": row.public_id,
                            "reason": row.extension_reason,
                            "deadline": new.deadline,
                        },
                    ),
                ),
            )
            self.record(
                session,
                "rights.request.extended",
                row,
                actor=actor,
                reason=row.extension_reason,
                deadline=str(new.deadline),
            )
            view = self.view(row, staff=True)
        self.deliver_outbox(request_id=row.id)
        return view

    def refuse(self, request_id: str, reason: str, *, actor: str) -> dict[str, Any]:
        """Refuse a request with reasons; the person is told them and the further actions
        (complaint to a supervisory authority, judicial remedy; GDPR Art. 12(4))."""
        if not reason or not reason.strip():
            raise InvalidInput(
                "A refusal needs its reasons.", details=[{"loc": ["reason"], "msg": "required"}]
            )
        with self.write_session() as session:
            row = self._staff_row(session, request_id)
            self._refuse(session, row, reason.strip(), actor=actor)
            view = self.view(row, staff=True)
        self.deliver_outbox(request_id=row.id)
        return view

    def _refuse(self, session: Session, row: RightsRequest, reason: str, *, actor: str) -> None:
        self._move(session, row, RequestState.REFUSED, actor=actor, reason=reason)
        # nothing more to ask of connected systems: open tasks are cancelled, records they
        # returned for the request are forgotten
        cancel_tasks(self.db, row.public_id, actor=actor, session=session)
        session.execute(
            sa.update(ConnectorAnswer)
            .where(ConnectorAnswer.request_id == row.id)
            .values(records_sealed=None)
            .execution_options(synchronize_session=False)
        )
        row.refusal_reason = reason
        row.completed_at = utcnow()
        row.lease_owner = None
        row.lease_until = None
        details = self.context(row).details
        words = people_context(self.policy.current, self.settings, details.get("country"))
        self.queue_message(
            session,
            row,
            "refusal",
            "email",
            Message(
                details["email"],
                *render_message(
                    "refusal", {**words, "request_ref": row.public_id, "reason": reason}
                ),
            ),
        )

    def lift_restriction(
        self, request_id: str, restriction_id: int, reason: str, *, actor: str
    ) -> dict[str, Any]:
        """Lift a restriction made for a request, telling the person first (GDPR Art. 18(3)):
        the notice is sent, and only when it went out is the restriction lifted.

        Raises:
            InvalidInput: no reason; NotFound: unknown request or restriction;
            DependencyUnavailable: the notice could not be sent (nothing lifted).
        """
        if not reason or not reason.strip():
            raise InvalidInput(
                "Lifting a restriction needs a reason told to the person.",
                details=[{"loc": ["reason"], "msg": "required"}],
            )
        with self.write_session() as session:
            row = self._staff_row(session, request_id)
            if row.subject_ref is None:
                raise NotFound("This request restricted nothing.")
            details = self.context(row).details
            purpose = f"lift:{restriction_id}"
            self.queue_message(
                session,
                row,
                purpose,
                "email",
                Message(
                    details["email"],
                    *render_message(
                        "lift",
                        {
                            **people_context(self.policy.current, self.settings),
                            "request_ref": row.public_id,
                            "reason": reason.strip(),
                        },
                    ),
                ),
            )
            self.record(session, "rights.restriction.notice", row, actor=actor, reason=reason)
        self.deliver_outbox(request_id=row.id)
        with self.write_session() as session:
            row = self._staff_row(session, request_id)
            sent = session.scalar(
                sa.select(OutboxMessage.sent_at).where(
                    OutboxMessage.request_id == row.id, OutboxMessage.purpose == purpose
                )
            )
            if sent is None:
                raise DependencyUnavailable(
                    "The person could not be told; the restriction stays until they are."
                )
            self.registry.lift_restriction(session, row.subject_ref or "", restriction_id)
            self.record(
                session,
                "rights.restriction.lifted",
                row,
                actor=actor,
                reason=reason,
                restriction=restriction_id,
            )
            return self.view(row, staff=True)

    TASK_DECISIONS: ClassVar[dict[str, frozenset[str]]] = {
        TaskKind.IDENTITY_DOCUMENT.value: frozenset({"accept", "reject"}),
        TaskKind.BALANCING.value: frozenset({"uphold", "override"}),
        TaskKind.EXCESSIVE.value: frozenset({"proceed", "fee", "refuse"}),
    }

    def decide(
        self, request_id: str, kind: str, decision: str, reason: str, *, actor: str
    ) -> dict[str, Any]:
        """Record a staff decision on an open task and move the request on.

        ``identity_document``: accept | reject; ``balancing`` (Art. 21(1)): uphold (the
        objection stands) | override (compelling legitimate grounds, with the reason);
        ``excessive`` (Art. 12(5)): proceed | fee (a reasonable fee, amount in the reason) |
        refuse.
        """
        allowed = self.TASK_DECISIONS.get(kind)
        if allowed is None or decision not in allowed:
            raise InvalidInput(
                "Unknown task or decision.",
                details=[{"loc": ["decision"], "msg": f"for {kind}: {sorted(allowed or [])}"}],
            )
        if not reason or not reason.strip():
            raise InvalidInput(
                "A decision needs its reason.", details=[{"loc": ["reason"], "msg": "required"}]
            )
        now = utcnow()
        with self.write_session() as session:
            row = self._staff_row(session, request_id)
            task = session.scalar(
                sa.select(StaffTask)
                .where(StaffTask.request_id == row.id, StaffTask.kind == kind)
                .with_for_update()
            )
            if task is None or task.decision is not None:
                raise Conflict("There is no open task of that kind on this request.")
            task.decision = decision
            task.reason = reason.strip()
            task.decided_by = actor
            task.decided_at = now
            self.record(
                session,
                "rights.task.decided",
                row,
                actor=actor,
                reason=task.reason,
                task=kind,
                decision=decision,
            )
            if decision in ("reject", "refuse"):
                self._refuse(session, row, task.reason, actor=actor)
            elif kind == TaskKind.IDENTITY_DOCUMENT.value:
                if row.verified_at is not None and row.second_factor_at is None:
                    row.second_factor_at = now
                if row.state == RequestState.AWAITING_REVIEW.value and row.subject_ref is None:
                    self._after_identity(session, row, now)
                elif row.state == RequestState.AWAITING_REVIEW.value:
                    self._move(session, row, RequestState.IN_PROGRESS, actor=actor)
            elif row.state == RequestState.AWAITING_REVIEW.value:
                in_steps = bool(row.lease_owner) or kind == TaskKind.BALANCING.value
                target = RequestState.IN_PROGRESS if in_steps else RequestState.VERIFIED
                self._move(session, row, target, actor=actor)
            view = self.view(row, staff=True)
        self.deliver_outbox(request_id=row.id)
        return view

"""The rights service: one facade for every operation on data-subject requests.

Every answer to the public is the same whether or not the person is in the registry: a request
is accepted and a code is sent to the address it names before anyone looks the person up, and
wrong codes, tokens and request ids all give one error. The registry is consulted only by the
engine's ``resolve`` step, after the identity is confirmed (:mod:`privacyops.rights.steps.resolve`).

The work is done in modules by subject, which this class calls:
:mod:`~privacyops.rights.submission` (submitting), :mod:`~privacyops.rights.verification`
(one-time codes), :mod:`~privacyops.rights.views` (what the person and staff see),
:mod:`~privacyops.rights.decisions` (staff decisions) and :mod:`~privacyops.rights.outbox`
(messages). What they share lives here: the database session, the request's key, keyed
hashes and the audit record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.audit import AuditLog, NewEvent
from privacyops.connectors import Connector
from privacyops.errors import Conflict
from privacyops.policy import PolicyBook
from privacyops.rights import decisions, outbox, submission, verification, views
from privacyops.rights.clocks import RequestClock
from privacyops.rights.identity import EmailSender, Message, PhoneSender
from privacyops.rights.models import RightsRequest
from privacyops.rights.ports import SubjectRegistry
from privacyops.rights.submission import Submitted
from privacyops.rights.views import FURTHER_ACTIONS
from privacyops.rights.workflow import RequestType
from privacyops.settings import Settings
from privacyops.store import Database, open_sealed, seal

__all__ = ["FURTHER_ACTIONS", "RequestContext", "RightsService", "Submitted"]


@dataclass
class RequestContext:
    """A request opened for work: the row and its decrypted details."""

    row: RightsRequest
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def type(self) -> RequestType:
        return RequestType(self.row.type)


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

    #: The decisions staff may record on each kind of task.
    TASK_DECISIONS: ClassVar[dict[str, frozenset[str]]] = decisions.TASK_DECISIONS

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

    def keyed_hash(self, purpose: str, value: str) -> bytes:
        """The keyed hash stored in place of a code, token or rate key (never the value)."""
        return self.db.keyring.blind_index(f"rights-{purpose}", value)

    def identity_index(self, email: str) -> bytes:
        """The blind index of an e-mail address (same as the registry's identities)."""
        return self.db.keyring.blind_index("email", email)

    def _request_key(self, row: RightsRequest) -> bytes:
        if row.wrapped_key is None:
            raise Conflict("This request's details were purged.")
        return self.db.keyring.unwrap(row.public_id, row.wrapped_key)

    def seal_for(self, row: RightsRequest, data: Mapping[str, Any]) -> bytes:
        """``data`` as JSON, encrypted with the request's key."""
        return seal(self._request_key(row), json.dumps(data).encode(), row.public_id.encode())

    def open_for(self, row: RightsRequest, sealed: bytes) -> dict[str, Any]:
        """What :meth:`seal_for` sealed."""
        value: dict[str, Any] = json.loads(
            open_sealed(self._request_key(row), sealed, row.public_id.encode())
        )
        return value

    def context(self, row: RightsRequest) -> RequestContext:
        """The request with its details decrypted."""
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

    def count_failure(self, client: str, now: datetime) -> None:
        """Count a wrong code, token or reference from ``client``.

        Raises:
            RateLimited: too many failures from this client this hour.
        """
        verification.count_failure(self, client, now)

    # --- outbox (:mod:`privacyops.rights.outbox`) ---------------------------------------

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
        outbox.queue_message(self, session, row, purpose, channel, message, queued=queued)

    def deliver_outbox(self, *, request_id: int | None = None, limit: int = 100) -> int:
        """Send queued messages; returns how many went out (failures stay queued)."""
        return outbox.deliver_outbox(self, request_id=request_id, limit=limit)

    # --- submit and verify (:mod:`~privacyops.rights.submission`, ``verification``) ------

    def needs_second_factor(self, kind: RequestType) -> bool:
        """Whether requests of ``kind`` need a second factor under the settings in force."""
        return submission.needs_second_factor(self, kind)

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

        Raises:
            InvalidInput: unknown type, malformed address or number, bad details.
            RateLimited: too many requests from this client or for this address.
        """
        return submission.submit(
            self,
            type,
            email,
            phone=phone,
            details=details,
            client=client,
            channel=channel,
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
            VerificationFailed: unknown request, wrong token, wrong/expired/used code.
            RateLimited: too many failures from this client.
        """
        return verification.verify(
            self, request_id, token, code, factor=factor, client=client, now=now
        )

    def resend(
        self, request_id: str, token: str, *, factor: str = "email", client: str = "local"
    ) -> dict[str, Any]:
        """Send a new code for ``factor`` (at most ``otp_max_sends`` per request)."""
        return verification.resend(self, request_id, token, factor=factor, client=client)

    # --- following a request (:mod:`~privacyops.rights.views`) ----------------------------

    def clock(self, row: RightsRequest) -> RequestClock:
        """The legal clock of ``row`` (clock start per the ``clock_start`` setting)."""
        return views.clock(self, row)

    def view(self, row: RightsRequest, *, staff: bool = False) -> dict[str, Any]:
        """What the requester (or staff) sees of a request; no personal data."""
        return views.view(self, row, staff=staff)

    def status(self, request_id: str, token: str, *, client: str = "local") -> dict[str, Any]:
        """The requester's view of a request, given its bearer token."""
        return views.status(self, request_id, token, client=client)

    def list_requests(self, *, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Requests for staff, the nearest deadline first.

        Raises:
            InvalidInput: ``state`` is not a request state.
        """
        return views.list_requests(self, state=state, limit=limit)

    def show(self, request_id: str) -> dict[str, Any]:
        """One request for staff, with its open and decided tasks.

        Raises:
            NotFound: no request has that reference.
        """
        return views.show(self, request_id)

    # --- staff decisions (:mod:`~privacyops.rights.decisions`) ---------------------------

    def extend(
        self, request_id: str, reason: str, *, actor: str, today: datetime | None = None
    ) -> dict[str, Any]:
        """Extend the period by two months (GDPR Art. 12(3)), telling the person the reason."""
        return decisions.extend(self, request_id, reason, actor=actor, today=today)

    def refuse(self, request_id: str, reason: str, *, actor: str) -> dict[str, Any]:
        """Refuse a request with reasons and the further actions open (GDPR Art. 12(4))."""
        return decisions.refuse(self, request_id, reason, actor=actor)

    def lift_restriction(
        self, request_id: str, restriction_id: int, reason: str, *, actor: str
    ) -> dict[str, Any]:
        """Lift a restriction made for a request, telling the person first (GDPR Art. 18(3))."""
        return decisions.lift_restriction(self, request_id, restriction_id, reason, actor=actor)

    def decide(
        self, request_id: str, kind: str, decision: str, reason: str, *, actor: str
    ) -> dict[str, Any]:
        """Record a staff decision on an open task and move the request on."""
        return decisions.decide(self, request_id, kind, decision, reason, actor=actor)

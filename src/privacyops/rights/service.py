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
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from privacyops.audit import AuditLog, NewEvent
from privacyops.connectors import Connector
from privacyops.errors import Conflict
from privacyops.policy import PolicyBook
from privacyops.rights import (
    decisions,
    documents,
    idcheck,
    outbox,
    recipients,
    submission,
    verification,
    views,
)
from privacyops.rights.identity import EmailSender, PhoneSender
from privacyops.rights.models import RightsRequest
from privacyops.rights.ports import SubjectRegistry
from privacyops.rights.submission import Submitted
from privacyops.rights.workflow import RequestType
from privacyops.settings import Settings
from privacyops.store import Database, open_sealed, seal

__all__ = ["RequestContext", "RightsService", "Submitted"]


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
        """A session for work that reads and then writes (the database's write session)."""
        with self.db.session() as session:
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

    # --- the operations, each in the module of its subject -------------------------------
    # (functions of ``service: RightsService``, so each is a method here; its docstring and
    # signature are written once, where it is implemented)

    count_failure = verification.count_failure

    #: messages: :mod:`privacyops.rights.outbox`
    queue_message = outbox.queue_message
    deliver_outbox = outbox.deliver_outbox

    #: submit and verify: :mod:`privacyops.rights.submission`, ``verification``
    needs_second_factor = submission.needs_second_factor
    submit = submission.submit
    verify = verification.verify
    #: the proportionate second check: :mod:`privacyops.rights.idcheck`
    second_check = idcheck.second_check
    answer_question = idcheck.answer_question
    upload_document = documents.upload_document
    read_document = documents.read_document
    resend = verification.resend

    #: following a request: :mod:`privacyops.rights.views`
    clock = views.clock
    view = views.view
    status = views.status
    list_requests = views.list_requests
    show = views.show

    #: staff decisions: :mod:`privacyops.rights.decisions`
    extend = decisions.extend
    refuse = decisions.refuse
    lift_restriction = decisions.lift_restriction
    decide = decisions.decide

    #: Art. 19: recipients not reachable, decided by the DPO: :mod:`privacyops.rights.recipients`
    decide_recipient = recipients.decide_recipient
    staff_recipients = recipients.staff_recipients
    recipients_for_person = recipients.recipients_for_person

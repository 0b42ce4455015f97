"""Tables of the data-subject request workflow.

Nothing here holds personal data in plaintext. A request's contact details and parameters are
sealed with a key of the request's own (wrapped by the master key, destroyed when the request
is purged); the requester's identity is found through its blind index (keyed HMAC); one-time
codes and download tokens are kept as keyed hashes only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from privacyops.store import Base, BigIntPK, UTCDateTime, utcnow

__all__ = [
    "Challenge",
    "ConnectorAnswer",
    "Export",
    "OutboxMessage",
    "RateBucket",
    "RecipientNotice",
    "RequestComment",
    "RightsRequest",
    "StaffTask",
    "StepRecord",
]


class RightsRequest(Base):
    """One data-subject request and where it stands (see :class:`~.workflow.RequestState`)."""

    __tablename__ = "rights_requests"
    __table_args__ = (sa.Index(None, "state", "lease_until"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    #: The reference given to the person and to staff (random, no meaning).
    public_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    #: Keyed hash of the bearer token that lets the requester follow the request.
    token_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    type: Mapped[str] = mapped_column(sa.String(32))
    state: Mapped[str] = mapped_column(sa.String(32), index=True)
    #: Blind index of the requester's e-mail (same HMAC as the registry's identities).
    identity_index: Mapped[bytes] = mapped_column(sa.LargeBinary(32), index=True)
    #: The request's own data key, wrapped by the master key; ``None`` once purged.
    wrapped_key: Mapped[bytes | None] = mapped_column(sa.LargeBinary, default=None)
    #: Sealed JSON: e-mail, phone, parameters of the request (changes, ground, country...).
    details_sealed: Mapped[bytes | None] = mapped_column(sa.LargeBinary, default=None)
    #: The registry subject found after verification (``None``: unknown or not yet looked up).
    subject_ref: Mapped[str | None] = mapped_column(sa.String(32), default=None)
    policy_version: Mapped[str] = mapped_column(sa.String(64))
    channel: Mapped[str] = mapped_column(sa.String(16), default="api")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    second_factor_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: set when the identity is genuinely in doubt (staff review a document): the Art. 12(3)
    #: clock then runs from the review's acceptance, not from receipt
    identity_doubt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: GDPR Art. 12(3) extension: reason told to the person, and when it was told.
    extended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    extension_reason: Mapped[str | None] = mapped_column(sa.Text, default=None)
    #: Why the request was refused (shown to the person with the further actions).
    refusal_reason: Mapped[str | None] = mapped_column(sa.Text, default=None)
    #: Art. 12(5): flagged as manifestly unfounded/excessive or repeated; staff decide.
    flagged: Mapped[str | None] = mapped_column(sa.String(32), default=None)
    #: Non-personal outcome shown in the answer (kept records with reasons, authority...).
    outcome: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, default=None)
    #: Runner lease: the worker holding the request and until when (crash recovery).
    #: the member of staff (e-mail of a staff user) who handles the request
    assignee: Mapped[str | None] = mapped_column(sa.String(254), default=None, index=True)
    lease_owner: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class StepRecord(Base):
    """A step of a request that has run to completion; the key (request, step) makes each step
    happen once, whatever crashes and restarts come between."""

    __tablename__ = "rights_steps"
    __table_args__ = (sa.UniqueConstraint("request_id", "step"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rights_requests.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[str] = mapped_column(sa.String(48))
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, default=None)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    worker: Mapped[str | None] = mapped_column(sa.String(64), default=None)


class ConnectorAnswer(Base):
    """What one connected system (SQL, HTTP, manual or e-mail task) answered to an access
    request. Each system is asked once when the request starts (``collect``); one that is
    ``pending`` or ``failed`` is looked at again until it is ``done``, and the export waits for
    all of them. The records a system returned are sealed with the request's key, and dropped
    once the export is made.

    States (``status``): ``done``, ``pending`` (a task or e-mail is open), ``failed`` (the
    system could not be reached; retried with back-off).
    """

    __tablename__ = "rights_connector_answers"
    __table_args__ = (sa.UniqueConstraint("request_id", "connector"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rights_requests.id", ondelete="CASCADE"), index=True
    )
    connector: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16))
    #: One sentence about what happened (no personal data).
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    #: How many records the system returned (once done).
    total: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: Sealed JSON ``{collection: [records]}``; ``None`` until done and after the export.
    records_sealed: Mapped[bytes | None] = mapped_column(sa.LargeBinary, default=None)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=1)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Challenge(Base):
    """A one-time code sent to one of the requester's identities (e-mail, or the second
    factor's phone). Only a keyed hash of the code is kept."""

    __tablename__ = "rights_challenges"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rights_requests.id", ondelete="CASCADE"), index=True
    )
    factor: Mapped[str] = mapped_column(sa.String(16))  # "email" | "second" | "question"
    code_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class IdentityDocument(Base):
    """A copy of an identity document the person uploaded for staff review (only when the
    identity is genuinely in doubt), sealed with the request's key and deleted once staff have
    decided (rights/documents.py)."""

    __tablename__ = "rights_identity_documents"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rights_requests.id", ondelete="CASCADE"), unique=True
    )
    media_type: Mapped[str] = mapped_column(sa.String(32))
    size: Mapped[int] = mapped_column(sa.Integer)
    sealed: Mapped[bytes] = mapped_column(sa.LargeBinary)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Export(Base):
    """An export made for an access or portability request; the download token is kept as a
    keyed hash, works once and expires."""

    __tablename__ = "rights_exports"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rights_requests.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32), unique=True)
    filename: Mapped[str] = mapped_column(sa.String(128))
    path: Mapped[str] = mapped_column(sa.String(512))
    media_type: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    downloaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class StaffTask(Base):
    """A decision the workflow waits for: document review (second factor), the balancing test
    of an objection to legitimate-interest processing (Art. 21(1)), a fee or refusal for a
    manifestly excessive request (Art. 12(5)), lifting a restriction (Art. 18(3))."""

    __tablename__ = "rights_staff_tasks"
    __table_args__ = (sa.UniqueConstraint("request_id", "kind"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rights_requests.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decision: Mapped[str | None] = mapped_column(sa.String(32), default=None)
    reason: Mapped[str | None] = mapped_column(sa.Text, default=None)
    decided_by: Mapped[str | None] = mapped_column(sa.String(128), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class OutboxMessage(Base):
    """A message to the requester, written in the same transaction as the step that decides to
    send it and delivered afterwards (transactional outbox: a crash never loses or doubles the
    decision to write; the recipient and body are sealed with the request's key)."""

    __tablename__ = "rights_outbox"
    __table_args__ = (sa.UniqueConstraint("request_id", "purpose"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rights_requests.id", ondelete="CASCADE"), index=True
    )
    #: What the message is for, unique per request ("code:email:1", "answer", "password"...).
    purpose: Mapped[str] = mapped_column(sa.String(48))
    channel: Mapped[str] = mapped_column(sa.String(16))  # "email" | "phone"
    sealed: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None, index=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)


class RateBucket(Base):
    """A fixed-window counter for rate limits (per client address, identity or request), kept
    in the database so every process and worker shares it. The key is a keyed hash."""

    __tablename__ = "rights_rate_buckets"

    key: Mapped[bytes] = mapped_column(sa.LargeBinary(32), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(sa.Integer, default=0)


class RecipientNotice(Base):
    """A notice to a recipient or processor that a person's data was rectified, erased or
    restricted (GDPR Art. 19), tracked until the recipient acknowledges it.

    States (``status``):
        pending: not delivered yet (the SMTP server or webhook failed; retried by reminders).
        sent: delivered; waiting for the acknowledgement.
        acknowledged: the recipient confirmed (ack link, or a webhook answer saying so).
        unreachable: no address to send it to; the DPO must decide (the request waits).
        other_route: the DPO told the recipient another way (``note`` says how).
        impossible / disproportionate: the DPO recorded that telling the recipient proved
            impossible or would involve disproportionate effort (``note`` says why; Art. 19).
    """

    __tablename__ = "recipient_notices"
    __table_args__ = (sa.UniqueConstraint("request_ref", "recipient_id", "action"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    request_ref: Mapped[str] = mapped_column(sa.String(64), index=True)
    subject_ref: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    action: Mapped[str] = mapped_column(sa.String(32))  # rectification | erasure | restriction
    recipient_id: Mapped[str] = mapped_column(sa.String(128))
    recipient_name: Mapped[str] = mapped_column(sa.String(200))
    channel: Mapped[str] = mapped_column(sa.String(16))  # email | webhook
    target: Mapped[str] = mapped_column(sa.String(500))
    ack_token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    reminders: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: the DPO's Art. 19 decision on an unreachable recipient: how it was told, or why not
    note: Mapped[str | None] = mapped_column(sa.Text, default=None)
    decided_by: Mapped[str | None] = mapped_column(sa.String(128), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    def __repr__(self) -> str:
        return f"RecipientNotice(id={self.id}, recipient={self.recipient_id!r}, {self.status})"


class RequestComment(Base):
    """An internal note of staff on a request (never shown to the person). The text may name
    people, so it is sealed with the request's key (``body_sealed``): purging the request's key
    shreds its comments too."""

    __tablename__ = "rights_comments"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rights_requests.id", ondelete="CASCADE"), index=True
    )
    author: Mapped[str] = mapped_column(sa.String(128))
    body_sealed: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

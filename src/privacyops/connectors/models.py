"""Tables of the connectors: tasks for systems with no API, and notices to recipients.

Neither table holds a data subject's identities: only the request's and the subject's
pseudonymous references. Identities are handed in when a task is opened or a notice sent, used
for that message, and not kept here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from privacyops.store.base import Base, BigIntPK, UTCDateTime, utcnow

__all__ = ["ConnectorTask", "OpenDsrRequest", "RecipientNotice"]


class ConnectorTask(Base):
    """A manual task for staff, or an e-mail to a processor, for one request on one system.

    States (``status``):
        open: created; staff work through the checklist (manual), or the e-mail is about to go.
        sent: the e-mail went to the processor; waiting for its answer.
        done: staff or the processor confirmed the act; ``outcome`` says what was found/done.
        cancelled: the request was withdrawn before the act.

    While it is open, a task keeps its brief: who it is about and what to do, sealed
    (``brief_sealed``); staff read it through an audited call (``task_brief``).

    An access task may carry the records staff found (``records_sealed``: JSON sealed with a
    key of the task's own, wrapped by the master key); they go into the person's export and
    are dropped once it is made.
    """

    __tablename__ = "connector_tasks"
    __table_args__ = (sa.UniqueConstraint("request_ref", "connector", "action"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    connector: Mapped[str] = mapped_column(sa.String(128))
    system: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(16))  # manual | email
    action: Mapped[str] = mapped_column(sa.String(32))  # access | erasure | ...
    request_ref: Mapped[str] = mapped_column(sa.String(64), index=True)
    subject_ref: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    status: Mapped[str] = mapped_column(sa.String(16), default="open", index=True)
    checklist: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    to_address: Mapped[str | None] = mapped_column(sa.String(320), default=None)
    message_id: Mapped[str | None] = mapped_column(sa.String(255), default=None)
    outcome: Mapped[str | None] = mapped_column(sa.Text, default=None)
    wrapped_key: Mapped[bytes | None] = mapped_column(sa.LargeBinary, default=None)
    records_sealed: Mapped[bytes | None] = mapped_column(sa.LargeBinary, default=None)
    #: Who the task is about and what to do (identities; corrected values, restriction
    #: ground): JSON sealed with a key of its own (``brief_key``, wrapped by the master key),
    #: kept while the task is open and dropped once it is done or cancelled.
    brief_key: Mapped[bytes | None] = mapped_column(sa.LargeBinary, default=None)
    brief_sealed: Mapped[bytes | None] = mapped_column(sa.LargeBinary, default=None)
    reminders: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    def __repr__(self) -> str:
        return f"ConnectorTask(id={self.id}, connector={self.connector!r}, status={self.status!r})"


class RecipientNotice(Base):
    """A notice to a recipient or processor that a person's data was rectified, erased or
    restricted (GDPR Art. 19), tracked until the recipient acknowledges it.

    States (``status``):
        pending: not delivered yet (the SMTP server or webhook failed; retried by reminders).
        sent: delivered; waiting for the acknowledgement.
        acknowledged: the recipient confirmed (ack link, or a webhook answer saying so).
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

    def __repr__(self) -> str:
        return f"RecipientNotice(id={self.id}, recipient={self.recipient_id!r}, {self.status})"


class OpenDsrRequest(Base):
    """A request a controller sent over OpenDSR (we act as its processor).

    States (``status``, OpenDSR §8):
        pending: received and well formed; the controller may still cancel it.
        in_progress: the connectors are being run (or one of them is still pending/failed,
            and the step is retried: nothing is reported completed that was not done).
        completed: every connector answered done; access results are kept sealed for the
            controller at ``results_url``.
        cancelled: the controller cancelled it while pending.
    The identities are sealed under a key of the request and dropped once it is completed or
    cancelled.
    """

    __tablename__ = "opendsr_requests"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    subject_request_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    controller_id: Mapped[str] = mapped_column(sa.String(128), index=True)
    request_type: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), default="pending", index=True)
    callback_urls: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    wrapped_key: Mapped[bytes] = mapped_column(sa.LargeBinary)
    identities_sealed: Mapped[bytes | None] = mapped_column(sa.LargeBinary, default=None)
    results_sealed: Mapped[bytes | None] = mapped_column(sa.LargeBinary, default=None)
    results_count: Mapped[int | None] = mapped_column(sa.Integer, default=None)
    note: Mapped[str | None] = mapped_column(sa.String(500), default=None)
    submitted_time: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expected_completion_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    def __repr__(self) -> str:
        return f"OpenDsrRequest(id={self.id}, type={self.request_type!r}, {self.status})"

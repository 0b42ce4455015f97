"""The connectors' table: tasks for systems with no API (manual and e-mail connectors).

It keeps no identity in plaintext: a task names the request and the subject by their
pseudonymous references, and its brief (who it is about, what to do) is sealed and dropped once
the task is done or cancelled.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from privacyops.store.base import Base, BigIntPK, UTCDateTime, utcnow

__all__ = ["ConnectorTask"]


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

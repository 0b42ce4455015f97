"""The processor's table: requests controllers send us over OpenDSR (we act as their processor).

It holds no identity in plaintext: a request's identities and results are sealed under a key of
the request's own.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from privacyops.store.base import Base, BigIntPK, UTCDateTime, utcnow

__all__ = ["OpenDsrRequest"]


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

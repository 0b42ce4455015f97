"""The retention run: a durable row, so a sweep that crashed resumes where it stopped."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from privacyops.store.base import Base, BigIntPK, UTCDateTime, utcnow

__all__ = ["RetentionRun"]


class RetentionRun(Base):
    """One retention sweep.

    States: ``running`` (started, or interrupted: the next run with the same ``as_of`` resumes
    it from ``cursor``), ``finished`` (``report`` holds what was done), ``failed`` (stopped by
    an error the report names; the next run resumes it too).
    """

    __tablename__ = "retention_runs"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    dry_run: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    state: Mapped[str] = mapped_column(sa.String(16), default="running", index=True)
    actor: Mapped[str] = mapped_column(sa.String(128), default="system")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: per group "channel/policy_version": the last record id done
    cursor: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    #: the report so far (see :class:`privacyops.retention.sweep.RetentionReport`)
    report: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    resumed: Mapped[int] = mapped_column(sa.Integer, default=0)

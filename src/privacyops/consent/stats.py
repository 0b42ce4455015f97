"""Opt-in and opt-out rates per banner category per day (UTC), for the dashboard and the CLI.

Every answer of the banner counts (accept, reject, custom, withdraw); a bare GPC record is not
an answer to the banner and is counted apart (``gpc``). A withdrawal counts as an opt-out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.consent.models import ConsentRecord
from privacyops.store import utcnow

__all__ = ["DayRate", "consent_rates"]

_REFUSABLE = ("analytics", "advertising", "widgets")


@dataclass(frozen=True)
class DayRate:
    """One category on one day."""

    day: date
    category: str
    answers: int
    opt_in: int
    opt_out: int
    gpc: int

    @property
    def opt_in_rate(self) -> float:
        return self.opt_in / self.answers if self.answers else 0.0

    @property
    def opt_out_rate(self) -> float:
        return self.opt_out / self.answers if self.answers else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["day"] = self.day.isoformat()
        out["opt_in_rate"] = round(self.opt_in_rate, 4)
        out["opt_out_rate"] = round(self.opt_out_rate, 4)
        return out


def _day_expression(session: Session) -> sa.ColumnElement[str]:
    column = ConsentRecord.created_at
    if session.get_bind().dialect.name == "postgresql":
        return cast(
            sa.ColumnElement[str],
            sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM-DD"),
        )
    # SQLite keeps naive UTC text "YYYY-MM-DD HH:MM:SS...": the day is its first 10 characters.
    return cast(sa.ColumnElement[str], sa.func.substr(column, 1, 10))


def consent_rates(
    session: Session, *, days: int = 30, until: datetime | None = None
) -> list[DayRate]:
    """Rates for the ``days`` days up to ``until`` (default now), oldest day first.

    Days without any record are left out.
    """
    end = until or utcnow()
    start = (end - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    day = _day_expression(session).label("day")
    answered = ConsentRecord.action != "gpc"
    columns: list[Any] = [
        day,
        sa.func.sum(sa.case((answered, 1), else_=0)).label("answers"),
        sa.func.sum(sa.case((ConsentRecord.action == "gpc", 1), else_=0)).label("gpc"),
    ]
    for category in _REFUSABLE:
        flag = getattr(ConsentRecord, category)
        columns.append(
            sa.func.sum(sa.case((sa.and_(answered, flag.is_(True)), 1), else_=0)).label(category)
        )
    query = (
        sa.select(*columns)
        .where(ConsentRecord.created_at >= start, ConsentRecord.created_at <= end)
        .group_by(day)
        .order_by(day)
    )
    out: list[DayRate] = []
    for row in session.execute(query).mappings():
        answers = int(row["answers"] or 0)
        for category in _REFUSABLE:
            opt_in = int(row[category] or 0)
            out.append(
                DayRate(
                    day=date.fromisoformat(str(row["day"])),
                    category=category,
                    answers=answers,
                    opt_in=opt_in,
                    opt_out=answers - opt_in,
                    gpc=int(row["gpc"] or 0),
                )
            )
    return out

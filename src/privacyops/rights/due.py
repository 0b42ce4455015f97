"""How many open requests are overdue or due soon, counted without a clock per row.

A request's deadline is one month (three when extended) from the day its clock starts, moved
to the next working day (GDPR Art. 12(3), Reg. 1182/71). The move is a few days at most, so a
request whose clock started well before ``today - period`` is overdue for certain and is only
counted in SQL; the few open requests near the boundary are loaded and their clocks computed
exactly. The dashboard's home page uses this at any number of requests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from privacyops.policy.establishment import clock_country
from privacyops.rights.clocks import clock_start_day, request_clock
from privacyops.rights.models import RightsRequest
from privacyops.rights.workflow import FINAL_STATES, RequestState

if TYPE_CHECKING:
    from privacyops.rights.service import RightsService

__all__ = ["OPEN_STATES", "DueCounts", "due_condition", "due_counts"]

OPEN_STATES = tuple(s.value for s in RequestState if s not in FINAL_STATES)
#: Days a deadline may move past the calendar date (weekend + holidays) plus time-zone slack.
_SLACK = 16


@dataclass(frozen=True)
class DueCounts:
    """Open requests past their deadline, and those due within ``window`` days (not overdue)."""

    overdue: int
    due_soon: int
    window: int


def _bounds(today: dt.date, months: int) -> tuple[dt.datetime, dt.datetime]:
    """Clock starts before ``low`` are overdue for certain; starts after ``high`` are neither
    overdue nor due within the window (checked by the caller's exact pass)."""
    low_day = today - dt.timedelta(days=31 * months + _SLACK)
    high_day = today - dt.timedelta(days=28 * months) + dt.timedelta(days=_SLACK)
    low = dt.datetime.combine(low_day, dt.time.min, tzinfo=dt.UTC)
    high = dt.datetime.combine(high_day, dt.time.min, tzinfo=dt.UTC)
    return low, high


def _near(
    service: RightsService, today: dt.date, window: int
) -> tuple[list[Any], list[int], list[int]]:
    """Per period: the SQL condition of certainly-overdue open requests, and the ids of open
    requests near the boundary that are overdue / due within ``window`` days (exact clocks)."""
    mode = service.settings.clock_start
    country = clock_country(service.policy.current).country
    start = RightsRequest.verified_at if mode == "verification" else RightsRequest.received_at
    certain: list[Any] = []
    overdue: list[int] = []
    soon: list[int] = []
    with service.db.read_session() as session:
        for months, extended in ((1, False), (3, True)):
            low, high = _bounds(today, months)
            ext = (
                RightsRequest.extended_at.is_not(None)
                if extended
                else RightsRequest.extended_at.is_(None)
            )
            base = sa.and_(RightsRequest.state.in_(OPEN_STATES), ext, start.is_not(None))
            certain.append(sa.and_(base, start < low))
            near = session.execute(
                sa.select(
                    RightsRequest.id, RightsRequest.received_at, RightsRequest.verified_at
                ).where(base, start >= low, start < high)
            )
            # Requests whose clock starts on the same day share a deadline: one clock a day.
            deadlines: dict[dt.date, dt.date | None] = {}
            for row_id, received_at, verified_at in near:
                day = clock_start_day(received_at, verified_at, country, mode)
                if day is None:
                    continue
                if day not in deadlines:
                    deadlines[day] = request_clock(
                        received_at=received_at,
                        verified_at=verified_at,
                        country=country,
                        mode=mode,
                        extended=extended,
                    ).deadline
                deadline = deadlines[day]
                if deadline is None:
                    continue
                days = (deadline - today).days
                if days < 0:
                    overdue.append(row_id)
                elif days <= window:
                    soon.append(row_id)
    return certain, overdue, soon


def due_condition(
    service: RightsService, which: str, *, today: dt.date | None = None, window: int = 7
) -> Any:
    """A SQL condition on :class:`RightsRequest`: ``"overdue"`` or due within ``window`` days
    (``"week"``), for the requests page's deadline filter."""
    today = today or dt.datetime.now(dt.UTC).date()
    certain, overdue, soon = _near(service, today, window)
    if which == "overdue":
        return sa.or_(*certain, RightsRequest.id.in_(overdue))
    return RightsRequest.id.in_(soon)


def due_counts(
    service: RightsService, *, today: dt.date | None = None, window: int = 7
) -> DueCounts:
    """Overdue open requests and those due within ``window`` days of ``today``."""
    today = today or dt.datetime.now(dt.UTC).date()
    certain, overdue, soon = _near(service, today, window)
    with service.db.read_session() as session:
        sure = int(session.scalar(sa.select(sa.func.count()).where(sa.or_(*certain))) or 0)
    return DueCounts(overdue=sure + len(overdue), due_soon=len(soon), window=window)

"""Legal clocks of a data-subject request (GDPR Art. 12(3), Regulation (EEC, Euratom) 1182/71).

Pure functions, no database. The rules, as the Court of Justice and the EDPB read them:

* GDPR Art. 12(3): the controller answers "without undue delay and in any event within one
  month of receipt of the request"; the period "may be extended by two further months where
  necessary", and the data subject is told of the extension, with the reasons, "within one
  month of receipt".
* Reg. 1182/71 Art. 3(1): the day of the event (receipt) does not count; Art. 3(2)(c): a period
  in months ends at the end of the day of the last month that has *the same date* as the day
  the period runs from, or, when that month has no such date, at the end of its last day
  (31 January + 1 month = 28/29 February).
* Reg. 1182/71 Art. 3(4): when the last day is a public holiday, a Saturday or a Sunday, the
  period ends at the end of the following working day. Public holidays are those of the EEA
  country :func:`privacyops.policy.establishment.clock_country` chooses (the contact point when
  it is in the EEA, else the EEA controller or representative: never Belarus's), from the
  ``holidays`` package.
  A Saturday stays a Saturday even where a decree makes it a working day (Belarus moves such
  days): the Regulation names Saturdays outright.
* The extended deadline is three months from the same start date, by the same rules (not the
  moved one-month deadline plus two months: moves do not accumulate).

The clock starts at receipt, or, when the ``clock_start`` setting is ``"verification"``, on the
day the person's identity was confirmed (EDPB Guidelines 01/2022 §159: the period may run from
when the controller has the information it needs to identify the person).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import holidays

from privacyops.errors import InvalidInput

__all__ = [
    "ClockStart",
    "RequestClock",
    "add_months",
    "clock_start_day",
    "extended_deadline",
    "extension_notice_deadline",
    "is_non_working_day",
    "local_day",
    "next_working_day",
    "non_working_reason",
    "request_clock",
    "response_deadline",
]

ClockStart = Literal["receipt", "verification"]

#: Where "the day" of a timestamp is reckoned for each country an answering entity may sit in.
#: Countries not listed reckon in UTC.
COUNTRY_TIMEZONES: dict[str, str] = {
    "AT": "Europe/Vienna",
    "BE": "Europe/Brussels",
    "BG": "Europe/Sofia",
    "BY": "Europe/Minsk",
    "CY": "Asia/Nicosia",
    "CZ": "Europe/Prague",
    "DE": "Europe/Berlin",
    "DK": "Europe/Copenhagen",
    "EE": "Europe/Tallinn",
    "ES": "Europe/Madrid",
    "FI": "Europe/Helsinki",
    "FR": "Europe/Paris",
    "GB": "Europe/London",
    "GR": "Europe/Athens",
    "HR": "Europe/Zagreb",
    "HU": "Europe/Budapest",
    "IE": "Europe/Dublin",
    "IS": "Atlantic/Reykjavik",
    "IT": "Europe/Rome",
    "LI": "Europe/Vaduz",
    "LT": "Europe/Vilnius",
    "LU": "Europe/Luxembourg",
    "LV": "Europe/Riga",
    "MT": "Europe/Malta",
    "NL": "Europe/Amsterdam",
    "NO": "Europe/Oslo",
    "PL": "Europe/Warsaw",
    "PT": "Europe/Lisbon",
    "RO": "Europe/Bucharest",
    "SE": "Europe/Stockholm",
    "SI": "Europe/Ljubljana",
    "SK": "Europe/Bratislava",
    "AR": "America/Argentina/Buenos_Aires",
    "US": "America/New_York",
}


def add_months(start: dt.date, months: int) -> dt.date:
    """The same date ``months`` calendar months after ``start``, or that month's last day when
    it has no such date (Reg. 1182/71 Art. 3(2)(c)): 31 Jan + 1 = 28 Feb (29 in leap years)."""
    if months < 0:
        raise InvalidInput("A period in months cannot be negative.")
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(start.day, last))


@lru_cache(maxsize=256)
def _holidays(country: str, year: int) -> holidays.HolidayBase:
    try:
        return holidays.country_holidays(country, years=year)
    except NotImplementedError:
        raise InvalidInput(
            f"No public-holiday calendar is known for country {country!r}.",
            details=[{"loc": ["country"], "msg": "unknown ISO 3166-1 alpha-2 code"}],
        ) from None


def non_working_reason(day: dt.date, country: str) -> str | None:
    """Why ``day`` is not a working day in ``country`` ("Saturday", "Sunday" or the holiday's
    name), or ``None`` when it is one (Reg. 1182/71 Art. 3(4))."""
    if day.weekday() == 5:
        return "Saturday"
    if day.weekday() == 6:
        return "Sunday"
    name = _holidays(country, day.year).get(day)
    return str(name) if name else None


def is_non_working_day(day: dt.date, country: str) -> bool:
    """True on Saturdays, Sundays and public holidays of ``country``."""
    return non_working_reason(day, country) is not None


def next_working_day(day: dt.date, country: str) -> dt.date:
    """``day`` itself when it is a working day in ``country``, else the next one that is."""
    while is_non_working_day(day, country):
        day += dt.timedelta(days=1)
    return day


def local_day(moment: dt.datetime, country: str) -> dt.date:
    """The calendar day ``moment`` falls on where the answering entity sits.

    A naive ``moment`` is taken to be UTC.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    zone = COUNTRY_TIMEZONES.get(country.upper())
    return moment.astimezone(ZoneInfo(zone) if zone else dt.UTC).date()


def response_deadline(start: dt.date, country: str) -> dt.date:
    """Last day to answer: one month after ``start``, moved past non-working days
    (GDPR Art. 12(3) first sentence; Reg. 1182/71 Art. 3(2)(c), 3(4))."""
    return next_working_day(add_months(start, 1), country)


def extended_deadline(start: dt.date, country: str) -> dt.date:
    """Last day to answer after an extension: three months after ``start`` (one month plus
    "two further months", GDPR Art. 12(3)), moved past non-working days."""
    return next_working_day(add_months(start, 3), country)


def extension_notice_deadline(start: dt.date, country: str) -> dt.date:
    """Last day to tell the person of an extension and its reasons: "within one month of
    receipt" (GDPR Art. 12(3)), i.e. the same day as :func:`response_deadline`."""
    return response_deadline(start, country)


def clock_start_day(
    received_at: dt.datetime,
    verified_at: dt.datetime | None,
    country: str,
    mode: ClockStart = "receipt",
) -> dt.date | None:
    """The day the clock runs from: receipt, or identity confirmation when ``mode`` is
    ``"verification"`` (``None`` while the identity is still awaited: the clock is paused)."""
    if mode == "receipt":
        return local_day(received_at, country)
    if verified_at is None:
        return None
    return local_day(verified_at, country)


@dataclass(frozen=True, slots=True)
class RequestClock:
    """The clock of one request, as shown to staff and to the person.

    Attributes:
        start: the day the period runs from (``None``: paused, identity awaited).
        deadline: the day the answer is due (the extended one when extended).
        original_deadline: the one-month deadline, even after an extension.
        extended: whether the period was extended (GDPR Art. 12(3)).
        notice_by: the last day an extension may still be announced.
        moved_because: why the unmoved date was not used (e.g. "Good Friday"), or ``None``.
    """

    start: dt.date | None
    deadline: dt.date | None
    original_deadline: dt.date | None
    extended: bool
    notice_by: dt.date | None
    moved_because: str | None

    def days_left(self, today: dt.date) -> int | None:
        """Calendar days from ``today`` to the deadline (negative when overdue)."""
        return None if self.deadline is None else (self.deadline - today).days

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly view (ISO dates)."""

        def iso(day: dt.date | None) -> str | None:
            return day.isoformat() if day else None

        return {
            "start": iso(self.start),
            "deadline": iso(self.deadline),
            "original_deadline": iso(self.original_deadline),
            "extended": self.extended,
            "notice_by": iso(self.notice_by),
            "moved_because": self.moved_because,
        }


def request_clock(
    *,
    received_at: dt.datetime,
    verified_at: dt.datetime | None,
    country: str,
    mode: ClockStart = "receipt",
    extended: bool = False,
) -> RequestClock:
    """Every date of one request's clock."""
    start = clock_start_day(received_at, verified_at, country, mode)
    if start is None:
        return RequestClock(None, None, None, extended, None, None)
    original = response_deadline(start, country)
    if extended:
        raw = add_months(start, 3)
        deadline = extended_deadline(start, country)
    else:
        raw = add_months(start, 1)
        deadline = original
    moved = non_working_reason(raw, country) if raw != deadline else None
    return RequestClock(start, deadline, original, extended, original, moved)

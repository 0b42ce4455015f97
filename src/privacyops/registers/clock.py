"""The 72-hour clock of a breach notification (GDPR Art. 33(1)).

The period runs in elapsed hours from the moment the controller became aware of the breach:
weekends, public holidays and daylight-saving changes do not stop or stretch it (EDPB
Guidelines 9/2022; Regulation 1182/71 Art. 3(1) counts a period in hours from the event, not in
working days). Computed in UTC, so a clock change in the local zone moves the wall-clock hour
shown, never the instant.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["NOTIFICATION_HOURS", "is_late", "notification_deadline", "time_left"]

#: Art. 33(1): "not later than 72 hours after having become aware of it".
NOTIFICATION_HOURS = 72


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        msg = f"{name} must be timezone-aware (a naive datetime is ambiguous); got {moment!r}"
        raise ValueError(msg)
    return moment


def notification_deadline(aware_at: datetime) -> datetime:
    """The last moment to notify the supervisory authority: ``aware_at`` + 72 elapsed hours.

    The answer is in ``aware_at``'s own time zone (a ``ZoneInfo`` gives the local wall-clock
    time after any DST change in between).

    Raises:
        ValueError: ``aware_at`` is naive.
    """
    _aware(aware_at, "aware_at")
    deadline_utc = aware_at.astimezone(UTC) + timedelta(hours=NOTIFICATION_HOURS)
    return deadline_utc.astimezone(aware_at.tzinfo)


def time_left(aware_at: datetime, now: datetime) -> timedelta:
    """What remains until the deadline (negative once it has passed)."""
    _aware(now, "now")
    return notification_deadline(aware_at).astimezone(UTC) - now.astimezone(UTC)


def is_late(aware_at: datetime, notified_at: datetime) -> bool:
    """Whether a notification made at ``notified_at`` came after the 72 hours (Art. 33(1))."""
    _aware(notified_at, "notified_at")
    return notified_at.astimezone(UTC) > notification_deadline(aware_at).astimezone(UTC)

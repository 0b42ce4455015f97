"""Which records a statutory keep-period holds back from an erasure, and until when.

The manifest's ``statutory_retention`` entries (:class:`.schema.StatutoryRetention`) name the
records a law requires kept (by channel, and optionally category and purpose) and for how long.
:func:`assess` applies them to one record: ``None`` when nothing keeps it (it is erased), else
the :class:`Keep` that ends last. The reading of the law is in docs/rights.md ("Erasure and its
exceptions").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from privacyops.policy.schema import KeepStart, Manifest, StatutoryRetention

__all__ = ["Keep", "applies", "assess", "day_start", "keep_until"]


@dataclass(frozen=True)
class Keep:
    """Why and until when an erasure keeps a record (no personal data): every rule that keeps
    it past the moment of the erasure, and the end of the longest."""

    rules: tuple[StatutoryRetention, ...]
    until: datetime

    @property
    def rule(self) -> StatutoryRetention:
        """The rule that keeps the record longest (the first of equals, in manifest order)."""
        return self.rules[0]

    @property
    def exception(self) -> str:
        return self.rule.exception.value

    @property
    def article(self) -> str:
        return self.rule.exception.article


def applies(
    rule: StatutoryRetention, channel: str, categories: Sequence[str], purposes: Sequence[str]
) -> bool:
    """Whether ``rule`` covers a record of ``channel`` with these categories and purposes."""
    if channel not in rule.channels:
        return False
    if rule.categories and not set(rule.categories) & set(categories):
        return False
    return not rule.purposes or bool(set(rule.purposes) & set(purposes))


def _years_later(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February in a year that has none: the day after, 1 March
        return moment.replace(year=moment.year + years, month=3, day=1)


def keep_until(
    rule: StatutoryRetention, collected_at: datetime, last_service_delivery_at: datetime | None
) -> datetime:
    """The moment ``rule``'s keep-period ends for a record with these clocks (UTC; always the
    start of a day, the day the record is erased).

    From the end of the financial year: the period runs from 1 January after the year of the
    record's last service delivery (else its collection), so 5 years for a record of 2026 end at
    the start of 1 January 2032.
    """
    if rule.starts_from is KeepStart.COLLECTION:
        start = collected_at
    else:
        start = last_service_delivery_at or collected_at
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    start = start.astimezone(UTC)
    if rule.starts_from is KeepStart.END_OF_FINANCIAL_YEAR:
        return datetime(start.year + 1 + rule.years, 1, 1, tzinfo=UTC)
    end = _years_later(start, rule.years)
    # kept to the end of the day the period ends on: the person is told a day, not a moment
    return end if end.time() == time() else day_start(end.date() + timedelta(days=1))


def day_start(day: date) -> datetime:
    """The first moment (UTC) of ``day``: when what is kept until that day is erased."""
    return datetime.combine(day, time(), tzinfo=UTC)


def assess(
    manifest: Manifest,
    channel: str,
    categories: Sequence[str],
    purposes: Sequence[str],
    collected_at: datetime,
    last_service_delivery_at: datetime | None = None,
    *,
    at: datetime,
) -> Keep | None:
    """Every keep-period that holds this record past ``at``, the longest first, or ``None``
    (erase it)."""
    found: list[tuple[datetime, int, StatutoryRetention]] = []
    for i, rule in enumerate(manifest.statutory_retention):
        if applies(rule, channel, categories, purposes):
            until = keep_until(rule, collected_at, last_service_delivery_at)
            if until > at:
                found.append((until, i, rule))
    if not found:
        return None
    found.sort(key=lambda f: (-f[0].timestamp(), f[1]))
    return Keep(tuple(rule for _, _, rule in found), found[0][0])

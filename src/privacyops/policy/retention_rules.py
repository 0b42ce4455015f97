"""Retention rules from the policy manifest, resolved per (channel, policy version).

A record follows the rule of the version under which it was collected, unless a later version
changed the rule with ``migrate_existing: true`` (then the latest such rule applies).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta

from privacyops.policy.schema import PolicyBook, RetentionRule

__all__ = ["EffectiveRule", "Resolution", "resolve_rule", "subtract_period"]

#: Record column each clock start reads.
CLOCK_COLUMNS = {
    "collection": "collected_at",
    "last_contact": "last_contact_at",
    "last_event_registration": "last_event_registration_at",
    "last_service_delivery": "last_service_delivery_at",
}


def subtract_period(moment: datetime, years: int, months: int, days: int) -> datetime:
    """``moment`` minus a calendar period: the same day ``years``/``months`` earlier (the
    month's last day when it has no such day), then ``days`` earlier."""
    total = moment.year * 12 + (moment.month - 1) - (years * 12 + months)
    year, month = divmod(total, 12)
    month += 1
    if year < 1:
        return datetime.min.replace(tzinfo=moment.tzinfo)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day) - timedelta(days=days)


@dataclass(frozen=True)
class EffectiveRule:
    """The rule a group of records follows, and where it comes from."""

    channel: str
    record_version: str
    rule_version: str
    rule: RetentionRule

    @property
    def clock_column(self) -> str:
        return CLOCK_COLUMNS[str(self.rule.starts_from)]

    @property
    def deletes(self) -> bool:
        """``delete`` and ``delete_or_anonymise`` delete; ``anonymise`` keeps statistics."""
        return str(self.rule.action) != "anonymise"

    def cutoff(self, as_of: datetime) -> datetime:
        """Records whose clock is at or before this moment have expired at ``as_of``."""
        r = self.rule
        return subtract_period(as_of, r.years, r.months, r.days)

    def describe(self) -> str:
        origin = "" if self.rule_version == self.record_version else ", migrated"
        return f"{self.channel}: {self.rule.describe()} (policy {self.rule_version}{origin})"

    def __repr__(self) -> str:
        return f"EffectiveRule({self.describe()!r})"


@dataclass(frozen=True)
class Resolution:
    """A rule, or why there is none (``problem``: the records are reported, never touched)."""

    rule: EffectiveRule | None
    problem: str | None = None


def resolve_rule(book: PolicyBook, channel: str, version: str) -> Resolution:
    """The rule records of ``channel`` collected under policy ``version`` follow."""
    versions = sorted(book.versions, key=lambda m: m.version.order)
    ids = [m.version.id for m in versions]
    if version not in ids:
        return Resolution(None, f"policy version {version!r} is not in the manifest")
    own = versions[ids.index(version)]
    chosen: tuple[str, RetentionRule] | None = None
    declared = next((c for c in own.channels if c.id == channel), None)
    if declared is not None and declared.retention is not None:
        chosen = (version, declared.retention)
    for later in versions[ids.index(version) + 1 :]:
        c = next((c for c in later.channels if c.id == channel), None)
        if c is not None and c.retention is not None and c.retention.migrate_existing:
            chosen = (later.version.id, c.retention)
    if chosen is None:
        if declared is None:
            return Resolution(None, f"channel {channel!r} is not in policy version {version}")
        return Resolution(None, f"channel {channel!r} has no retention rule in {version}")
    return Resolution(EffectiveRule(channel, version, chosen[0], chosen[1]))

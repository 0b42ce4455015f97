"""What will expire in the next N days, per channel and data category (the dashboard uses it),
and the processors whose own policies set the retention of what they collect (policy §2.4)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa

from privacyops.errors import InvalidInput
from privacyops.policy.retention_rules import resolve_rule
from privacyops.policy.schema import PolicyBook
from privacyops.retention.sweep import check_as_of
from privacyops.store.db import Database
from privacyops.store.models import LegalHold, PersonalDataRecord

__all__ = ["Forecast", "PastDue", "forecast", "past_due"]

_records = cast(sa.Table, PersonalDataRecord.__table__)


@dataclass
class Forecast:
    """Records expiring between ``as_of`` and ``as_of + days``."""

    as_of: datetime
    days: int
    by_channel: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, dict[str, int]] = field(default_factory=dict)
    undetermined: dict[str, int] = field(default_factory=dict)
    processors_own_retention: list[dict[str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.by_channel.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "days": self.days,
            "total": self.total,
            "by_channel": self.by_channel,
            "by_category": self.by_category,
            "undetermined": self.undetermined,
            "processors_own_retention": self.processors_own_retention,
        }


def forecast(
    db: Database, book: PolicyBook, *, days: int, as_of: datetime | None = None
) -> Forecast:
    """Count what will expire within ``days`` (records already expired are not counted: the
    next sweep takes them).

    Raises:
        InvalidInput: ``days`` outside 1..3660.
    """
    if not 1 <= days <= 3660:
        raise InvalidInput(
            "--days must be between 1 and 3660.", details=[{"loc": ["days"], "msg": "1..3660"}]
        )
    start = check_as_of(as_of)
    end = start + timedelta(days=days)
    result = Forecast(as_of=start, days=days)
    with db.engine.connect() as conn:
        groups = conn.execute(
            sa.select(_records.c.channel, _records.c.policy_version)
            .where(_records.c.anonymised_at.is_(None))
            .group_by(_records.c.channel, _records.c.policy_version)
        ).all()
        for channel, version in groups:
            rule = resolve_rule(book, channel, version).rule
            if rule is None:
                result.undetermined[channel] = result.undetermined.get(channel, 0) + int(
                    conn.execute(
                        sa.select(sa.func.count()).where(
                            _records.c.channel == channel, _records.c.policy_version == version
                        )
                    ).scalar_one()
                )
                continue
            clock = _records.c[rule.clock_column]
            categories = sa.cast(_records.c.data_categories, sa.Text)
            rows = conn.execute(
                sa.select(categories, sa.func.count())
                .where(
                    _records.c.channel == channel,
                    _records.c.policy_version == version,
                    _records.c.anonymised_at.is_(None),
                    clock > rule.cutoff(start),
                    clock <= rule.cutoff(end),
                )
                .group_by(categories)
            ).all()
            for text, count in rows:
                result.by_channel[channel] = result.by_channel.get(channel, 0) + int(count)
                per = result.by_category.setdefault(channel, {})
                for category in json.loads(text or "[]"):
                    per[category] = per.get(category, 0) + int(count)
    current = book.current
    own = {p.id: p.name for p in current.processors if p.own_retention}
    for channel in current.channels:
        if channel.retention is not None:
            for pid in channel.retention.processors_own_retention:
                own.setdefault(pid, next((p.name for p in current.processors if p.id == pid), pid))
    result.processors_own_retention = [
        {"id": pid, "name": name, "retention": "set by the processor's own policy"}
        for pid, name in sorted(own.items())
    ]
    return result


@dataclass
class PastDue:
    """Records already past their retention period and not yet deleted: per channel, and how
    many of them a legal hold keeps (the rest go at the next sweep, unless a restriction for
    legal claims keeps them)."""

    by_channel: dict[str, int] = field(default_factory=dict)
    held: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_channel.values())


def past_due(db: Database, book: PolicyBook, *, as_of: datetime | None = None) -> PastDue:
    """Count records past their period (one count per channel and policy version)."""
    start = check_as_of(as_of)
    result = PastDue()
    holds = cast(sa.Table, LegalHold.__table__)
    held = sa.exists().where(
        holds.c.subject_id == _records.c.subject_id,
        holds.c.lifted_at.is_(None),
        sa.or_(holds.c.until.is_(None), holds.c.until > start),
    )
    with db.engine.connect() as conn:
        groups = conn.execute(
            sa.select(_records.c.channel, _records.c.policy_version)
            .where(_records.c.anonymised_at.is_(None))
            .group_by(_records.c.channel, _records.c.policy_version)
        ).all()
        for channel, version in groups:
            rule = resolve_rule(book, channel, version).rule
            if rule is None:
                continue
            clock = _records.c[rule.clock_column]
            due = (
                _records.c.channel == channel,
                _records.c.policy_version == version,
                _records.c.anonymised_at.is_(None),
                clock <= rule.cutoff(start),
            )
            count = conn.execute(sa.select(sa.func.count()).where(*due)).scalar_one()
            if count:
                result.by_channel[channel] = result.by_channel.get(channel, 0) + int(count)
                result.held += int(
                    conn.execute(sa.select(sa.func.count()).where(*due, held)).scalar_one()
                )
    return result

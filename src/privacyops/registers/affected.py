"""Who a breach affects, computed from the registry (GDPR Art. 33(3)(a): the categories and
approximate number of data subjects and of records).

A record is affected when it was held during the breach's window (collected before the window
ended and not anonymised before it began), came through one of the breach's channels (when it
names channels) and holds one of its data categories (when it names categories). Only counts
leave this module, except :func:`affected_identities`, which a DPO asks for and the audit log
records.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from privacyops.audit import AuditLog, actions
from privacyops.registers.breaches import BreachView
from privacyops.store import Database, Registry
from privacyops.store.models import DataSubject, PersonalDataRecord

__all__ = ["Affected", "affected_identities", "affected_people", "affected_subject_refs"]


@dataclass(frozen=True, slots=True)
class Affected:
    """Counts only: people, records, and records per channel and per data category."""

    people: int
    records: int
    erased_people: int
    by_channel: dict[str, int]
    by_category: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "people": self.people,
            "records": self.records,
            "erased_people": self.erased_people,
            "by_channel": self.by_channel,
            "by_category": self.by_category,
        }


def _rows(db: Database, breach: BreachView) -> list[tuple[str, bool, str, list[str]]]:
    records, subjects = PersonalDataRecord.__table__, DataSubject.__table__
    query = sa.select(
        subjects.c.public_id,
        subjects.c.erased_at.is_not(None),
        records.c.channel,
        records.c.data_categories,
    ).join(subjects, subjects.c.id == records.c.subject_id)
    if breach.window_end is not None:
        query = query.where(records.c.collected_at <= breach.window_end)
    if breach.window_start is not None:
        query = query.where(
            sa.or_(
                records.c.anonymised_at.is_(None),
                records.c.anonymised_at >= breach.window_start,
            )
        )
    if breach.channels:
        query = query.where(records.c.channel.in_(breach.channels))
    wanted = set(breach.data_categories)
    out: list[tuple[str, bool, str, list[str]]] = []
    with db.session() as s:
        for public_id, erased, channel, categories in s.execute(query):
            held = list(categories or [])
            if wanted and not wanted.intersection(held):
                continue
            out.append((public_id, bool(erased), channel, held))
    return out


def affected_people(db: Database, breach: BreachView) -> Affected:
    """How many people and records the breach affects (counted, never listed)."""
    rows = _rows(db, breach)
    people = {public_id for public_id, _, _, _ in rows}
    erased = {public_id for public_id, was_erased, _, _ in rows if was_erased}
    wanted = set(breach.data_categories)
    categories: Counter[str] = Counter()
    for _, _, _, held in rows:
        categories.update(c for c in held if not wanted or c in wanted)
    return Affected(
        people=len(people),
        records=len(rows),
        erased_people=len(erased),
        by_channel=dict(sorted(Counter(channel for _, _, channel, _ in rows).items())),
        by_category=dict(sorted(categories.items())),
    )


def affected_subject_refs(db: Database, breach: BreachView) -> list[str]:
    """The pseudonymous ids of the people affected who can still be reached (not erased)."""
    return sorted({p for p, erased, _, _ in _rows(db, breach) if not erased})


def affected_identities(db: Database, breach: BreachView, *, actor: str) -> list[dict[str, Any]]:
    """The people affected with their identities in plain text, for a DPO who asks (the
    reading is written to the audit log)."""
    refs = affected_subject_refs(db, breach)
    registry = Registry(db)
    with db.session() as s:
        people = [
            {"subject": subject.public_id, "identities": registry.identities_of(subject, session=s)}
            for subject in registry.get_subjects(refs, session=s)
        ]
        AuditLog(db).append(
            actions.RECORD_READ,
            actor=actor,
            reason=breach.ref,
            details={"what": "breach.affected_identities", "people": len(people)},
            session=s,
        )
    return people

"""``retention replay``: after restoring a backup, apply again every erasure and expiry that
the audit log records since a date, so that restored data of erased subjects is erased again.

Erasures are found in the audit log by :data:`privacyops.audit.actions.SUBJECT_ERASE` events
(``subject_ref``) and in :data:`~privacyops.audit.actions.RETENTION_BATCH` events
(``details.subjects_erased``); expiries are re-applied by a sweep as of now.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa

from privacyops.audit import AuditLog
from privacyops.audit import actions as audit_actions
from privacyops.policy.schema import PolicyBook
from privacyops.retention.sweep import RetentionReport, check_as_of, sweep
from privacyops.store.base import utcnow
from privacyops.store.db import Database
from privacyops.store.models import DataSubject, Identity, PersonalDataRecord

__all__ = ["ReplayReport", "replay"]

_subjects = cast(sa.Table, DataSubject.__table__)
_identities = cast(sa.Table, Identity.__table__)
_records = cast(sa.Table, PersonalDataRecord.__table__)


@dataclass
class ReplayReport:
    """What a replay found in the audit log and erased again."""

    since: datetime
    erasures_in_log: int
    subjects_erased_again: int
    sweep: RetentionReport

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "erasures_in_log": self.erasures_in_log,
            "subjects_erased_again": self.subjects_erased_again,
            "sweep": self.sweep.to_dict(),
        }


def replay(
    db: Database, book: PolicyBook, *, since: datetime, actor: str = "job:retention-replay"
) -> ReplayReport:
    """Erase again the subjects the audit log says were erased since ``since`` (legal holds do
    not stop this: the erasure already happened once), then sweep as of now."""
    since = check_as_of(since)
    log = AuditLog(db)
    refs: set[str] = set()
    for event in log.events(
        since=since, actions=[audit_actions.SUBJECT_ERASE, audit_actions.RETENTION_BATCH]
    ):
        if event.action == audit_actions.SUBJECT_ERASE and event.subject_ref:
            refs.add(event.subject_ref)
        elif event.action == audit_actions.RETENTION_BATCH:
            refs.update(json.loads(event.details).get("subjects_erased", []))
    again = 0
    ordered = sorted(refs)
    for start in range(0, len(ordered), 1000):
        chunk = ordered[start : start + 1000]
        with db.session() as s:
            rows = s.execute(
                sa.select(_subjects.c.id, _subjects.c.public_id).where(
                    _subjects.c.public_id.in_(chunk)
                )
            ).all()
            if not rows:
                continue
            ids = [r[0] for r in rows]
            # restored rows may hold a restored key too: the key goes first, again
            db.key_store.destroy([r[1] for r in rows], purge=False)
            live = s.execute(
                sa.select(sa.func.count()).where(
                    _subjects.c.id.in_(ids), _subjects.c.erased_at.is_(None)
                )
            ).scalar_one()
            s.execute(sa.delete(_identities).where(_identities.c.subject_id.in_(ids)))
            s.execute(sa.delete(_records).where(_records.c.subject_id.in_(ids)))
            s.execute(
                sa.update(_subjects)
                .where(_subjects.c.id.in_(ids), _subjects.c.erased_at.is_(None))
                .values(erased_at=utcnow())
            )
            again += int(live)
            if live:
                log.append(
                    audit_actions.SUBJECT_ERASE,
                    actor=actor,
                    reason="replayed after a restore",
                    details={"subjects": int(live), "since": since},
                    session=s,
                )
    db.key_store.purge()
    report = sweep(db, book, actor=actor)
    return ReplayReport(since, len(refs), again, report)

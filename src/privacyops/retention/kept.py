"""The records an erasure kept under a GDPR Art. 17(3) exception, erased when it ends.

An erasure that had to keep records (a statutory keep-period, e.g. bookkeeping law) marks each
with ``keep_until`` and restricts the subject (Art. 18(2)). Until that moment no retention rule
touches them (:func:`privacyops.retention.chunks.not_kept`); from it, this pass deletes them,
whatever their channel's rule says, in chunks like the groups' (one transaction and one audit
event each), unless a legal hold or a restriction kept for legal claims holds the subject. A
subject left with nothing is crypto-shredded, and its ``erasure_exception`` restriction lifted
once no kept record of it remains. The pass needs no cursor: what it did is gone from its query.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from privacyops.audit import AuditLog, NewEvent
from privacyops.audit import actions as audit_actions
from privacyops.policy.restriction import RestrictionGround
from privacyops.retention.chunks import (
    active_hold_terms,
    apply_chunk,
    erase_orphans,
    holds_table,
    keeping_restriction_terms,
    records_table,
    restrictions_table,
)
from privacyops.store.db import Database

__all__ = ["KeptReport", "sweep_kept"]


@dataclass
class KeptReport:
    """What the pass did: kept records whose exception ended, deleted; subjects erased."""

    deleted: int = 0
    subjects_erased: int = 0


def _pick(as_of: datetime, chunk_size: int) -> sa.Select[tuple[int]]:
    return (
        sa.select(records_table.c.id)
        .where(
            records_table.c.keep_until.is_not(None),
            records_table.c.keep_until <= as_of,
            records_table.c.anonymised_at.is_(None),
            ~sa.exists().where(
                holds_table.c.subject_id == records_table.c.subject_id,
                *active_hold_terms(as_of),
            ),
            ~sa.exists().where(
                restrictions_table.c.subject_id == records_table.c.subject_id,
                *keeping_restriction_terms(),
            ),
        )
        .order_by(records_table.c.id)
        .limit(chunk_size)
        .correlate(None)
    )


def _lift(conn: sa.Connection, subject_ids: list[int], now: datetime) -> None:
    """Lift the erasure-exception restriction of the subjects with no kept record left."""
    conn.execute(
        sa.update(restrictions_table)
        .where(
            restrictions_table.c.subject_id.in_(subject_ids),
            restrictions_table.c.ground == RestrictionGround.ERASURE_EXCEPTION.value,
            restrictions_table.c.lifted_at.is_(None),
            ~sa.exists().where(
                records_table.c.subject_id == restrictions_table.c.subject_id,
                records_table.c.keep_until.is_not(None),
                records_table.c.anonymised_at.is_(None),
            ),
        )
        .values(lifted_at=now)
    )


def sweep_kept(
    db: Database,
    conn: sa.Connection,
    audit: AuditLog,
    *,
    as_of: datetime,
    now: datetime,
    chunk_size: int,
    actor: str,
    run_id: int,
    done: Callable[[int], None] | None = None,
) -> KeptReport:
    """Delete the kept records whose keep-until is at or before ``as_of`` (see the module)."""
    report = KeptReport()
    pick = _pick(as_of, chunk_size)
    while True:
        with conn.begin():
            count, first, last, subject_ids = apply_chunk(db, conn, None, pick, now)
            if not count:
                break
            erased = erase_orphans(db, conn, subject_ids, now)
            _lift(conn, subject_ids, now)
            report.deleted += count
            report.subjects_erased += len(erased)
            audit.append_many(
                [
                    NewEvent(
                        audit_actions.RETENTION_BATCH,
                        actor=actor,
                        reason="the GDPR Art. 17(3) exception an erasure kept them under ended",
                        details={
                            "run": run_id,
                            "kept_under_exception": True,
                            "action": "delete",
                            "records": count,
                            "first_record_id": first,
                            "last_record_id": last,
                            "subjects_erased": erased,
                            "as_of": as_of,
                        },
                    )
                ],
                connection=conn,
            )
        if done is not None:
            done(count)
        if count < chunk_size:
            break
    return report

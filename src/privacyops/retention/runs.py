"""The row of a retention run: started or resumed, and finished, each audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa

from privacyops.audit import AuditLog
from privacyops.audit import actions as audit_actions
from privacyops.retention.models import RetentionRun
from privacyops.retention.report import RetentionReport
from privacyops.store.base import utcnow
from privacyops.store.db import Database

__all__ = ["finish_run", "runs_table", "start_or_resume"]

runs_table = cast(sa.Table, RetentionRun.__table__)


def start_or_resume(
    db: Database,
    audit: AuditLog,
    *,
    actor: str,
    as_of: datetime,
    now: datetime,
    requested: datetime | None,
) -> dict[str, Any]:
    """The run to do: an interrupted (running or failed) one, resumed, else a new one; without
    ``requested`` any interrupted run, with it only one of that moment."""
    with db.session() as s:
        query = (
            sa.select(runs_table)
            .where(runs_table.c.state.in_(("running", "failed")), runs_table.c.dry_run.is_(False))
            .order_by(runs_table.c.id.desc())
        )
        if requested is not None:
            query = query.where(runs_table.c.as_of == as_of)
        row = s.execute(query).mappings().first()
        if row is not None:
            s.execute(
                sa.update(runs_table)
                .where(runs_table.c.id == row["id"])
                .values(state="running", resumed=row["resumed"] + 1)
            )
            resumed = dict(row)
            resumed["resumed"] += 1
            audit.append(
                audit_actions.RETENTION_RUN,
                actor=actor,
                reason="resumed after an interruption",
                details={"run": row["id"], "as_of": row["as_of"], "state": "resumed"},
                session=s,
            )
            return resumed
        run_id = s.execute(
            sa.insert(runs_table)
            .values(
                as_of=as_of,
                dry_run=False,
                state="running",
                actor=actor,
                started_at=now,
                cursor={},
                report={},
                resumed=0,
            )
            .returning(runs_table.c.id)
        ).scalar_one()
        audit.append(
            audit_actions.RETENTION_RUN,
            actor=actor,
            reason="retention sweep started",
            details={"run": run_id, "as_of": as_of, "state": "started"},
            session=s,
        )
        return {
            "id": run_id,
            "as_of": as_of,
            "cursor": {},
            "report": {},
            "resumed": 0,
        }


def finish_run(
    db: Database, audit: AuditLog, run: dict[str, Any], report: RetentionReport, *, actor: str
) -> None:
    """Mark the run finished with its report, and audit its totals."""
    report.state = "finished"
    report.finished_at = utcnow()
    with db.session() as s:
        s.execute(
            sa.update(runs_table)
            .where(runs_table.c.id == run["id"])
            .values(
                state="finished",
                finished_at=report.finished_at,
                report=report.to_dict(),
            )
        )
        audit.append(
            audit_actions.RETENTION_RUN,
            actor=actor,
            reason="retention sweep finished",
            details={
                "run": run["id"],
                "state": "finished",
                "as_of": report.as_of,
                "deleted": report.total("deleted"),
                "anonymised": report.total("anonymised"),
                "subjects_erased": report.total("subjects_erased"),
                "kept_legal_hold": report.total("kept_legal_hold"),
                "kept_restriction": report.total("kept_restriction"),
                "undetermined": report.total("undetermined"),
            },
            session=s,
        )

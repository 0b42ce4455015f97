"""The dashboard's home page: the DPO's to-do list.

``GET /dashboard``: open requests by state, how many are overdue or due within a week, open
staff tasks (identity reviews, decisions on requests, connected-system tasks), the spam
queue, records past their retention period, lint errors of the policy in force (waived ones
apart), and the audit chain's last check; each a link to the page where it is done. Every
count is one indexed SQL count (deadlines: see :mod:`privacyops.rights.due`), so the page
costs the same at 100,000 requests as at 10; sections the role may not open are left out.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from privacyops.accounts import Principal
from privacyops.audit import AuditEvent, AuditLog
from privacyops.audit import actions as audit_actions
from privacyops.connectors.models import ConnectorTask
from privacyops.intake.models import QuarantineItem
from privacyops.policy.schema import PolicyBook
from privacyops.retention.forecast import past_due
from privacyops.rights.due import OPEN_STATES, due_counts
from privacyops.rights.models import RightsRequest, StaffTask
from privacyops.rights.service import RightsService
from privacyops.store import Database
from privacyops.store.models import IdentityReview
from privacyops.web.auth import STAFF_READ, require_staff
from privacyops.web.deps import get_db, get_policy
from privacyops.web.pages import render
from privacyops.web.routes.dashboard import lint_findings
from privacyops.web.routes.dashboard_breaches import BREACH_ROLES, open_countdowns
from privacyops.web.routes.rights import rights_service

router = APIRouter(tags=["dashboard"], include_in_schema=False)

#: Connector tasks still waiting on staff or a processor.
_TASKS_OPEN = ("open", "sent")


def _counts(db: Database) -> dict[str, Any]:
    with db.read_session() as session:
        by_state = dict(
            session.execute(
                sa.select(RightsRequest.state, sa.func.count())
                .where(RightsRequest.state.in_(OPEN_STATES))
                .group_by(RightsRequest.state)
            ).all()
        )
        decisions = dict(
            session.execute(
                sa.select(StaffTask.kind, sa.func.count())
                .join(RightsRequest, RightsRequest.id == StaffTask.request_id)
                .where(StaffTask.decided_at.is_(None), RightsRequest.state.in_(OPEN_STATES))
                .group_by(StaffTask.kind)
            ).all()
        )
        reviews = session.scalar(
            sa.select(sa.func.count()).where(IdentityReview.decided_at.is_(None))
        )
        tasks = session.scalar(
            sa.select(sa.func.count()).where(ConnectorTask.status.in_(_TASKS_OPEN))
        )
        spam = session.scalar(sa.select(sa.func.count()).where(QuarantineItem.status == "pending"))
        checked = session.execute(
            sa.select(AuditEvent.ts, AuditEvent.details)
            .where(AuditEvent.action == audit_actions.AUDIT_VERIFY)
            .order_by(AuditEvent.seq.desc())
            .limit(1)
        ).first()
    last_check = None
    if checked is not None:
        details = json.loads(checked.details or "{}")
        last_check = {
            "when": datetime.strptime(checked.ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC),
            "ok": bool(details.get("ok")),
            "events": int(details.get("events_checked") or 0),
            "broken_at": details.get("first_broken_seq"),
        }
    return {
        "by_state": [(s, int(by_state.get(s, 0))) for s in OPEN_STATES],
        "open_total": sum(int(n) for n in by_state.values()),
        "decisions": {str(k): int(n) for k, n in decisions.items()},
        "reviews": int(reviews or 0),
        "connector_tasks": int(tasks or 0),
        "spam": int(spam or 0),
        "last_check": last_check,
    }


@router.get("/dashboard")
def home(
    request: Request,
    db: Database = Depends(get_db),
    book: PolicyBook = Depends(get_policy),
    service: RightsService = Depends(rights_service),
    who: Principal = Depends(require_staff(*STAFF_READ)),
) -> Response:
    """What needs doing today, each item linking to where it is done."""
    findings = lint_findings(book.current)
    errors = [f for f in findings if f.severity.value == "error"]
    context = {
        "who": who,
        **_counts(db),
        "due": due_counts(service),
        "retention_past_due": past_due(db, book).total,
        "lint_errors": sum(1 for f in errors if f.waiver is None),
        "lint_waived": sum(1 for f in errors if f.waiver is not None),
        "policy_version": book.current.version.id,
        "audit_head": AuditLog(db).head()[0],
        "may_audit": who.has_role("dpo", "auditor"),
        # Art. 33: each breach still to be notified, with its 72-hour countdown
        "breaches": open_countdowns(db, book.current) if who.has_role(*BREACH_ROLES) else [],
    }
    return render(request, "dashboard.html", context)

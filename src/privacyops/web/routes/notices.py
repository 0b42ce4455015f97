"""Acknowledgements of Art. 19 notices, and what staff see of notices and connector tasks.

- ``GET /api/v1/notices/ack/{token}``: a page with one button (an e-mail link must not act by
  itself: mail scanners open links); ``POST`` the same URL acknowledges. Public: the token in
  the notice is the only credential.
- ``GET /api/v1/notices?request=REF``: the notices of a request (``requests:read``).
- ``GET /api/v1/connectors/tasks``: open manual/e-mail connector tasks (``requests:read``).
- ``GET /api/v1/connectors/tasks/{id}/brief``: who an open task is about and what to do (the
  request's identities; corrected values or restriction ground), audited per reading
  (``requests:write``: those who act on tasks).
- ``POST /api/v1/connectors/tasks/{id}/complete`` ``{"outcome": "...", "records": {...}}``:
  record the answer, with (access tasks, optional) the records found,
  ``{"collection": [{"field": "value"}]}``, which go into the person's export
  (``requests:write``).
"""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter, Body, Depends
from fastapi.responses import HTMLResponse

from privacyops.accounts import Principal
from privacyops.connectors import list_tasks, task_brief
from privacyops.jobs.dispatch import dispatch_request
from privacyops.rights.notices import acknowledge_notice, notices_for_request
from privacyops.rights.tasks import complete_task
from privacyops.settings import Settings
from privacyops.store import Database
from privacyops.web.auth import require_scope
from privacyops.web.deps import get_db, get_settings_dep
from privacyops.web.params import RowId

__all__ = ["router"]

router = APIRouter(tags=["connectors"])


@router.get("/api/v1/notices/ack/{token}", response_class=HTMLResponse)
def ack_page(token: str) -> HTMLResponse:
    """A page asking the recipient to confirm."""
    action = html.escape(f"/api/v1/notices/ack/{token}", quote=True)
    return HTMLResponse(
        "<!doctype html><html lang=en><meta charset=utf-8><title>Confirm notice</title>"
        "<body><h1>Confirm that you acted on our notice</h1>"
        f'<form method=post action="{action}"><button type=submit>Confirm</button></form>'
        "</body></html>"
    )


@router.post("/api/v1/notices/ack/{token}")
def ack(token: str, db: Database = Depends(get_db)) -> dict[str, Any]:
    """Record the acknowledgement."""
    notice = acknowledge_notice(db, token)
    return {"status": notice.status, "recipient": notice.recipient}


@router.get("/api/v1/notices", dependencies=[Depends(require_scope("requests:read"))])
def notices(request_ref: str, db: Database = Depends(get_db)) -> dict[str, Any]:
    """Whom a request's notices went to, and whether they confirmed (GDPR Art. 19)."""
    return {"notices": [n.to_dict() for n in notices_for_request(db, request_ref)]}


@router.get("/api/v1/connectors/tasks", dependencies=[Depends(require_scope("requests:read"))])
def tasks(db: Database = Depends(get_db)) -> dict[str, Any]:
    """Open tasks of manual and e-mail connectors, oldest first."""
    return {
        "tasks": [
            {
                "id": t.id,
                "system": t.system,
                "kind": t.kind,
                "action": t.action,
                "request": t.request_ref,
                "status": t.status,
                "checklist": t.checklist,
                "created_at": t.created_at.isoformat(),
                "reminders": t.reminders,
            }
            for t in list_tasks(db, status=["open", "sent"])
        ]
    }


@router.get("/api/v1/connectors/tasks/{task_id}/brief")
def brief(
    task_id: RowId,
    who: Principal = Depends(require_scope("requests:write")),
    db: Database = Depends(get_db),
) -> dict[str, Any]:
    """Who the task is about and what to do; each reading is recorded in the audit log."""
    return task_brief(db, task_id, actor=_actor(who))


def _actor(who: Principal) -> str:
    return f"staff:{who.user_id}" if who.user_id is not None else f"token:{who.email}"


@router.post("/api/v1/connectors/tasks/{task_id}/complete")
def complete(
    task_id: RowId,
    outcome: str = Body(embed=True, max_length=2000),
    records: dict[str, list[dict[str, Any]]] | None = Body(default=None, embed=True),
    who: Principal = Depends(require_scope("requests:write")),
    db: Database = Depends(get_db),
    settings: Settings = Depends(get_settings_dep),
) -> dict[str, Any]:
    """Record what was found or done (and, for access, the records found); the connector then
    reports done and the waiting request goes on."""
    task = complete_task(db, task_id, outcome=outcome, actor=_actor(who), records=records)
    dispatch_request(settings, db, task.request_ref)  # the waiting request goes on now
    return {"id": task.id, "status": task.status}

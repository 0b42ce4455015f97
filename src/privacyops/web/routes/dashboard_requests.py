"""Dashboard pages for data-subject requests and their legal clocks.

``GET /dashboard/requests`` (open requests oldest first, or any state; 50 a page, keyset-paged
by ``after``/``before`` on the primary key, so page 2,000 costs what page 1 does),
``GET /dashboard/requests/{request_id}`` (one request: clock, tasks, audit events, actions),
``POST /dashboard/requests/{request_id}/extend`` | ``refuse`` | ``decide`` (with reasons; the
person is told; the Art. 19 decisions on recipients are in ``dashboard_recipients``); and for
the request's tasks in connected systems with no API (manual tasks, processor e-mails),
``POST .../systems/{task_id}/brief`` (whom it is about and what to do, audited) and
``POST .../systems/{task_id}/complete`` (the outcome, and for access the records found).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from privacyops.accounts import Principal
from privacyops.audit import AuditEvent
from privacyops.connectors import list_tasks, task_brief
from privacyops.connectors.models import ConnectorTask
from privacyops.errors import NotFound, PrivacyOpsError
from privacyops.jobs.dispatch import dispatch_request
from privacyops.rights.due import due_condition
from privacyops.rights.models import RightsRequest, StaffTask
from privacyops.rights.recipients import DECISIONS as RECIPIENT_DECISIONS
from privacyops.rights.service import RightsService
from privacyops.rights.tasks import complete_task
from privacyops.rights.workflow import FINAL_STATES, RequestState
from privacyops.store import Database
from privacyops.web.auth import STAFF_READ, STAFF_WRITE, check_csrf, require_staff
from privacyops.web.deps import get_db
from privacyops.web.forms import FORM_EXPIRED, FormValues, read_form
from privacyops.web.pages import add_nav, render
from privacyops.web.params import MAX_ROW_ID, RowId
from privacyops.web.routes.dashboard_desk import desk_context
from privacyops.web.routes.rights import rights_service

router = APIRouter(tags=["dashboard"], include_in_schema=False)
add_nav("/dashboard/requests", "Requests", STAFF_READ)

PAGE = 50
_OPEN = [s.value for s in RequestState if s not in FINAL_STATES]
_STATES = ["open", "all", *[s.value for s in RequestState]]
#: The deadline filter: past the deadline, or due within a week.
_DUE = ("overdue", "week")


def _row_view(service: RightsService, row: RightsRequest, today: Any) -> dict[str, Any]:
    clock = service.clock(row)
    final = row.state in {s.value for s in FINAL_STATES}
    days = clock.days_left(today)
    return {
        "id": row.public_id,
        "type": row.type,
        "state": row.state,
        "received_at": row.received_at,
        "deadline": clock.deadline,
        "extended": clock.extended,
        "days_left": None if final else days,
        "overdue": (not final) and days is not None and days < 0,
        "flagged": row.flagged,
        "channel": row.channel,
        "assignee": row.assignee,
        # connected systems (tasks, failed connectors) the request waits for
        "waiting_for": list((row.outcome or {}).get("waiting_for") or []),
        "other_systems": list((row.outcome or {}).get("other_systems") or []),
    }


#: Public names for the search page (web/routes/dashboard_search.py), which shows the same rows.
row_view = _row_view
STATE_CHOICES = _STATES


@router.get("/dashboard/requests")
def requests_page(
    request: Request,
    state: str = Query("open", max_length=32),
    due: str | None = Query(None, max_length=16),
    assignee: str | None = Query(None, max_length=254),
    after: int | None = Query(None, ge=0, le=MAX_ROW_ID),
    db: Database = Depends(get_db),
    service: RightsService = Depends(rights_service),
    who: Principal = Depends(require_staff(*STAFF_READ)),
) -> Response:
    """Requests with their clocks: days left, overdue ones marked."""
    if state not in _STATES:
        state = "open"
    query = sa.select(RightsRequest).order_by(RightsRequest.id).limit(PAGE + 1)
    if state == "open":
        query = query.where(RightsRequest.state.in_(_OPEN))
    elif state != "all":
        query = query.where(RightsRequest.state == state)
    if assignee:
        query = query.where(RightsRequest.assignee == assignee)
    if due in _DUE:
        query = query.where(due_condition(service, due))
    else:
        due = None
    if after is not None:
        query = query.where(RightsRequest.id > after)
    with db.session() as session:
        rows = list(session.scalars(query))
        counts = dict(
            session.execute(
                sa.select(RightsRequest.state, sa.func.count())
                .where(RightsRequest.state.in_(_OPEN))
                .group_by(RightsRequest.state)
            ).all()
        )
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    today = datetime.now(UTC).date()
    views = [_row_view(service, r, today) for r in rows]
    return render(
        request,
        "dashboard/requests.html",
        {
            "requests": views,
            "state": state,
            "states": _STATES,
            "due": due or "",
            "assignee": assignee or "",
            "counts": counts,
            "next_after": rows[-1].id if more and rows else None,
        },
    )


def _detail(
    db: Database, service: RightsService, request_id: str
) -> tuple[dict[str, Any], list[StaffTask], list[AuditEvent]]:
    with db.session() as session:
        row = session.scalar(sa.select(RightsRequest).where(RightsRequest.public_id == request_id))
        if row is None:
            raise NotFound("No request has that reference.")
        view = {
            **service.view(row, staff=True),
            **_row_view(service, row, datetime.now(UTC).date()),
        }
        tasks = list(
            session.scalars(
                sa.select(StaffTask).where(StaffTask.request_id == row.id).order_by(StaffTask.id)
            )
        )
        # Events name the request in their canonical-JSON details (a random reference).
        events = list(
            session.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.details.contains(f'"request":"{row.public_id}"'))
                .order_by(AuditEvent.seq.desc())
                .limit(100)
            )
        )
    return view, tasks, events


def detail_page(
    request: Request,
    db: Database,
    service: RightsService,
    request_id: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    messages: list[dict[str, str]] | None = None,
    status_code: int = 200,
    brief: dict[str, Any] | None = None,
) -> Response:
    view, tasks, events = _detail(db, service, request_id)
    return render(
        request,
        "dashboard/request.html",
        {
            "r": view,
            "tasks": tasks,
            "system_tasks": list_tasks(db, request_ref=view["request_id"]),
            "brief": brief,
            "events": events,
            "errors": errors or {},
            "values": values or {},
            "messages": messages or [],
            "decisions": RightsService.TASK_DECISIONS,
            # Art. 19: each recipient's notice, and the decisions still to take
            "recipients": service.staff_recipients(request_id),
            "recipient_decisions": RECIPIENT_DECISIONS,
            "desk": desk_context(db, service, view["request_id"]),
        },
        status_code=status_code,
    )


@router.get("/dashboard/requests/{request_id}")
def request_page(
    request_id: str,
    request: Request,
    db: Database = Depends(get_db),
    service: RightsService = Depends(rights_service),
    who: Principal = Depends(require_staff(*STAFF_READ)),
) -> Response:
    """One request: its clock, open tasks, and every audit event about it."""
    return detail_page(request, db, service, request_id[:40])


async def _act(
    request: Request,
    request_id: str,
    db: Database,
    service: RightsService,
    who: Principal,
    action: str,
) -> Response:
    form = await read_form(request)
    v = FormValues(form)
    reason = v.text("reason", label="Reason", required=True, max_len=2000)
    task = decision = ""
    if action == "decide":
        task = v.choice("task", list(RightsService.TASK_DECISIONS), label="Task")
        decision = v.text("decision", label="Decision", required=True, max_len=32)
    if not check_csrf(request, form, who):
        v.errors["form"] = FORM_EXPIRED
    if v.errors:
        return detail_page(
            request, db, service, request_id, errors=v.errors, values=v.kept(), status_code=422
        )
    try:
        if action == "extend":
            await run_in_threadpool(service.extend, request_id, reason, actor=who.actor)
            done = "Extended by two months; the person is told the reason."
        elif action == "refuse":
            await run_in_threadpool(service.refuse, request_id, reason, actor=who.actor)
            done = "Refused; the person is told the reasons and where to complain."
        else:
            await run_in_threadpool(
                service.decide, request_id, task, decision, reason, actor=who.actor
            )
            await run_in_threadpool(dispatch_request, service.settings, db, request_id)
            done = f"Decision recorded: {decision}."
    except NotFound:
        raise
    except PrivacyOpsError as exc:
        return detail_page(
            request,
            db,
            service,
            request_id,
            errors={"form": exc.message},
            values=v.kept(),
            status_code=exc.status,
        )
    return detail_page(request, db, service, request_id, messages=[{"kind": "ok", "text": done}])


@router.post("/dashboard/requests/{request_id}/extend")
async def extend_request(
    request_id: str,
    request: Request,
    db: Database = Depends(get_db),
    service: RightsService = Depends(rights_service),
    who: Principal = Depends(require_staff(*STAFF_WRITE)),
) -> Response:
    """Extend the period by two months with a reason (GDPR Art. 12(3))."""
    return await _act(request, request_id[:40], db, service, who, "extend")


@router.post("/dashboard/requests/{request_id}/refuse")
async def refuse_request(
    request_id: str,
    request: Request,
    db: Database = Depends(get_db),
    service: RightsService = Depends(rights_service),
    who: Principal = Depends(require_staff("dpo")),
) -> Response:
    """Refuse with reasons (GDPR Art. 12(4)); DPO only."""
    return await _act(request, request_id[:40], db, service, who, "refuse")


@router.post("/dashboard/requests/{request_id}/decide")
async def decide_request(
    request_id: str,
    request: Request,
    db: Database = Depends(get_db),
    service: RightsService = Depends(rights_service),
    who: Principal = Depends(require_staff(*STAFF_WRITE)),
) -> Response:
    """Record a decision on an open task (identity document, balancing test, excessive)."""
    return await _act(request, request_id[:40], db, service, who, "decide")


def _system_task(db: Database, request_id: str, task_id: int) -> ConnectorTask:
    """The connected-system task ``task_id`` of this request (404 for another request's)."""
    for task in list_tasks(db, request_ref=request_id):
        if task.id == task_id:
            return task
    raise NotFound("This request has no such task.")


@router.post("/dashboard/requests/{request_id}/systems/{task_id}/brief")
async def system_task_brief(
    request_id: str,
    task_id: RowId,
    request: Request,
    db: Database = Depends(get_db),
    service: RightsService = Depends(rights_service),
    who: Principal = Depends(require_staff(*STAFF_WRITE)),
) -> Response:
    """Show whom a task in a connected system is about and what to do (each showing is an
    audit event)."""
    request_id = request_id[:40]
    form = await read_form(request)
    _system_task(db, request_id, task_id)
    if not check_csrf(request, form, who):
        return detail_page(
            request, db, service, request_id, errors={"form": FORM_EXPIRED}, status_code=422
        )
    try:
        brief = await run_in_threadpool(task_brief, db, task_id, actor=who.actor)
    except PrivacyOpsError as exc:
        return detail_page(
            request, db, service, request_id, errors={"form": exc.message}, status_code=exc.status
        )
    return detail_page(request, db, service, request_id, brief=brief)


@router.post("/dashboard/requests/{request_id}/systems/{task_id}/complete")
async def system_task_complete(
    request_id: str,
    task_id: RowId,
    request: Request,
    db: Database = Depends(get_db),
    service: RightsService = Depends(rights_service),
    who: Principal = Depends(require_staff(*STAFF_WRITE)),
) -> Response:
    """Record what was done in a connected system (and, for access, the records found); the
    waiting request goes on."""
    request_id = request_id[:40]
    form = await read_form(request)
    task = _system_task(db, request_id, task_id)
    v = FormValues(form)
    outcome = v.text("outcome", label="Outcome", required=True, max_len=2000)
    raw = v.text("records", label="Records found", max_len=2_000_000)
    records: dict[str, Any] | None = None
    if raw and task.action == "access":
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError:
            v.errors["records"] = 'Records found: not JSON ({"collection": [{...}]}).'
        else:
            if isinstance(parsed, dict):
                records = parsed
            else:
                v.errors["records"] = 'Records found: a JSON object, {"collection": [{...}]}.'
    if not check_csrf(request, form, who):
        v.errors["form"] = FORM_EXPIRED
    if v.errors:
        return detail_page(
            request,
            db,
            service,
            request_id,
            errors={"form": next(iter(v.errors.values())), **v.errors},
            values=v.kept(),
            status_code=422,
        )
    try:
        await run_in_threadpool(
            complete_task, db, task_id, outcome=outcome, actor=who.actor, records=records
        )
        await run_in_threadpool(dispatch_request, service.settings, db, request_id)
    except PrivacyOpsError as exc:
        return detail_page(
            request, db, service, request_id, errors={"form": exc.message}, status_code=exc.status
        )
    done = f"{task.system}: recorded as done; the request goes on."
    return detail_page(request, db, service, request_id, messages=[{"kind": "ok", "text": done}])

"""Who handles a request, and staff's internal comments on it.

``POST /dashboard/requests/{request_id}/assign`` (a staff user's e-mail, or none),
``POST /dashboard/requests/{request_id}/comments`` (an internal note, sealed with the
request's key). Both are audited and go back to the request's page. :func:`desk_context` gives
the request page what its ``dashboard/_request_desk.html`` partial shows.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from privacyops.accounts import Principal, StaffUser
from privacyops.errors import InvalidInput, NotFound
from privacyops.rights.desk import MAX_COMMENT, add_comment, assign, comments
from privacyops.rights.models import RightsRequest
from privacyops.rights.service import RightsService
from privacyops.store import Database
from privacyops.web.auth import STAFF_WRITE, check_csrf, require_staff
from privacyops.web.deps import get_db
from privacyops.web.forms import FORM_EXPIRED, FormValues, read_form
from privacyops.web.pages import render
from privacyops.web.routes.rights import rights_service

router = APIRouter(tags=["dashboard"], include_in_schema=False)

#: Roles a request can be given to (an auditor only reads).
ASSIGNABLE = ("dpo", "operator", "admin")


def staff_choices(db: Database) -> list[str]:
    """E-mails of staff a request may be assigned to."""
    with db.read_session() as session:
        return list(
            session.scalars(
                sa.select(StaffUser.email)
                .where(StaffUser.role.in_(ASSIGNABLE))
                .order_by(StaffUser.email)
            )
        )


def desk_context(db: Database, service: RightsService, request_id: str) -> dict[str, Any]:
    """The assignee, the staff to choose from and the comments of one request."""
    with db.read_session() as session:
        assignee = session.scalar(
            sa.select(RightsRequest.assignee).where(RightsRequest.public_id == request_id)
        )
    return {
        "assignee": assignee,
        "staff": staff_choices(db),
        "comments": comments(service, request_id),
        "max_comment": MAX_COMMENT,
    }


def _back(request_id: str, anchor: str) -> Response:
    return RedirectResponse(f"/dashboard/requests/{request_id}#{anchor}", status_code=303)


def _problem(request: Request, message: str, status_code: int) -> Response:
    return render(
        request,
        "error.html",
        {"title": "Not saved", "message": message, "details": [], "back": None},
        status_code=status_code,
    )


@router.post("/dashboard/requests/{request_id}/assign")
async def assign_request(
    request_id: str,
    request: Request,
    db: Database = Depends(get_db),
    service: RightsService = Depends(rights_service),
    who: Principal = Depends(require_staff(*STAFF_WRITE)),
) -> Response:
    """Give the request to a member of staff (or to no one); audited."""
    request_id = request_id[:40]
    form = await read_form(request)
    if not check_csrf(request, form, who):
        return _problem(request, FORM_EXPIRED, 400)
    chosen = FormValues(form).text("assignee", max_len=254)
    if chosen and chosen not in staff_choices(db):
        return _problem(request, "Choose a member of staff from the list.", 422)
    await run_in_threadpool(assign, service, request_id, chosen or None, actor=who.actor)
    return _back(request_id, "desk")


@router.post("/dashboard/requests/{request_id}/comments")
async def comment_request(
    request_id: str,
    request: Request,
    db: Database = Depends(get_db),
    service: RightsService = Depends(rights_service),
    who: Principal = Depends(require_staff(*STAFF_WRITE)),
) -> Response:
    """Add an internal comment (not shown to the person); audited without its text."""
    request_id = request_id[:40]
    form = await read_form(request)
    if not check_csrf(request, form, who):
        return _problem(request, FORM_EXPIRED, 400)
    text = str(form.get("comment", ""))[: MAX_COMMENT + 1]
    try:
        await run_in_threadpool(add_comment, service, request_id, text, actor=who.actor)
    except NotFound:
        raise
    except InvalidInput as exc:
        return _problem(request, exc.message, 422)
    return _back(request_id, "comments")
